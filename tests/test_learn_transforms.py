"""benchmarks/learn_transforms.py at small N: structured transforms are learned to float64 rounding from random
input-output pairs, the random control is not, and the script writes its table."""
import json

import pytest
import torch

from _scripts import load_script


@pytest.fixture(scope="module")
def learn():
    return load_script("benchmarks/learn_transforms.py")


@pytest.mark.parametrize("name,n", [("dft", 16), ("hadamard", 16), ("dct", 8), ("hartley", 8)])
def test_structured_transforms_are_learned(learn, name, n):
    row = learn.fit(name, n, steps=300, budget_s=20, polish_s=10, log=lambda *_: None)
    assert row["error"] < 1e-10, row


def test_random_control_is_not_learned(learn):
    # At N = 64 the structure has 3,072 parameters against the matrix's 4,096: it cannot hold a random matrix.
    row = learn.fit("random", 64, steps=100, budget_s=1, polish_s=1, log=lambda *_: None)
    assert row["params"] < row["dense"] and row["error"] > 0.1, row


def test_every_structure_maps_n_to_n(learn):
    for name in learn.TRANSFORMS:
        model = learn.structure(name, 8, torch.Generator().manual_seed(0))
        x = torch.randn(3, 8, dtype=torch.complex128 if name == "dft" else torch.float64)
        assert model(x).shape == (3, 8) and model.core.twiddle.requires_grad


def test_main_writes_the_table(learn, tmp_path):
    out = tmp_path / "learn.md"
    threads = torch.get_num_threads()
    try:
        assert learn.main(["--sizes", "8", "--transforms", "dft,hadamard", "--steps", "200", "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)
    text = out.read_text()
    assert "| dft | 8 | B P_br |" in text and "| hadamard | 8 | B (real) |" in text and str(tmp_path) not in text
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["transform"] for r in rows] == ["dft", "hadamard"] and all(r["reached"] for r in rows)
