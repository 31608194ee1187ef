"""Analysis windows and their placement in a frame."""
import torch

WINDOWS = ("hamming", "hann", "blackman", "rectangular", "povey")


def make_window(window, win_length: int, dtype: torch.dtype = torch.float64, periodic: bool = True) -> torch.Tensor:
    """A window of ``win_length`` samples.

    Args:
        window (str or Tensor): a name in ``WINDOWS`` or a 1-D tensor of that length (copied).
            ``"povey"`` is Kaldi's ``(0.5 - 0.5 cos(2 pi n / (N - 1)))^0.85``, always symmetric.
        win_length (int): samples.
        dtype (torch.dtype): of the result; built in float64 first. (Default: ``torch.float64``)
        periodic (bool): periodic (``torch.*_window``'s default, ``scipy.signal.get_window``'s, for spectral
            analysis) or symmetric (Kaldi's windows). (Default: ``True``)

    Returns:
        Tensor: ``(win_length,)``.
    """
    if isinstance(window, torch.Tensor):
        if window.shape != (win_length,) or not window.is_floating_point():
            raise ValueError(f"a window tensor must be real with shape ({win_length},), got "
                             f"{window.dtype} {tuple(window.shape)}")
        return window.detach().to(dtype).clone()
    f64 = torch.float64
    makers = {"hamming": lambda: torch.hamming_window(win_length, periodic=periodic, dtype=f64),
              "hann": lambda: torch.hann_window(win_length, periodic=periodic, dtype=f64),
              "blackman": lambda: torch.blackman_window(win_length, periodic=periodic, dtype=f64),
              "rectangular": lambda: torch.ones(win_length, dtype=f64),
              "povey": lambda: torch.hann_window(win_length, periodic=False, dtype=f64).pow(0.85)}
    if window not in makers:
        raise ValueError(f"window must be one of {WINDOWS} or a tensor, got {window!r}")
    return makers[window]().to(dtype)


def pad_window(window: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Place a ``(win_length,)`` window in the middle of ``n_fft`` zeros, as ``torch.stft`` does."""
    left = (n_fft - window.shape[-1]) // 2
    return torch.nn.functional.pad(window, (left, n_fft - window.shape[-1] - left))
