"""Data-parallel training under torchrun: two CPU processes (gloo) keep identical replicas."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kfront.asr.checkpoint import load_checkpoint
from kfront.timit import prepare_timit
from kfront.timit._testing import write_fake_timit

TRAIN_PY = Path(__file__).resolve().parents[1] / "recipes" / "timit" / "local" / "train.py"
CONF = TRAIN_PY.parents[1] / "conf" / "mini_kaleido_mfcc.yaml"


@pytest.mark.slow
def test_two_process_replicas_stay_identical(tmp_path):
    write_fake_timit(tmp_path / "timit", utterances_per_speaker=4)
    prepare_timit(tmp_path / "timit", tmp_path / "data")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(TRAIN_PY),
           "--config", str(CONF), "--exp_dir", str(tmp_path / "exp"), f"data.dir={tmp_path / 'data'}",
           "train.epochs=2", "train.num_threads=1", "model.hidden=16", "model.layers=1", "model.conv_channels=16",
           "data.batch_seconds=2.0"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    digests = json.loads((tmp_path / "exp" / "replicas.json").read_text())["digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
    ckpt = load_checkpoint(tmp_path / "exp" / "last.pt")
    assert ckpt["epoch"] == 2 and ckpt["summary"]["world_size"] == 2
    assert len(ckpt["rng"]) == 2  # each rank's generator state, for resuming
    init = load_checkpoint(tmp_path / "exp" / "init.pt")
    assert not torch.equal(init["model"]["out.weight"], ckpt["model"]["out.weight"])  # it did train
