"""Training: same seed, same weights; a run killed mid-epoch and resumed ends bitwise where an uninterrupted
run ends; checkpoints are never overwritten by mistake; bad config keys stop before anything is written; the
one-line status a recipe shows."""
import csv
import re

import pytest
import torch

from kfront.asr import ConfigError, TrainingInterrupted, train
from kfront.asr.checkpoint import load_checkpoint


def states_equal(a, b):
    assert a.keys() == b.keys()
    return all(torch.equal(a[k], b[k]) for k in a)


def test_resume_ends_bitwise_where_an_uninterrupted_run_ends(tiny_config, tmp_path):
    cfg = tiny_config()
    full = train(cfg, tmp_path / "full", progress=False)
    again = train(cfg, tmp_path / "again", progress=False)
    ref = load_checkpoint(tmp_path / "full" / "last.pt")
    assert states_equal(ref["model"], load_checkpoint(tmp_path / "again" / "last.pt")["model"])  # same seed

    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "killed", crash_after_steps=6, progress=False)  # inside epoch 2
    partial = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert 1 <= partial["epoch"] < cfg.train.epochs
    resumed = train(cfg, tmp_path / "killed", resume=True, progress=False)
    got = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert got["epoch"] == cfg.train.epochs
    assert states_equal(ref["model"], got["model"])
    assert states_equal(load_checkpoint(tmp_path / "full" / "best.pt")["model"],
                        load_checkpoint(tmp_path / "killed" / "best.pt")["model"])
    strip = lambda h: [{k: v for k, v in r.items() if "seconds" not in k and k != "frontend_share"} for r in h]
    assert strip(ref["history"]) == strip(got["history"])
    assert resumed["best_dev_per"] == full["best_dev_per"]
    # the optimiser's moments carried over too
    for sa, sb in zip(ref["optimizer"]["state"].values(), got["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # a finished run resumed again does nothing
    assert train(cfg, tmp_path / "killed", resume=True, progress=False) == resumed
    assert (tmp_path / "full" / "log.csv").read_text().count("\n") == cfg.train.epochs + 1


def test_existing_checkpoint_is_not_overwritten(tiny_config, tmp_path):
    cfg = tiny_config("train.epochs=1")
    train(cfg, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with pytest.raises(FileExistsError, match="resume"):
        train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="model.hidden"):
        train(tiny_config("train.epochs=2", "model.hidden=8"), tmp_path / "run", resume=True,
              progress=False)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_bad_frontend_key_stops_before_writing(tiny_config, tmp_path):
    cfg = tiny_config("frontend.kmatrix_widht=2")
    with pytest.raises(ConfigError, match="kmatrix_widht"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_status_line_says_epoch_dev_per_and_time_left(tiny_config, tmp_path):
    def last_dev_per():
        with open(tmp_path / "run" / "log.csv", newline="") as f:
            return float(list(csv.DictReader(f))[-1]["dev_per"])

    cfg = tiny_config("frontend.name=mfcc")
    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "run", crash_after_steps=6, progress=False)  # inside epoch 2
    done = load_checkpoint(tmp_path / "run" / "last.pt")["epoch"]
    status = (tmp_path / "run" / "status.txt").read_text()
    left = r"(\d+s|\d+m\d\ds|\d+h\d\dm) left"
    assert re.fullmatch(rf"epoch {done}/3, dev PER {last_dev_per():.2f}%, {left}\n", status), status
    train(cfg, tmp_path / "run", resume=True, progress=False)
    assert (tmp_path / "run" / "status.txt").read_text() == f"epoch 3/3, dev PER {last_dev_per():.2f}%, done\n"
