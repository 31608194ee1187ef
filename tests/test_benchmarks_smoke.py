"""Smoke tests of the benchmark scripts: each runs end to end on tiny inputs and writes its results."""
import json
from pathlib import Path

import pytest
import torch

from _scripts import load_script


def _load(script: str):
    return load_script(f"benchmarks/{script}")


def test_bench_butterfly_quick(tmp_path, capsys):
    out = tmp_path / "bench_butterfly.md"
    assert _load("bench_butterfly.py").main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    for heading in ("## Time per call, fwd (ms)", "## Time per call, fwd+bwd (ms)", "## Ratios", "## Parameters",
                    "## Targets"):
        assert heading in text
    assert "| 64 | 64 |" in text  # n = 64: 4096 elements = 64 frames
    assert "## Any length" in text and "| 12 | 32 | 16 |" in text  # --quick: the length-12 DFT, size 32
    payload = json.loads(out.with_suffix(".json").read_text())
    assert {"16", "64"} <= set(payload["results"]) and payload["machine"]["backend"] in ("compiled", "reference")
    if torch.cuda.is_available():  # the CUDA section ran too, into a file beside the CPU one
        assert "bench_butterfly_cuda.md" in {p.name for p in tmp_path.iterdir()}
        assert "cuFFT" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_bench_butterfly_cuda_on_without_gpu_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _load("bench_butterfly.py").main(["--quick", "--cuda", "on", "--out", str(tmp_path / "b.md")])
    assert info.value.code == 2 and "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "b.md").exists()


def test_bench_frontend_quick(tmp_path):
    out = tmp_path / "bench_frontend.md"
    text = _load("bench_frontend.py").main(["--quick", "--out", str(out)])
    assert out.read_text() == text
    for row in ("| torchaudio MFCC", "| KaleidoFrontend (reference, separate process) |", "real_input='packed'",
                "| dense learnable DFT", "| nnAudio MFCC"):
        assert row in text
    assert "| KaleidoFrontend: >= 10x fewer learnable parameters than the dense DFT |" in text
    assert "## Any frame size: n_fft = 400" in text and "| KaleidoFrontend n_fft=400 (Bluestein, size 1024;" in text
    assert "| n_fft=400: KaleidoFrontend fwd+bwd <= 5x torchaudio MFCC forward at 400 |" in text


def test_bench_toolkits_quick(tmp_path):
    out = tmp_path / "bench_toolkits.md"
    text = _load("bench_toolkits.py").main(["--quick", "--out", str(out)])
    assert out.read_text() == text
    for heading in ("## kaldi-fbank", "## kaldi-mfcc", "## whisper", "## speechbrain-fbank", "## speechbrain-mfcc",
                    "## espnet"):
        assert heading in text
    for row in ("| kaldi-native-fbank (1 thread) |", "| torchaudio.compliance.kaldi |",
                "| WhisperFeatureExtractor, torch path |", "| speechbrain.lobes.features.Fbank |",
                "| espnet2 DefaultFrontend |", "| KaleidoFrontend |"):
        assert row in text
    assert "| espnet: KaleidoFrontend fwd+bwd <= 3x espnet2 DefaultFrontend forward |" in text
