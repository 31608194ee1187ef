"""The "kaldi-fbank" / "kaldi-mfcc" conventions: exact at init against kaldi-native-fbank and
torchaudio.compliance.kaldi (fixed twin and KaleidoFrontend), frame counts, padded batches, gradients.

Tolerances: float64 <= 1e-9 against torchaudio.compliance.kaldi run with float64 constants (its mel banks, DCT and
lifter follow torch's default dtype); float32 <= 1e-4 against kaldi-native-fbank, which computes in float32, and
against torchaudio in float32. Inputs: int16-range noise, the `speech` fixture scaled to int16 range (Kaldi's,
WeNet's scale) and as it is, in [-1, 1] (icefall's, lhotse's scale, where the log floor binds in silence).
"""
import pytest
import torch

from _kaldi_reference import knf_features, rel_err, torchaudio_features
from kfront import KaleidoFrontend, make_frontend
from kfront.frontend import functional as F

INT16 = 32768.0


# (id, kfront's overrides of the convention, the same setting as Kaldi's options)
FBANK_CASES = [
    ("defaults", {}, {}),
    ("icefall-80", dict(n_mels=80, snip_edges=False, f_max=-400.0),
     dict(num_mel_bins=80, snip_edges=False, high_freq=-400.0)),
    ("energy", dict(energy="prepend"), dict(use_energy=True)),
    ("energy-windowed-floor", dict(energy="prepend", raw_energy=False, energy_floor=1.0),
     dict(use_energy=True, raw_energy=False, energy_floor=1.0)),
    ("hamming", dict(window="hamming"), dict(window_type="hamming")),
    ("hanning", dict(window="hann"), dict(window_type="hanning")),
    ("rectangular", dict(window="rectangular"), dict(window_type="rectangular")),
    ("blackman", dict(window="blackman"), dict(window_type="blackman")),
    ("bands", dict(n_mels=40, f_min=64.0, f_max=7000.0), dict(num_mel_bins=40, low_freq=64.0, high_freq=7000.0)),
    ("plain", dict(preemphasis=0.0, remove_dc_offset=False), dict(preemph_coeff=0.0, remove_dc_offset=False)),
    ("20ms-5ms", dict(win_length=320, hop_length=80), dict(frame_length_ms=20.0, frame_shift_ms=5.0)),
    ("8kHz", dict(sample_rate=8000), dict(samp_freq=8000.0)),
    ("n_fft=400", dict(n_fft=400), dict(round_to_power_of_two=False)),
    ("n_fft=400-icefall", dict(n_fft=400, n_mels=80, snip_edges=False, f_max=-400.0),
     dict(round_to_power_of_two=False, num_mel_bins=80, snip_edges=False, high_freq=-400.0)),
]
MFCC_CASES = [
    ("defaults", {}, {}),
    ("no-energy", dict(energy=None), dict(use_energy=False)),
    ("40-bins-20-ceps-no-lifter", dict(n_mels=40, n_mfcc=20, lifter=0.0),
     dict(num_mel_bins=40, num_ceps=20, cepstral_lifter=0.0)),
    ("edges-windowed-energy-floor", dict(snip_edges=False, f_max=-400.0, raw_energy=False, energy_floor=1.0),
     dict(snip_edges=False, high_freq=-400.0, raw_energy=False, energy_floor=1.0)),
    ("hamming-8kHz", dict(window="hamming", sample_rate=8000), dict(window_type="hamming", samp_freq=8000.0)),
    ("n_fft=400", dict(n_fft=400), dict(round_to_power_of_two=False)),
]
CASES = [("fbank",) + c for c in FBANK_CASES] + [("mfcc",) + c for c in MFCC_CASES]
IDS = [f"{c[0]}-{c[1]}" for c in CASES]
# The [-1, 1] scale on the cases where a floor binds differently there (the others only shift by 2 log 32768).
FLOAT_SCALE_CASES = {"fbank-defaults", "fbank-icefall-80", "fbank-energy-windowed-floor", "fbank-n_fft=400-icefall",
                     "mfcc-defaults", "mfcc-edges-windowed-energy-floor"}


def noise(seconds: float = 1.3, seed: int = 0) -> torch.Tensor:
    """int16-range PCM: noise and a tone, rounded to integers."""
    g = torch.Generator().manual_seed(seed)
    n = int(16000 * seconds)
    t = torch.arange(n, dtype=torch.float64)
    x = 1500 * torch.randn(n, generator=g, dtype=torch.float64) + 6000 * torch.sin(0.07 * t)
    return x.round().clamp(-32768, 32767).float()


def inputs(kind: str, speech) -> list:
    if kind == "noise":
        return [noise(), noise(0.9, seed=1)]
    return [w * INT16 for w in speech] if kind == "speech-int16" else list(speech)


def frontend(kind: str, output: str, dtype: torch.dtype, **overrides):
    convention = f"kaldi-{output}"
    if kind == "kaleido":
        return KaleidoFrontend(convention=convention, dtype=dtype, **overrides)
    return make_frontend(output, convention=convention, dtype=dtype, **overrides)


def compare(kinds, output, overrides, kaldi, waves) -> dict:
    """Worst relative error of each front-end kind against each reference over ``waves``."""
    fronts = {(k, d): frontend(k, output, d, **overrides) for k in kinds for d in (torch.float32, torch.float64)}
    worst = {}
    for wave in waves:
        refs = {torch.float64: {"torchaudio": torchaudio_features(wave.double(), output, **kaldi)},
                torch.float32: {"torchaudio": torchaudio_features(wave.float(), output, **kaldi),
                                "knf": knf_features(wave, output, **kaldi)}}
        for (k, dtype), fe in fronts.items():
            got = fe(wave.to(dtype)).transpose(-1, -2)  # (frames, n_features), Kaldi's layout
            for name, ref in refs[dtype].items():
                key = (k, str(dtype)[6:], name)
                worst[key] = max(worst.get(key, 0.0), rel_err(got, ref))
    return worst


def assert_within(worst: dict) -> None:
    tol = {"float32": 1e-4, "float64": 1e-9}
    bad = {k: v for k, v in worst.items() if v > tol[k[1]]}
    assert not bad, f"over tolerance: {bad} (all: {worst})"


# the [-1, 1] scale is checked on the cases where a floor binds differently
EXACT_CASES = [(*case, kind) for case in CASES for kind in ("noise", "speech-int16", "speech-float")
               if kind != "speech-float" or f"{case[0]}-{case[1]}" in FLOAT_SCALE_CASES]


@pytest.mark.parametrize("output,name,overrides,kaldi,kind", EXACT_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[4]}" for c in EXACT_CASES])
def test_exact_at_init(output, name, overrides, kaldi, kind, speech):
    worst = compare(("fixed", "kaleido"), output, overrides, kaldi, inputs(kind, speech))
    assert_within(worst)


@pytest.mark.parametrize("overrides,kaldi", [c[1:] for c in FBANK_CASES[:2]], ids=[c[0] for c in FBANK_CASES[:2]])
def test_packed_kmatrix_exact_at_init(overrides, kaldi, speech):
    fe = KaleidoFrontend(convention="kaldi-fbank", real_input="packed", **overrides)
    for wave in (noise(), speech[0] * INT16, speech[1]):
        assert rel_err(fe(wave).T, knf_features(wave, **kaldi)) <= 1e-4


def test_int16_pcm_is_read_as_is():
    pcm = noise().to(torch.int16)
    for fe in (make_frontend("fbank", convention="kaldi-fbank"), KaleidoFrontend(convention="kaldi-fbank")):
        got = fe(pcm).T
        assert rel_err(got, knf_features(pcm.float())) <= 1e-4
        assert torch.equal(got, fe(pcm.float()).T)


# --- frame counts and padded batches ------------------------------------------------------------------------------
LENGTHS = [1, 2, 79, 80, 81, 100, 159, 160, 161, 239, 240, 399, 400, 401, 559, 560, 561, 4000, 4079, 4080, 4081]


@pytest.mark.parametrize("snip_edges", [True, False])
def test_frame_counts_are_kaldis(snip_edges):
    fe = make_frontend("fbank", convention="kaldi-fbank", snip_edges=snip_edges)
    x = noise(0.3)
    for n in LENGTHS:
        want = knf_features(x[:n], snip_edges=snip_edges).shape[0]
        assert fe.num_frames(n) == want, n
        assert int(fe.num_frames(torch.tensor([n]))[0]) == want, n
        if want > 0:
            assert fe(x[:n]).shape[-1] == want, n


def test_short_input_mirrors_like_kaldi():
    """snip_edges=False on fewer samples than a frame: Kaldi mirrors again and again inside the signal."""
    x = noise(0.1)
    for n in (80, 100, 150, 250, 399, 450):
        want = knf_features(x[:n], snip_edges=False)
        for kind in ("fixed", "kaleido"):
            got = frontend(kind, "fbank", torch.float32, snip_edges=False)(x[:n]).T
            assert rel_err(got, want) <= 1e-4, (kind, n)


@pytest.mark.parametrize("snip_edges", [True, False])
@pytest.mark.parametrize("output", ["fbank", "mfcc"])
def test_padded_batch_frames_equal_each_items_own(snip_edges, output, speech):
    """Each item's valid frames are those of the item alone (Kaldi computes per file), whatever the padding
    holds: mirrored edges are taken at the item's own end."""
    waves = [w * INT16 for w in speech]
    lengths = torch.tensor([w.shape[0] for w in waves])
    batch = 1000 * torch.randn(len(waves), int(lengths.max()) + 321)  # (batch, time): garbage as padding
    for i, w in enumerate(waves):
        batch[i, :w.shape[0]] = w
    extra = {"energy": "prepend"} if output == "fbank" else {}
    for kind in ("fixed", "kaleido"):
        for dtype, ref, tol in ((torch.float64, "torchaudio", 1e-9), (torch.float32, "knf", 1e-4)):
            fe = frontend(kind, output, dtype, snip_edges=snip_edges, **extra)
            feats, counts = fe(batch.to(dtype), lengths)  # (batch, n_features, frames), (batch,)
            assert feats.shape[-1] == fe.num_frames(batch.shape[-1])
            kaldi = dict(snip_edges=snip_edges, use_energy=True)
            for i, w in enumerate(waves):
                want = (torchaudio_features(w.double(), output, **kaldi) if ref == "torchaudio"
                        else knf_features(w, output, **kaldi))
                assert int(counts[i]) == want.shape[0]
                assert rel_err(feats[i, :, :int(counts[i])].T, want) <= tol, (kind, dtype, i)


def test_mirror_pad_with_lengths_is_per_item_mirror_pad():
    x = torch.randn(3, 2, 1000, dtype=torch.float64)  # (batch, channels, time)
    lengths = torch.tensor([1000, 613, 95])
    padded = F.kaldi_mirror_pad(x, 400, 160, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = F.kaldi_mirror_pad(x[i, :, :n], 400, 160)
        assert torch.equal(padded[i, :, :alone.shape[-1]], alone)


# --- gradients ----------------------------------------------------------------------------------------------------
def small(output: str) -> dict:
    """40-sample frames, hop 16, a 64-point transform, 5 filters from 20 to 800 Hz (4 cepstra)."""
    return dict(sample_rate=1600, n_mels=5, **({"n_mfcc": 4} if output == "mfcc" else {}))


def loud_and_silent(n: int = 120, seed: int = 0) -> torch.Tensor:
    """``(2, n)`` float64: loud noise (every log far above its floor) and near silence (every floor binding)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, n, generator=g, dtype=torch.float64)
    return torch.stack((30.0 * x[0], 1e-6 * x[1]))


@pytest.mark.parametrize("remove_dc", [True, False])
@pytest.mark.parametrize("dropped", [0, 1])
def test_preemphasized_frames_is_dc_removal_then_preemphasis(remove_dc, dropped):
    """The one-pass form from the pre-emphasised waveform equals the two stages applied frame by frame (float64),
    also for frames that stop before the signal's last (a dropped last frame), and differentiates."""
    g = torch.Generator().manual_seed(3)
    padded = (300.0 + 30.0 * torch.randn(2, 403, generator=g, dtype=torch.float64)).requires_grad_()  # DC offset
    frames = F.frame(padded, 25, 10)  # (2, 38, 25), overlapping views
    frames = frames[..., :frames.shape[-2] - dropped, :]
    want = F.preemphasis(F.remove_dc_offset(frames) if remove_dc else frames, 0.97)

    def got_of(p):
        fr = F.frame(p, 25, 10)[..., :frames.shape[-2], :]
        return F.preemphasized_frames(p, fr, 10, 0.97, fr.mean(-1, keepdim=True) if remove_dc else None)

    got = got_of(padded)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=0, atol=1e-11)
    assert torch.autograd.gradcheck(got_of, (padded[:, :103].detach().requires_grad_(),))


def test_gradcheck_stage_functions():
    g = torch.Generator().manual_seed(0)
    frames = torch.randn(3, 7, 16, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(F.remove_dc_offset, (frames,))
    assert torch.autograd.gradcheck(lambda x: F.preemphasis(x, 0.97), (frames,))
    # energies 1e-12 (floored at FLT_EPSILON), 1e-3 (floored at energy_floor = 1) and ~16 * 25 (not floored)
    scales = torch.tensor([1e-6, 1e-2 / 4, 5.0], dtype=torch.float64).view(3, 1, 1)
    scaled = (frames.detach() * scales).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: F.log_energy(x, 1.0), (scaled,))
    assert torch.autograd.gradcheck(lambda x: F.log_energy(x, 0.0), (scaled,))
    log = lambda m: F.compress(m, "natural", F.FLT_EPSILON, 0.0)  # noqa: E731  Kaldi's log(max(x, FLT_EPSILON))
    above = torch.tensor([1e-3, 2.0, 1e5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(log, (above,))
    below = torch.tensor([1e-9, 3e-8], dtype=torch.float64, requires_grad=True)  # 9e-8 or more under the floor
    assert torch.autograd.gradcheck(log, (below,), eps=1e-10)  # steps that stay under it
    grad, = torch.autograd.grad(log(below).sum(), below)
    assert torch.equal(grad, torch.zeros(2, dtype=torch.float64))  # below the floor: no gradient


@pytest.mark.parametrize("output,extra", [("fbank", dict(energy="prepend", energy_floor=1.0)),
                                          ("fbank", dict(energy="prepend", raw_energy=False, snip_edges=False)),
                                          ("mfcc", dict(energy_floor=1.0)),
                                          ("mfcc", dict(raw_energy=False, snip_edges=False))])
def test_gradcheck_pipeline_through_floors(output, extra):
    """DC removal, pre-emphasis, the energy and its floor, the clamped log, DCT and lifter: float64 gradcheck
    on a loud item (no floor binds) and a near-silent one (every floor binds)."""
    fe = frontend("fixed", output, torch.float64, **small(output), **extra)
    x = loud_and_silent().requires_grad_()
    feats = fe(x)
    assert feats[1].eq(feats[1, :, :1]).all()  # the silent item is all floors: constant over frames
    assert torch.autograd.gradcheck(fe, (x,))
    grad, = torch.autograd.grad(feats.sum(), x)
    assert grad[0].abs().sum() > 0 and grad[1].abs().sum() == 0


@pytest.mark.parametrize("output", ["fbank", "mfcc"])
@pytest.mark.parametrize("snip_edges", [True, False])
def test_gradcheck_kmatrix_under_kaldi_conventions(output, snip_edges):
    fe = frontend("kaleido", output, torch.float64, snip_edges=snip_edges, **small(output))
    x = loud_and_silent()[:1]
    twiddle = fe.kmatrix.twiddle.detach().clone().requires_grad_()
    fn = lambda t: torch.func.functional_call(fe, {"kmatrix.twiddle": t}, (x,))  # noqa: E731
    assert torch.autograd.gradcheck(fn, (twiddle,), fast_mode=True)


@pytest.mark.parametrize("output", ["fbank", "mfcc"])
@pytest.mark.parametrize("snip_edges", [True, False])
def test_gradient_reaches_the_kmatrix_at_full_size(output, snip_edges, speech):
    fe = frontend("kaleido", output, torch.float32, snip_edges=snip_edges, n_mels=80)
    fe(speech[0] * INT16).square().mean().backward()
    grad = fe.kmatrix.twiddle.grad
    assert grad is not None and torch.isfinite(torch.view_as_real(grad)).all() and grad.abs().max() > 0


# --- bad input ----------------------------------------------------------------------------------------------------
def test_bad_input():
    fe = KaleidoFrontend(convention="kaldi-fbank")
    with pytest.raises(ValueError, match="sample_rate=8000 does not match the 16000"):
        fe(noise(), sample_rate=8000)
    with pytest.raises(ValueError, match="int16 PCM or floating point"):
        fe(noise().to(torch.int32))
    with pytest.raises(ValueError, match="floating-point tensor, got dtype torch.int16"):
        KaleidoFrontend(convention="kaldi-fbank", sample_format="float")(noise().to(torch.int16))
    with pytest.raises(ValueError, match="399 samples.*needs at least 400"):
        fe(noise()[:399])
    with pytest.raises(ValueError, match="use convention='kaldi-mfcc'"):
        KaleidoFrontend(convention="kaldi-fbank", output="mfcc")
    with pytest.raises(ValueError, match="f_max must be <= sample_rate / 2"):
        KaleidoFrontend(convention="kaldi-fbank", f_max=9000.0)
