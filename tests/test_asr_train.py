"""Training: same seed, same weights; a run killed mid-epoch and resumed ends bitwise where an uninterrupted
run ends; checkpoints are never overwritten by mistake; bad config keys stop before anything is written."""
import pytest
import torch

from kfront.asr import ConfigError, TrainingInterrupted, decode_split, load_config, score_split, train
from kfront.asr.checkpoint import load_checkpoint
from kfront.timit import prepare_timit
from kfront.timit._testing import write_fake_timit

TINY = ["model.hidden=16", "model.layers=1", "model.conv_channels=16", "data.batch_seconds=3.0",
        "train.epochs=3", "train.num_threads=1", "optim.warmup_epochs=0.5", "decode.beam_size=4"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    write_fake_timit(root / "timit", utterances_per_speaker=4)
    prepare_timit(root / "timit", root / "data")
    return root / "data"


def tiny_config(data_dir, *extra):
    return load_config(None, TINY + [f"data.dir={data_dir}", "frontend.name=kaleido", "frontend.output=mfcc",
                                     *extra])


def states_equal(a, b):
    assert a.keys() == b.keys()
    return all(torch.equal(a[k], b[k]) for k in a)


def test_resume_ends_bitwise_where_an_uninterrupted_run_ends(data_dir, tmp_path):
    cfg = tiny_config(data_dir)
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


def test_existing_checkpoint_is_not_overwritten(data_dir, tmp_path):
    cfg = tiny_config(data_dir, "train.epochs=1")
    train(cfg, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with pytest.raises(FileExistsError, match="resume"):
        train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="model.hidden"):
        train(tiny_config(data_dir, "train.epochs=2", "model.hidden=8"), tmp_path / "run", resume=True,
              progress=False)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_bad_frontend_key_stops_before_writing(data_dir, tmp_path):
    cfg = tiny_config(data_dir, "frontend.kmatrix_widht=2")
    with pytest.raises(ConfigError, match="kmatrix_widht"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_decode_and_score_files(data_dir, tmp_path):
    cfg = tiny_config(data_dir, "train.epochs=1", "frontend.name=mfcc")
    train(cfg, tmp_path / "run", progress=False)
    for ckpt, tag in (("best.pt", None), ("init.pt", "init")):
        out = decode_split(tmp_path / "run", data_dir / "test.jsonl", "test", ckpt, tag)
        result = score_split(out, data_dir / "test.jsonl")
        assert (out / "alignments.txt").is_file() and (out / "per.json").is_file()
        assert result["utterances"] == 4 and result["n"] > 0
        assert result["per"] == pytest.approx(100 * (result["sub"] + result["del"] + result["ins"]) / result["n"])
