"""A CTC phone recognizer whose input layer is a swappable speech front-end.

The waveform goes in, so a learnable front-end (a K-matrix in place of the FFT) trains end to end with the
recognizer. Everything behind the front-end is the same for every front-end: per-utterance feature
normalisation, an optional strided convolution, bidirectional recurrent layers and a linear layer to the phones
plus the CTC blank.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["CTCModel", "utterance_norm"]


def utterance_norm(feats: torch.Tensor, lengths: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each feature of each utterance to zero mean and unit variance over its valid frames.

    Per-utterance statistics make the recognizer blind to a front-end's overall scale and offset, which a
    learnable front-end is free to drift in.

    Args:
        feats (Tensor): ``(batch, n_features, frames)``.
        lengths (Tensor): valid frames per item ``(batch,)``.
        eps (float, optional): added to the variance. (Default: ``1e-5``)

    Returns:
        Tensor: ``(batch, n_features, frames)``, zero in the padding.
    """
    frames = feats.shape[-1]
    mask = (torch.arange(frames, device=feats.device)[None, :] < lengths[:, None]).to(feats.dtype)  # (B, N)
    mask = mask[:, None, :]  # (B, 1, N)
    count = mask.sum(-1, keepdim=True).clamp_min(1.0)  # (B, 1, 1)
    mean = (feats * mask).sum(-1, keepdim=True) / count  # (B, F, 1)
    var = (((feats - mean) * mask) ** 2).sum(-1, keepdim=True) / count  # (B, F, 1)
    return (feats - mean) / torch.sqrt(var + eps) * mask


class CTCModel(nn.Module):
    """Front-end -> per-utterance norm -> [strided conv] -> bidirectional RNN -> linear, trained with CTC.

    Args:
        frontend (nn.Module): maps ``(waveform (batch, time), lengths)`` to ``(features (batch, n_features,
            frames), frame_lengths)`` and has an ``n_features`` attribute, as the modules of
            :func:`kfront.make_frontend` do.
        n_classes (int): output classes, the CTC blank (index 0) included.
        subsample (int, optional): stride of the conv layer. (Default: ``2``)
        conv_channels (int, optional): channels of the conv layer; 0 for none (then ``subsample`` must be 1).
            (Default: ``256``)
        rnn (str, optional): ``"gru"`` or ``"lstm"``. (Default: ``"gru"``)
        hidden (int, optional): units per direction. (Default: ``256``)
        layers (int, optional): recurrent layers. (Default: ``4``)
        dropout (float, optional): dropout between and after the recurrent layers. (Default: ``0.15``)

    Example:
        >>> model = CTCModel(kfront.make_frontend("mfcc"), n_classes=49)
        >>> log_probs, out_lengths = model(torch.randn(2, 16000), torch.tensor([16000, 12000]))
    """

    def __init__(self, frontend: nn.Module, n_classes: int, subsample: int = 2, conv_channels: int = 256,
                 rnn: str = "gru", hidden: int = 256, layers: int = 4, dropout: float = 0.15):
        super().__init__()
        if rnn not in ("gru", "lstm"):
            raise ValueError(f"rnn must be 'gru' or 'lstm', got {rnn!r}")
        if subsample < 1 or (conv_channels == 0 and subsample != 1):
            raise ValueError(f"subsample={subsample} needs a conv layer (conv_channels={conv_channels})")
        n_features = frontend.n_features
        self.frontend = frontend
        self.subsample = subsample
        if conv_channels > 0:
            # No BatchNorm: its running statistics would differ between data-parallel replicas, and the
            # per-utterance normalisation already fixes the scale of what comes in.
            # A kernel of 2*stride+1 sees every input frame of its output frame and one stride of context each side
            k = 2 * subsample + 1
            self.conv: nn.Module | None = nn.Sequential(
                nn.Conv1d(n_features, conv_channels, k, stride=subsample, padding=k // 2),
                nn.GELU(),
            )
            rnn_in = conv_channels
        else:
            self.conv = None
            rnn_in = n_features
        cls = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = cls(rnn_in, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                       dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, n_classes)

    def output_lengths(self, frame_lengths: torch.Tensor) -> torch.Tensor:
        """Output frames for the given front-end frames (the conv's stride)."""
        if self.conv is None:
            return frame_lengths
        k = 2 * self.subsample + 1
        return (frame_lengths + 2 * (k // 2) - k) // self.subsample + 1

    def encode(self, feats: torch.Tensor, frame_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Everything behind the front-end.

        Args:
            feats (Tensor): ``(batch, n_features, frames)``.
            frame_lengths (Tensor): valid frames per item ``(batch,)``.

        Returns:
            (Tensor, Tensor): log-probabilities ``(batch, out_frames, n_classes)`` and ``out_lengths (batch,)``.
        """
        x = utterance_norm(feats, frame_lengths)  # (B, F, N)
        lengths = frame_lengths
        if self.conv is not None:
            x = self.conv(x)  # (B, C, N')
            lengths = self.output_lengths(frame_lengths)
        x = x.transpose(1, 2)  # (B, N', C)
        lengths = lengths.clamp(min=1, max=x.shape[1])
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        y, _ = self.rnn(packed)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])  # (B, N', 2H)
        logits = self.out(self.dropout(y))  # (B, N', n_classes)
        return logits.log_softmax(dim=-1), lengths

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Recognize a padded batch of waveforms.

        Args:
            waveform (Tensor): ``(batch, time)``.
            lengths (Tensor): samples per item ``(batch,)``.

        Returns:
            (Tensor, Tensor): log-probabilities ``(batch, out_frames, n_classes)`` and ``out_lengths (batch,)``.
        """
        feats, frame_lengths = self.frontend(waveform, lengths)  # (B, F, N), (B,)
        return self.encode(feats, frame_lengths)
