"""benchmarks/gpu/run_gpu_checks.sh, tested without a GPU: its arguments, the no-GPU path, and a whole run against a
stand-in Python that answers like a machine with one (every stage logs its command line, sleeps or fails on request
and writes the files the real one would), so the deadline, the summary and the outputs are checked here; its
no-device mode against the same stand-in, and the real stand-ins of that mode (a benchmark imported and its
arguments parsed)."""
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu" / "run_gpu_checks.sh"
STAGES = ("build", "tests", "memcheck", "bench", "frontend", "epoch", "racecheck")
SELECTION = [ln.strip() for ln in (ROOT / "benchmarks" / "gpu" / "cuda_tests.txt").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]

# The stand-in interpreter: answers the script's queries as a GPU machine would, logs every call, and for the
# stage named in FAKE_SLEEP (stage:seconds) sleeps, for the one in FAKE_FAIL exits 1.
FAKE_PYTHON = '''\
#!{python}
import os, sys, time
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(repr([argv, os.environ.get("TORCH_CUDA_ARCH_LIST"), os.environ.get("KFRONT_BUILD_DIR"),
                    os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING"), os.environ.get("TRITON_CACHE_DIR")]) + "\\n")
text = " ".join(argv)
if argv[:1] == ["-c"]:
    if "get_device_name" in text: print("Fake GPU X1")
    elif "sys.prefix" in text: print(os.environ["FAKE_BIN"])
    elif "pytest_timeout" in text: sys.exit(1)
    sys.exit(0)
if argv[0].endswith("gpu_info.py"):
    if argv[1] in ("parse", "sanitizer"):
        print(argv[1], "checked:", " ".join(argv[2:])); sys.exit(0)
    print({{"arch": "9.0", "slug": "fake-gpu-x1", "device": "9.0 fake-gpu-x1 Fake GPU X1",
           "env": "python 3.12 torch 2.11 cuda 13.0 device Fake"}}[argv[1]])
    sys.exit(0)
stage = ("build" if "kfront.core" in argv else "tests" if "run_tests.py" in text else
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
print({{"build": "kfront butterfly backend (cuda): compiled\\nbuild directory: /x (3.5 s)",
       "tests": "14 processes: 7 passed, 0 failed, 0 errors, 0 skipped in 1 s",
       "bench": "| fwd <= 1.5x floor | 512 | 1.2x | <= 1.5x | PASS |\\n"
                "| fwd <= 1.5x cuFFT | 1024 | 2.1x | <= 1.5x | FAIL |",
       "frontend": "| fwd+bwd <= 2x | yes | 1.5x |", "epoch": "last epoch: timit_mfcc 3.00 s",
       "sanitize": "PASSED (12 of 12 cases)\\n========= ERROR SUMMARY: 0 errors"}}.get(stage, "ok"))
'''

FAKE_SANITIZER = '''\
#!/usr/bin/env bash
# compute-sanitizer --tool TOOL [OPTIONS] PYTHON SCRIPT ARGS: logs its arguments, runs PYTHON SCRIPT ARGS with the
# tool in FAKE_TOOL.
[[ "$1" == --version ]] && {{ echo "fake compute-sanitizer"; exit 0; }}
echo "$*" >> "$FAKE_SAN_LOG"
tool="$2"
while [[ $# -gt 0 && "$1" != "$PYTHON" ]]; do shift; done
FAKE_TOOL="$tool" exec "$@"
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
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SAN_LOG": str(tmp_path / "sanitizer.log")}
    for var in ("KFRONT_BUILD_DIR", "TRITON_CACHE_DIR", "KFRONT_GPU_TEST_PROCESSES", "TORCH_CUDA_ARCH_LIST",
                 "KFRONT_GPU_DEADLINE", "FAKE_SLEEP", "FAKE_FAIL"):
        env.pop(var, None)
    return env, log, out


def _run(env, *args, timeout=120):
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout)


def _calls(log: Path) -> list:
    return [eval(line) for line in log.read_text().splitlines()]  # noqa: S307 - our own repr() lines


def _summary(out: Path) -> dict:
    lines = (out / "summary.txt").read_text().splitlines()
    return {line.split()[0]: line.split(None, 1)[1] for line in lines[1:] if line.split()[0] in STAGES}


def _stage_calls(log: Path) -> list:
    """The stand-in interpreter's calls that ran a stage (not the script's queries)."""
    return [c for c in _calls(log) if c[0][0] != "-c" and not (c[0][0].endswith("gpu_info.py") and
                                                                 c[0][1] in ("arch", "slug", "device", "env"))]


def _program(argv: list) -> str:
    if argv[0] == "-m":
        return argv[1]
    if argv[0].endswith("gpu_info.py") and argv[1] in ("parse", "sanitizer"):
        return f"{argv[1]} " + Path(next(a for a in argv[2:] if a.endswith(".py"))).stem
    return Path(argv[0]).stem


def test_help_and_bad_arguments():
    env = {**os.environ}
    proc = _run(env, "--help")
    assert proc.returncode == 0 and "--deadline SECONDS" in proc.stdout and "summary.txt" in proc.stdout
    assert "--no-device" in proc.stdout and "deadline of 400 s" in proc.stdout
    for args, message in ((["--deadline", "soon"], "positive number"), (["--deadline=0"], "positive number"),
                          (["--skip", "bench,nope"], "unknown stage 'nope'"), (["--bench-args"], "needs a value"),
                          (["--fast"], "unknown argument")):
        proc = _run(env, *args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


def test_the_default_deadline_fits_a_420_s_command():
    """The deadline, plus the 10 s a stage killed at it may take to exit, plus the last summary, within 420 s."""
    text = SCRIPT.read_text()
    default = int(text.split('deadline="${KFRONT_GPU_DEADLINE:-')[1].split("}")[0])
    grace = int(text.split("timeout --kill-after=")[1].split()[0])
    assert default + grace + 5 <= 420, (default, grace)


def test_without_a_gpu_nothing_runs(tmp_path):
    """With this machine's torch (no GPU): exit 3 and a summary that says so, in the output folder only."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out")}
    proc = _run(env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "no CUDA device visible" in summary and all(v == "not run" for v in _summary(tmp_path / "out").values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["build.log", "summary.txt"]


def test_a_whole_run(fake_gpu):
    """Every stage in order (memcheck right after the tests, racecheck last), the CUDA tests of the selection file,
    the benchmark arguments passed on, the build for the GPU present in the repository's build/, at most 8 files,
    and a summary giving every stage its one-line verdict."""
    env, log, out = fake_gpu
    proc = _run(env, "--bench-args", "--sizes 512 1024 --no-variants", "--epoch-args", "--epochs 1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = _summary(out)
    assert list(summary) == list(STAGES) and all(v.startswith("ok") for v in summary.values()), summary
    assert summary["build"].endswith("backend (cuda): compiled;built in 3.5 s"), summary["build"]
    assert summary["tests"].endswith(": 14 processes: 7 passed, 0 failed, 0 errors, 0 skipped in 1 s")
    assert summary["bench"].endswith(": targets: 1 PASS, 1 FAIL: fwd <= 1.5x cuFFT n=1024"), summary["bench"]
    assert summary["frontend"].endswith(": targets: 1 met, 0 not met")
    assert summary["epoch"].endswith(": last epoch: timit_mfcc 3.00 s")
    assert all(summary[t].endswith(": ERROR SUMMARY: 0 errors; PASSED (12 of 12 cases)") for t in ("memcheck",
                                                                                                  "racecheck"))
    text = (out / "summary.txt").read_text()
    assert text.startswith("kfront GPU checks on Fake GPU X1 (compute capability 9.0), deadline 400 s")
    assert "result: everything that ran passed" in text
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and {"summary.txt", "bench_butterfly_cuda_fake-gpu-x1.md",
                                "bench_butterfly_cuda_fake-gpu-x1.json", "recipe_epoch_cuda_fake-gpu-x1.md",
                                "bench_frontend_cuda_fake-gpu-x1.md"} <= set(files), files
    stage_calls = _stage_calls(log)
    argvs = [" ".join(c[0]) for c in stage_calls]
    assert [_program(c[0]) for c in stage_calls] == ["kfront.core", "run_tests", "sanitize_op",
                                                     "bench_butterfly_cuda", "bench_frontend", "recipe_epoch",
                                                     "sanitize_op"], argvs
    assert all(c[1] == "9.0" and c[2] == str(ROOT / "build" / "gpu-cache") for c in stage_calls)
    assert all(c[4] == str(ROOT / "build" / "triton-cache") for c in stage_calls)  # compiled once, kept when warm
    assert "--cuda" in stage_calls[0][0] and "--strict" in stage_calls[0][0]
    assert "--sizes 512 1024 --no-variants" in argvs[3] and "--epochs 1" in argvs[5]
    pytest_argv = stage_calls[1][0]
    assert pytest_argv[-len(SELECTION):] == SELECTION and "--collect-only" not in pytest_argv
    assert "tests/test_cuda_emulation.py" not in pytest_argv and "tests/test_cuda_compile.py" not in pytest_argv
    assert all(stage_calls[i][3] == "1" for i in (2, 6))  # sanitizers run without the caching allocator


def test_the_sanitizers_skip_torchs_own_api_errors_and_stop_in_time(fake_gpu):
    """compute-sanitizer reports no CUDA API errors (torch makes and handles some itself), and each sanitizer run
    is given a budget 30 s short of its stage's limit, so it stops starting cases instead of being killed."""
    env, log, out = fake_gpu
    proc = _run(env, "--deadline", "300")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = [ln.split() for ln in (log.parent / "sanitizer.log").read_text().splitlines()]
    assert [r[1] for r in runs] == ["memcheck", "racecheck"]
    for r in runs:
        assert r[r.index("--report-api-errors") + 1] == "no" and r[r.index("--error-exitcode") + 1] == "9"
    assert int(runs[0][runs[0].index("--budget") + 1]) == 60 - 30  # memcheck's cap
    racecheck_budget = int(runs[1][runs[1].index("--budget") + 1])
    assert 300 - 30 - 20 <= racecheck_budget <= 300 - 30  # what the deadline leaves, less the margin


def test_the_deadline_clips_stages_and_the_summary_follows(fake_gpu):
    """A stage that would outrun the deadline is stopped at it; the summary, rewritten after each stage, shows
    what passed while the run is still going, and the stages left are skipped for the deadline (exit 4). The
    whole run, its start-up included, ends within the deadline and a stage's kill grace."""
    env, _, out = fake_gpu
    env = {**env, "FAKE_SLEEP": "bench:60", "KFRONT_GPU_MIN_STAGE": "2"}
    t0 = time.monotonic()
    proc = subprocess.Popen(["bash", str(SCRIPT), "--deadline", "15"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen_running = None
    while proc.poll() is None and seen_running is None:
        time.sleep(0.05)
        if (out / "summary.txt").exists() and "running" in _summary(out)["bench"]:
            seen_running = _summary(out)
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - t0 <= 15 + 10 + 3
    assert seen_running is not None and all(seen_running[s].startswith("ok") for s in ("build", "tests", "memcheck"))
    assert seen_running["epoch"] == "pending"
    assert proc.returncode == 4, stdout + stderr
    summary = _summary(out)
    assert summary["bench"].startswith("TIMEOUT") and "limit" in summary["bench"], summary
    limit = int(summary["bench"].split("limit ")[1].split()[0])
    assert limit <= 15  # min(150 s cap, the time left), not the cap
    assert all("s left of the 15 s deadline" in summary[s] for s in ("frontend", "epoch", "racecheck"))


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
    assert summary["tests"].startswith("FAILED") and summary["tests"].endswith(": tests failed on purpose")
    assert summary["memcheck"].startswith("FAILED")
    assert summary["bench"].startswith("ok") and summary["racecheck"] == "skipped (--skip)"


def test_dry_run_lists_the_commands(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    proc = _run(env, "--dry-run", "--deadline", "100", "--bench-args", "--sizes 256")
    assert proc.returncode == 0 and not any(tmp_path.iterdir())
    assert "bench_butterfly_cuda.py --out" in proc.stdout and "--sizes 256" in proc.stdout
    assert "(timeout 100 s)" in proc.stdout  # the cap clipped to the deadline


def test_no_device_mode_checks_every_stage_without_running_one(fake_gpu):
    """--no-device: the same build, the selection collected, each benchmark and the sanitizer runs handed to the
    checks that need no device; no nvidia-smi, no device queries, and a summary that says nothing ran on a GPU."""
    env, log, out = fake_gpu
    proc = _run({**env, "FAKE_FAIL": "build_never"}, "--no-device", "--bench-args", "--sizes 512")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = _summary(out)
    assert all(v.startswith("ok") for v in summary.values()), summary
    text = (out / "summary.txt").read_text()
    assert "no device (rehearsal)" in text and "nothing ran on a GPU" in text
    calls = _calls(log)
    assert not any(c[0][0].endswith("gpu_info.py") and c[0][1] in ("arch", "slug", "device") for c in calls)
    stage_calls = _stage_calls(log)
    assert [_program(c[0]) for c in stage_calls] == [
        "kfront.core", "run_tests", "sanitizer sanitize_op", "parse bench_butterfly_cuda", "parse bench_frontend",
        "parse recipe_epoch", "sanitizer sanitize_op"], [c[0] for c in stage_calls]
    assert "--cuda" in stage_calls[0][0] and all(c[1] == "9.0" for c in stage_calls)
    pytest_argv = stage_calls[1][0]
    assert "--collect-only" in pytest_argv and pytest_argv[-len(SELECTION):] == SELECTION
    assert "--sizes 512" in " ".join(stage_calls[3][0])
    sanitizer = stage_calls[2][0]
    assert sanitizer[2] == "compute-sanitizer" and "--report-api-errors" in sanitizer and "--budget" in sanitizer
    assert sorted(p.name for p in out.iterdir()) == ["build.log", "run.log", "summary.txt", "tests.log"]


def test_the_no_device_stand_ins_import_and_parse_the_real_scripts(tmp_path):
    """gpu_info.py parse: each benchmark of the GPU run imported and its arguments parsed by its own parser, and
    nothing run (no output file written); bad arguments fail as argparse fails them. One process for all."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / 'benchmarks' / 'gpu')!r})
        import gpu_info
        root, out = {str(ROOT)!r}, {str(tmp_path / 'out.md')!r}
        for script, args in (("benchmarks/bench_butterfly_cuda.py", ["--sizes", "512", "--no-variants", "--out", out]),
                             ("benchmarks/bench_frontend.py", ["--device", "cuda", "--batch", "64", "--out", out]),
                             ("benchmarks/gpu/recipe_epoch.py", ["--epochs", "1", "--out", out]),
                             ("benchmarks/gpu/sanitize_op.py", ["--budget", "30"])):
            assert gpu_info.parse_only(f"{{root}}/{{script}}", args) == 0, script
        try:
            gpu_info.parse_only(f"{{root}}/benchmarks/bench_frontend.py", ["--device", "tpu"])
        except SystemExit as e:
            print("bad arguments: exit", e.code)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("arguments parsed") == 4 and "bad arguments: exit 2" in proc.stdout, proc.stdout
    assert "invalid choice: 'tpu'" in proc.stderr and not (tmp_path / "out.md").exists()
