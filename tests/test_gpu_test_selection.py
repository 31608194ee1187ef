"""The GPU run's test selection (benchmarks/gpu/cuda_tests.txt, which run_gpu_checks.sh passes to pytest) collects
where the packages the GPU machine lacks are missing.

The GPU machine has torch, numpy, scipy, torchaudio, transformers, onnx and pytest but none of the audio and toolkit
packages the rest of the suite compares against; one top-level import of them on the path of the selected tests
(a conftest, a helper module, kfront itself) stops its whole run at collection. Here they are hidden by an import
hook in a pytest process that collects exactly that selection."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECTION = ROOT / "benchmarks" / "gpu" / "cuda_tests.txt"
# Installed here for the comparisons and the built-in corpus, absent from the GPU machine's image.
MISSING_ON_GPU = ("soundfile", "librosa", "pyroomacoustics", "kaldi_native_fbank", "speechbrain", "espnet",
                  "espnet2", "onnxscript")

# pytest, run with the packages above unimportable (as if not installed), arguments from the command line.
HIDDEN_PYTEST = f"""
import importlib.abc, sys
HIDDEN = {MISSING_ON_GPU!r}
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden: the GPU machine has none)", name=name)
sys.meta_path.insert(0, Hide())
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def gpu_selection() -> list[str]:
    """The pytest arguments of the GPU run's test stage, one per line of the selection file."""
    lines = [ln.strip() for ln in SELECTION.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def _collect(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HIDDEN_PYTEST, "--collect-only", "-q", "-p", "no:cacheprovider",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_selection_names_existing_tests():
    args = gpu_selection()
    paths = [a for a in args if a.startswith("tests/")]
    assert args[:2] == ["-k", "cuda"] and paths, args
    for path in paths:
        file, _, name = path.partition("::")
        assert (ROOT / file).is_file(), path
        assert not name or re.search(rf"^def {re.escape(name)}\(", (ROOT / file).read_text(), re.M), path


def test_the_gpu_selection_collects_without_the_missing_packages():
    """Every file of the selection contributes tests, and nothing fails to import."""
    proc = _collect(gpu_selection(), ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    count = re.search(r"(\d+)(?:/\d+)? tests? collected", out)
    assert count and int(count.group(1)) > 0, out[-2000:]
    ids = [ln for ln in proc.stdout.splitlines() if "::" in ln]
    for path in (a for a in gpu_selection() if a.startswith("tests/")):
        assert any(i == path or i.startswith(path.split("::")[0] + "::") for i in ids), f"nothing collected: {path}"


def test_the_hidden_packages_stop_a_collection_that_imports_them(tmp_path):
    """The check above would catch the failure it guards against: a conftest importing soundfile at the top."""
    (tmp_path / "conftest.py").write_text("import soundfile\n")
    (tmp_path / "test_x.py").write_text("def test_cuda():\n    pass\n")
    proc = _collect(["-k", "cuda", "test_x.py"], tmp_path)
    assert proc.returncode != 0 and "hidden: the GPU machine has none" in proc.stdout + proc.stderr
