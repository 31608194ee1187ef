"""The CUDA benchmark script: it imports and parses its arguments anywhere, its report on synthetic numbers, and a
quick run where there is a GPU."""
import json

import pytest
import torch

from _scripts import load_script


def _module():
    return load_script("benchmarks/bench_butterfly_cuda.py")


def test_arguments():
    bench = _module()
    args = bench.parse_args(["--quick", "--impls", "triton", "--dtypes", "real-input", "--no-compile"])
    assert args.frames == 4096 and args.sizes == [256, 1024] and args.no_variants and args.no_compile
    assert args.impls == ["triton"] and args.kinds == ["real-input"]
    args = bench.parse_args([])
    assert args.impls == ["triton", "cuda"] and args.kinds == ["complex64", "real-input"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--impls", "cufft"])


def _row(n, fwd, **extra):
    row = {"n": n, "kind": "complex64", "nblocks": 1, "frames": 1 << 18, "floor_ms": 1.0, "fft_ms": 1.2,
           "dense_ms": 10.0, "ref_frames": 1 << 16, "ref_fwd_ms": 90.0, "ref_fwd_bwd_ms": 300.0,
           "compiled_ref_fwd_ms": 30.0, "compiled_ref_fwd_bwd_ms": 100.0, "compiled_ref_first_s": 40.0}
    for impl, scale in (("triton", 1.0), ("cuda", 0.8)):
        row.update({f"{impl}_fwd_ms": fwd * scale, f"{impl}_fwd_bwd_ms": 2.5 * fwd * scale,
                    f"{impl}_fwd_bwd_no_dx_ms": 2.0 * fwd * scale, f"{impl}_first_s": 5.0 if impl == "triton" else 0.1,
                    f"{impl}_err_out": 2e-7, f"{impl}_err_dx": 3e-7, f"{impl}_err_dtw": 2e-6})
    row.update(extra)
    return row


def test_report_and_targets():
    bench = _module()
    rows = [_row(512, 1.5), _row(1024, 2.5), _row(512, 1.5, nblocks=2), _row(256, 1.0, kind="real-input",
                                                                               triton_err_dtw=3e-5)]
    rows.append(dict(_row(1024, 2.5), variant="backward keeps 8192 values", impl="triton", triton_fwd_bwd_ms=10.0))
    text = bench.markdown(rows, {"gpu": "Test GPU", "torch": "x", "cuda": "y", "triton": "3.6.0", "sms": 1,
                                 "copy_gbs": 4000.0})
    assert "## triton" in text and "## cuda" in text and "## Baselines" in text
    assert "| 512 | complex64 | 262144 | 1 | 1.5 | 1.5 | 1.25 | 3.75 | 2.5 | 3 | 5 | 2e-06 |" in text
    assert "| 1024 | complex64 | 90* | 300* | 30* | 100* | 40 |" in text.replace("| 1.2 | 10 ", "")
    assert "| triton | backward keeps 8192 values | 1024 | 1 | 2.5 | 2.5 | 10 | 4 |" in text
    verdicts = {(t["impl"], t["target"], t["n"]): t["pass"] for t in bench.targets(rows)}
    assert verdicts[("triton", "forward <= 2x bandwidth floor", 512)]
    assert not verdicts[("triton", "forward <= 2x bandwidth floor", 1024)]
    assert verdicts[("cuda", "forward <= 1.5x cuFFT", 512)] and not verdicts[("cuda", "forward <= 1.5x cuFFT", 1024)]
    assert all(verdicts[("triton", "fwd+bwd <= 3.5x forward", n)] for n in (512, 1024))
    assert not verdicts[("triton", "relative error vs float64 <= 1e-5 (real-input)", 256)]
    assert verdicts[("cuda", "relative error vs float64 <= 1e-5 (real-input)", 256)]
    assert "| triton | forward <= 2x cuFFT | 1024 | 2.08x | <= 2x | FAIL |" in text  # the ratio beside its bound
    assert bench.gpu_slug("NVIDIA H200") == "nvidia-h200"


def test_a_stopped_run_keeps_the_rows_it_measured(tmp_path, monkeypatch):
    """The report is rewritten after every row, the target sizes measured first: a run cut by the GPU check's
    deadline still leaves its table (here the third size stops it, as a timeout would)."""
    bench = _module()
    measured = []

    def bench_size(n, frames, bandwidth, impls, kind="complex64", **kwargs):
        if len(measured) == 2:
            raise KeyboardInterrupt("the deadline")
        measured.append(n)
        return _row(n, n / 512, kind=kind)

    props = type("Props", (), {"name": "Test GPU", "multi_processor_count": 1})
    monkeypatch.setattr(bench.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(bench.torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(bench.torch.cuda, "get_device_properties", lambda device: props)
    monkeypatch.setattr(bench, "available_impls", lambda impls: {"triton": None, "cuda": None})
    monkeypatch.setattr(bench, "copy_bandwidth_gbs", lambda: 4000.0)
    monkeypatch.setattr(bench, "bench_size", bench_size)
    out = tmp_path / "bench.md"
    with pytest.raises(KeyboardInterrupt):
        bench.run_cuda_benchmark(sizes=(256, 512, 1024, 4096), out=out, variants=False, log=lambda line: None)
    assert measured == [512, 1024]
    text = out.read_text()
    assert "| 512 | complex64 |" in text and "| 1024 | complex64 |" in text and "| 256 |" not in text
    assert "| triton | forward <= 2x bandwidth floor | 512 |" in text
    assert [r["n"] for r in json.loads(out.with_suffix(".json").read_text())["rows"]] == [512, 1024]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_quick_run(tmp_path):
    out = tmp_path / "bench.md"
    text = _module().main(["--quick", "--no-compile", "--out", str(out)])
    assert out.read_text() == text and out.with_suffix(".json").exists()
    assert "| 1024 |" in text and "NaN" not in text
