"""Decoding and scoring an experiment's checkpoints: the files of each decode folder and the PER they hold."""
import pytest

from kfront.asr import ErrorCounts, decode_split, score_split, train
from kfront.asr.evaluation import read_utterance_counts


def test_decode_and_score_files(tiny_config, data_dir, tmp_path):
    cfg = tiny_config("train.epochs=1", "frontend.name=mfcc")
    train(cfg, tmp_path / "run", progress=False)
    for ckpt, tag in (("best.pt", None), ("init.pt", "init")):
        out = decode_split(tmp_path / "run", data_dir / "test.jsonl", "test", ckpt, tag)
        result = score_split(out, data_dir / "test.jsonl")
        assert (out / "alignments.txt").is_file() and (out / "per.json").is_file()
        assert result["utterances"] == 4 and result["n"] > 0
        assert result["per"] == pytest.approx(100 * (result["sub"] + result["del"] + result["ins"]) / result["n"])
        per_utt = read_utterance_counts(out)  # what the paired statistics read: it adds up to per.json
        total = sum(per_utt.values(), start=ErrorCounts())
        assert len(per_utt) == 4 and total.as_dict() == {k: result[k] for k in ("per", "n", "sub", "del", "ins")}
    with pytest.raises(FileNotFoundError, match="score the decoding first"):
        read_utterance_counts(tmp_path)
