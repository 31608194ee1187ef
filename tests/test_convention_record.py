"""Conventions as records: a made-up toolkit takes one record and no edit elsewhere; the records of the seven
conventions resolve as their toolkits size frames (Kaldi's window size computed one way, by its options)."""
import dataclasses

import pytest
import torch
from torch import nn

from kfront import KaleidoFrontend, make_frontend
from kfront.frontend import Convention, convention_names, frontend_for, get_convention, register_convention
from kfront.frontend.conventions import CONVENTIONS, KALDI_FBANK, SPEECHBRAIN_FBANK, SpeechBrainConvention
from kfront.frontend.kaldi_options import KaldiFbankOptions, KaldiMfccOptions
from kfront.integrations.kaldi import KaldiFbank

torchaudio = pytest.importorskip("torchaudio")

# A toolkit kfront does not know: 8 kHz telephone speech, 25 ms Hann frames in a 256-point transform, 24 HTK mels
# up to Nyquist, log clamped at 1e-10, 12 cepstra for its MFCC. Its features are torchaudio's MelSpectrogram.
MYTOOLKIT = Convention(
    "mytoolkit", dict(sample_rate=8000, n_fft=256, win_length=200, hop_length=80, window="hann", n_mels=24,
                      f_max=None, log_floor=1e-10, log_offset=0.0, n_mfcc=12),
    outputs=("fbank", "mfcc"), sample_rates=(8000,), option_names=dict(num_filters="n_mels", rate="sample_rate"))


@pytest.fixture
def registered():
    register_convention(MYTOOLKIT)
    yield MYTOOLKIT
    del CONVENTIONS[MYTOOLKIT.name]


def reference(wave: torch.Tensor, **changes) -> torch.Tensor:
    """The made-up toolkit's log-mel features, computed by torchaudio: ``(..., time) -> (..., 24, frames)``."""
    args = dict(sample_rate=8000, n_fft=256, win_length=200, hop_length=80, n_mels=24, window_fn=torch.hann_window)
    default = torch.get_default_dtype()
    torch.set_default_dtype(wave.dtype)  # torchaudio builds its filterbank in the default dtype
    try:
        mel = torchaudio.transforms.MelSpectrogram(**{**args, **changes})(wave)
    finally:
        torch.set_default_dtype(default)
    return mel.clamp_min(1e-10).log()


@pytest.mark.parametrize("by", ["record", "name"])
def test_a_made_up_convention_is_one_record(registered, by):
    convention = MYTOOLKIT if by == "record" else "mytoolkit"
    wave = torch.randn(2, 4000, dtype=torch.float64)
    want = reference(wave)
    fixed = make_frontend("fbank", convention=convention, dtype=torch.float64)
    kaleido = KaleidoFrontend(convention=convention, dtype=torch.float64)
    for fe in (fixed, kaleido, frontend_for(convention, learnable=False, dtype=torch.float64)):
        assert fe.convention == "mytoolkit" and fe.n_features == 24
        torch.testing.assert_close(fe(wave), want, rtol=1e-9, atol=1e-9)
    mfcc = KaleidoFrontend(convention=convention, output="mfcc", dtype=torch.float64)
    torch.testing.assert_close(mfcc(wave), make_frontend("mfcc", convention=convention, dtype=torch.float64)(wave),
                               rtol=1e-9, atol=1e-9)
    assert mfcc.n_features == 12
    overridden = make_frontend("fbank", convention=convention, n_mels=32, dtype=torch.float64)
    torch.testing.assert_close(overridden(wave), reference(wave, n_mels=32), rtol=1e-9, atol=1e-9)


class MyToolkitFeatures(nn.Module):
    """Its layout adapter: the toolkit's option names in, ``(batch, frames, features)`` out."""

    def __init__(self, num_filters: int = 24, learnable: bool = True, **kaleido_args):
        super().__init__()
        features = MYTOOLKIT.rename(num_filters=num_filters)
        self.frontend = frontend_for(MYTOOLKIT, learnable, dtype=torch.float64, **kaleido_args, **features)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.frontend(wave).transpose(-1, -2)  # (batch, frames, n_mels)


def test_a_made_up_convention_with_its_adapter():
    wave = torch.randn(3, 2000, dtype=torch.float64)
    for learnable in (True, False):
        got = MyToolkitFeatures(num_filters=30, learnable=learnable)(wave)
        torch.testing.assert_close(got, reference(wave, n_mels=30).transpose(-1, -2), rtol=1e-9, atol=1e-9)
    assert MyToolkitFeatures(real_input="packed").frontend.real_input == "packed"
    with pytest.raises(ValueError, match="learnable=False builds the fixed Fbank.*real_input='packed'"):
        MyToolkitFeatures(learnable=False, real_input="packed")


def test_a_made_up_convention_is_checked_and_named(registered):
    assert "mytoolkit" in convention_names()
    assert get_convention("mytoolkit", **MYTOOLKIT.rename(num_filters=40)).n_mels == 40
    with pytest.raises(ValueError, match=r"'mytoolkit' is defined at sample_rate \(8000,\), got sample_rate=16000"):
        KaleidoFrontend(convention="mytoolkit", sample_rate=16000)
    with pytest.raises(ValueError, match=r"'mytoolkit' does not take \['hop'\]"):
        get_convention("mytoolkit", hop=10)
    with pytest.raises(ValueError, match=r"'mytoolkit' has no option \['n_filters'\]"):
        MYTOOLKIT.rename(n_filters=40)
    with pytest.raises(ValueError, match="a convention named 'mytoolkit' exists"):
        register_convention(MYTOOLKIT)
    with pytest.raises(ValueError, match=r"names \['nfft'\], which are not FeatureConfig fields"):
        Convention("typo", dict(nfft=512))
    with pytest.raises(ValueError, match="outputs must be among"):
        Convention("spectrogram", outputs=("power",))
    with pytest.raises(ValueError, match="unknown convention 'nobody'.*'mytoolkit'"):
        get_convention("nobody")


def test_a_convention_that_sizes_frames_in_time_overrides_methods():
    """A toolkit that gives its window in milliseconds is a record whose derived sizes are methods."""
    mine = dataclasses.replace(SPEECHBRAIN_FBANK, name="ms-toolkit", frame_length_ms=20.0, frame_shift_ms=5.0)
    assert isinstance(mine, SpeechBrainConvention)
    for sample_rate, (win, hop) in {16000: (320, 80), 8000: (160, 40), 22050: (441, 110)}.items():
        cfg = get_convention(mine, sample_rate=sample_rate, n_fft=512)
        assert (cfg.win_length, cfg.hop_length) == (win, hop) == (mine.window_size(sample_rate),
                                                                 mine.window_shift(sample_rate))
    assert get_convention(mine, sample_rate=16000, win_length=300, n_fft=512).win_length == 300  # given wins


@pytest.mark.parametrize("sample_rate", [8000, 8200, 11025, 16000, 22050, 32000, 44100, 48000])
def test_kaldi_sizes_come_from_its_options(sample_rate):
    """The "kaldi-*" conventions and the Kaldi adapter size frames the same way, Kaldi's WindowSize()."""
    options = KaldiFbankOptions(samp_freq=float(sample_rate))
    for name in ("kaldi-fbank", "kaldi-mfcc"):
        cfg = get_convention(name, sample_rate=sample_rate)
        assert (cfg.win_length, cfg.hop_length, cfg.n_fft) == (options.window_size(), options.window_shift(),
                                                               options.padded_window_size())
    adapter = KaldiFbank(sample_format="float", samp_freq=sample_rate, learnable=False).frontend.config
    assert adapter == get_convention("kaldi-fbank", sample_rate=sample_rate, sample_format="float")


def test_kaldi_defaults_have_one_home():
    """The convention's defaults are the options record's, mapped to kfront's names."""
    cfg, options = get_convention("kaldi-fbank"), KaldiFbankOptions()
    assert (cfg.preemphasis, cfg.n_mels, cfg.f_min, cfg.snip_edges) == (options.preemph_coeff, options.num_mel_bins,
                                                                       options.low_freq, options.snip_edges)
    assert cfg.f_max == 8000.0 + options.high_freq and KALDI_FBANK.options == options
    mfcc = get_convention("kaldi-mfcc")
    assert (mfcc.n_mfcc, mfcc.lifter, mfcc.energy) == (KaldiMfccOptions.num_ceps, KaldiMfccOptions.cepstral_lifter,
                                                       "c0")
    assert set(KaldiFbankOptions.feature_names().values()) <= {f.name for f in dataclasses.fields(cfg)}
    assert KaldiFbankOptions.compliance_names()["preemphasis_coefficient"] == "preemph_coeff"


def test_every_record_resolves_its_own_defaults():
    for name, record in CONVENTIONS.items():
        cfg = get_convention(name)
        assert cfg.output == record.outputs[0]
        for field, value in record.defaults.items():
            if value is not None and field not in ("f_max", "window"):
                assert getattr(cfg, field) == value, (name, field)
