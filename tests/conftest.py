"""Fixtures shared across test files."""
import pytest
import soundfile
import torch


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> list:
    """Four utterances of real-looking speech from the built-in corpus (espeak-ng voices through their channels):
    16 kHz float32 tensors ``(time,)`` in [-1, 1], 1-4 s each, for "exact at init" checks beside noise."""
    from kfront.corpus import CorpusConfig, generate_corpus

    root = tmp_path_factory.mktemp("speech")
    generate_corpus(root, CorpusConfig.tiny(seed=0), jobs=1, progress=False)
    paths = sorted(root.rglob("*.WAV"))[:4]
    waves = [torch.from_numpy(soundfile.read(p, dtype="float32")[0]) for p in paths]
    assert len(waves) == 4 and all(w.shape[0] > 8000 for w in waves)
    return waves
