"""kfront.integrations.speechbrain: SpeechBrain's Fbank / MFCC interface, in SpeechBrain's own code.

The adapter against ``speechbrain.lobes.features`` with SpeechBrain's constructor arguments, and a SpeechBrain model
built from HyperPyYAML naming the kfront class (features -> ``InputNormalization(wav_lens)`` -> CRDNN -> CTC loss),
equal at init to the same YAML with SpeechBrain's Fbank, whose backward reaches the K-matrix.
"""
import pytest
import torch

speechbrain_features = pytest.importorskip("speechbrain.lobes.features")
hyperpyyaml = pytest.importorskip("hyperpyyaml")

from kfront.integrations import speechbrain as kfront_sb  # noqa: E402

from _speechbrain_espnet_cases import audio, padded, rel, speechbrain_reference as speechbrain  # noqa: E402

OPTIONS = [  # SpeechBrain constructor arguments, each name as SpeechBrain spells it
    {},
    dict(deltas=True, context=True, left_frames=3, right_frames=2),
    dict(n_mels=24, f_min=50, f_max=7000, win_length=20, hop_length=12.5),
    dict(sample_rate=8000, n_fft=256, win_length=30),
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "defaults")
@pytest.mark.parametrize("name", ["Fbank", "MFCC"])
@pytest.mark.parametrize("learnable", [False, True])
def test_adapter_equals_speechbrain(learnable, name, options, request):
    sample_rate = options.get("sample_rate", 16000)
    for kind in ("noise", "speech") if sample_rate == 16000 else ("noise",):
        for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
            x = audio(kind, request, sample_rate).to(dtype)
            ref = speechbrain(getattr(speechbrain_features, name), dtype, **options)(x)
            ours = getattr(kfront_sb, name)(learnable=learnable, dtype=dtype, **options)
            assert rel(ours(x), ref) <= tol


def test_wav_lens_and_learning_switches(speech):
    x = padded(speech)
    wav_lens = torch.tensor([w.shape[0] / x.shape[1] for w in speech])
    fe = kfront_sb.Fbank()
    assert torch.equal(fe(x, wav_lens), fe(x))  # relative lengths carry over to the frames unchanged
    assert fe.n_features == 40 and kfront_sb.MFCC(learnable=False).n_features == 660
    assert fe.frontend.learn == ("kmatrix",)
    assert kfront_sb.Fbank(requires_grad=True).frontend.learn == ("kmatrix", "filterbank")
    assert kfront_sb.Fbank(learnable=False).frontend.num_learnable_parameters() == 0


def test_bad_input():
    fe = kfront_sb.Fbank(learnable=False)
    x = torch.randn(2, 4000)
    with pytest.raises(ValueError, match=r"relative lengths in \(0, 1\].*int64 values \[4000, 2000\].*divide"):
        fe(x, torch.tensor([4000, 2000]))
    with pytest.raises(ValueError, match=r"wav_lens\[1\] = 1\.5 is not a relative length in \(0, 1\]"):
        fe(x, torch.tensor([1.0, 1.5]))
    with pytest.raises(ValueError, match=r"wav_lens\[0\] = 0\.0"):
        fe(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"wav_lens must have shape \(batch,\) = \(2,\), got \(3,\)"):
        fe(x, torch.ones(3))
    with pytest.raises(ValueError, match=r"shape \(batch, time\), got \(4000,\)"):
        fe(x[0])
    with pytest.raises(ValueError, match=r"got \(2, 4000, 2\).*multichannel.*mixes the channels"):
        fe(torch.randn(2, 4000, 2))
    with pytest.raises(ValueError, match=r"wav is empty: shape \(0, 4000\)"):
        fe(torch.zeros(0, 4000))
    with pytest.raises(ValueError, match=r"wav is empty: shape \(2, 0\)"):
        fe(torch.zeros(2, 0))
    with pytest.raises(ValueError, match=r"floating-point tensor, got dtype torch.int16.*32768"):
        fe((x * 1000).to(torch.int16))
    with pytest.raises(ValueError, match=r"sample_rate=8000 does not match the 16000 Hz"):
        fe(x, sample_rate=8000)
    with pytest.raises(ValueError, match=r"filter_shape must be 'triangular'.*got 'gaussian'"):
        kfront_sb.Fbank(filter_shape="gaussian")
    with pytest.raises(ValueError, match=r"param_rand_factor must be 0.*got 0\.15"):
        kfront_sb.Fbank(param_rand_factor=0.15)
    with pytest.raises(ValueError, match=r"learnable=False.*requires_grad=True"):
        kfront_sb.Fbank(learnable=False, requires_grad=True)


# --- a SpeechBrain model from HyperPyYAML --------------------------------------------------------------------------
YAML = """
n_mels: 40
compute_features: !new:{features}
    n_mels: !ref <n_mels>
    n_fft: {n_fft}
normalize: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
model: !new:speechbrain.lobes.models.CRDNN.CRDNN
    input_shape: [null, null, !ref <n_mels>]
    dropout: 0.0
    cnn_blocks: 1
    cnn_channels: [4]
    cnn_kernelsize: [3, 3]
    inter_layer_pooling_size: [2]
    rnn_class: !name:speechbrain.nnet.RNN.GRU
    rnn_layers: 1
    rnn_neurons: 8
    rnn_bidirectional: True
    dnn_blocks: 1
    dnn_neurons: 8
output: !new:speechbrain.nnet.linear.Linear
    input_size: 8
    n_neurons: 5
log_softmax: !new:speechbrain.nnet.activations.Softmax
    apply_log: True
"""


def _hparams(features: str, n_fft: int) -> dict:
    return hyperpyyaml.load_hyperpyyaml(YAML.format(features=features, n_fft=n_fft))


def _forward(hp: dict, wavs: torch.Tensor, wav_lens: torch.Tensor) -> torch.Tensor:
    """A SpeechBrain recipe's compute_forward: features, sentence normalisation over wav_lens, model."""
    feats = hp["compute_features"](wavs)  # (batch, frames, n_mels)
    feats = hp["normalize"](feats, wav_lens)
    return hp["log_softmax"](hp["output"](hp["model"](feats)))  # (batch, frames, 5)


@pytest.mark.parametrize("n_fft", [512, 400])
def test_hyperpyyaml_model_with_kfront_features(n_fft, speech):
    from speechbrain.nnet.losses import ctc_loss

    torch.manual_seed(0)
    ours = _hparams("kfront.integrations.speechbrain.Fbank", n_fft)
    theirs = _hparams("speechbrain.lobes.features.Fbank", n_fft)
    assert isinstance(ours["compute_features"], kfront_sb.Fbank)
    for key in ("model", "output"):
        theirs[key].load_state_dict(ours[key].state_dict())
    wavs = padded(speech)
    wav_lens = torch.tensor([w.shape[0] / wavs.shape[1] for w in speech])
    out = _forward(ours, wavs, wav_lens)
    with torch.no_grad():
        ref = _forward(theirs, wavs, wav_lens)
    assert out.shape == ref.shape and rel(out, ref) <= 1e-4

    targets = torch.tensor([[1, 2, 3, 4], [2, 3, 1, 0], [4, 4, 1, 2], [3, 0, 0, 0]])
    target_lens = torch.tensor([1.0, 0.75, 1.0, 0.25])
    loss = ctc_loss(out, targets, wav_lens, target_lens, blank_index=0)
    assert bool(torch.isfinite(loss))
    loss.backward()
    twiddle = ours["compute_features"].frontend.kmatrix.twiddle
    assert twiddle.grad is not None and bool(torch.isfinite(torch.view_as_real(twiddle.grad)).all())
    assert float(twiddle.grad.abs().max()) > 0
    before = twiddle.detach().clone()
    torch.optim.SGD([twiddle], lr=1e-3).step()
    assert not torch.equal(before, twiddle.detach())
