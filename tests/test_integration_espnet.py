"""kfront.integrations.espnet in ESPnet2's own code: an ``ESPnetASRModel`` (tiny conformer, CTC) whose frontend is
the kfront adapter, equal at init to the same model with ESPnet's ``DefaultFrontend``, trained one step; ESPnet's
type checks (typeguard, ``ClassChoices``); the adapter without ESPnet; bad input."""
import subprocess
import sys

import pytest
import torch

pytest.importorskip("espnet2.asr.espnet_model")

from espnet2.asr.ctc import CTC  # noqa: E402
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder  # noqa: E402
from espnet2.asr.espnet_model import ESPnetASRModel  # noqa: E402
from espnet2.asr.frontend.abs_frontend import AbsFrontend  # noqa: E402
from espnet2.asr.frontend.default import DefaultFrontend as ESPnetDefaultFrontend  # noqa: E402

from kfront.integrations.espnet import DefaultFrontend  # noqa: E402

from _speechbrain_espnet_cases import lengths_of, padded, rel  # noqa: E402

TOKENS = ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"]


def asr_model(frontend) -> ESPnetASRModel:
    """A tiny ESPnet2 ASR model: a one-block conformer on 80 log-mels, CTC only (ESPnet builds no decoder)."""
    torch.manual_seed(0)
    encoder = ConformerEncoder(frontend.output_size(), output_size=16, attention_heads=2, linear_units=32,
                               num_blocks=1, dropout_rate=0.0, positional_dropout_rate=0.0,
                               attention_dropout_rate=0.0, input_layer="conv2d", cnn_module_kernel=3)
    ctc = CTC(len(TOKENS), encoder.output_size())
    return ESPnetASRModel(len(TOKENS), TOKENS, frontend=frontend, specaug=None, normalize=None, preencoder=None,
                          encoder=encoder, postencoder=None, decoder=None, ctc=ctc, joint_network=None,
                          ctc_weight=1.0, report_cer=False, report_wer=False)


def test_asr_model_with_kfront_frontend(speech):
    ours, theirs = asr_model(DefaultFrontend()), asr_model(ESPnetDefaultFrontend())
    speech_batch, lengths = padded(speech), lengths_of(speech)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        enc, enc_lengths = ours.encode(speech_batch, lengths)
        ref, ref_lengths = theirs.encode(speech_batch, lengths)
    assert torch.equal(enc_lengths, ref_lengths) and rel(enc, ref) <= 1e-4

    ours.train()
    text = torch.tensor([[2, 3, 4], [3, 2, -1], [4, 4, 2], [2, -1, -1]])
    text_lengths = torch.tensor([3, 2, 3, 1])
    loss, stats, _ = ours(speech_batch, lengths, text, text_lengths)
    assert bool(torch.isfinite(loss).all()) and float(stats["loss_ctc"]) > 0
    twiddle = ours.frontend.frontend.kmatrix.twiddle
    optimizer = torch.optim.Adam(ours.parameters(), lr=1e-3)
    optimizer.zero_grad()
    loss.sum().backward()
    assert twiddle.grad is not None and bool(torch.isfinite(torch.view_as_real(twiddle.grad)).all())
    assert float(twiddle.grad.abs().max()) > 0
    before = twiddle.detach().clone()
    optimizer.step()
    assert float((twiddle.detach() - before).abs().max()) > 0


def test_espnet_type_checks_accept_the_adapter():
    """ESPnet's typeguard check on ``frontend: Optional[AbsFrontend]`` is live (it rejects a plain module) and
    accepts the adapter; ``ClassChoices(type_check=AbsFrontend)``, ESPnet's config-driven builder, takes the class
    and builds it from a ``frontend_conf`` mapping as an ESPnet YAML gives it."""
    from espnet2.train.class_choices import ClassChoices

    assert issubclass(DefaultFrontend, AbsFrontend) and isinstance(DefaultFrontend(), AbsFrontend)
    with pytest.raises(TypeError, match="frontend"):
        asr_model(_NotAFrontend())
    choices = ClassChoices("frontend", classes=dict(default=ESPnetDefaultFrontend, kfront=DefaultFrontend),
                           type_check=AbsFrontend, default="default")
    frontend = choices.get_class("kfront")(**{"fs": "16k", "n_fft": 512, "hop_length": 160, "n_mels": 40})
    assert frontend.output_size() == 40 and frontend.frontend.config.hop_length == 160


class _NotAFrontend(torch.nn.Module):
    def output_size(self) -> int:
        return 80


def test_adapter_works_without_espnet():
    """``import kfront`` imports no toolkit, and the adapter runs where ESPnet cannot be imported."""
    code = (
        "import sys\n"
        "import kfront\n"
        "kfront.KaleidoFrontend(convention='espnet')\n"
        "import kfront.integrations\n"
        "assert not any(m.split('.')[0] in ('espnet', 'espnet2', 'speechbrain') for m in sys.modules), 'imported'\n"
        "sys.modules['espnet2'] = None\n"  # an import of espnet2 now fails
        "import torch\n"
        "from kfront.integrations.espnet import DefaultFrontend\n"
        "from kfront.integrations.speechbrain import Fbank\n"
        "feats, lengths = DefaultFrontend()(torch.randn(2, 4000), torch.tensor([4000, 3000]))\n"
        "assert feats.shape == (2, 32, 80) and lengths.tolist() == [32, 24]\n"
        "assert Fbank(learnable=False)(torch.randn(2, 4000)).shape == (2, 26, 40)\n"
        "assert not any(m.split('.')[0] == 'speechbrain' for m in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_registration_when_espnet_is_imported_later():
    """kfront never imports ESPnet: a front-end built before ESPnet is imported is registered by the next
    DefaultFrontend built, or by register_with_espnet()."""
    code = (
        "from kfront.integrations.espnet import DefaultFrontend, register_with_espnet\n"
        "assert register_with_espnet() is False\n"
        "frontend = DefaultFrontend(learnable=False)\n"
        "from espnet2.asr.frontend.abs_frontend import AbsFrontend\n"
        "assert not isinstance(frontend, AbsFrontend)\n"
        "DefaultFrontend(learnable=False)\n"
        "assert isinstance(frontend, AbsFrontend) and register_with_espnet() is True\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bad_input():
    fe = DefaultFrontend(learnable=False)
    x = torch.randn(2, 4000)
    with pytest.raises(ValueError, match=r"absolute sample counts.*float32 values \[1\.0, 0\.5\].*SpeechBrain"):
        fe(x, torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"input_lengths\[1\] = 4001 is outside \[1, 4000\]"):
        fe(x, torch.tensor([4000, 4001]))
    with pytest.raises(ValueError, match=r"input_lengths\[0\] = 0"):
        fe(x, torch.tensor([0, 4000]))
    with pytest.raises(ValueError, match=r"input_lengths must have shape \(batch,\) = \(2,\), got \(2, 1\)"):
        fe(x, torch.tensor([[4000], [4000]]))
    with pytest.raises(ValueError, match=r"\(batch, samples\) or \(batch, samples, channels\), got \(4000,\)"):
        fe(x[0], torch.tensor([4000]))
    with pytest.raises(ValueError, match=r"input is empty: shape \(2, 0\)"):
        fe(torch.zeros(2, 0), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match=r"floating-point tensor, got dtype torch.int16.*32768"):
        fe((x * 1000).to(torch.int16), torch.tensor([4000, 4000]))
    with pytest.raises(ValueError, match=r"sample_rate=8000 does not match the 16000 Hz"):
        fe(x, torch.tensor([4000, 4000]), sample_rate=8000)
    with pytest.raises(ValueError, match=r"fs must be a positive int or a string such as '16k', got 'fast'"):
        DefaultFrontend(fs="fast")
    with pytest.raises(ValueError, match=r"window must be one of .*got 'kaiser'"):
        DefaultFrontend(window="kaiser")
    with pytest.raises(ValueError, match=r"neural enhancement \{'use_wpe': True\}"):
        DefaultFrontend(frontend_conf={"use_wpe": True})
    with pytest.raises(ValueError, match=r"onesided must be True"):
        DefaultFrontend(onesided=False)
    with pytest.raises(ValueError, match=r"apply_stft must be True"):
        DefaultFrontend(apply_stft=False)
    with pytest.raises(ValueError, match=r"f_max must be <= sample_rate / 2 = 4000.0, got 8000.0"):
        DefaultFrontend(fs=8000, fmax=8000)
