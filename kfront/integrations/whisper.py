"""Whisper's ``input_features`` from a learnable front-end, for ``transformers`` Whisper models: audio taken, padded
and truncated as ``WhisperFeatureExtractor`` does (``docs/integrations.md`` says where it differs), the
extractor's features at initialisation. ``transformers`` is not imported."""
import itertools

import numpy as np
import torch
from torch import nn

from ..frontend import check_sample_counts, frontend_for
from ..frontend.conventions import WHISPER
from ..frontend._checks import scale_mismatch

PCM_FULL_SCALE = {torch.int16: 32768.0, torch.int32: 2.0 ** 31}  #: integer PCM -> float audio in [-1, 1]

PADDINGS = ("max_length", "longest")
NORM_EPS = 1e-7  # WhisperFeatureExtractor.zero_mean_unit_var_norm: (x - mean) / sqrt(var + 1e-7)


class WhisperFrontend(nn.Module):
    """``WhisperFeatureExtractor``'s ``input_features`` as a differentiable module with a learnable K-matrix.

    Args:
        n_mels (int): mel bins, the model's ``num_mel_bins``: 80, or 128 for large-v3. (Default: ``80``)
        learnable (bool): a :class:`~kfront.KaleidoFrontend`, or its fixed twin. (Default: ``True``)
        chunk_length (int): seconds the encoder takes. (Default: ``30``)
        padding (str): ``"max_length"`` (to ``chunk_length`` seconds) or ``"longest"``. (Default: ``"max_length"``)
        truncation (bool): cut items longer than ``chunk_length`` seconds. (Default: ``True``)
        do_normalize (bool): zero-mean, unit-variance audio per item. (Default: ``False``)
        return_attention_mask (bool): also return the attention mask. (Default: ``False``)
        check_scale (bool): refuse float audio that peaks above 8 (int16-range samples). (Default: ``True``)
        dtype (torch.dtype, optional): ``torch.float32`` or ``torch.float64``. (Default: the default dtype)
        **frontend_args: ``learn``, :class:`~kfront.KaleidoFrontend`'s arguments and the convention's overrides.

    Example:
        >>> frontend = WhisperFrontend(n_mels=80)
        >>> input_features = frontend([torch.randn(16000), torch.randn(40000)])  # (2, 80, 3000)
        >>> model(input_features=input_features, labels=labels).loss.backward()  # reaches the K-matrix
    """

    def __init__(self, n_mels: int = 80, *, learnable: bool = True, chunk_length: int = 30,
                 padding: str = "max_length", truncation: bool = True, do_normalize: bool = False,
                 return_attention_mask: bool = False, check_scale: bool = True, dtype: torch.dtype | None = None,
                 **frontend_args):
        """Build the front-end (see the class docstring)."""
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if isinstance(chunk_length, bool) or not isinstance(chunk_length, int) or chunk_length < 1:
            raise ValueError(f"chunk_length must be a positive int (seconds), got {chunk_length!r}")
        for name, value in (("learnable", learnable), ("truncation", truncation), ("do_normalize", do_normalize),
                            ("return_attention_mask", return_attention_mask), ("check_scale", check_scale)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be a bool, got {value!r}")
        self.frontend = frontend_for(WHISPER, learnable, dtype=dtype, n_mels=n_mels, **frontend_args)
        self.learnable, self.padding, self.truncation = learnable, padding, truncation
        self.do_normalize, self.return_attention_mask = do_normalize, return_attention_mask
        self.check_scale, self.chunk_length = check_scale, chunk_length
        # the extractor's names: samples and frames of a chunk, 480000 and 3000 at 30 s
        self.n_samples = chunk_length * self.frontend.config.sample_rate
        self.nb_max_frames = self.n_samples // self.frontend.config.hop_length

    @classmethod
    def from_feature_extractor(cls, extractor, **kwargs) -> "WhisperFrontend":
        """The front-end that computes what ``extractor`` (a ``WhisperFeatureExtractor``, read through its
        attributes) computes; ``kwargs`` go to the constructor and take precedence."""
        dither = float(getattr(extractor, "dither", 0.0))
        if dither != 0.0:
            raise ValueError(f"the extractor dithers (dither={dither!r}); the front-end is deterministic: build it "
                             "from an extractor with dither=0.0, Whisper's default")
        if float(extractor.padding_value) != 0.0:
            raise ValueError(f"the extractor pads with padding_value={extractor.padding_value!r}; Whisper pads "
                             "with silence, padding_value=0.0")
        if getattr(extractor, "padding_side", "right") != "right":
            raise ValueError(f"the extractor pads on the {extractor.padding_side!r}; Whisper pads on the 'right'")
        settings = WHISPER.rename(**{name: getattr(extractor, name) for name in WHISPER.option_names})
        settings.update(win_length=extractor.n_fft, chunk_length=extractor.chunk_length,
                        return_attention_mask=bool(extractor.return_attention_mask))
        return cls(**{**settings, **kwargs})

    def forward(self, waveform, lengths: torch.Tensor | None = None, sample_rate: int | None = None,
                return_attention_mask: bool | None = None):
        """
        Args:
            waveform (Tensor, ndarray or list): 16 kHz audio, float in [-1, 1] or int16 / int32 PCM: ``(time,)``,
                a padded batch ``(batch, time)``, or a list of ``(time_i,)`` waveforms (tensors, arrays, lists).
            lengths (LongTensor, optional): ``(batch,)`` valid samples of a padded batch. (Default: all)
            sample_rate (int, optional): rate of ``waveform``, checked. (Default: ``None``)
            return_attention_mask (bool, optional): overrides the constructor's setting. (Default: ``None``)

        Returns:
            Tensor: ``(batch, n_mels, frames)`` (3000 frames with ``padding="max_length"``); with the attention
            mask, ``(input_features, attention_mask)``, the mask ``(batch, frames)`` int32.
        """
        batch, lengths = self._batch(waveform, lengths)  # (batch, time), (batch,)
        batch = self._fit(batch, lengths)  # (batch, target)
        lengths = lengths.clamp(max=batch.shape[-1])
        if self.check_scale and not self.do_normalize:
            self._check_scale(batch)
        if self.do_normalize:
            batch = zero_mean_unit_var(batch, lengths)
        feats = self.frontend(batch, sample_rate=sample_rate)  # (batch, n_mels, target // hop_length)
        mask_wanted = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        if not mask_wanted:
            return feats
        starts = torch.arange(feats.shape[-1], device=lengths.device) * self.frontend.config.hop_length  # (frames,)
        return feats, (starts < lengths.unsqueeze(1)).to(torch.int32)  # (batch, frames)

    def _batch(self, waveform, lengths):
        """A ``(batch, time)`` tensor in the front-end's dtype and its ``(batch,)`` lengths, from any input form."""
        dtype = self.frontend.dtype
        if isinstance(waveform, (list, tuple)) and not _is_waveform_list(waveform):
            if lengths is not None:
                raise ValueError("lengths is for a padded batch (batch, time); a list of waveforms carries its own "
                                 f"lengths, got lengths={lengths!r}")
            if len(waveform) == 0:
                raise ValueError("waveform is an empty list; expected one or more float tensors of shape (time,)")
            items = [self._as_samples(item, f"waveform[{i}]") for i, item in enumerate(waveform)]
            for i, item in enumerate(items):
                if item.dim() != 1 or item.shape[0] == 0:
                    raise ValueError(f"waveform[{i}] must be a non-empty mono waveform of shape (time,), got shape "
                                     f"{tuple(item.shape)}")
            lengths = torch.tensor([item.shape[0] for item in items], device=items[0].device)
            return nn.utils.rnn.pad_sequence([item.to(dtype) for item in items], batch_first=True), lengths
        waveform = self._as_samples(waveform, "waveform")
        if waveform.dim() not in (1, 2):
            raise ValueError(f"Whisper takes mono audio: waveform must be (time,), (batch, time) or a list of (time,) "
                             f"tensors, got shape {tuple(waveform.shape)}")
        if waveform.numel() == 0:
            raise ValueError(f"waveform is empty: shape {tuple(waveform.shape)}; expected (time,) or (batch, time) "
                             "with time >= 1 and batch >= 1")
        if waveform.dim() == 1:
            if lengths is not None:
                raise ValueError(f"lengths needs a padded batch (batch, time), got a waveform of shape "
                                 f"{tuple(waveform.shape)}")
            waveform = waveform.unsqueeze(0)
        batch, time = waveform.shape
        if lengths is None:
            return waveform.to(dtype), torch.full((batch,), time, device=waveform.device)
        check_sample_counts(lengths, batch, time)
        return waveform.to(dtype), lengths.to(device=waveform.device, dtype=torch.long)

    def _as_samples(self, item, name: str) -> torch.Tensor:
        """One input as a tensor of float samples on the front-end's device (integer PCM: over its full scale)."""
        if isinstance(item, np.ndarray) or _is_waveform_list(item):
            # a copy: read-only arrays (memory-mapped files) are fine; a list of numbers is float, as the extractor's
            array = np.array(item, dtype=np.float64 if isinstance(item, (list, tuple)) else None)
            if array.dtype.kind not in "iuf":
                raise ValueError(f"{name} must hold float samples in [-1, 1] or int16 / int32 PCM, got a NumPy "
                                 f"array of dtype {array.dtype}")
            item = torch.from_numpy(array).to(self._device())
        elif not isinstance(item, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, a NumPy array or a list of float samples, got "
                             f"{type(item).__name__}")
        if item.dtype in PCM_FULL_SCALE:
            return item.to(self.frontend.dtype) / PCM_FULL_SCALE[item.dtype]
        if not item.is_floating_point():
            raise ValueError(f"{name} must hold float samples in [-1, 1], as Whisper reads them, or int16 / int32 "
                             f"PCM, got dtype {item.dtype}")
        return item

    def _device(self) -> torch.device:
        return next(itertools.chain(self.frontend.parameters(), self.frontend.buffers())).device

    @staticmethod
    def _check_scale(batch: torch.Tensor) -> None:
        """Refuse an item on the int16 scale, naming it (the Kaldi adapter's check, for ``"float"`` audio)."""
        problem = scale_mismatch(batch, "float")
        if problem is not None:
            item = int(batch.detach().abs().amax(-1).argmax())
            raise ValueError(f"item {item}: {problem}, which Whisper reads: divide int16-range audio by 32768 (int16 "
                             "PCM is divided for you), or pass check_scale=False")

    def _fit(self, batch: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Truncate, zero the samples past each length, pad: ``(batch, time) -> (batch, target)``."""
        longest = int(lengths.max())
        if not self.truncation and self.padding == "max_length" and longest > self.n_samples:
            item = int(lengths.argmax())
            raise ValueError(f"item {item} has {longest} samples, more than the {self.n_samples} "
                             f"({self.chunk_length} s) the encoder takes; split the audio, or pass truncation=True "
                             "to cut it as WhisperFeatureExtractor does")
        if self.padding == "max_length":
            target = self.n_samples
        else:
            target = min(longest, self.n_samples) if self.truncation else longest
        batch = batch[:, :target]
        valid = torch.arange(batch.shape[-1], device=batch.device) < lengths.unsqueeze(1)  # (batch, time)
        batch = torch.where(valid, batch, torch.zeros((), dtype=batch.dtype, device=batch.device))
        return nn.functional.pad(batch, (0, target - batch.shape[-1]))  # (batch, target)

    def extra_repr(self) -> str:
        return (f"n_mels={self.frontend.config.n_mels}, learnable={self.learnable}, chunk_length={self.chunk_length}, "
                f"padding={self.padding!r}, truncation={self.truncation}, do_normalize={self.do_normalize}, "
                f"return_attention_mask={self.return_attention_mask}, check_scale={self.check_scale}")


def zero_mean_unit_var(batch: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``WhisperFeatureExtractor.zero_mean_unit_var_norm``, differentiable: ``(x - mean) / sqrt(var + 1e-7)`` over
    each item's first ``lengths`` samples ``(batch,)``, zeros after them; ``(batch, time) -> (batch, time)``."""
    valid = torch.arange(batch.shape[-1], device=batch.device) < lengths.unsqueeze(1)  # (batch, time)
    count = lengths.to(batch.dtype).unsqueeze(1)  # (batch, 1)
    mean = torch.where(valid, batch, 0.0).sum(-1, keepdim=True) / count
    var = torch.where(valid, (batch - mean).square(), 0.0).sum(-1, keepdim=True) / count
    return torch.where(valid, (batch - mean) / torch.sqrt(var + NORM_EPS), 0.0)


def _is_waveform_list(value) -> bool:
    """Whether ``value`` is one waveform given as a list of numbers (a list of tensors or lists is a batch)."""
    return isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], (int, float, np.number)) \
        and not isinstance(value[0], bool)
