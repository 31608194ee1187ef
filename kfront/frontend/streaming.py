"""Chunked feature extraction that reproduces the offline frames (to float rounding)."""
import torch

from . import functional as F
from ._checks import check_num_samples, check_samples


class StreamingFrontend:
    """Feed a front-end's input chunk by chunk; :meth:`push` returns the frames completed so far.

    All chunks of a stream share their leading shape ``(...)``; any chunk size works, including 1 sample.

    Args:
        frontend: any front-end of this package (its current parameters are used at every call).

    Example:
        >>> stream = frontend.stream()
        >>> parts = [stream.push(chunk) for chunk in chunks]  # each (..., n_features, k), k >= 0
        >>> parts.append(stream.flush())                      # the frames that needed the end
        >>> torch.cat(parts, -1)                              # == frontend(torch.cat(chunks, -1))
    """

    def __init__(self, frontend):
        stages = frontend.config.utterance_stages
        if stages:
            raise ValueError(f"this front-end cannot be streamed: {', '.join(stages)} need(s) the whole utterance; "
                             "compute the features offline with forward()")
        # With centring, the left padding is known once n_fft // 2 + 1 samples have arrived (reflection), the right
        # one only at flush(). Between the two, every frame is emitted as soon as its last sample has arrived and
        # computed by the same features_from_padded the offline call uses: the same frames up to the last bit a
        # BLAS may round differently for a matmul of fewer rows.
        self.frontend = frontend
        cfg = frontend.config
        self._pad = cfg.n_fft // 2 if cfg.framing == "stft" and cfg.center else 0
        self._reflect = self._pad > 0 and cfg.pad_mode == "reflect"
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
        check_samples(chunk, sample_rate, expected_sample_rate=fe.config.sample_rate,
                      sample_format=fe.config.sample_format, **fe.peak_check())
        if self._lead is None:
            self._lead = chunk.shape[:-1]
        elif chunk.shape[:-1] != self._lead:
            raise ValueError(f"chunk has leading shape {tuple(chunk.shape[:-1])}, but this stream started with "
                             f"{tuple(self._lead)}")
        chunk = chunk.to(fe.dtype)
        pad = self._pad
        self._n_in += chunk.shape[-1]
        self._tail = self._cat(self._tail, chunk)[..., -(pad + 1):]
        if pad and not self._reflect and self._buf is None:
            chunk = torch.cat((chunk.new_zeros(*chunk.shape[:-1], pad), chunk), -1)  # left zero padding
        elif self._head is not None or (self._reflect and self._buf is None):
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
            check_num_samples(self._n_in, *fe.min_samples())
            pad = self._pad
            if self._reflect:
                self._append(self._tail[..., :-1].flip(-1)[..., :pad])  # right reflect padding
            elif pad:
                self._append(self._tail.new_zeros(*self._lead, pad))  # right zero padding
            total_padded = self._n_in + 2 * pad
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
        drop = min(self._emitted * self.frontend.config.hop_length - self._buf_start, self._buf.shape[-1])
        if drop > 0:
            self._buf, self._buf_start = self._buf[..., drop:], self._buf_start + drop

    def _emit(self, available: int, like: torch.Tensor) -> torch.Tensor:
        """Frames whose last sample has padded index < ``available``."""
        fe = self.frontend
        length, hop = fe.config.frame_length, fe.config.hop_length
        ready = F.count_frames(available, length, hop)  # frames f with f * hop + frame_length <= available
        k = ready - self._emitted
        if k <= 0:
            return self._empty(like)
        start = self._emitted * hop - self._buf_start
        segment = self._buf[..., start:start + (k - 1) * hop + length]  # (..., (k - 1) hop + frame_length)
        with torch.autocast(device_type=segment.device.type, enabled=False):
            feats = fe.features_from_padded(segment)  # (..., n_features, k)
        self._emitted += k
        self._append(segment[..., :0])  # trim what the next frame no longer needs
        return feats
