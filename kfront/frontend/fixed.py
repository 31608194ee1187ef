"""The fixed front-ends: log-mel filterbanks (:class:`Fbank`) and MFCCs (:class:`MFCC`) on ``torchaudio``.

Same conventions as ``torchaudio.transforms.MelSpectrogram`` / ``MFCC(log_mels=True)``: ``center=True`` reflect
padding, power 2, HTK mel scale without normalisation, ``log(mel + 1e-6)``, orthonormal DCT-II. These are the
baselines :class:`~kfront.frontend.kaleido.KaleidoFrontend` equals at initialisation.
"""
import torch
import torchaudio

from . import functional as F
from ._base import FrontendBase, resolve_dtype


class Fbank(FrontendBase):
    """Log-mel filterbank features ``log(mel(|STFT|^2) + log_offset)``.

    Args:
        sample_rate (int): rate of the input audio (Hz). (Default: ``16000``)
        n_fft (int): FFT size. (Default: ``512``)
        win_length (int or None): window length, ``<= n_fft``; ``None`` means ``n_fft``. (Default: ``400``)
        hop_length (int or None): hop between frames; ``None`` means ``win_length // 2``. (Default: ``160``)
        n_mels (int): mel filters. (Default: ``40``)
        f_min (float): lowest filter edge (Hz). (Default: ``0.0``)
        f_max (float or None): highest filter edge (Hz); ``None`` means ``sample_rate // 2``. (Default: ``None``)
        window (str or Tensor): ``"hamming"``, ``"hann"``, ``"blackman"``, ``"rectangular"`` (periodic) or a
            ``(win_length,)`` tensor. (Default: ``"hamming"``)
        center (bool): reflect-pad ``n_fft // 2`` samples at both ends so that frame ``t`` is centred at
            ``t * hop_length``. (Default: ``True``)
        log_offset (float): added to the mel energies before the log. (Default: ``1e-6``)
        dtype (torch.dtype, optional): ``torch.float32`` or ``torch.float64``; constants are built in float64
            and cast. (Default: the default dtype)

    Example:
        >>> fbank = Fbank(sample_rate=16000, n_mels=40)
        >>> feats = fbank(torch.randn(2, 16000))  # (2, 40, 101)
        >>> feats, frame_lengths = fbank(torch.randn(2, 16000), lengths=torch.tensor([16000, 8000]))
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 512, win_length: int | None = 400,
                 hop_length: int | None = 160, n_mels: int = 40, f_min: float = 0.0, f_max: float | None = None,
                 window="hamming", center: bool = True, log_offset: float = 1e-6, dtype: torch.dtype | None = None,
                 *, _n_mfcc: int | None = None):
        super().__init__(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max, _n_mfcc, center,
                         log_offset)
        dtype = resolve_dtype(dtype)
        self.register_buffer("window", F.make_window(window, self.win_length).to(dtype))  # (win_length,)
        fb = F.mel_filterbank(self.n_freqs, self.f_min, self.f_max, n_mels, sample_rate, dtype)
        self.register_buffer("fb", fb)  # (n_freqs, n_mels)
        dct = F.create_dct(_n_mfcc, n_mels, dtype) if _n_mfcc is not None else None
        self.register_buffer("dct_mat", dct)  # (n_mels, n_mfcc) or None

    @property
    def dtype(self) -> torch.dtype:
        return self.fb.dtype

    def features_from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        spec = torchaudio.functional.spectrogram(
            padded, pad=0, window=self.window, n_fft=self.n_fft, hop_length=self.hop_length,
            win_length=self.win_length, power=2.0, normalized=False, center=False)  # (..., n_freqs, frames)
        return F.power_to_features(spec.transpose(-1, -2), self.fb, self.log_offset, self.dct_mat)

    @torch.no_grad()
    def analysis_matrix(self) -> torch.Tensor:
        dft = torch.fft.rfft(torch.eye(self.n_fft, dtype=self.dtype, device=self.fb.device), dim=0)  # (n_freqs, n_fft)
        return dft * F.pad_window(self.window, self.n_fft)

    def filterbank(self) -> torch.Tensor:
        return self.fb

    def dct_matrix(self) -> torch.Tensor | None:
        return self.dct_mat


class MFCC(Fbank):
    """MFCCs: the orthonormal DCT-II of :class:`Fbank`'s log-mel energies, first ``n_mfcc`` coefficients.

    Args:
        n_mfcc (int): coefficients kept, ``<= n_mels``. (Default: ``13``)
        others: as for :class:`Fbank`.

    Example:
        >>> mfcc = MFCC(sample_rate=16000, n_mfcc=13)
        >>> feats = mfcc(torch.randn(16000))  # (13, 101)
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 512, win_length: int | None = 400,
                 hop_length: int | None = 160, n_mels: int = 40, n_mfcc: int = 13, f_min: float = 0.0,
                 f_max: float | None = None, window="hamming", center: bool = True, log_offset: float = 1e-6,
                 dtype: torch.dtype | None = None):
        super().__init__(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max, window, center,
                         log_offset, dtype, _n_mfcc=n_mfcc)

