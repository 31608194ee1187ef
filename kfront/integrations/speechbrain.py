"""SpeechBrain's ``Fbank`` and ``MFCC`` (its names, arguments and layout; not :class:`kfront.Fbank`, kfront's own)
computed by a kfront front-end, usable from HyperPyYAML as ``!new:kfront.integrations.speechbrain.Fbank``."""
import torch
from torch import nn

from ..frontend import frontend_for
from ..frontend.conventions import SPEECHBRAIN_FBANK, SPEECHBRAIN_MFCC
from ..frontend.kaleido import resolve_learn

#: SpeechBrain's arguments a kfront front-end computes at one value only: name -> (that value, why)
_FIXED_ARGS = {
    "filter_shape": ("triangular", "SpeechBrain's default, the filters a kfront front-end reproduces"),
    "param_rand_factor": (0, "random filter jitter is SpeechBrain's own augmentation"),
    "param_change_factor": (1.0, "it scales SpeechBrain's own filter parameters; a kfront filterbank learns at "
                                 "the optimizer's rate"),
}


class _SpeechBrainFeatures(nn.Module):
    """A kfront front-end behind SpeechBrain's feature-maker interface (see :class:`Fbank`)."""

    _CONVENTION = SPEECHBRAIN_FBANK

    def __init__(self, sb_args: dict, learnable: bool, learn, dtype, kaleido_args: dict):
        super().__init__()
        for name, (only, why) in _FIXED_ARGS.items():
            if sb_args[name] != only:
                raise ValueError(f"{name} must be {only!r} ({why}), got {sb_args[name]!r}")
        record = self._CONVENTION
        sample_rate = sb_args["sample_rate"]
        features = record.rename(**{k: v for k, v in sb_args.items() if k in record.option_names})
        features.update(
            f_min=float(sb_args["f_min"]), f_max=record.high_freq(sample_rate, sb_args["f_max"]),
            win_length=record.samples(sb_args["win_length"], sample_rate),
            hop_length=record.samples(sb_args["hop_length"], sample_rate),
            deltas=2 if sb_args["deltas"] else 0,
            context=(sb_args["left_frames"], sb_args["right_frames"]) if sb_args["context"] else (0, 0))
        if sb_args["requires_grad"]:  # SpeechBrain's learnable filterbank
            if learnable:
                learn = resolve_learn(learn, record.outputs[0]) + ("filterbank",)
            else:
                kaleido_args = {**kaleido_args, "requires_grad": True}  # refused with the K-matrix arguments
        self.frontend = frontend_for(record, learnable, learn=learn, dtype=dtype, **kaleido_args, **features)

    @property
    def n_features(self) -> int:
        """Features per frame (the last dimension of the output)."""
        return self.frontend.n_features

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None,
                sample_rate: int | None = None) -> torch.Tensor:
        """
        Args:
            wav (Tensor): ``(batch, time)`` float audio in [-1, 1], a padded batch.
            wav_lens (Tensor, optional): ``(batch,)`` relative lengths in ``(0, 1]``, checked. (Default: ``None``)
            sample_rate (int, optional): rate of ``wav``, checked against the front-end's. (Default: ``None``)

        Returns:
            Tensor: ``(batch, frames, n_features)``.
        """
        # Relative lengths hold for the frames too: they pass on unchanged to InputNormalization and the loss. As
        # in SpeechBrain, the utterance-level steps (top_db, deltas, context) see the whole padded item.
        check_speechbrain_input(wav, wav_lens)
        return self.frontend(wav, sample_rate=sample_rate).transpose(-1, -2)  # (batch, frames, n_features)


class Fbank(_SpeechBrainFeatures):
    """``speechbrain.lobes.features.Fbank`` with a learnable K-matrix in place of the FFT (its features at init).

    Args:
        deltas (bool): append first and second time derivatives. (Default: ``False``)
        context (bool): stack ``left_frames`` past and ``right_frames`` future frames. (Default: ``False``)
        requires_grad (bool): the filterbank learns too. (Default: ``False``)
        sample_rate (int): rate of the audio. (Default: ``16000``)
        f_min, f_max (float): filter edges in Hz; ``f_max=None`` is ``sample_rate // 2``. (Default: ``0``, ``None``)
        n_fft (int): transform size in samples. (Default: ``400``)
        n_mels (int): mel filters. (Default: ``40``)
        filter_shape, param_change_factor, param_rand_factor: only at their defaults.
        left_frames, right_frames (int): context frames. (Default: ``5``, ``5``)
        win_length, hop_length (float): window and hop in milliseconds. (Default: ``25``, ``10``)
        learnable, learn, dtype, **kaleido_args: as :func:`~kfront.frontend.frontend_for`.

    Example:
        >>> compute_features = Fbank(n_mels=40)
        >>> feats = compute_features(torch.randn(4, 16000))  # (4, 101, 40), SpeechBrain's Fbank at init
    """

    def __init__(self, deltas: bool = False, context: bool = False, requires_grad: bool = False,
                 sample_rate: int = 16000, f_min: float = 0, f_max: float | None = None, n_fft: int = 400,
                 n_mels: int = 40, filter_shape: str = "triangular", param_change_factor: float = 1.0,
                 param_rand_factor: float = 0.0, left_frames: int = 5, right_frames: int = 5,
                 win_length: float = 25, hop_length: float = 10, *, learnable: bool = True, learn=("kmatrix",),
                 dtype: torch.dtype | None = None, **kaleido_args):
        """Build the front-end from SpeechBrain's arguments (see the class docstring)."""
        sb_args = dict(deltas=deltas, context=context, requires_grad=requires_grad, sample_rate=sample_rate,
                       f_min=f_min, f_max=f_max, n_fft=n_fft, n_mels=n_mels, filter_shape=filter_shape,
                       param_change_factor=param_change_factor, param_rand_factor=param_rand_factor,
                       left_frames=left_frames, right_frames=right_frames, win_length=win_length,
                       hop_length=hop_length)
        super().__init__(sb_args, learnable, learn, dtype, kaleido_args)


class MFCC(_SpeechBrainFeatures):
    """``speechbrain.lobes.features.MFCC`` with a learnable K-matrix in place of the FFT (its features at init).

    Args:
        deltas, context (bool): as for :class:`Fbank`. (Default: ``True``, ``True``)
        n_mels (int): mel filters. (Default: ``23``)
        n_mfcc (int): cepstra kept. (Default: ``20``)
        others: as for :class:`Fbank`.

    Example:
        >>> feats = MFCC()(torch.randn(4, 16000))  # (4, 101, 660): 20 cepstra, deltas, 5 + 5 frames of context
    """

    _CONVENTION = SPEECHBRAIN_MFCC

    def __init__(self, deltas: bool = True, context: bool = True, requires_grad: bool = False,
                 sample_rate: int = 16000, f_min: float = 0, f_max: float | None = None, n_fft: int = 400,
                 n_mels: int = 23, n_mfcc: int = 20, filter_shape: str = "triangular",
                 param_change_factor: float = 1.0, param_rand_factor: float = 0.0, left_frames: int = 5,
                 right_frames: int = 5, win_length: float = 25, hop_length: float = 10, *, learnable: bool = True,
                 learn=("kmatrix",), dtype: torch.dtype | None = None, **kaleido_args):
        """Build the front-end from SpeechBrain's arguments (see the class docstring)."""
        sb_args = dict(deltas=deltas, context=context, requires_grad=requires_grad, sample_rate=sample_rate,
                       f_min=f_min, f_max=f_max, n_fft=n_fft, n_mels=n_mels, n_mfcc=n_mfcc, filter_shape=filter_shape,
                       param_change_factor=param_change_factor, param_rand_factor=param_rand_factor,
                       left_frames=left_frames, right_frames=right_frames, win_length=win_length,
                       hop_length=hop_length)
        super().__init__(sb_args, learnable, learn, dtype, kaleido_args)


def check_speechbrain_input(wav, wav_lens=None) -> None:
    """Raise ``ValueError`` unless ``wav`` is ``(batch, time)`` audio and ``wav_lens`` relative lengths ``(batch,)``
    in ``(0, 1]``."""
    if not isinstance(wav, torch.Tensor):
        raise ValueError(f"wav must be a torch.Tensor (batch, time), got {type(wav).__name__}")
    if wav.dim() != 2:
        hint = (" (SpeechBrain's multichannel (batch, time, channels) path mixes the channels; put the channels in "
                "the batch instead)") if wav.dim() == 3 else ""
        raise ValueError(f"wav must have shape (batch, time), got {tuple(wav.shape)}{hint}")
    if wav.numel() == 0:
        raise ValueError(f"wav is empty: shape {tuple(wav.shape)}; need at least one item with one sample")
    if wav_lens is None:
        return
    if not isinstance(wav_lens, torch.Tensor):
        raise ValueError(f"wav_lens must be a float tensor (batch,) of relative lengths in (0, 1], got "
                         f"{type(wav_lens).__name__}")
    if not wav_lens.is_floating_point():
        raise ValueError(f"wav_lens must be relative lengths in (0, 1] (SpeechBrain's form: valid samples / "
                         f"wav.shape[1]), got {wav_lens.dtype} values {wav_lens.tolist()}; divide absolute sample "
                         f"counts by {wav.shape[1]}")
    if wav_lens.shape != (wav.shape[0],):
        raise ValueError(f"wav_lens must have shape (batch,) = ({wav.shape[0]},), got {tuple(wav_lens.shape)}")
    bad = ~((wav_lens > 0) & (wav_lens <= 1))
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"wav_lens[{i}] = {wav_lens[i].item()!r} is not a relative length in (0, 1] (SpeechBrain's "
                         f"form: valid samples / wav.shape[1]); absolute sample counts go to kfront's own "
                         f"front-ends as lengths=")
