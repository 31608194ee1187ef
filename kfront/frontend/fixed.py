"""The fixed front-ends, log-mel filterbanks (:class:`Fbank`) and MFCCs (:class:`MFCC`) with ``torch.fft``: the
fixed twins of every convention, which :class:`~kfront.KaleidoFrontend` equals at initialisation."""
import torch

from . import functional as F
from ._base import FrontendBase, mel_filterbank_of, resolve_dtype
from .conventions import get_convention


class Fbank(FrontendBase):
    """Log-mel filterbank features ``log(mel(|FFT|^2))`` under a named convention.

    Args:
        convention (str or Convention): ``"torchaudio"`` (``MelSpectrogram`` with kfront's defaults),
            ``"kaldi-fbank"``, ``"whisper"``, ``"speechbrain-fbank"``, ``"espnet"``, ... (Default: ``"torchaudio"``)
        dtype (torch.dtype, optional): ``torch.float32`` or ``torch.float64``. (Default: the default dtype)
        **feature_args: :class:`~kfront.frontend.config.FeatureConfig` fields that override the convention
            (``sample_rate``, ``n_fft``, ``win_length``, ``hop_length``, ``n_mels``, ``f_min``, ``f_max``, ...).

    Example:
        >>> fbank = Fbank(sample_rate=16000, n_mels=40)
        >>> feats, frame_lengths = fbank(torch.randn(2, 16000), lengths=torch.tensor([16000, 8000]))  # (2, 40, 101)
    """

    _OUTPUT = "fbank"

    def __init__(self, *, convention="torchaudio", dtype: torch.dtype | None = None, **feature_args):
        """Build the front-end (see the class docstring)."""
        config = get_convention(convention, **{"output": self._OUTPUT, **feature_args})
        if config.output != self._OUTPUT:
            raise ValueError(f"{type(self).__name__} computes output={self._OUTPUT!r}, got output={config.output!r}")
        dtype = resolve_dtype(dtype)
        super().__init__(config, dtype, convention=convention)
        self.register_buffer("window", F.make_window(config.window, config.win_length, dtype, config.periodic))
        self.register_buffer("fb", mel_filterbank_of(config, dtype))  # (n_freqs, n_mels)
        dct = F.create_dct(config.n_mfcc, config.n_mels, dtype) if config.output == "mfcc" else None
        self.register_buffer("dct_mat", dct)  # (n_mels, n_mfcc) or None

    @property
    def dtype(self) -> torch.dtype:
        return self.fb.dtype

    def power_spectrum(self, frames: torch.Tensor) -> torch.Tensor:
        # |.|^2 as abs().pow(2), torchaudio.functional.spectrogram's formula: bitwise the same as torchaudio
        spec = torch.fft.rfft(frames * self.frame_window(), n=self.config.n_fft)  # (..., n_freqs)
        return spec.abs().pow(2.0)

    @torch.no_grad()
    def transform_matrix(self) -> torch.Tensor:
        return torch.fft.rfft(torch.eye(self.config.n_fft, dtype=self.dtype, device=self.fb.device), dim=0)

    def window_values(self) -> torch.Tensor:
        return self.window

    def filterbank(self) -> torch.Tensor:
        return self.fb

    def dct_matrix(self) -> torch.Tensor | None:
        return self.dct_mat


class MFCC(Fbank):
    """MFCCs: the orthonormal DCT-II of :class:`Fbank`'s log-mel energies, first ``n_mfcc`` coefficients
    (``n_mfcc``: the convention's, 13 for ``"torchaudio"``). Arguments as :class:`Fbank`.

    Example:
        >>> feats = MFCC(sample_rate=16000, n_mfcc=13)(torch.randn(16000))  # (13, 101)
    """

    _OUTPUT = "mfcc"
