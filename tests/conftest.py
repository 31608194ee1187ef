"""Fixtures shared across test files: speech from the built-in corpus; for the recognizer's tests, the smallest
front-end a CTCModel takes and a fake TIMIT with manifests. Collection: the ``left_out`` marker (parametrizations a
reduced test matrix does not generate) and ``--shard I/K`` (one of K processes' share of the selection).

No audio package is imported at module level: the GPU machine has no soundfile, and an import error here would
stop every test of its run (tests/test_gpu_test_selection.py keeps it so)."""
import pytest
import torch
from torch import nn

from kfront.asr import load_config
from kfront.timit import prepare_timit
from kfront.timit._testing import write_fake_timit

# A recognizer small enough to train three epochs in seconds.
TINY_ASR = ["model.hidden=16", "model.layers=1", "model.conv_channels=16", "data.batch_seconds=3.0",
            "train.epochs=3", "train.num_threads=1", "optim.warmup_epochs=0.5", "decode.beam_size=4"]


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> list:
    """Four utterances of real-looking speech from the built-in corpus (espeak-ng voices through their channels):
    16 kHz float32 tensors ``(time,)`` in [-1, 1], 1-4 s each, for "exact at init" checks beside noise."""
    import soundfile

    from kfront.synth import CorpusConfig, generate_corpus

    root = tmp_path_factory.mktemp("speech")
    generate_corpus(root, CorpusConfig.tiny(seed=0), jobs=1, progress=False)
    paths = sorted(root.rglob("*.WAV"))[:4]
    waves = [torch.from_numpy(soundfile.read(p, dtype="float32")[0]) for p in paths]
    assert len(waves) == 4 and all(w.shape[0] > 8000 for w in waves)
    return waves


class TinyFrontend(nn.Module):
    """Any module with the front-end contract will do: frames of 160 samples, one learnable projection."""

    n_features = 8

    def __init__(self):
        super().__init__()
        self.proj = nn.Parameter(torch.randn(8, 160) * 0.1)
        self.proj._no_weight_decay = True
        self.gain = nn.Parameter(torch.ones(8, 8))

    def forward(self, waveform, lengths=None):
        frames = waveform[:, : waveform.shape[1] // 160 * 160].unflatten(1, (-1, 160))  # (B, N, 160)
        feats = (self.gain @ (self.proj @ frames.transpose(1, 2)))  # (B, 8, N)
        return feats if lengths is None else (feats, lengths // 160)


@pytest.fixture
def tiny_frontend():
    """The :class:`TinyFrontend` class: a test makes its instance where its random draws belong."""
    return TinyFrontend


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """Manifests of a fake TIMIT (five speakers, four utterances each)."""
    root = tmp_path_factory.mktemp("corpus")
    write_fake_timit(root / "timit", utterances_per_speaker=4)
    prepare_timit(root / "timit", root / "data")
    return root / "data"


@pytest.fixture
def tiny_config(data_dir):
    """``tiny_config(*overrides)``: the tiny recognizer on :func:`data_dir` with a K-matrix MFCC front-end."""
    def make(*extra):
        return load_config(None, TINY_ASR + [f"data.dir={data_dir}", "frontend.name=kaleido", "frontend.output=mfcc",
                                             *extra])
    return make


def pytest_addoption(parser):
    parser.addoption("--shard", metavar="I/K", default=None,
                     help="run only every K-th selected test, starting at the I-th (0 <= I < K): K processes with "
                          "I = 0 ... K-1 run the selection once between them (benchmarks/gpu/run_tests.py)")


def pytest_configure(config):
    config.addinivalue_line("markers", "left_out(rule): the parametrizations for which rule(**params) is true are "
                                       "not collected (a reduced matrix, rather than ids that always skip)")


def _left_out(item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(mark.kwargs["rule"](**params) for mark in item.iter_markers("left_out"))


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected theirs
def pytest_collection_modifyitems(config, items):
    keep = [item for item in items if not _left_out(item)]
    shard = config.getoption("--shard")
    if shard is not None:
        try:
            index, count = (int(part) for part in shard.split("/"))
            if not 0 <= index < count:
                raise ValueError
        except ValueError:
            raise pytest.UsageError(f"--shard must be I/K with 0 <= I < K, got {shard!r}") from None
        keep = keep[index::count]
    if len(keep) < len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep
