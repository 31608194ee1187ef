"""The whole recipe, stages 0 to 5, on a tiny generated corpus: every stage's files are there and PERs finite."""
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "timit"
TINY = "model.hidden=16 model.layers=1 model.conv_channels=16 data.batch_seconds=8 decode.beam_size=4"


def run_recipe(*args, timeout=600):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1")
    proc = subprocess.run(["bash", str(RECIPE / "run.sh"), "--setup_env", "false", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def check_outputs(exp, data, runs):
    for split in ("train", "dev", "test"):
        assert (data / f"{split}.jsonl").stat().st_size > 0
    for run in runs:
        d = exp / run
        for f in ("config.yaml", "init.pt", "last.pt", "best.pt", "log.csv", "summary.json", "train.log"):
            assert (d / f).is_file(), d / f
        for dec in ("decode_dev", "decode_test", "decode_test_init"):
            assert (d / dec / "hyp.txt").is_file() and (d / dec / "alignments.txt").is_file()
            per = json.loads((d / dec / "per.json").read_text())
            assert math.isfinite(per["per"]) and per["n"] > 0
    text = (exp / "RESULTS.md").read_text()
    assert all(run.split("_seed")[0] in text for run in runs) and "±" not in text.split("\n\n")[1]
    assert (exp / "plots" / "learning_curves.png").stat().st_size > 0
    return text


@pytest.mark.slow
def test_run_sh_end_to_end(tmp_path):
    corpus, data, exp = tmp_path / "corpus", tmp_path / "data", tmp_path / "exp"
    # all four front-ends: fixed and learnable log-mel and MFCC (the default leaves out the learnable MFCC)
    out = run_recipe("--corpus_dir", str(corpus), "--corpus_opts", "--tiny", "--data_dir", str(data),
                     "--exp_dir", str(exp), "--seeds", "1", "--epochs", "1", "--overrides", TINY,
                     "--frontends", "fbank kaleido_fbank mfcc kaleido_mfcc")
    runs = ["fbank_seed1", "kaleido_fbank_seed1", "mfcc_seed1", "kaleido_mfcc_seed1"]
    text = check_outputs(exp, data, runs)
    assert all(f"| {run[:-6]} | 1 |" in out for run in runs)  # the table is printed
    # the paired differences: each learnable front-end against its fixed twin (and the best fixed one)
    assert "| kaleido_mfcc | mfcc (twin" in text and "| kaleido_fbank | fbank (twin" in text
    for run in runs:  # each run's progress on the console, from its status.txt
        assert re.search(rf"^\[[0-9:]{{8}}\] (.* \| )?{run}: epoch 1/1, dev PER [0-9.]+%, done( \| |$)", out, re.M), out
    assert (exp / "plots" / "kmatrix_kaleido_mfcc_seed1.png").is_file()
    # every stage skips work already done: a second run retrains nothing
    out2 = run_recipe("--corpus_dir", str(corpus), "--corpus_opts", "--tiny", "--data_dir", str(data), "--exp_dir",
                      str(exp), "--seeds", "1", "--epochs", "1", "--overrides", TINY, "--stop_stage", "2",
                      "--frontends", "fbank kaleido_fbank mfcc kaleido_mfcc")
    assert "already complete" in out2 and "up to date" in out2
    assert all("nothing to do" in (exp / run / "train.log").read_text() for run in runs)


def test_help():
    out = subprocess.run(["bash", str(RECIPE / "run.sh"), "--help"], capture_output=True, text=True, check=True)
    for opt in ("--stage", "--stop_stage", "--timit", "--exp_dir", "--config", "--seeds", "--frontends",
                "--device", "--condition", "--epochs"):
        assert opt in out.stdout
    # the main job's defaults: fixed and learnable log-mel and fixed MFCC, three seeds, seven epochs
    assert "[fbank kaleido_fbank mfcc]" in out.stdout and "[1 2 3]" in out.stdout and "[7 on the built-in" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--bogus", "1"], "unknown option --bogus"),
    (["--condition", "noisy"], "--condition must be standard or hard, got 'noisy'"),
    (["--epochs", "many"], "--epochs must be a positive integer"),
    (["--frontends", "mfcc_nope", "--stop_stage", "1"], "mini_mfcc_nope.yaml does not exist"),
    (["--timit", "/nonexistent/timit", "--stop_stage", "1"], "does not exist"),
    (["--stage", "2", "--stop_stage", "2", "--frontends", "mfcc", "--seeds", "1", "--overrides", "train.epocs=1"],
     "unknown config key 'train.epocs'"),
])
def test_bad_arguments(tmp_path, args, message):
    proc = subprocess.run(["bash", str(RECIPE / "run.sh"), "--setup_env", "false", "--data_dir",
                           str(tmp_path / "data"), "--exp_dir", str(tmp_path / "exp"), *args], capture_output=True,
                          text=True, env=dict(os.environ, PYTHON=sys.executable))
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
