"""The recognizer behind any front-end: output shapes and lengths, padding, per-utterance normalisation."""
import torch

from kfront.asr.model import CTCModel, utterance_norm


def test_output_shapes_and_lengths(tiny_frontend):
    model = CTCModel(tiny_frontend(), n_classes=49, subsample=2, conv_channels=16, hidden=8, layers=2)
    lengths = torch.tensor([16000, 9600, 3200])
    log_probs, out_lens = model(torch.randn(3, 16000), lengths)
    assert log_probs.shape == (3, 50, 49)
    assert out_lens.tolist() == [50, 30, 10]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, 50), atol=1e-5)


def test_padding_does_not_change_an_utterance(tiny_frontend):
    torch.manual_seed(0)
    model = CTCModel(tiny_frontend(), n_classes=49, subsample=2, conv_channels=16, hidden=8, layers=1).eval()
    wav = torch.randn(1, 8000)
    alone, _ = model(wav, torch.tensor([8000]))
    padded, lens = model(torch.cat([wav, torch.zeros(1, 8000)], 1), torch.tensor([8000]))
    # the conv sees one padded frame at the edge; everything before it is unchanged
    assert torch.allclose(alone[0, :-1], padded[0, : alone.shape[1] - 1], atol=1e-5)


def test_utterance_norm_uses_valid_frames_only():
    feats = torch.randn(2, 3, 10) * 5 + 3
    lengths = torch.tensor([10, 6])
    out = utterance_norm(feats, lengths)
    assert torch.allclose(out[1, :, :6].mean(-1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out[1, :, :6].std(-1, unbiased=False), torch.ones(3), atol=1e-3)
    assert (out[1, :, 6:] == 0).all()
