"""Freeze a (trained) front-end for deployment: plain tensor ops, no custom op, no parameters.

``freeze(frontend)`` returns a :class:`FrozenFrontend` holding buffers only. Two forms:

- ``"dense"`` (default): the windowed K-matrix materialised as one real ``(2 * n_freqs, n_fft)`` matrix
  (real and imaginary rows), applied to the frames with a matmul. Every exporter handles it (no complex
  tensors, which ONNX lacks), and on accelerators a matmul is the fastest way to apply a 512-point map.
- ``"butterfly"``: the twiddles and the pure-PyTorch butterfly reference, ``O(n log n)`` per frame; keeps
  complex arithmetic, so it suits ``torch.export`` / TorchScript-free Python deployment, not ONNX.
"""
import torch

from ..core import butterfly_multiply_reference
from . import functional as F
from ._spectrum import kmatrix_spectrum
from ._base import FrontendBase

FORMS = ("dense", "butterfly")


def _reference_multiply(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool) -> torch.Tensor:
    """The pure-PyTorch butterfly on ``(..., nstacks, n)``: standard ops only, whatever backend is loaded."""
    y = butterfly_multiply_reference(twiddle, x.reshape(-1, *x.shape[-2:]), increasing_stride)
    return y.reshape(x.shape)


class FrozenFrontend(FrontendBase):
    """A front-end reduced to buffers and standard ops; same ``forward`` contract and outputs as its source.

    Build it with :func:`freeze`.
    """

    def __init__(self, frontend: FrontendBase, form: str = "dense"):
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if form == "butterfly" and not hasattr(frontend, "kmatrix"):
            raise ValueError(f"form='butterfly' needs a front-end with a K-matrix, got {type(frontend).__name__}")
        super().__init__(frontend.sample_rate, frontend.n_fft, frontend.win_length, frontend.hop_length,
                         frontend.n_mels, frontend.f_min, frontend.f_max, frontend.n_mfcc, frontend.center,
                         frontend.log_offset)
        self.form = form
        dtype = frontend.dtype
        with torch.no_grad():
            fb = frontend.filterbank().detach().to(dtype).clone()
            dct = frontend.dct_matrix()
            self.register_buffer("fb", fb)  # (n_freqs, n_mels)
            self.register_buffer("dct_mat", None if dct is None else dct.detach().to(dtype).clone())
            if form == "dense":
                a = frontend.analysis_matrix()  # (n_freqs, n_fft) complex, window included
                self.register_buffer("weight", torch.cat((a.real, a.imag)).to(dtype).contiguous())
            else:
                km = frontend.kmatrix
                self.register_buffer("twiddle", km.twiddle.detach().clone())
                self.register_buffer("perm", None if km.perm is None else km.perm.clone())  # (size,)
                self.register_buffer("window", F.pad_window(frontend.window.detach(), self.n_fft).clone())
                sep = frontend.separation
                self.register_buffer("separation", None if sep is None else sep.detach().clone())
                self.increasing_stride = km.increasing_stride

    @property
    def dtype(self) -> torch.dtype:
        return self.fb.dtype

    def _spectrum(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts ``(..., n_freqs)`` of the windowed transform of frames ``(..., n_fft)``."""
        if self.form == "dense":
            y = torch.matmul(frames, self.weight.t())  # (..., 2 n_freqs)
            return y[..., :self.n_freqs], y[..., self.n_freqs:]
        y = kmatrix_spectrum(frames, self.window, self.twiddle, self.perm, self.increasing_stride, self.n_freqs,
                             self.separation, multiply=_reference_multiply)  # (..., n_freqs)
        return y.real, y.imag

    def features_from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        frames = F.frame(padded, self.n_fft, self.hop_length)  # (..., frames, n_fft)
        re, im = self._spectrum(frames)  # (..., frames, n_freqs) each
        power = re.square() + im.square()
        return F.power_to_features(power, self.fb, self.log_offset, self.dct_mat)

    @torch.no_grad()
    def analysis_matrix(self) -> torch.Tensor:
        re, im = self._spectrum(torch.eye(self.n_fft, dtype=self.dtype, device=self.fb.device))  # (n_fft, n_freqs)
        return torch.complex(re, im).t()  # (n_freqs, n_fft)

    def filterbank(self) -> torch.Tensor:
        return self.fb

    def dct_matrix(self) -> torch.Tensor | None:
        return self.dct_mat

    def extra_repr(self) -> str:
        return super().extra_repr() + f", form={self.form!r}"


def freeze(frontend: FrontendBase, form: str = "dense") -> FrozenFrontend:
    """A parameter-free copy of ``frontend`` (its current values) for deployment and export.

    Args:
        frontend: a :class:`~kfront.KaleidoFrontend`, :class:`~kfront.MFCC` or :class:`~kfront.Fbank`.
        form (str): ``"dense"`` or ``"butterfly"`` (see the module docstring). (Default: ``"dense"``)

    Returns:
        FrozenFrontend: in eval mode; ``torch.export.export(frozen, (waveform,))`` accepts it.

    Example:
        >>> frozen = freeze(trained_frontend)
        >>> program = torch.export.export(frozen, (torch.randn(1, 16000),))
    """
    return FrozenFrontend(frontend, form).eval()
