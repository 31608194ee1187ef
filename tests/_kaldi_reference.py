"""The real Kaldi extractors the Kaldi tests compare with: kaldi-native-fbank and torchaudio.compliance.kaldi.

Options are given by the names of :class:`kfront.integrations.kaldi.KaldiFbank` (kaldifeat's, flattened) and
translated to each package's own. Both are run with dither off and with Kaldi's ``energy_floor`` (0.0) unless the
test sets one. Also the tolerance rule of the Kaldi tests: ``max |a - b| / max |b|``.
"""
import contextlib

import numpy as np
import pytest
import torch

knf = pytest.importorskip("kaldi_native_fbank")
tak = pytest.importorskip("torchaudio.compliance.kaldi")

_FRAME_OPTS = ("samp_freq", "frame_length_ms", "frame_shift_ms", "round_to_power_of_two", "snip_edges", "dither",
               "preemph_coeff", "remove_dc_offset", "window_type", "blackman_coeff")
_MEL_OPTS = {"num_mel_bins": "num_bins", "low_freq": "low_freq", "high_freq": "high_freq"}
_TORCHAUDIO_NAMES = {"samp_freq": "sample_frequency", "frame_length_ms": "frame_length",
                     "frame_shift_ms": "frame_shift", "preemph_coeff": "preemphasis_coefficient"}


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max absolute error over max absolute reference, in float64; shapes must be equal."""
    assert a.shape == b.shape, (tuple(a.shape), tuple(b.shape))
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).abs().max() / b.abs().max())


def knf_options(output: str = "fbank", **kaldi):
    """A ``knf.FbankOptions`` / ``knf.MfccOptions`` with dither off and ``kaldi`` applied."""
    opts = knf.FbankOptions() if output == "fbank" else knf.MfccOptions()
    opts.frame_opts.dither = 0.0  # kaldi-native-fbank's default is 3e-5
    for name, value in kaldi.items():
        if name in _FRAME_OPTS:
            setattr(opts.frame_opts, name, value)
        elif name in _MEL_OPTS:
            setattr(opts.mel_opts, _MEL_OPTS[name], value)
        else:
            setattr(opts, name, value)
    return opts


def knf_run(opts, wave: torch.Tensor, output: str = "fbank") -> torch.Tensor:
    """kaldi-native-fbank's features of a 1-D waveform, ``(frames, dim)`` float32 (it computes in float32)."""
    extractor = knf.OnlineFbank(opts) if output == "fbank" else knf.OnlineMfcc(opts)
    extractor.accept_waveform(opts.frame_opts.samp_freq, wave.detach().float().numpy())
    extractor.input_finished()
    n = extractor.num_frames_ready
    if n == 0:
        return torch.zeros(0, extractor.dim)
    return torch.from_numpy(np.stack([extractor.get_frame(i) for i in range(n)]))


def knf_features(wave: torch.Tensor, output: str = "fbank", **kaldi) -> torch.Tensor:
    return knf_run(knf_options(output, **kaldi), wave, output)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype):
    """torchaudio.compliance.kaldi builds its mel banks, DCT and lifter in torch's default dtype: float64 runs
    need it set, or the constants carry float32 rounding into a float64 result."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def torchaudio_kwargs(output: str = "fbank", **kaldi) -> dict:
    """``torchaudio.compliance.kaldi`` keyword arguments for Kaldi's options, with Kaldi's defaults where
    torchaudio's differ (``energy_floor`` 0.0, not 1.0; ``use_energy=True`` for MFCC)."""
    kwargs = {_TORCHAUDIO_NAMES.get(name, name): value for name, value in kaldi.items()}
    kwargs.setdefault("energy_floor", 0.0)
    if output == "mfcc":
        kwargs.setdefault("use_energy", True)
    return dict(kwargs, dither=0.0)


def torchaudio_features(wave: torch.Tensor, output: str = "fbank", **kaldi) -> torch.Tensor:
    """``torchaudio.compliance.kaldi.fbank`` / ``mfcc`` of a 1-D waveform in its dtype, constants in that dtype."""
    fn = tak.fbank if output == "fbank" else tak.mfcc
    with default_dtype(wave.dtype):
        return fn(wave.unsqueeze(0), **torchaudio_kwargs(output, **kaldi))
