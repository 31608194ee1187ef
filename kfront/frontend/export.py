"""Freeze a (trained) front-end for deployment: plain tensor ops, no custom op, no parameters.

``"dense"``: the windowed K-matrix as one real ``(2 * n_freqs, frame_length)`` matrix (real and imaginary rows)
and a matmul, which every exporter handles (ONNX has no complex tensors). ``"butterfly"``: the twiddles and the
pure-PyTorch butterfly, ``O(n log n)`` per frame, complex arithmetic (``torch.export``, not ONNX). A frozen
front-end answers the contract with its source's values, so diagnostics report what was trained.
"""
import torch

from ..core import butterfly_multiply_reference
from ._base import FrontendBase
from ._spectrum import kmatrix_spectrum

FORMS = ("dense", "butterfly")


def _reference_multiply(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool,
                        perm: torch.Tensor | None = None) -> torch.Tensor:
    """The pure-PyTorch butterfly on ``(..., nstacks, L)``, ``L <= n`` (rows zero-padded to n, then permuted by
    ``perm``): standard ops only, whatever backend is loaded."""
    y = butterfly_multiply_reference(twiddle, x.reshape(-1, *x.shape[-2:]), increasing_stride,
                                     perm)  # (batch, nstacks, n)
    return y.reshape(*x.shape[:-1], y.shape[-1])


def _as_real(t: torch.Tensor | None) -> torch.Tensor | None:
    """A detached real copy: complex tensors as their ``(..., 2)`` real view (exporters lack complex)."""
    if t is None:
        return None
    t = t.detach()
    return (torch.view_as_real(t) if t.is_complex() else t).clone().contiguous()


class FrozenFrontend(FrontendBase):
    """A front-end reduced to buffers and standard ops; same ``forward`` contract and outputs as its source.

    Build it with :func:`freeze`.
    """

    def __init__(self, frontend: FrontendBase, form: str = "dense"):
        """Freeze ``frontend`` in ``form``; see Args in the class docstring."""
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if form == "butterfly" and not (frontend.has_kmatrix and hasattr(frontend, "kmatrix")):
            raise ValueError(f"form='butterfly' needs a front-end with a K-matrix module, got "
                             f"{type(frontend).__name__}")
        dtype = frontend.dtype
        super().__init__(frontend.config, dtype, convention=frontend.convention)
        self.form = form
        # The source's answers to the contract (see FrontendBase), kept as they were when frozen.
        self._has_kmatrix, self._learn = frontend.has_kmatrix, tuple(frontend.learn)
        self._num_learnable = frontend.num_learnable_parameters()
        with torch.no_grad():
            self.register_buffer("window", frontend.window_values().detach().to(dtype).clone())  # (win_length,)
            self.register_buffer("fb", frontend.filterbank().detach().to(dtype).clone())  # (n_freqs, n_mels)
            dct = frontend.dct_matrix()
            self.register_buffer("dct_mat", None if dct is None else dct.detach().to(dtype).clone())
            self.register_buffer("transform", _as_real(frontend.transform_matrix()))  # (n_freqs, n_fft, 2)
            self.register_buffer("transform_init", _as_real(frontend.initial_transform_matrix()))
            self.register_buffer("window_init", _as_real(frontend.initial_window()))
            self.register_buffer("fb_init", _as_real(frontend.initial_filterbank()))
            self.register_buffer("dct_init", _as_real(frontend.initial_dct_matrix()))
            if form == "dense":
                a = frontend.analysis_matrix()  # (n_freqs, frame_length) complex, window included
                self.register_buffer("weight", torch.cat((a.real, a.imag)).to(dtype).contiguous())
            else:
                km = frontend.kmatrix
                self.register_buffer("twiddle", km.twiddle.detach().clone())
                self.register_buffer("perm", None if km.perm is None else km.perm.clone())  # (size,)
                sep = frontend.separation
                self.register_buffer("separation", None if sep is None else sep.detach().clone())
                self.increasing_stride = km.increasing_stride

    # --- the contract: the source's values --------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return self.fb.dtype

    @property
    def has_kmatrix(self) -> bool:
        return self._has_kmatrix

    @property
    def learn(self) -> tuple:
        return self._learn

    def num_learnable_parameters(self) -> int:
        return self._num_learnable

    def transform_matrix(self) -> torch.Tensor:
        return torch.view_as_complex(self.transform)

    def initial_transform_matrix(self) -> torch.Tensor:
        return torch.view_as_complex(self.transform_init)

    def window_values(self) -> torch.Tensor:
        return self.window

    def initial_window(self) -> torch.Tensor:
        return self.window_init

    def filterbank(self) -> torch.Tensor:
        return self.fb

    def initial_filterbank(self) -> torch.Tensor:
        return self.fb_init

    def dct_matrix(self) -> torch.Tensor | None:
        return self.dct_mat

    def initial_dct_matrix(self) -> torch.Tensor | None:
        return self.dct_init

    # --- the transform ----------------------------------------------------------------------------------------
    def power_spectrum(self, frames: torch.Tensor) -> torch.Tensor:
        if self.form == "dense":
            y = torch.matmul(frames, self.weight.t())  # (..., 2 n_freqs)
            re, im = y[..., :self.config.n_freqs], y[..., self.config.n_freqs:]
        else:
            y = kmatrix_spectrum(frames, self.frame_window(), self.twiddle, self.perm, self.increasing_stride,
                                 self.config.n_freqs, self.separation, multiply=_reference_multiply)  # (..., n_freqs)
            re, im = y.real, y.imag
        return re.square() + im.square()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", form={self.form!r}"


def freeze(frontend: FrontendBase, form: str = "dense") -> FrozenFrontend:
    """A parameter-free copy of ``frontend`` (its current values), in eval mode, for deployment and export.

    Args:
        frontend: any front-end of this package.
        form (str): ``"dense"`` or ``"butterfly"`` (see the module docstring). (Default: ``"dense"``)

    Example:
        >>> program = torch.export.export(freeze(trained_frontend), (torch.randn(1, 16000),))
    """
    return FrozenFrontend(frontend, form).eval()
