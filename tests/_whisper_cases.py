"""References of the Whisper tests: transformers' WhisperFeatureExtractor, run as a user runs it, and its numpy path
run in float64 throughout.

openai-whisper (``whisper.audio.log_mel_spectrogram``) is not installed (it pulls triton and numba). It computes
what the extractor's torch path computes (``torch.stft`` with a periodic Hann window, the last frame dropped,
``clamp(1e-10).log10()``, ``max - 8``, ``(x + 4) / 4``) with two differences: its mel filters are
``librosa.filters.mel(sr=16000, n_fft=400, n_mels=80 | 128)`` stored in float32 (``assets/mel_filters.npz``:
transformers' float64 Slaney filters to float32 rounding, ``test_filterbank_is_transformers_and_librosa``), and its
maximum is over the whole tensor it is given (one utterance in ``transcribe``; a batch would share one
maximum), where the extractor takes it per item. ``transcribe`` also pads 30 s of zeros after the audio and slices
3000-frame windows from one log-mel of the whole recording, so its floor is the recording's maximum - 8; the
extractor, and kfront, floor each 30 s window at its own.
"""
import functools
import types
from unittest import mock

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
from transformers import WhisperConfig, WhisperFeatureExtractor  # noqa: E402
from transformers import audio_utils  # noqa: E402
from transformers.models.whisper import feature_extraction_whisper  # noqa: E402


SR = 16000
N_SAMPLES = 30 * SR


def rel_err(a, b) -> float:
    """Max absolute error over max absolute reference, in float64."""
    a, b = (np.asarray(t.detach().cpu() if isinstance(t, torch.Tensor) else t, dtype=np.float64) for t in (a, b))
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / np.abs(b).max())


def extract(waves, n_mels: int = 80, path: str = "torch", **call_args):
    """``WhisperFeatureExtractor(feature_size=n_mels)(waves)`` as a user calls it (float32 NumPy in, its own
    padding), through its torch path (what ``__call__`` runs when torch is installed) or its NumPy path (what it
    runs without torch). Returns the ``BatchFeature`` with NumPy arrays."""
    extractor = WhisperFeatureExtractor(feature_size=n_mels)
    arrays = [w.detach().cpu().numpy().astype(np.float32) for w in waves]
    with mock.patch.object(feature_extraction_whisper, "is_torch_available", lambda: path == "torch"):
        return extractor(arrays, sampling_rate=SR, return_tensors="np", **call_args)


class _Float64NumPy(types.ModuleType):
    """NumPy, with ``complex64`` meaning ``complex128``: the one float32 array transformers' ``spectrogram`` makes."""

    complex64 = np.complex128

    def __getattr__(self, name):
        return getattr(np, name)


def float64_reference(padded: np.ndarray, n_mels: int = 80) -> np.ndarray:
    """transformers' NumPy path (``WhisperFeatureExtractor._np_extract_fbank_features``) in float64 throughout.

    That path is float64 already in every step but two: ``audio_utils.spectrogram`` stores the STFT in a
    ``complex64`` array and casts its log-mel to its ``dtype=np.float32`` default. Everything else is float64: the
    reflect padding of the float64 frames, ``window_function(400, "hann")``, ``np.fft.rfft``, ``|X|^2``, the Slaney
    filters of ``mel_filter_bank`` (float64 by default), ``log10`` of ``max(1e-10, .)``, ``max - 8`` over the item
    and ``(x + 4) / 4``. With those two promoted, the package's own code is a float64 reference, with its own FFT
    and filterbank code. The torch path cannot be one: it casts the waveform and the filters to float32. The
    public ``__call__`` cannot either: it casts the audio to float32 before padding; the float64 audio is padded
    with zeros here instead, as ``__call__`` pads.

    Args:
        padded: ``(batch, time)`` float64 audio, already padded.

    Returns:
        ``(batch, n_mels, time // 160)`` float64.
    """
    extractor = WhisperFeatureExtractor(feature_size=n_mels)
    spectrogram64 = functools.partial(audio_utils.spectrogram, dtype=np.float64)
    with mock.patch.object(audio_utils, "np", _Float64NumPy("numpy")), \
            mock.patch.object(feature_extraction_whisper, "spectrogram", spectrogram64):
        out = extractor._np_extract_fbank_features(np.asarray(padded, dtype=np.float64), "cpu")
    assert out.dtype == np.float64
    return out


def pad_to(waves, length: int) -> torch.Tensor:
    """Zero-pad (and truncate) ``waves`` ``[(time_i,)]`` to ``(batch, length)``, as the extractor pads."""
    return torch.stack([torch.nn.functional.pad(w[:length], (0, length - min(length, w.shape[0]))) for w in waves])


def tiny_config(n_mels: int = 80, max_source_positions: int = 1500) -> "WhisperConfig":
    """A random Whisper small enough for a test: d_model 64, two layers of two heads each side, 30 s of input."""
    return WhisperConfig(vocab_size=64, num_mel_bins=n_mels, d_model=64, encoder_layers=2, encoder_attention_heads=2,
                         decoder_layers=2, decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
                         max_source_positions=max_source_positions, max_target_positions=16, pad_token_id=0,
                         bos_token_id=1, eos_token_id=2, decoder_start_token_id=3, suppress_tokens=None,
                         begin_suppress_tokens=None, dropout=0.0)
