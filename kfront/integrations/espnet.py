"""ESPnet2's ``DefaultFrontend`` computed by a kfront front-end, with ESPnet's frontend interface and its features
at initialisation (the ``"espnet"`` convention)."""
import sys

import numpy as np
import torch
from torch import nn

from ..frontend import check_sample_counts, frontend_for
from ..frontend.conventions import ESPNET

#: ESPnet's ``window`` names (``torch.<name>_window``) and kfront's; ``None`` is no window
WINDOWS = {"hann": "hann", "hamming": "hamming", "blackman": "blackman", None: "rectangular"}


class DefaultFrontend(nn.Module):
    """ESPnet2's ``DefaultFrontend`` (STFT, power, librosa mel, ``log(max(x, 1e-10))``) with a learnable K-matrix
    in place of the FFT. Multichannel input keeps one channel, as ESPnet does (random in training, else the first).

    Args:
        fs (int or str): sample rate, or a string such as ``"16k"``. (Default: ``16000``)
        n_fft, win_length, hop_length (int): transform size, window (``None``: ``n_fft``), hop. (Default: ``512``,
            ``None``, ``128``)
        window (str or None): ``"hann"``, ``"hamming"``, ``"blackman"`` or ``None``. (Default: ``"hann"``)
        center (bool): reflect-pad ``n_fft // 2`` at both ends. (Default: ``True``)
        normalized (bool): the STFT scaled by ``n_fft ** -0.5``. (Default: ``False``)
        n_mels (int): mel filters. (Default: ``80``)
        fmin, fmax (float, optional): filter edges; ``None`` is 0 and ``fs / 2``. (Default: ``None``)
        htk (bool): librosa's HTK mel formula, still Slaney-normalised. (Default: ``False``)
        onesided, frontend_conf, apply_stft: only at their defaults (no WPE or beamformer).
        learnable, learn, dtype, **kaleido_args: as :func:`~kfront.frontend.frontend_for`.

    Example:
        >>> frontend = DefaultFrontend(n_mels=80)
        >>> feats, feats_lengths = frontend(torch.randn(2, 16000), torch.tensor([16000, 12000]))
        >>> feats.shape, feats_lengths  # ESPnet's features at init
        (torch.Size([2, 126, 80]), tensor([126, 94]))
    """

    def __init__(self, fs: int | str = 16000, n_fft: int = 512, win_length: int | None = None, hop_length: int = 128,
                 window: str | None = "hann", center: bool = True, normalized: bool = False, onesided: bool = True,
                 n_mels: int = 80, fmin: float | None = None, fmax: float | None = None, htk: bool = False,
                 frontend_conf: dict | None = None, apply_stft: bool = True, *, learnable: bool = True,
                 learn=("kmatrix",), dtype: torch.dtype | None = None, **kaleido_args):
        """Build the front-end from ESPnet's arguments (see the class docstring)."""
        super().__init__()
        register_with_espnet()
        _check_unsupported(window, onesided, frontend_conf, apply_stft)
        fs = parse_sample_rate(fs)
        features = ESPNET.rename(fs=fs, n_fft=n_fft, win_length=win_length, hop_length=hop_length,
                                 window=WINDOWS[window], center=center, n_mels=n_mels,
                                 fmin=0.0 if fmin is None else float(fmin), fmax=fmax)
        if htk:
            features["mel_scale"] = "htk"
        if normalized:
            # |X / sqrt(n)|^2 = |X|^2 / n: log(max(p / n, 1e-10)) = log(max(p, n 1e-10)) - log(n)
            features.update(log_floor=1e-10 * n_fft, feature_shift=-float(np.log(n_fft)))
        self.frontend = frontend_for(ESPNET, learnable, learn=learn, dtype=dtype, **kaleido_args, **features)
        self.frontend_type = "default"

    def output_size(self) -> int:
        """Features per frame: ``n_mels``."""
        return self.frontend.n_features

    def feats_lengths(self, input_lengths: torch.Tensor) -> torch.Tensor:
        """Frames of each item, ESPnet's ``Stft`` arithmetic (truncating division, as ESPnet writes it)."""
        cfg = self.frontend.config
        n = input_lengths + 2 * (cfg.n_fft // 2) if cfg.center else input_lengths
        return torch.div(n - cfg.n_fft, cfg.hop_length, rounding_mode="trunc") + 1

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor | None = None, sample_rate: int | None = None):
        """
        Args:
            input (Tensor): ``(batch, samples)`` or ``(batch, samples, channels)``, a padded batch.
            input_lengths (LongTensor, optional): ``(batch,)`` valid samples of each item. (Default: all)
            sample_rate (int, optional): rate of ``input``, checked against ``fs``. (Default: ``None``)

        Returns:
            tuple: ``feats`` ``(batch, frames, n_mels)``, zero past each length, and ``feats_lengths`` ``(batch,)``.
        """
        check_espnet_input(input, input_lengths)
        if input.dim() == 3:  # one channel, as ESPnet's DefaultFrontend picks it (after its per-channel STFT)
            channel = np.random.randint(input.size(2)) if self.training else 0
            input = input[:, :, channel]  # (batch, samples)
        if input_lengths is None:
            input_lengths = torch.full((input.shape[0],), input.shape[1], dtype=torch.long, device=input.device)
        feats = self.frontend(input, sample_rate=sample_rate).transpose(-1, -2)  # (batch, frames, n_mels)
        feats_lengths = self.feats_lengths(input_lengths.long())
        pad = torch.arange(feats.shape[1], device=feats.device) >= feats_lengths.to(feats.device).unsqueeze(1)
        return feats.masked_fill(pad.unsqueeze(-1), 0.0), feats_lengths  # (batch, frames, n_mels), (batch,)


def parse_sample_rate(fs) -> int:
    """ESPnet's ``fs``: an int, or a string such as ``"16000"``, ``"16k"`` or ``"8K"``."""
    if isinstance(fs, str):
        text = fs.strip().lower()
        try:
            value = float(text[:-1]) * 1000 if text.endswith("k") else float(text)
        except ValueError:
            value = None
        if value is None or value != int(value) or value <= 0:
            raise ValueError(f"fs must be a positive int or a string such as '16k', got {fs!r}")
        return int(value)
    if isinstance(fs, bool) or not isinstance(fs, int) or fs <= 0:
        raise ValueError(f"fs must be a positive int or a string such as '16k', got {fs!r}")
    return fs


def check_espnet_input(input, input_lengths=None) -> None:
    """Raise ``ValueError`` unless ``input`` is ``(batch, samples[, channels])`` audio and ``input_lengths``
    integer sample counts ``(batch,)`` in ``[1, samples]``."""
    if not isinstance(input, torch.Tensor):
        raise ValueError(f"input must be a torch.Tensor (batch, samples), got {type(input).__name__}")
    if input.dim() not in (2, 3):
        raise ValueError(f"input must have shape (batch, samples) or (batch, samples, channels), got "
                         f"{tuple(input.shape)}")
    if input.numel() == 0:
        raise ValueError(f"input is empty: shape {tuple(input.shape)}; need at least one item with samples")
    if input_lengths is None:
        return
    check_sample_counts(input_lengths, input.shape[0], input.shape[1], name="input_lengths")


def _check_unsupported(window, onesided, frontend_conf, apply_stft) -> None:
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {list(WINDOWS)}, got {window!r}")
    if not onesided:
        raise ValueError("onesided must be True: the mel filterbank reads the n_fft // 2 + 1 one-sided bins")
    if not apply_stft:
        raise ValueError("apply_stft must be True: the transform from samples is the stage this front-end learns")
    enhancement = {k: frontend_conf[k] for k in ("use_wpe", "use_beamformer") if (frontend_conf or {}).get(k)}
    if enhancement:
        raise ValueError(f"frontend_conf turns on ESPnet's neural enhancement {enhancement}; this front-end holds "
                         "no WPE / beamformer: use ESPnet's DefaultFrontend for multichannel enhancement")


# ESPnet checks a frontend's type (typeguard in ESPnetASRModel, ClassChoices(type_check=AbsFrontend)). kfront
# never imports ESPnet; where it has been imported, DefaultFrontend is registered as a virtual subclass of its
# AbsFrontend (an abc registration: no ESPnet code is inherited), on import of this module and on every build.
_ABS_FRONTEND = "espnet2.asr.frontend.abs_frontend"


def register_with_espnet() -> bool:
    """Register :class:`DefaultFrontend` as an ESPnet ``AbsFrontend`` if ESPnet is imported; returns whether it
    was. Call it if you import ESPnet after building the front-end."""
    module = sys.modules.get(_ABS_FRONTEND)
    if module is None:
        return False
    module.AbsFrontend.register(DefaultFrontend)
    return True


register_with_espnet()
