"""The CUDA benchmark script: its report on synthetic numbers (anywhere), and a quick run where there is a GPU."""
import importlib.util
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_butterfly_cuda.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_butterfly_cuda", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_and_targets():
    bench = _module()
    rows = [{"n": n, "nblocks": 1, "frames": 1 << 18, "floor_ms": 1.0, "fwd_ms": fwd, "fwd_bwd_ms": 2.5 * fwd,
             "fwd_gbs": 3000.0, "fft_ms": 1.2, "dense_ms": 10.0, "ref_frames": 1 << 16, "ref_fwd_ms": 90.0,
             "ref_fwd_bwd_ms": 300.0, "err_out": 2e-7, "err_dx": 3e-7, "err_dtw": 2e-6}
            for n, fwd in ((512, 1.5), (1024, 2.5))]
    rows.append(dict(rows[0], nblocks=2))
    rows.append(dict(rows[1], variant="backward F=2", fwd_bwd_ms=10.0))
    rows.append(dict(rows[0], dtype="float32", err_dx=3e-5))
    text = bench.markdown(rows, {"gpu": "Test GPU", "torch": "x", "cuda": "y", "sms": 1, "copy_gbs": 4000.0})
    assert text.count("\n| 512 |") == 3 and "| 1.5 | 1.5 |" in text and "90*" in text
    assert "| backward F=2 | 1024 | 1 | 2.5 | 2.5 | 10 | 4 |" in text
    verdicts = {(t["target"], t["n"]): t["pass"] for t in bench.targets(rows)}
    floor, fft = "forward <= 1.5x bandwidth floor", "forward <= 1.5x cuFFT"
    assert verdicts[(floor, 512)] and not verdicts[(floor, 1024)]
    assert verdicts[(fft, 512)] and not verdicts[(fft, 1024)]
    assert verdicts[("forward >= 5x faster than dense complex matmul", 1024)] is False
    assert all(verdicts[("fwd+bwd <= 3x forward", n)] for n in (512, 1024))
    assert verdicts[("relative error vs float64 <= 1e-5 (complex64, 1 block)", 512)]
    assert not verdicts[("relative error vs float64 <= 1e-5 (float32, 1 block)", 512)]
    assert "| forward <= 1.5x cuFFT | 1024 | 2.08x | <= 1.5x | FAIL |" in text  # the ratio beside its bound
    assert "\n| 512 | float32 | 1 |" in text
    assert bench.gpu_slug("NVIDIA H200") == "nvidia-h200"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_quick_run(tmp_path):
    out = tmp_path / "bench.md"
    text = _module().main(["--quick", "--out", str(out)])
    assert out.read_text() == text and out.with_suffix(".json").exists()
    assert "| 1024 |" in text and "NaN" not in text
