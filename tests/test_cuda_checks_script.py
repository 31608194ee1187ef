"""benchmarks/gpu/run_gpu_checks.sh, tested without a GPU: its arguments, the no-GPU path, and a whole run against a
stand-in Python that answers like a machine with one (every stage logs its command line, sleeps or fails on request
and writes the files the real one would), so the deadline, the summary and the outputs are checked here."""
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu" / "run_gpu_checks.sh"
STAGES = ("build", "tests", "bench", "frontend", "epoch", "memcheck", "racecheck")

# The stand-in interpreter: answers the script's queries as a GPU machine would, logs every call, and for the
# stage named in FAKE_SLEEP (stage:seconds) sleeps, for the one in FAKE_FAIL exits 1.
FAKE_PYTHON = '''\
#!{python}
import os, sys, time
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(repr([argv, os.environ.get("TORCH_CUDA_ARCH_LIST"), os.environ.get("KFRONT_BUILD_DIR"),
                    os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING")]) + "\\n")
text = " ".join(argv)
if argv[:1] == ["-c"]:
    if "get_device_name" in text: print("Fake GPU X1")
    elif "sys.prefix" in text: print(os.environ["FAKE_BIN"])
    elif "pytest_timeout" in text: sys.exit(1)
    sys.exit(0)
if argv[0].endswith("gpu_info.py"):
    print({{"arch": "9.0", "slug": "fake-gpu-x1", "env": "python 3.12 torch 2.11 cuda 13.0 device Fake"}}[argv[1]])
    sys.exit(0)
stage = ("build" if "kfront.core" in argv else "tests" if "pytest" in argv else
         "bench" if "bench_butterfly_cuda" in text else "frontend" if "bench_frontend" in text else
         "epoch" if "recipe_epoch" in text else "sanitize" if "sanitize_op" in text else "?")
tool = os.environ.get("FAKE_TOOL", "")
name = tool or stage
sleep = dict(s.split(":") for s in os.environ.get("FAKE_SLEEP", "").split(",") if s)
time.sleep(float(sleep.get(name, 0)))
if name in os.environ.get("FAKE_FAIL", "").split(","):
    print(name, "failed on purpose"); sys.exit(1)
if "--out" in argv:
    out = argv[argv.index("--out") + 1]
    open(out, "w").write(f"# {{name}} report\\n")
    if stage == "bench": open(out[:-3] + ".json", "w").write("{{}}")
print({{"build": "kfront butterfly backend (cuda): compiled", "tests": "7 passed in 1.0s"}}.get(stage, "ok"))
'''

FAKE_SANITIZER = '''\
#!/usr/bin/env bash
# compute-sanitizer --tool TOOL ... PYTHON SCRIPT: run the last two arguments with the tool in FAKE_TOOL.
tool="$2"; n=$#
FAKE_TOOL="$tool" exec "${{@:n-1:1}}" "${{@:n}}"
'''


@pytest.fixture
def fake_gpu(tmp_path):
    """(environment, log path, output dir) for running the script against the stand-in interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    sanitizer = bin_dir / "compute-sanitizer"
    sanitizer.write_text(FAKE_SANITIZER.format())
    for f in (python, sanitizer):
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    log, out = tmp_path / "calls.log", tmp_path / "out"
    env = {**os.environ, "PYTHON": str(python), "FAKE_LOG": str(log), "FAKE_BIN": str(bin_dir), "OUT": str(out),
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for var in ("KFRONT_BUILD_DIR", "TORCH_CUDA_ARCH_LIST", "KFRONT_GPU_DEADLINE", "FAKE_SLEEP", "FAKE_FAIL"):
        env.pop(var, None)
    return env, log, out


def _run(env, *args, timeout=120):
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout)


def _calls(log: Path) -> list:
    return [eval(line) for line in log.read_text().splitlines()]  # noqa: S307 - our own repr() lines


def _summary(out: Path) -> dict:
    lines = (out / "summary.txt").read_text().splitlines()
    return {line.split()[0]: line.split(None, 1)[1] for line in lines[1:] if line.split()[0] in STAGES}


def test_help_and_bad_arguments():
    env = {**os.environ}
    proc = _run(env, "--help")
    assert proc.returncode == 0 and "--deadline SECONDS" in proc.stdout and "summary.txt" in proc.stdout
    for args, message in ((["--deadline", "soon"], "positive number"), (["--deadline=0"], "positive number"),
                          (["--skip", "bench,nope"], "unknown stage 'nope'"), (["--bench-args"], "needs a value"),
                          (["--fast"], "unknown argument")):
        proc = _run(env, *args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


def test_without_a_gpu_nothing_runs(tmp_path):
    """With this machine's torch (no GPU): exit 3 and a summary that says so, in the output folder only."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out")}
    proc = _run(env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "no CUDA device visible" in summary and all(v == "not run" for v in _summary(tmp_path / "out").values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["build.log", "summary.txt"]


def test_a_whole_run(fake_gpu):
    """Every stage in order, the CUDA tests only, the benchmark arguments passed on, the build for the GPU present
    in the repository's build/, at most 8 files, and a summary naming every stage."""
    env, log, out = fake_gpu
    proc = _run(env, "--bench-args", "--sizes 512 1024 --no-variants", "--epoch-args", "--epochs 1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = _summary(out)
    assert list(summary) == list(STAGES) and all(v.startswith("ok") for v in summary.values()), summary
    assert "backend (cuda): compiled" in summary["build"] and "7 passed" in summary["tests"]
    assert "result: everything that ran passed" in (out / "summary.txt").read_text()
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and {"summary.txt", "bench_butterfly_cuda_fake-gpu-x1.md",
                                "bench_butterfly_cuda_fake-gpu-x1.json", "recipe_epoch_cuda_fake-gpu-x1.md",
                                "bench_frontend_cuda_fake-gpu-x1.md"} <= set(files), files
    stage_calls = [c for c in _calls(log) if c[0][0] != "-c" and not c[0][0].endswith("gpu_info.py")]
    argvs = [" ".join(c[0]) for c in stage_calls]
    programs = [c[0][1] if c[0][0] == "-m" else Path(c[0][0]).stem for c in stage_calls]
    assert programs == ["kfront.core", "pytest", "bench_butterfly_cuda", "bench_frontend", "recipe_epoch",
                        "sanitize_op", "sanitize_op"], argvs
    assert all(c[1] == "9.0" and c[2] == str(ROOT / "build" / "gpu-cache") for c in stage_calls)
    assert "--sizes 512 1024 --no-variants" in argvs[2] and "--epochs 1" in argvs[4]
    pytest_argv = stage_calls[1][0]
    assert "-k" in pytest_argv and pytest_argv[pytest_argv.index("-k") + 1] == "cuda"
    test_files = {a.split("::")[0] for a in pytest_argv if a.startswith("tests/")}
    assert test_files == {"tests/test_op.py", "tests/test_power_op.py", "tests/test_cuda_op.py",
                          "tests/test_cuda_frontend.py", "tests/test_cuda_benchmark.py", "tests/test_frontend_compile.py"}
    assert "tests/test_cuda_emulation.py" not in pytest_argv and "tests/test_cuda_compile.py" not in pytest_argv
    assert all(c[3] == "1" for c in stage_calls[5:])  # sanitizers run without the caching allocator


def test_the_deadline_clips_stages_and_the_summary_follows(fake_gpu):
    """A stage that would outrun the deadline is stopped at it; the summary, rewritten after each stage, shows
    what passed while the run is still going, and the stages left are skipped for the deadline (exit 4)."""
    env, _, out = fake_gpu
    env = {**env, "FAKE_SLEEP": "bench:60", "KFRONT_GPU_MIN_STAGE": "2"}
    proc = subprocess.Popen(["bash", str(SCRIPT), "--deadline", "15"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen_running = None
    while proc.poll() is None and seen_running is None:
        time.sleep(0.05)
        if (out / "summary.txt").exists() and "running" in _summary(out)["bench"]:
            seen_running = _summary(out)
    stdout, stderr = proc.communicate(timeout=60)
    assert seen_running is not None and seen_running["build"].startswith("ok") and seen_running["tests"].startswith("ok")
    assert seen_running["epoch"] == "pending"
    assert proc.returncode == 4, stdout + stderr
    summary = _summary(out)
    assert summary["bench"].startswith("TIMEOUT") and "limit" in summary["bench"], summary
    limit = int(summary["bench"].split("limit ")[1].split()[0])
    assert limit <= 15  # min(150 s cap, the time left), not the cap
    assert all("s left of the 15 s deadline" in summary[s] for s in ("frontend", "epoch", "memcheck", "racecheck"))


def test_a_failed_build_stops_the_run(fake_gpu):
    env, _, out = fake_gpu
    proc = _run({**env, "FAKE_FAIL": "build"})
    assert proc.returncode == 1
    summary = _summary(out)
    assert summary["build"].startswith("FAILED") and all(summary[s] == "not run: the build failed" for s in STAGES[1:])


def test_a_failed_test_stage_is_reported_and_the_rest_still_runs(fake_gpu):
    env, _, out = fake_gpu
    proc = _run({**env, "FAKE_FAIL": "tests,memcheck"}, "--skip", "racecheck")
    assert proc.returncode == 1
    summary = _summary(out)
    assert summary["tests"].startswith("FAILED") and summary["memcheck"].startswith("FAILED")
    assert summary["bench"].startswith("ok") and summary["racecheck"] == "skipped (--skip)"


def test_dry_run_lists_the_commands(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    proc = _run(env, "--dry-run", "--deadline", "100", "--bench-args", "--sizes 256")
    assert proc.returncode == 0 and not any(tmp_path.iterdir())
    assert "bench_butterfly_cuda.py --out" in proc.stdout and "--sizes 256" in proc.stdout
    assert "(timeout 100 s)" in proc.stdout  # the cap clipped to the deadline
