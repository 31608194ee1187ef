"""kfront.integrations.whisper: WhisperFrontend against WhisperFeatureExtractor, inside transformers' own Whisper.

The features of every input form (a list, a padded batch with lengths, one waveform), padding, truncation,
normalisation and the attention mask are compared with the extractor's output; a random tiny Whisper (transformers'
own model code, built from a local config) gives the same encoder output on kfront's features as on the
extractor's, and trains the K-matrix through its loss.
"""
import importlib
import sys

import numpy as np
import pytest
import torch

from _whisper_cases import (N_SAMPLES, extract, float64_reference, pad_to, rel_err, tiny_config,
                            transformers)
from kfront.integrations.whisper import WhisperFrontend

from transformers.models.whisper.modeling_whisper import WhisperEncoder  # noqa: E402  (after the importorskip)


def batch_waves() -> list:
    g = torch.Generator().manual_seed(7)
    return [torch.rand(32_000, generator=g) - 0.5, 0.05 * torch.randn(16_001, generator=g),
            1e-3 * torch.randn(23_456, generator=g)]


@pytest.fixture(params=["noise", "speech"])
def waves(request, speech):
    return batch_waves() if request.param == "noise" else speech[:3]


@pytest.mark.parametrize("n_mels", [80, 128])
@pytest.mark.parametrize("padding", ["max_length", "longest"])
@pytest.mark.parametrize("do_normalize", [False, True])
def test_features_and_mask_are_the_extractors(n_mels, padding, do_normalize, waves):
    ref = extract(waves, n_mels, padding=padding, do_normalize=do_normalize, return_attention_mask=True)
    frontend = WhisperFrontend(n_mels, learnable=False, padding=padding, do_normalize=do_normalize,
                               return_attention_mask=True)
    lengths = torch.tensor([w.shape[0] for w in waves])
    garbage = torch.full((len(waves), int(lengths.max()) + 321), 7.0)  # samples past the lengths are ignored
    for i, w in enumerate(waves):
        garbage[i, :w.shape[0]] = w
    for feats, mask in (frontend(waves), frontend(garbage, lengths)):
        assert feats.shape == ref["input_features"].shape
        assert feats.shape[1:] == (n_mels, 3000 if padding == "max_length" else int(lengths.max()) // 160)
        assert rel_err(feats, ref["input_features"]) <= 1e-4
        assert mask.dtype == torch.int32 and mask.tolist() == ref["attention_mask"].tolist()


def test_one_waveform_is_a_batch_of_one(speech):
    ours = WhisperFrontend(learnable=False)(speech[0])
    ref = extract(speech[:1])["input_features"]
    assert ours.shape == (1, 80, 3000) and rel_err(ours, ref) <= 1e-4


def test_float64_is_the_float64_reference(speech):
    ours = WhisperFrontend(learnable=False, dtype=torch.float64)([w.double() for w in speech[:2]])
    ref = float64_reference(pad_to([w.double() for w in speech[:2]], N_SAMPLES).numpy())
    assert ours.dtype == torch.float64 and rel_err(ours, ref) <= 1e-9


def test_audio_past_30s_is_truncated_as_the_extractor_does():
    g = torch.Generator().manual_seed(3)
    long = [0.1 * torch.randn(N_SAMPLES + 12_345, generator=g), 0.1 * torch.randn(8_000, generator=g)]
    for padding, do_normalize in (("max_length", False), ("longest", False), ("max_length", True)):
        ref = extract(long, padding=padding, do_normalize=do_normalize, return_attention_mask=True)
        feats, mask = WhisperFrontend(learnable=False, padding=padding, do_normalize=do_normalize,
                                      return_attention_mask=True)(long)  # normalised over the kept 30 s
        assert feats.shape == ref["input_features"].shape == (2, 80, 3000)
        assert rel_err(feats, ref["input_features"]) <= 1e-4
        assert mask.tolist() == ref["attention_mask"].tolist()
    # Without truncation, padding="longest" keeps it all, as the extractor does ...
    ref = extract(long[:1], padding="longest", truncation=False)["input_features"]
    ours = WhisperFrontend(learnable=False, padding="longest", truncation=False)(long[:1])
    assert ours.shape == ref.shape == (1, 80, (N_SAMPLES + 12_345) // 160) and rel_err(ours, ref) <= 1e-4
    # ... and padding to 30 s cannot hold it: refused, where the encoder would refuse its 3077 frames.
    with pytest.raises(ValueError, match=r"item 0 has 492345 samples, more than the 480000 \(30 s\) the encoder "
                                         r"takes; .*truncation=True"):
        WhisperFrontend(learnable=False, truncation=False)(long)


@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")  # the extractor at 8 kHz
@pytest.mark.parametrize("feature_size", [80, 128])
def test_from_feature_extractor(feature_size, speech):
    extractor = transformers.WhisperFeatureExtractor(feature_size=feature_size)
    frontend = WhisperFrontend.from_feature_extractor(extractor, learnable=False)
    assert frontend.frontend.config.n_mels == feature_size and frontend.nb_max_frames == extractor.nb_max_frames
    assert frontend.n_samples == extractor.n_samples
    ref = extractor([w.numpy() for w in speech[:2]], sampling_rate=16000, return_tensors="np")["input_features"]
    assert rel_err(frontend(speech[:2]), ref) <= 1e-4
    with pytest.raises(ValueError, match=r"dither=0.0001\); the front-end is deterministic"):
        WhisperFrontend.from_feature_extractor(transformers.WhisperFeatureExtractor(dither=1e-4))
    with pytest.raises(ValueError, match=r"padding_value=0.5; Whisper pads with silence"):
        WhisperFrontend.from_feature_extractor(transformers.WhisperFeatureExtractor(padding_value=0.5))
    with pytest.raises(ValueError, match=r"defined at sample_rate \(16000,\), got sample_rate=8000"):
        WhisperFrontend.from_feature_extractor(transformers.WhisperFeatureExtractor(sampling_rate=8000))


# --- inside transformers' Whisper ------------------------------------------------------------------------------
KINDS = [False, True]


@pytest.mark.parametrize("learnable", KINDS, ids=lambda v: "kaleido" if v else "fixed")
@pytest.mark.parametrize("n_mels", [80, 128])
def test_encoder_output_is_the_same(n_mels, learnable, speech):
    # Tolerance: kfront's features and the extractor's differ by float32 rounding (~1e-6 relative), and so do the
    # extractor's own two paths; the random encoder at init contracts that gap (in float64 its output moves ~1e-8
    # relative), so what remains is the float32 rounding of the encoder's own arithmetic, ~2e-7 of its output.
    # 1e-5 leaves a margin of 40 and is over 100 times below the change from audio shifted by one sample (checked).
    torch.manual_seed(0)
    encoder = WhisperEncoder(tiny_config(n_mels)).eval()
    waves = speech[:2] + batch_waves()[:1]
    frontend = WhisperFrontend(n_mels, learnable=learnable)
    with torch.no_grad():
        ref = encoder(torch.from_numpy(extract(waves, n_mels)["input_features"])).last_hidden_state
        ours = encoder(frontend(waves)).last_hidden_state  # (3, 1500, 64)
        shifted = encoder(frontend([torch.cat((w[1:], w[:1])) for w in waves])).last_hidden_state
    assert ours.shape == ref.shape == (3, 1500, 64)
    assert rel_err(ours, ref) <= 1e-5
    assert rel_err(shifted, ref) > 1e-3


def test_encoder_output_in_float64(speech):
    # The same through the encoder in float64: kfront's float64 features against the float64 reference's.
    torch.manual_seed(0)
    encoder = WhisperEncoder(tiny_config(80)).double().eval()
    waves = [w.double() for w in speech[:2]]
    ref_feats = torch.from_numpy(float64_reference(pad_to(waves, N_SAMPLES).numpy()))
    with torch.no_grad():
        ref = encoder(ref_feats).last_hidden_state
        ours = encoder(WhisperFrontend(learnable=False, dtype=torch.float64)(waves)).last_hidden_state
    assert rel_err(ours, ref) <= 1e-9


@pytest.mark.parametrize("overrides", [{}, dict(n_fft=512)],
                         ids=["n_fft=400", "n_fft=512"])
def test_training_step_moves_the_kmatrix(overrides, speech):
    # transformers' seq2seq loss on kfront's features reaches the twiddles; one optimizer step moves them and the
    # features. n_fft=512 runs the whisper convention's stages with a power-of-2 K-matrix (not Whisper's features).
    torch.manual_seed(0)
    model = transformers.WhisperForConditionalGeneration(tiny_config(80))
    frontend = WhisperFrontend(80, **overrides)
    twiddle = frontend.frontend.kmatrix.twiddle
    before, feats_before = twiddle.detach().clone(), frontend(speech[:2]).detach()
    optimizer = torch.optim.Adam(list(frontend.parameters()) + list(model.parameters()), lr=1e-3)
    labels = torch.randint(4, 64, (2, 6))
    loss = model(input_features=frontend(speech[:2]), labels=labels).loss
    loss.backward()
    assert torch.isfinite(torch.view_as_real(twiddle.grad)).all() and twiddle.grad.abs().max() > 0
    optimizer.step()
    assert (twiddle.detach() - before).abs().max() > 1e-4
    assert (frontend(speech[:2]).detach() - feats_before).abs().max() > 1e-4


# --- bad input --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixed():
    return WhisperFrontend(learnable=False)


def test_other_sample_rates_are_refused(fixed):
    with pytest.raises(ValueError, match=r"convention 'whisper' is defined at sample_rate \(16000,\), got "
                                         r"sample_rate=22050; resample"):
        WhisperFrontend(learnable=False, sample_rate=22050)
    with pytest.raises(ValueError, match="sample_rate=8000 does not match the 16000 Hz"):
        fixed([torch.randn(4000)], sample_rate=8000)


def test_other_integer_and_non_audio_dtypes_are_refused(fixed):
    for waveform, name, dtype in ((torch.zeros(4000, dtype=torch.int64), "waveform", "torch.int64"),
                                  ([torch.randn(100), torch.zeros(400, dtype=torch.uint8)], r"waveform\[1\]",
                                   "torch.uint8"),
                                  ([np.zeros(400, dtype=np.complex64)], r"waveform\[0\]", "complex64")):
        with pytest.raises(ValueError, match=name + r" must hold float samples in \[-1, 1\].*int16 / int32 PCM"
                                                    f".*{dtype}"):
            fixed(waveform)
    with pytest.raises(ValueError, match="must be a torch.Tensor, a NumPy array or a list of float samples, got str"):
        fixed(["not audio"])


def test_numpy_and_lists_are_taken_as_the_extractor_takes_them(fixed, speech):
    """transformers' users pass NumPy: float32 / float64 arrays, a (batch, time) array, lists of arrays, lists of
    numbers; each gives the extractor's features of the same audio."""
    waves = [w[:20_000] for w in speech[:2]]
    arrays = [w.numpy() for w in waves]
    ref = extract(waves)["input_features"]
    forms = {"list of float32 arrays": arrays, "list of float64 arrays": [a.astype(np.float64) for a in arrays],
             "list of lists": [a.tolist() for a in arrays], "(batch, time) array": np.stack(arrays),
             "tuple of arrays": tuple(arrays)}
    for form, waveform in forms.items():
        assert rel_err(fixed(waveform), ref) <= 1e-4, form
    one = extract(waves[:1])["input_features"]
    for form, waveform in {"1-D array": arrays[0], "list of numbers": arrays[0].tolist(),
                           "read-only array": np.frombuffer(arrays[0].tobytes(), dtype=np.float32)}.items():
        assert rel_err(fixed(waveform), one) <= 1e-4, form


def test_integer_pcm_is_divided_by_its_full_scale(fixed, speech):
    """int16 (and int32) PCM, as NumPy or torch, alone or in a list: the features of the audio in [-1, 1]. (The
    extractor casts int16 to float as it is: features of int16-range audio.)"""
    pcm = (speech[0][:20_000] * 32768).round().to(torch.int16)
    want = fixed(pcm.float() / 32768)
    for form, waveform in {"torch int16": pcm, "NumPy int16": pcm.numpy(), "list of NumPy int16": [pcm.numpy()],
                           "NumPy int32": pcm.numpy().astype(np.int32) * 65536}.items():
        assert rel_err(fixed(waveform), want) <= 1e-6, form


def test_int16_range_floats_are_refused_as_the_kaldi_adapter_refuses_them(fixed, speech):
    """Whisper reads [-1, 1]: audio scaled by 32768 is refused, naming the item and the fix; do_normalize removes
    the scale (the extractor's features of it), check_scale=False lets it through."""
    loud = [speech[0][:16_000], speech[1][:16_000] * 32768]
    with pytest.raises(ValueError, match=r"item 1: waveform peaks at .*int16-range audio, not audio in \[-1, 1\], "
                                         r"which Whisper reads: divide int16-range audio by 32768"):
        fixed(loud)
    with pytest.raises(ValueError, match="item 0: waveform peaks at"):
        fixed(loud[1].numpy())
    normalised = WhisperFrontend(learnable=False, do_normalize=True)(loud)
    assert rel_err(normalised, extract(loud, do_normalize=True)["input_features"]) <= 1e-4
    WhisperFrontend(learnable=False, check_scale=False)(loud)
    fixed([speech[0][:16_000] * 3.9, torch.randn(48_000)])  # gain past full scale, unit-variance noise


def test_lengths_in_the_wrong_form_are_refused(fixed):
    batch = torch.randn(2, 4000)
    with pytest.raises(ValueError, match=r"absolute sample counts \(an integer tensor\), got dtype "
                                         r"torch.float32 values \[1.0, 0.5\]; relative lengths"):
        fixed(batch, torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(batch,\) = \(2,\), got \(3,\)"):
        fixed(batch, torch.tensor([4000, 3000, 2000]))
    with pytest.raises(ValueError, match=r"lengths\[1\] = 4001 is outside \[1, 4000\]"):
        fixed(batch, torch.tensor([4000, 4001]))
    with pytest.raises(ValueError, match=r"lengths\[0\] = 0 is outside \[1, 4000\]"):
        fixed(batch, torch.tensor([0, 4000]))
    with pytest.raises(ValueError, match="a list of waveforms carries its own lengths"):
        fixed([batch[0], batch[1]], torch.tensor([4000, 4000]))
    with pytest.raises(ValueError, match=r"lengths needs a padded batch \(batch, time\), got a waveform of shape "
                                         r"\(4000,\)"):
        fixed(batch[0], torch.tensor([4000]))
    with pytest.raises(ValueError, match="got list"):
        fixed(batch, [4000, 4000])


def test_wrong_shapes_and_empty_input_are_refused(fixed):
    with pytest.raises(ValueError, match=r"mono audio: .* got shape \(2, 1, 4000\)"):
        fixed(torch.randn(2, 1, 4000))
    with pytest.raises(ValueError, match="empty list"):
        fixed([])
    with pytest.raises(ValueError, match=r"waveform is empty: shape \(0, 4000\)"):
        fixed(torch.randn(0, 4000))
    with pytest.raises(ValueError, match=r"waveform is empty: shape \(0,\)"):
        fixed(torch.randn(0))
    with pytest.raises(ValueError, match=r"waveform\[1\] must be a non-empty mono waveform of shape \(time,\), got "
                                         r"shape \(0,\)"):
        fixed([torch.randn(100), torch.randn(0)])
    with pytest.raises(ValueError, match=r"waveform\[0\] .* got shape \(2, 100\)"):
        fixed([torch.randn(2, 100)])
    # Unpadded audio shorter than the reflect padding needs: the front-end names the minimum.
    with pytest.raises(ValueError, match="needs at least 201"):
        WhisperFrontend(learnable=False, padding="longest")([torch.randn(150)])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match=r"padding must be one of \('max_length', 'longest'\), got 'do_not_pad'"):
        WhisperFrontend(learnable=False, padding="do_not_pad")
    with pytest.raises(ValueError, match="chunk_length must be a positive int"):
        WhisperFrontend(learnable=False, chunk_length=0)
    with pytest.raises(ValueError, match="learnable=False builds the fixed Fbank.*kmatrix_width=2"):
        WhisperFrontend(learnable=False, kmatrix_width=2)  # a K-matrix argument for the fixed twin


def test_importable_without_transformers(monkeypatch):
    import kfront.integrations.whisper as module

    monkeypatch.setitem(sys.modules, "transformers", None)  # any import of it now raises ImportError
    reloaded = importlib.reload(module)
    assert reloaded.WhisperFrontend(learnable=False)([torch.randn(8000)]).shape == (1, 80, 3000)
