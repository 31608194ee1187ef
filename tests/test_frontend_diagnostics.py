"""Diagnostics (drift, channel responses), plots and the front-end contract they rely on."""
import pytest
import torch

import kfront
from kfront import MFCC, KaleidoFrontend
from kfront.frontend import drift, filterbank_drift, freeze, frequency_response, kmatrix_drift
from kfront.frontend.diagnostics import current_kmatrix, initial_kmatrix
from kfront.frontend import functional as F

from _frontend_cases import SMALL, trained as make_trained


def test_drift_and_frequency_response():
    fe = KaleidoFrontend(output="mfcc", n_mfcc=5, learn="all", **SMALL)
    assert all(v < 1e-6 for v in drift(fe).values()) and set(drift(fe)) == {"kmatrix", "filterbank", "window", "dct"}
    freqs, resp = frequency_response(fe, n_points=401)
    assert freqs.shape == (401,) and resp.shape == (8, 401)
    centres = F.mel_points(0.0, 4000.0, 8)[1:-1]  # each channel peaks at its mel centre (within a bin)
    assert (freqs[resp.argmax(-1)] - centres).abs().max() <= 8000 / 64
    torch.testing.assert_close(frequency_response(MFCC(**SMALL, n_mfcc=5), 401)[1], resp)  # the same pipeline
    trained = make_trained()
    d = drift(trained)
    assert d["kmatrix"] == kmatrix_drift(trained) > 1e-3 and d["filterbank"] == filterbank_drift(trained) > 1e-4
    assert d["window"] > 1e-4 and d["dct"] > 1e-4
    assert drift(MFCC(**SMALL, n_mfcc=5)) == {"kmatrix": 0.0, "filterbank": 0.0, "window": 0.0, "dct": 0.0}


@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_kmatrix_drift_from_random_init(real_input):
    fe = KaleidoFrontend(init="ortho", real_input=real_input, **SMALL)
    assert kmatrix_drift(fe) == 0.0
    with torch.no_grad():
        fe.kmatrix.twiddle.mul_(1.1)
    assert kmatrix_drift(fe) > 0.1


def test_plots_write_pngs(tmp_path):
    fe = make_trained()
    paths = [kfront.plot.plot_filterbank(fe, tmp_path / "fb.png"), kfront.plot.plot_kmatrix(fe, tmp_path / "k.png"),
             kfront.plot.plot_frequency_response(MFCC(**SMALL, n_mfcc=5), tmp_path / "resp.png")]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# --- the front-end contract ---------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["dense", "butterfly"])
def test_frozen_frontend_answers_with_its_source(form):
    """A frozen, trained front-end reports the trained map and its drift, not the DFT and 0."""
    fe = KaleidoFrontend(n_fft=64, win_length=48, hop_length=16, n_mels=8)
    with torch.no_grad():
        fe.kmatrix.twiddle.add_(0.1 * torch.randn_like(fe.kmatrix.twiddle))
    frozen = freeze(fe, form)
    assert kmatrix_drift(fe) > 0.1
    assert kmatrix_drift(frozen) == pytest.approx(kmatrix_drift(fe), rel=1e-6)
    torch.testing.assert_close(current_kmatrix(frozen), current_kmatrix(fe))
    torch.testing.assert_close(initial_kmatrix(frozen), initial_kmatrix(fe))
    assert frozen.has_kmatrix and frozen.learn == fe.learn == ("kmatrix",) and not list(frozen.parameters())
    assert frozen.num_learnable_parameters() == fe.num_learnable_parameters() == 2 * fe.kmatrix.twiddle.numel()
    assert drift(frozen) == pytest.approx(drift(fe), rel=1e-6)
    refrozen = freeze(frozen)  # a copy of a copy keeps the first source's answers
    assert refrozen.has_kmatrix and kmatrix_drift(refrozen) == pytest.approx(kmatrix_drift(fe), rel=1e-6)


def test_fixed_frontend_contract():
    fe = MFCC(**SMALL, n_mfcc=5)
    assert not fe.has_kmatrix and fe.learn == () and fe.num_learnable_parameters() == 0
    dft = torch.fft.rfft(torch.eye(64), dim=0)
    torch.testing.assert_close(fe.transform_matrix(), dft)
    torch.testing.assert_close(fe.initial_transform_matrix(), dft)
    torch.testing.assert_close(fe.analysis_matrix(), dft * F.pad_window(fe.window, 64))
    torch.testing.assert_close(fe.initial_filterbank(), fe.filterbank())
    torch.testing.assert_close(fe.initial_dct_matrix(), fe.dct_matrix())
    frozen = freeze(fe)
    assert not frozen.has_kmatrix and kmatrix_drift(frozen) == 0.0 and frozen.num_learnable_parameters() == 0


def test_learnable_frontend_contract():
    fe = KaleidoFrontend(output="mfcc", n_mfcc=5, learn=("kmatrix", "filterbank"), **SMALL)
    assert fe.has_kmatrix and fe.learn == ("kmatrix", "filterbank")
    assert fe.num_learnable_parameters() == 2 * fe.kmatrix.twiddle.numel() + (8 + 1)  # twiddles + mel spacings
    torch.testing.assert_close(fe.transform_matrix(), fe.initial_transform_matrix(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fe.filterbank(), fe.initial_filterbank())
    torch.testing.assert_close(fe.initial_window(), fe.window)
