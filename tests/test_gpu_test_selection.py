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


RUNNER = ROOT / "benchmarks" / "gpu" / "run_tests.py"
MIXED = """
def test_one():
    pass

def test_two():
    pass

def test_wrong():
    assert 1 + 1 == 3
"""


def test_the_runner_shares_the_selection_out_and_adds_up(tmp_path):
    """run_tests.py: K processes run every selected test once between them (--shard), a failure in any of them
    fails the stage, and its last line adds up their counts; --collect-only checks the shares against the whole."""
    (tmp_path / "test_mixed.py").write_text(MIXED)
    args = [str(tmp_path / "test_mixed.py"), "tests/test_perm_check.py", "-k", "mixed or (cpu and not triton)"]
    proc = subprocess.run([sys.executable, str(RUNNER), "--processes", "3", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert last.startswith("3 processes: 4 passed, 1 failed, 0 errors, 0 skipped in "), proc.stdout[-3000:]
    assert proc.stdout.count("===== shard ") == 3 and "FAILED" in proc.stdout and "test_wrong" in proc.stdout
    proc = subprocess.run([sys.executable, str(RUNNER), "--processes", "2", "--collect-only", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("2 processes collected 5 tests between them, the whole selection 5")


def test_a_bad_shard_is_refused():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--shard", "2/2", "tests/test_perm_check.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0 and "--shard must be I/K with 0 <= I < K, got '2/2'" in proc.stderr


def test_reduced_matrices_are_left_out_at_collection():
    """The cases Triton's interpreter does not run are not collected (not ids that always skip): the collected
    cpu-triton cases of test_matches_reference are exactly those _interpreter_runs keeps, the rest deselected."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import test_op
    finally:
        sys.path.remove(str(ROOT / "tests"))
    want = [s.name for s in test_op.SAMPLES if test_op._interpreter_runs(s)]
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/test_op.py::test_matches_reference", "-k", "cpu-triton"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    ids = [ln.split("[", 1)[1].rstrip("]") for ln in proc.stdout.splitlines() if "::test_matches_reference[" in ln]
    assert ids == [f"cpu-triton-{name}" for name in want], proc.stdout[-2000:]
    assert 0 < len(want) < len(test_op.SAMPLES) and "deselected" in proc.stdout


def test_the_runner_stops_its_processes_on_sigterm(tmp_path):
    """The stage's timeout sends SIGTERM: the runner stops every test process within seconds (none is left on the
    GPU beside the next stage), shows what they printed and exits 124."""
    import signal
    import time

    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_a():\n    pass\n\ndef test_slow():\n"
                                           "    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, str(RUNNER), "--processes", "2", str(tmp_path / "test_slow.py"),
                             "tests/test_perm_check.py", "-k", "test_slow"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    time.sleep(8)  # both processes started (torch imported), in their tests or collecting
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 124, out[-3000:]
    assert "stopped after" in out and out.count("===== shard ") == 2, out[-3000:]
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "test_slow.py")], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"test processes left running: {left.stdout}"
