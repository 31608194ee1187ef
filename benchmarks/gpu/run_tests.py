"""Run one pytest selection in several processes at once, each with its share (``--shard I/K``, tests/conftest.py).

    python benchmarks/gpu/run_tests.py [--processes K] [--collect-only] PYTEST_ARGS...

The GPU run's tests stage: the Triton kernels compile for every new size, dtype and tile (seconds each, on one
CPU core), so one process would spend its minutes compiling while the GPU idles; K processes compile K kernels at
once (``TRITON_CACHE_DIR`` shared, so a kernel compiled by one is loaded by the others and by a rerun). The
processes share the GPU. Each process's output follows in shard order, then one line that adds up their counts.
On SIGTERM (the stage's timeout) the processes are stopped and what they printed so far is shown.

``--collect-only`` collects every shard and the whole selection and checks that the shards split it exactly.
Exit status: 0 when every process passed (or collected nothing), else the first failing process's status; 124
when stopped.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")
COLLECTED = re.compile(r"(\d+)(?:/\d+)? tests? collected")
NO_TESTS = 5  # pytest's status when a process's share is empty


def default_processes() -> int:
    return max(1, min(14, (os.cpu_count() or 1) - 2))


def summary_counts(text: str) -> dict[str, int]:
    """The counts of pytest's last summary line in ``text`` ("3 passed, 1 skipped in 2.1s")."""
    lines = [line for line in text.splitlines() if COUNTS.search(line) and " in " in line]
    counts = {}
    for number, kind in COUNTS.findall(lines[-1] if lines else ""):
        kind = "errors" if kind.startswith("error") else kind
        counts[kind] = counts.get(kind, 0) + int(number)
    return counts


def collected(text: str) -> int | None:
    found = COLLECTED.findall(text)
    return int(found[-1]) if found else None


def run(processes: int, collect_only: bool, pytest_args: list[str]) -> int:
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    base += ["--collect-only", "-q"] if collect_only else ["-q", "-rfE"]
    logs = [tempfile.TemporaryFile("w+") for _ in range(processes)]
    start = time.monotonic()
    children, stopped = [], None  # stopped: when SIGTERM came

    def stop(signum, frame):
        nonlocal stopped
        stopped = time.monotonic()
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)  # before the first start: no process is left behind
    for i, log in enumerate(logs):
        if stopped is None:
            children.append(subprocess.Popen([*base, f"--shard={i}/{processes}", *pytest_args], stdout=log,
                                             stderr=subprocess.STDOUT, text=True))
    whole = None
    if collect_only and stopped is None:
        whole = subprocess.run([*base, *pytest_args], capture_output=True, text=True).stdout

    finished = set()
    while len(finished) < len(children):
        for i, child in enumerate(children):
            if i not in finished and child.poll() is not None:
                finished.add(i)
                print(f"shard {i}/{processes} exited {child.returncode} at {time.monotonic() - start:.0f} s",
                      flush=True)
        if stopped is not None and time.monotonic() - stopped > 3:  # 3 s to exit after SIGTERM, then killed
            for child in children:
                if child.poll() is None:
                    child.kill()
        time.sleep(0.2)

    totals, status, shares = {}, 0, []
    for i, (child, log) in enumerate(zip(children, logs)):
        log.seek(0)
        text = log.read()
        print(f"===== shard {i}/{processes}: exit {child.returncode} =====\n{text.rstrip()}")
        for kind, number in summary_counts(text).items():
            totals[kind] = totals.get(kind, 0) + number
        shares.append(collected(text))
        if child.returncode not in (0, NO_TESTS) and status == 0:
            status = child.returncode
    seconds = time.monotonic() - start
    if stopped is not None:
        print(f"stopped after {seconds:.0f} s: the counts below are of the processes that had finished")
        status = 124
    if collect_only:
        want = collected(whole or "")
        if None in shares or want is None or sum(shares) != want:
            print(f"the shards collected {shares} tests, the whole selection {want}: they do not split it")
            print(whole[-2000:] if whole else "")
            return status or 1
        print(f"{processes} processes collected {sum(shares)} tests between them, the whole selection {want}")
        return status
    print(f"{processes} processes: " + ", ".join(f"{totals.get(kind, 0)} {kind}" for kind in
                                                 ("passed", "failed", "errors", "skipped")) + f" in {seconds:.0f} s")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     usage="%(prog)s [--processes K] [--collect-only] PYTEST_ARGS...",
                                     allow_abbrev=False)
    parser.add_argument("--processes", type=int, default=default_processes(),
                        help="test processes at once (default: the CPU count less two, at most 14: %(default)s)")
    parser.add_argument("--collect-only", action="store_true",
                        help="collect each share and the whole selection; check that the shares split it")
    args, pytest_args = parser.parse_known_args(argv)
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, got {args.processes}")
    return run(args.processes, args.collect_only, pytest_args)


if __name__ == "__main__":
    sys.exit(main())
