"""Chunked feature extraction that reproduces the offline frames exactly.

With ``center=True`` the offline front-end reflect-pads ``n_fft // 2`` samples at both ends. The start is
known once ``n_fft // 2 + 1`` samples have arrived; the end only when the caller says the stream is over, so
the last frames (those that reach into the right padding) come from :meth:`StreamingFrontend.flush`.
Between the two, every frame is emitted as soon as its last sample has arrived, and computed by the same
``features_from_padded`` the offline call uses, so the frames are the same.
"""
import torch

from . import functional as F
from ._checks import check_num_samples, check_samples


class StreamingFrontend:
    """Feed a front-end's input chunk by chunk; :meth:`push` returns the frames completed so far.

    Works with every front-end of this package (``KaleidoFrontend``, ``MFCC``, ``Fbank``, frozen ones). All
    chunks of a stream share their leading shape ``(...)``; any chunk size works, including 1 sample.

    Args:
        frontend: the front-end module (its current parameters are used at every call).

    Example:
        >>> stream = frontend.stream()
        >>> parts = [stream.push(chunk) for chunk in chunks]  # each (..., n_features, k), k >= 0
        >>> parts.append(stream.flush())                      # the frames that needed the end
        >>> torch.cat(parts, -1)                              # == frontend(torch.cat(chunks, -1))
    """

    def __init__(self, frontend):
        self.frontend = frontend
        self.reset()

    def reset(self) -> None:
        """Forget the current stream."""
        self._buf = None  # (..., L) padded-signal samples from absolute padded index self._buf_start on
        self._buf_start = 0
        self._head = None  # (..., <= pad) real samples received before the left padding could be built
        self._tail = None  # (..., <= pad + 1) last real samples, for the right reflection
        self._n_in = 0  # real samples received
        self._emitted = 0  # frames returned
        self._lead = None  # leading shape of the stream

    # --- public -----------------------------------------------------------------------------------------------
    def push(self, chunk: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        """Append ``chunk`` ``(..., time)``; return the newly completed frames ``(..., n_features, k)``."""
        fe = self.frontend
        check_samples(chunk, sample_rate, expected_sample_rate=fe.sample_rate)
        if self._lead is None:
            self._lead = chunk.shape[:-1]
        elif chunk.shape[:-1] != self._lead:
            raise ValueError(f"chunk has leading shape {tuple(chunk.shape[:-1])}, but this stream started with "
                             f"{tuple(self._lead)}")
        chunk = chunk.to(fe.dtype)
        pad = fe.n_fft // 2 if fe.center else 0
        self._n_in += chunk.shape[-1]
        self._tail = self._cat(self._tail, chunk)[..., -(pad + 1):]
        if self._head is not None or (fe.center and self._buf is None):
            head = self._cat(self._head, chunk)
            if head.shape[-1] <= pad:  # the left reflection needs samples 1 .. pad
                self._head = head
                return self._empty(chunk)
            self._head = None
            chunk = torch.cat((head[..., 1:pad + 1].flip(-1), head), -1)  # left reflect padding
        self._append(chunk)
        available = pad + self._n_in  # padded samples known so far (no right padding yet)
        return self._emit(available, chunk)

    def flush(self) -> torch.Tensor:
        """End the stream: return the remaining frames (those that need the right padding) and reset."""
        fe = self.frontend
        try:
            check_num_samples(self._n_in, fe.n_fft, fe.center)
            if fe.center:
                pad = fe.n_fft // 2
                self._append(self._tail[..., :-1].flip(-1)[..., :pad])  # right reflect padding
            total_padded = self._n_in + (2 * (fe.n_fft // 2) if fe.center else 0)
            return self._emit(total_padded, self._tail)
        finally:
            self.reset()

    # --- internals --------------------------------------------------------------------------------------------
    @staticmethod
    def _cat(a, b):
        return b if a is None else torch.cat((a, b), -1)

    def _empty(self, like: torch.Tensor) -> torch.Tensor:
        return like.new_zeros(*self._lead, self.frontend.n_features, 0)

    def _append(self, padded_part: torch.Tensor) -> None:
        """Add padded-signal samples; drop those before the next frame's start (a hop longer than a frame)."""
        self._buf = self._cat(self._buf, padded_part)
        drop = min(self._emitted * self.frontend.hop_length - self._buf_start, self._buf.shape[-1])
        if drop > 0:
            self._buf, self._buf_start = self._buf[..., drop:], self._buf_start + drop

    def _emit(self, available: int, like: torch.Tensor) -> torch.Tensor:
        """Frames whose last sample has padded index < ``available``."""
        fe = self.frontend
        n_fft, hop = fe.n_fft, fe.hop_length
        ready = F.num_frames(available, n_fft, hop, center=False)  # frames f with f * hop + n_fft <= available
        k = ready - self._emitted
        if k <= 0:
            return self._empty(like)
        start = self._emitted * hop - self._buf_start
        segment = self._buf[..., start:start + (k - 1) * hop + n_fft]  # (..., (k - 1) hop + n_fft)
        with torch.autocast(device_type=segment.device.type, enabled=False):
            feats = fe.features_from_padded(segment)  # (..., n_features, k)
        self._emitted += k
        self._append(segment[..., :0])  # trim what the next frame no longer needs
        return feats
