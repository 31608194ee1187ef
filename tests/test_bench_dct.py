"""Smoke test of benchmarks/bench_dct.py: it runs on tiny inputs, writes both tables, and the K-matrix DCT equals the
dense one at init."""
import re

import torch

from _scripts import load_script


def test_bench_dct_quick(tmp_path):
    module = load_script("benchmarks/bench_dct.py")
    threads = torch.get_num_threads()
    try:
        text = module.main(["--quick", "--out", str(tmp_path / "dct.md")])
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "dct.md").read_text() == text
    assert "| 40 -> 13 |" in text and "| 520 | 14336 (128) |" in text  # dense 40 x 13 against width 2, size 128
    assert "| KaleidoFrontend log-mel + K-matrix DCT |" in text
    error = float(re.search(r"relative to the largest feature: ([0-9.e+-]+)", text)[1])
    assert error < 1e-5  # float32
