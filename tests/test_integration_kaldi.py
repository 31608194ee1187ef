"""kfront.integrations.kaldi: built from kaldi-native-fbank's option objects and from torchaudio.compliance.kaldi's
keyword arguments and compared with those packages run on the same audio; the call styles (1-D, padded batch with
lengths, kaldifeat's list); an icefall-style training step into the K-matrix; the scale checks and bad input."""
import pytest
import torch
from torch import nn

from _kaldi_reference import default_dtype, knf_options, knf_run, rel_err, tak
from kfront import Fbank, KaleidoFrontend
from kfront.integrations.kaldi import INT16_SCALE, KaldiFbank, KaldiMfcc, kaldi_feature_args


def uniform(n: int = 24000, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    """Float audio in [-1, 1]: uniform noise."""
    return (torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1).to(dtype)


KNF_SETTINGS = [  # (output, Kaldi options as knf's fields take them)
    ("fbank", dict(num_mel_bins=80, snip_edges=False, high_freq=-400.0)),
    ("fbank", dict(use_energy=True, raw_energy=False, energy_floor=0.01, window_type="hamming")),
    ("fbank", dict(samp_freq=22050.0, num_mel_bins=40, window_type="blackman", blackman_coeff=0.4)),
    ("mfcc", dict()),
    ("mfcc", dict(samp_freq=44100.0, frame_length_ms=20.0, frame_shift_ms=7.5, snip_edges=False, num_ceps=20,
                  num_mel_bins=40, window_type="hanning", use_energy=False)),
]


@pytest.mark.parametrize("learnable", [True, False])
@pytest.mark.parametrize("output,kaldi", KNF_SETTINGS)
def test_from_knf_options_equals_knf(output, kaldi, learnable, speech):
    opts = knf_options(output, **kaldi)
    cls = KaldiFbank if output == "fbank" else KaldiMfcc
    ours = cls.from_options(opts, sample_format="float", learnable=learnable)
    assert ours.dim() == ours.n_features == knf_run(opts, uniform(1000), output).shape[1]
    for wave in (uniform(), speech[0], speech[3]):
        got = ours(wave)  # (frames, n_features), as kaldifeat returns
        assert rel_err(got, knf_run(opts, wave, output)) <= 1e-4  # knf computes in float32


COMPLIANCE_CALLS = [  # (function, keyword arguments, scale of the audio)
    ("fbank", dict(use_energy=True), 1.0),  # torchaudio's energy_floor=1.0 binds on [-1, 1] audio
    ("fbank", dict(num_mel_bins=80, frame_length=25, frame_shift=10, dither=0.0, energy_floor=0.0,
                   sample_frequency=16000), INT16_SCALE),  # WeNet's compute_fbank
    ("fbank", dict(num_mel_bins=40, snip_edges=False, window_type="rectangular", low_freq=0.0, high_freq=6000.0,
                   preemphasis_coefficient=0.5, remove_dc_offset=False), INT16_SCALE),
    ("mfcc", dict(), 1.0),
    ("mfcc", dict(use_energy=True, energy_floor=0.0, raw_energy=False, cepstral_lifter=0.0, num_ceps=23),
     INT16_SCALE),
]


@pytest.mark.parametrize("fn,kwargs,scale", COMPLIANCE_CALLS)
def test_from_compliance_equals_torchaudio(fn, kwargs, scale, speech):
    cls = KaldiFbank if fn == "fbank" else KaldiMfcc
    fmt = "float" if scale == 1.0 else "int16"
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
        ours = cls.from_compliance(**kwargs, sample_format=fmt, dtype=dtype)
        for wave in (uniform(dtype=dtype), speech[1].to(dtype)):
            wave = wave * scale
            with default_dtype(dtype):  # torchaudio's mel banks in that dtype (see _kaldi_reference)
                want = getattr(tak, fn)(wave.unsqueeze(0), **kwargs)
            assert rel_err(ours(wave), want) <= tol, (dtype, kwargs)


def test_presets(speech):
    wave = speech[2]
    icefall = knf_options("fbank", num_mel_bins=80, snip_edges=False, high_freq=-400.0)
    assert rel_err(KaldiFbank.icefall()(wave), knf_run(icefall, wave)) <= 1e-4
    with default_dtype(torch.float64):  # WeNet: fbank(waveform * (1 << 15), num_mel_bins=80, energy_floor=0)
        want = tak.fbank(wave.double().unsqueeze(0) * (1 << 15), num_mel_bins=80, dither=0.0, energy_floor=0.0)
    assert rel_err(KaldiFbank.wenet(dtype=torch.float64)(wave.double()), want) <= 1e-9


@pytest.mark.parametrize("snip_edges", [True, False])
def test_call_styles(snip_edges, speech):
    """(time,) -> (frames, C); (batch, time) -> (batch, frames, C); with lengths also Kaldi's frame counts, each
    item's frames being its own; a list -> a list, as kaldifeat."""
    fbank = KaldiFbank(sample_format="float", num_mel_bins=80, snip_edges=snip_edges, use_energy=True)
    opts = knf_options("fbank", num_mel_bins=80, snip_edges=snip_edges, use_energy=True)
    waves = list(speech)
    alone = [fbank(w) for w in waves]
    for w, feats in zip(waves, alone):
        assert feats.shape == (fbank.num_frames(w.shape[0]), 81)
        assert rel_err(feats, knf_run(opts, w)) <= 1e-4
    lengths = torch.tensor([w.shape[0] for w in waves])
    batch = nn.utils.rnn.pad_sequence(waves, batch_first=True)  # (batch, time), zero padded
    feats, counts = fbank(batch, lengths)
    assert feats.shape == (4, fbank.num_frames(batch.shape[1]), 81) and counts.dtype == torch.int64
    assert counts.tolist() == [a.shape[0] for a in alone]
    for i, a in enumerate(alone):
        torch.testing.assert_close(feats[i, :counts[i]], a, rtol=0, atol=1e-4)
    same = batch[:2, :int(lengths[:2].min())]
    assert fbank(same).shape == (2, fbank.num_frames(same.shape[1]), 81)
    for got, a in zip(fbank(waves), alone):
        torch.testing.assert_close(got, a, rtol=0, atol=1e-4)


class TinyEncoder(nn.Module):
    """An icefall-style encoder: ``(N, T, C)`` features and their lengths -> ``(N, T', V)`` log-probs, lengths."""

    def __init__(self, n_features: int, vocab: int = 6):
        super().__init__()
        self.proj = nn.Linear(n_features, 16)
        self.rnn = nn.GRU(16, 16, batch_first=True)
        self.out = nn.Linear(16, vocab)

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor):
        h = nn.utils.rnn.pack_padded_sequence(self.proj(x), x_lens.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.rnn(h)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])  # (N, T, 16)
        return self.out(h).log_softmax(-1), x_lens


def test_icefall_style_training_step(speech):
    """Features on the fly from a padded [-1, 1] batch, CTC over the encoder's lengths: the K-matrix gets a
    gradient and moves, and no gradient reaches the padding (each item's frames read only its own samples)."""
    torch.manual_seed(0)
    fbank = KaldiFbank.icefall()
    encoder = TinyEncoder(fbank.dim())
    audio = nn.utils.rnn.pad_sequence(list(speech), batch_first=True).requires_grad_()  # (N, S)
    audio_lens = torch.tensor([w.shape[0] for w in speech])
    targets, target_lens = torch.randint(1, 6, (4, 5)), torch.full((4,), 5)

    feats, feat_lens = fbank(audio, audio_lens)  # (N, T, 80), (N,)
    log_probs, out_lens = encoder(feats, feat_lens)
    loss = nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, out_lens, target_lens)
    loss.backward()
    twiddle = fbank.frontend.kmatrix.twiddle
    assert torch.isfinite(loss) and twiddle.grad is not None and twiddle.grad.abs().max() > 0
    for i, n in enumerate(audio_lens.tolist()):
        assert audio.grad[i, :n].abs().max() > 0 and audio.grad[i, n:].abs().sum() == 0

    before = fbank(speech[0]).detach()
    torch.optim.Adam([*fbank.parameters(), *encoder.parameters()], lr=1e-3).step()
    assert not torch.equal(fbank(speech[0]), before)


def test_sample_format_is_required_and_checked(speech):
    with pytest.raises(ValueError, match="sample_format must be 'float'.*or 'int16'.*got None"):
        KaldiFbank()
    wave = speech[0]
    pcm = (wave * INT16_SCALE).round().to(torch.int16)
    icefall = KaldiFbank(sample_format="float", learnable=False)
    kaldi = KaldiFbank(sample_format="int16", learnable=False)
    want_float, want_int16 = knf_run(knf_options(), wave), knf_run(knf_options(), pcm.float())

    # features on [-1, 1] audio: int16 PCM lands there, int16-range floats are refused unless input_scale converts
    assert rel_err(icefall(pcm), knf_run(knf_options(), pcm.float() / INT16_SCALE)) <= 1e-4
    with pytest.raises(ValueError, match="peaks at 1.*sample_format='float' expects audio in \\[-1, 1\\]"):
        icefall(wave * INT16_SCALE)
    with pytest.raises(ValueError, match="peaks at"):  # one int16-range item in a batch is enough
        icefall(torch.stack((wave[:8000], wave[:8000] * INT16_SCALE)))
    loud = wave * (1.9 / float(wave.abs().max()))  # gain augmentation past full scale is still float audio
    icefall(loud)
    scaled = KaldiFbank(sample_format="float", input_scale=1 / INT16_SCALE, learnable=False)
    assert rel_err(scaled(pcm), want_float) <= 1e-4

    # features on int16-range samples: [-1, 1] floats are refused; quiet audio and digital silence are not
    with pytest.raises(ValueError, match="looks like float audio in \\[-1, 1\\].*input_scale=32768"):
        kaldi(wave)
    assert rel_err(kaldi(pcm), want_int16) <= 1e-4
    assert rel_err(kaldi(pcm.float()), want_int16) <= 1e-4
    quiet = wave * (30.0 / float(wave.abs().max()))  # speech peaking at -60 dBFS, not integer-valued
    assert rel_err(kaldi(quiet), knf_run(knf_options(), quiet)) <= 1e-4
    kaldi(torch.zeros(8000))
    kaldi(torch.randint(-1, 2, (8000,)).float())  # +-1 LSB: integers
    from_float = KaldiFbank(sample_format="int16", input_scale=INT16_SCALE, learnable=False)
    assert rel_err(from_float(wave), knf_run(knf_options(), wave * INT16_SCALE)) <= 1e-4
    KaldiFbank(sample_format="int16", check_scale=False, learnable=False)(wave)  # the opt-out


def test_unsupported_options():
    bad = [(dict(dither=1.0), "dither=1.0 is not supported"), (dict(htk_compat=True), "htk_compat"),
           (dict(use_power=False), "use_power"), (dict(use_log_fbank=False), "use_log_fbank"),
           (dict(window_type="sine"), "window_type must be one of"), (dict(samp_freq=16000.5), "samp_freq"),
           (dict(frame_length_ms=25.0625, round_to_power_of_two=False), "even frame.*got 401"),
           (dict(preemph_coeff=1.5), "preemph_coeff"), (dict(frame_shift_ms=0.01), "give 400 and 0 samples"),
           (dict(n_mels=80), "Kaldi's option names"), (dict(kmatrix_width=2, learnable=False), "learnable=False")]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            KaldiFbank(sample_format="float", **kwargs)
    with pytest.raises(ValueError, match="input_scale must be a positive number"):
        KaldiFbank(sample_format="float", input_scale=0.0)
    opts = knf_options()
    opts.mel_opts.is_librosa = True
    with pytest.raises(ValueError, match="is_librosa"):
        KaldiFbank.from_options(opts, sample_format="float")
    for kwargs in (dict(vtln_warp=0.9), dict(subtract_mean=True), dict(channel=1), dict(min_duration=1.0)):
        with pytest.raises(ValueError, match=f"{next(iter(kwargs))} is supported only"):
            KaldiFbank.from_compliance(sample_format="float", **kwargs)
    assert kaldi_feature_args("fbank", high_freq=-400.0)["f_max"] == -400.0  # resolved by the convention


def test_bad_input_shapes_lengths_and_rates(speech):
    fbank = KaldiFbank(sample_format="float", learnable=False)
    wave = speech[0]
    cases = [((wave.view(1, 1, -1),), "shape \\(time,\\) or \\(batch, time\\).*got \\(1, 1, "),
             ((wave[0],), "got \\(\\)"), ((wave[:0],), "empty: shape \\(0,\\)"),
             ((torch.zeros(0, 16000),), "empty"), (([],), "empty list"),
             (([wave, wave.view(1, -1)],), "waveform\\[1\\] must have shape \\(time,\\)"),
             (([wave, wave[:100]],), "waveform\\[1\\] has 100 samples, fewer than one frame"),
             ((wave[:399],), "399 samples.*needs at least 400"),
             ((wave.numpy(),), "must be a torch.Tensor"),
             ((wave, torch.tensor([100])), "lengths needs a \\(batch, time\\) waveform"),
             ((wave.view(1, -1), torch.tensor([0.5])), r"absolute sample counts \(an integer tensor\)"),
             ((wave.view(1, -1), torch.tensor([wave.shape[0] + 1])), "outside \\[1, "),
             ((wave.view(1, -1), torch.tensor([100, 200])), "shape \\(batch,\\) = \\(1,\\)"),
             (([wave.double(), wave],), "different dtypes")]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            fbank(*args)
    with pytest.raises(ValueError, match="sample_rate=8000 does not match the 16000"):
        fbank(wave, sample_rate=8000)
    assert fbank(wave, sample_rate=16000).shape[1] == 23


def test_learnable_or_fixed_twin():
    learnable = KaldiFbank(sample_format="float")
    fixed = KaldiFbank(sample_format="float", learnable=False)
    assert isinstance(learnable.frontend, KaleidoFrontend) and isinstance(fixed.frontend, Fbank)
    assert learnable.frontend.num_learnable_parameters() > 0 and fixed.frontend.num_learnable_parameters() == 0
    wave = uniform()
    assert rel_err(learnable(wave), fixed(wave)) <= 1e-5
    state = learnable.state_dict()
    again = KaldiFbank(sample_format="float")
    again.load_state_dict(state)
    assert torch.equal(again(wave), learnable(wave))


def test_400_point_transform_fixed_and_learnable():
    wave = uniform()
    want = knf_run(knf_options(round_to_power_of_two=False), wave)
    for learnable in (False, True):
        fe = KaldiFbank(sample_format="float", round_to_power_of_two=False, learnable=learnable)
        assert fe.frontend.config.n_fft == 400 and rel_err(fe(wave), want) <= 1e-4


# (sample_format, input_scale): the default of each format and the preset that converts the other scale
SCALE_SETTINGS = [("float", 1.0), ("float", 1 / INT16_SCALE), ("int16", 1.0), ("int16", INT16_SCALE)]
# what each kind of input meets under each setting: the features of the audio it holds, or a refusal naming why
LANDING = {
    ("float", 1.0): {"pcm": "lands", "float": "lands", "int16-range": "looks like int16-range audio"},
    ("float", 1 / INT16_SCALE): {"pcm": "lands", "float": "divided by 32768", "int16-range": "lands"},
    ("int16", 1.0): {"pcm": "lands", "float": "looks like float audio in \\[-1, 1\\]", "int16-range": "lands"},
    ("int16", INT16_SCALE): {"pcm": "lands", "float": "lands", "int16-range": "multiplied by 32768"},
}


@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("fmt,scale", SCALE_SETTINGS)
def test_every_input_scale_lands_where_the_format_expects_or_is_refused(fmt, scale, learnable, speech):
    """Integer PCM, float audio in [-1, 1] and int16-range floats, into each sample_format with its default and its
    converting input_scale (WeNet's 32768 among them): the features equal kaldi-native-fbank's and
    torchaudio.compliance.kaldi's on the audio as the format reads it, or the input is refused by name. Integer
    PCM has one scale and always lands; it is never multiplied by input_scale (which once gave +20.8 per bin)."""
    wave = speech[1]
    pcm = (wave * INT16_SCALE).round().clamp(-32768, 32767).to(torch.int16)
    inputs = {"pcm": pcm, "float": pcm.float() / INT16_SCALE, "int16-range": pcm.float()}
    # every input holds the same audio; the format computes its features on it in [-1, 1] or in int16 range
    read = pcm.double() / (INT16_SCALE if fmt == "float" else 1.0)
    fbank = KaldiFbank(sample_format=fmt, input_scale=scale, learnable=learnable)
    for kind, waveform in inputs.items():
        landing = LANDING[(fmt, scale)][kind]
        if landing != "lands":
            with pytest.raises(ValueError, match=f"peaks at .*{landing}.*sample_format='{fmt}'"):
                fbank(waveform)
            continue
        assert rel_err(fbank(waveform), knf_run(knf_options(), read)) <= 1e-4, kind
        with default_dtype(torch.float64):
            want = tak.fbank(read.unsqueeze(0), dither=0.0, energy_floor=0.0)
        assert rel_err(fbank(waveform), want) <= 1e-4, kind


def test_wenet_preset_reads_int16_pcm_as_it_is(speech):
    """KaldiFbank.wenet() (input_scale=32768) on an int16 tensor: WeNet's features of that PCM, not 32768 times it."""
    pcm = (speech[0] * INT16_SCALE).round().to(torch.int16)
    wenet = KaldiFbank.wenet(learnable=False)
    with default_dtype(torch.float64):
        want = tak.fbank(pcm.double().unsqueeze(0), num_mel_bins=80, dither=0.0, energy_floor=0.0)
    assert rel_err(wenet(pcm), want) <= 1e-4
    assert rel_err(wenet(pcm), wenet(pcm.float() / INT16_SCALE)) <= 1e-5  # the same as its float input
