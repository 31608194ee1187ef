"""Bad input and bad arguments raise ValueError naming the value; the shortest input that gives a frame."""
import io
import re
import warnings

import pytest
import torch

from kfront import MFCC, Fbank, KaleidoFrontend, make_frontend
from kfront.frontend import get_convention
from kfront.frontend._base import mel_filterbank_of
from kfront.integrations.kaldi import KaldiFbank

from _frontend_cases import CLASSES, SMALL, all_frontends


BAD_CALLS = [
    ("int16", lambda: (torch.zeros(2, 800, dtype=torch.int16),), {}, "int16"),
    ("complex", lambda: (torch.zeros(800, dtype=torch.complex64),), {}, "complex64"),
    ("0-d", lambda: (torch.tensor(1.0),), {}, "0-d"),
    ("list", lambda: ([0.0] * 800,), {}, "list"),
    ("short", lambda: (torch.zeros(2, 32),), {}, "32 samples"),
    ("nan", lambda: (torch.zeros(2, 800).index_fill_(1, torch.tensor([7]), float("nan")),), {}, r"\(0, 7\)"),
    ("inf", lambda: (torch.zeros(800).index_fill_(0, torch.tensor([9]), float("inf")),), {}, "inf"),
    ("rate", lambda: (torch.zeros(800),), {"sample_rate": 16000}, "16000"),
    ("lengths-size", lambda: (torch.zeros(2, 800), torch.tensor([800, 800, 800])), {}, r"\(3,\)"),
    ("lengths-float", lambda: (torch.zeros(2, 800), torch.tensor([800.0, 700.0])), {}, "float32"),
    ("lengths-long", lambda: (torch.zeros(2, 800), torch.tensor([800, 900])), {}, "900"),
    ("lengths-zero", lambda: (torch.zeros(2, 800), torch.tensor([0, 800])), {}, r"lengths\[0\] = 0"),
    ("lengths-1d", lambda: (torch.zeros(800), torch.tensor([800])), {}, "batched"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("case", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_value_error_naming_it(cls, case):
    _, make_args, kwargs, match = case
    fe = cls(**SMALL, n_mfcc=5) if cls is MFCC else cls(**SMALL)
    with pytest.raises(ValueError, match=match):
        fe(*make_args(), **kwargs)


def test_samples_whose_power_overflows_are_refused_by_name():
    """Audio around 1e20 gives inf / NaN features in float32 (the power overflows): refused, naming the peak and
    the limit of the front-end's dtype; the loudest audio under that limit gives finite features, a float64
    front-end takes far louder audio, and a NaN among loud samples is still named as such."""
    for cls in CLASSES:
        fe = cls(**SMALL, n_mfcc=5) if cls is MFCC else cls(**SMALL)
        with pytest.raises(ValueError, match=r"waveform peaks at 1e\+20: its power spectrum would overflow the "
                                             r"front-end's torch.float32 above a peak of"):
            fe(torch.randn(800).sign() * 1e20)
    from kfront.frontend._checks import peak_limit

    limit = peak_limit(torch.float32, SMALL["n_fft"], SMALL["n_fft"] // 2 + 1)
    fe = KaleidoFrontend(**SMALL)
    assert torch.isfinite(fe(torch.randn(800).sign() * limit * 0.999)).all()
    assert torch.isfinite(KaleidoFrontend(**SMALL, dtype=torch.float64)(torch.randn(800, dtype=torch.float64) * 1e20)
                          ).all()
    loud = torch.zeros(800).index_fill_(0, torch.tensor([3, 5]), 3e38)
    with pytest.raises(ValueError, match=r"1 non-finite sample\(s\).*index \(9,\)"):
        fe(loud.index_fill(0, torch.tensor([9]), float("nan")))
    with pytest.raises(ValueError, match="peaks at 3e\\+38"):
        fe.stream().push(loud)  # streamed chunks too


def test_shortest_input_and_matching_rate():
    for fe in all_frontends():
        assert fe(torch.randn(33), sample_rate=8000).shape[-1] == 1 + 33 // 16  # n_fft // 2 + 1 samples suffice
    assert KaleidoFrontend(center=False, **SMALL)(torch.randn(64)).shape == (8, 1)
    with pytest.raises(ValueError, match="63 samples"):
        KaleidoFrontend(center=False, **SMALL)(torch.randn(63))


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_fft=401, win_length=400, real_input="packed"), "even"), (dict(win_length=600), "win_length"),
    (dict(f_max=9000.0), "f_max"), (dict(f_min=-1.0), "f_min"), (dict(hop_length=0), "hop_length"),
    (dict(output="spectrogram"), "output"), (dict(filterbank="gaussian"), "filterbank"),
    (dict(output="mfcc", n_mfcc=41), "n_mfcc"), (dict(window="kaiser"), "kaiser"), (dict(log_offset=0.0), "log_offset"),
    (dict(dtype=torch.float16), "float16"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KaleidoFrontend(**kwargs)


@pytest.mark.parametrize("convention", ["kaldi-fbank", "kaldi-mfcc", "speechbrain-fbank", "speechbrain-mfcc",
                                        "torchaudio", "whisper", "espnet"])
@pytest.mark.parametrize("sample_rate", [0, -16000, True, "16k", 16000.0, None])
def test_a_bad_sample_rate_is_named_the_same_for_every_convention(convention, sample_rate):
    """One check for every convention, before the sizes derived from the rate (Kaldi's and SpeechBrain's windows
    are in milliseconds): not "size must be >= 1" nor a bare TypeError."""
    for make in (lambda: KaleidoFrontend(convention=convention, sample_rate=sample_rate),
                 lambda: make_frontend("fbank" if "mfcc" not in convention else "mfcc", convention=convention,
                                       sample_rate=sample_rate)):
        with pytest.raises(ValueError, match=f"sample_rate must be a positive int \\(Hz\\), got "
                                             f"{re.escape(repr(sample_rate))}$"):
            make()


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_names_the_settings_that_differ(strict):
    """A state dict from a front-end with another n_fft (or n_mels, real_input, ...): a ValueError naming the
    settings, also with strict=False, and through torch.save / torch.load; without the recorded settings (a plain
    dict), the tensors and the settings they follow."""
    saved = KaleidoFrontend(n_fft=1024).state_dict()
    target = KaleidoFrontend(n_fft=512)
    with pytest.raises(ValueError, match=r"saved from a front-end with n_fft=1024 \(this one: 512\).*"
                                         r"kmatrix.twiddle \(1, 2, 10, 512, 2, 2\) in the state dict"):
        target.load_state_dict(saved, strict=strict)
    buffer = io.BytesIO()
    torch.save(KaleidoFrontend(n_mels=80, real_input="packed").state_dict(), buffer)
    buffer.seek(0)
    with pytest.raises(ValueError, match=r"n_mels=80 \(this one: 40\), real_input='packed' \(this one: "
                                         r"'complex'\)"):
        target.load_state_dict(torch.load(buffer), strict=strict)
    with pytest.raises(ValueError, match=r"other shapes.*kmatrix.twiddle.*\(set by n_fft"):
        target.load_state_dict(dict(saved), strict=strict)
    target.load_state_dict(KaleidoFrontend(n_fft=512, learn="all").state_dict(), strict=strict)  # same settings
    kaldi = KaldiFbank(sample_format="float", num_mel_bins=80).state_dict()  # an adapter holds a front-end
    with pytest.raises(ValueError, match=r"n_mels=80 \(this one: 23\)"):
        KaldiFbank(sample_format="float").load_state_dict(kaldi, strict=strict)


def test_empty_mel_filters_are_warned_about_naming_how_many_and_what_to_change():
    """As torchaudio warns: n_mels=1000 at n_fft=512 leaves filters between two bins, all zero."""
    fb = mel_filterbank_of(get_convention(n_mels=1000, n_fft=512))
    empty = int((fb.amax(0) == 0).sum())
    assert empty > 0
    for make in (lambda: KaleidoFrontend(n_mels=1000, n_fft=512), lambda: Fbank(n_mels=1000, n_fft=512)):
        with pytest.warns(UserWarning, match=f"{empty} of the n_mels=1000 mel filters are all zero.*n_fft=512.*"
                                             "lower n_mels, raise n_fft") as caught:
            make()
        assert [w.filename for w in caught] == [__file__]  # the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KaleidoFrontend(n_mels=40, n_fft=512)
        KaleidoFrontend(convention="kaldi-fbank", n_mels=80)
