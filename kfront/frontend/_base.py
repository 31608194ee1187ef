"""What every front-end shares: arguments, input checks, centre padding, frame counts and the forward contract."""
import torch
from torch import nn

from . import functional as F
from ._checks import check_frontend_args, check_log_offset, check_waveform

_DTYPES = (torch.float32, torch.float64)


def resolve_dtype(dtype) -> torch.dtype:
    dtype = dtype or torch.get_default_dtype()
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


class FrontendBase(nn.Module):
    """Base of the front-ends: ``forward(waveform, lengths=None, sample_rate=None)``.

    Subclasses implement :meth:`features_from_padded` (frames of an already padded signal to features) and
    the introspection methods :meth:`analysis_matrix`, :meth:`filterbank` and :meth:`dct_matrix`.
    """

    def __init__(self, sample_rate: int, n_fft: int, win_length: int | None, hop_length: int | None, n_mels: int,
                 f_min: float, f_max: float | None, n_mfcc: int | None, center: bool, log_offset: float):
        super().__init__()
        win_length = n_fft if win_length is None else win_length
        hop_length = win_length // 2 if hop_length is None else hop_length
        self.f_max = check_frontend_args(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max, n_mfcc)
        self.sample_rate, self.n_fft, self.win_length, self.hop_length = sample_rate, n_fft, win_length, hop_length
        self.n_mels, self.f_min, self.n_mfcc = n_mels, float(f_min), n_mfcc
        self.n_freqs = n_fft // 2 + 1
        self.center = bool(center)
        self.log_offset = check_log_offset(log_offset)
        self.output = "fbank" if n_mfcc is None else "mfcc"
        #: number of feature channels: ``n_mfcc`` for MFCCs, ``n_mels`` for log-mel filterbanks
        self.n_features = n_mels if n_mfcc is None else n_mfcc

    # --- to implement -----------------------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        """Real dtype the features are computed in."""
        raise NotImplementedError

    def features_from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        """Features of every full frame of an already padded signal: ``(..., time) -> (..., n_features, frames)``."""
        raise NotImplementedError

    def analysis_matrix(self) -> torch.Tensor:
        """Complex ``(n_fft // 2 + 1, n_fft)`` map from a raw frame to the bins the power is taken of (window
        included): the windowed DFT for the fixed pipeline."""
        raise NotImplementedError

    def filterbank(self) -> torch.Tensor:
        """The ``(n_fft // 2 + 1, n_mels)`` filterbank applied to the power spectrum."""
        raise NotImplementedError

    def dct_matrix(self) -> torch.Tensor | None:
        """The ``(n_mels, n_mfcc)`` DCT matrix, or ``None`` for log-mel output."""
        return None

    # --- shared -----------------------------------------------------------------------------------------------
    def num_frames(self, n_samples):
        """Frames produced for ``n_samples`` samples (an int or an integer tensor such as ``lengths``)."""
        return F.num_frames(n_samples, self.n_fft, self.hop_length, self.center)

    def check_input(self, waveform, lengths=None, sample_rate=None) -> None:
        """Raise ``ValueError`` when ``forward`` cannot take these arguments (see ``kfront.frontend._checks``)."""
        check_waveform(waveform, lengths, sample_rate, expected_sample_rate=self.sample_rate, n_fft=self.n_fft,
                       center=self.center)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None, sample_rate: int | None = None):
        """
        Args:
            waveform (Tensor): ``(..., time)`` real floating-point audio (cast to the front-end's dtype).
            lengths (LongTensor, optional): ``(batch,)`` valid samples of each item of a padded batch
                ``(batch, ..., time)``. (Default: ``None``)
            sample_rate (int, optional): rate of ``waveform``; checked against the front-end's. (Default: ``None``)

        Returns:
            Tensor: ``(..., n_features, frames)``; with ``lengths``, the tuple ``(features, frame_lengths)``
            where ``frame_lengths`` ``(batch,)`` counts the frames of each item (frames past it see padding).

        Under ``torch.autocast`` the whole front-end runs in its own dtype (float32 by default): the power
        spectrum overflows float16 and its log loses most of bfloat16's digits, and the front-end is a small
        share of a recognizer's compute.
        """
        self.check_input(waveform, lengths, sample_rate)
        with torch.autocast(device_type=waveform.device.type, enabled=False):
            x = waveform.to(self.dtype)
            padded = F.center_pad(x, self.n_fft) if self.center else x
            feats = self.features_from_padded(padded)  # (..., n_features, frames)
        if lengths is None:
            return feats
        return feats, self.num_frames(lengths.long())

    def stream(self):
        """A :class:`~kfront.frontend.streaming.StreamingFrontend` that feeds this front-end chunk by chunk."""
        from .streaming import StreamingFrontend
        return StreamingFrontend(self)

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, n_fft={self.n_fft}, win_length={self.win_length}, "
                f"hop_length={self.hop_length}, n_mels={self.n_mels}, f_min={self.f_min}, f_max={self.f_max}, "
                f"output={self.output!r}, n_features={self.n_features}, center={self.center}")
