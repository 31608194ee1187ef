"""Bad input and bad arguments raise ValueError naming the value; the shortest input that gives a frame."""
import pytest
import torch

from kfront import MFCC, KaleidoFrontend

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


def test_finite_samples_whose_sum_overflows_are_accepted():
    """The non-finite check sums the samples in their own precision; a sum that overflows on finite samples goes to
    the exact check, which lets them through (and still names a NaN among them)."""
    fe = KaleidoFrontend(**SMALL)
    loud = torch.zeros(800).index_fill_(0, torch.tensor([3, 5]), 3e38)  # float32 sum: inf
    assert torch.isinf(loud.sum())
    fe(loud)  # no error: every sample is finite
    with pytest.raises(ValueError, match=r"1 non-finite sample\(s\).*index \(9,\)"):
        fe(loud.index_fill(0, torch.tensor([9]), float("nan")))


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
