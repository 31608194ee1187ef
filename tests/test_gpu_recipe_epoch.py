"""benchmarks/gpu/recipe_epoch.py's stand-in corpus, tested without a GPU: random audio and labels of the built-in
corpus's shapes, written as the recipe's manifests, and the shapes file made from a prepared corpus."""
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


def test_recipe_epoch_corpus_has_the_shapes_and_reads_back(tmp_path):
    """The synthetic corpus: the built-in corpus's lengths and label counts, scaled; its audio read back by the
    stand-in reader as soundfile reads it; manifests the recipe's data code accepts."""
    import soundfile

    from kfront.asr import PhoneVocab, UtteranceDataset
    from kfront.timit import read_manifest

    epoch = load_script("benchmarks/gpu/recipe_epoch.py")
    shapes = epoch.read_shapes()
    assert len(shapes["train"]) == 320 and len(shapes["dev"]) == 80
    small = {split: items[:3] for split, items in shapes.items()}
    seconds = epoch.write_corpus(small, tmp_path, scale=2)
    entries = read_manifest(tmp_path / "train.jsonl")
    assert [e["num_samples"] for e in entries] == [n for n, _ in small["train"]] * 2
    assert [len(e["phones48"].split()) for e in entries] == [k for _, k in small["train"]] * 2
    assert seconds["train"] == pytest.approx(2 * sum(n for n, _ in small["train"]) / 16000)
    mine, rate = epoch.read_wav(entries[0]["path"], dtype="float32", always_2d=True)
    theirs, rate2 = soundfile.read(entries[0]["path"], dtype="float32", always_2d=True)
    assert rate == rate2 == 16000 and mine.shape == theirs.shape and (mine == theirs).all()
    assert len(UtteranceDataset(entries, PhoneVocab(), 16000)) == 6


def test_recipe_epoch_shapes_come_from_a_prepared_corpus(tmp_path):
    """--write-shapes reads a prepared corpus's manifests (here: two written by hand)."""
    (tmp_path / "train.jsonl").write_text('{"num_samples": 16000, "phones48": "sil aa sil"}\n')
    (tmp_path / "dev.jsonl").write_text('{"num_samples": 8000, "phones48": "sil"}\n')
    out = tmp_path / "shapes.tsv"
    code = textwrap.dedent(f"""
        import importlib.util, pathlib
        spec = importlib.util.spec_from_file_location("e", {str(ROOT / 'benchmarks' / 'gpu' / 'recipe_epoch.py')!r})
        e = importlib.util.module_from_spec(spec); spec.loader.exec_module(e)
        e.write_shapes(pathlib.Path({str(tmp_path)!r}), pathlib.Path({str(out)!r}))
        print(e.read_shapes(pathlib.Path({str(out)!r})))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'train': [(16000, 3)], 'dev': [(8000, 1)]}"
    assert shlex.split(out.read_text().splitlines()[0]) == ["split", "num_samples", "n_phones"]
