"""TIMIT data preparation: every distributed form gives the same manifests; bad input stops with the file named."""
import os
import shutil

import pytest

from kfront.timit import (CorpusError, UnknownPhoneError, find_corpus_root, list_utterances, load_speaker_list,
                          prepare_timit, read_manifest, standard_splits)
from kfront.timit._testing import first_file, write_fake_timit


def without_path(rows):
    return [{k: v for k, v in r.items() if k != "path"} for r in rows]


@pytest.fixture(scope="module")
def upper_sphere(tmp_path_factory):
    root = tmp_path_factory.mktemp("upper") / "TIMIT"
    expected = write_fake_timit(root, upper=True, audio="sphere")
    return root, expected


def test_splits_hold_the_expected_utterances(upper_sphere, tmp_path):
    root, expected = upper_sphere
    paths = prepare_timit(root, tmp_path / "data")
    for split in ("train", "dev", "test"):
        rows = read_manifest(paths[split])
        assert [r["id"] for r in rows] == expected[split]
        assert all(not r["id"].split("_")[1].startswith("sa") for r in rows)
        for r in rows:
            assert r["duration"] == pytest.approx(r["num_samples"] / 16000, abs=1e-4)
            assert r["phones48"].split()[0] == "sil" and "q" not in r["phones48"].split()


@pytest.mark.parametrize("upper, audio, fmt", [(False, "riff", "jsonl"), (False, "riff.wav", "tsv"),
                                               (True, "riff.wav", "jsonl")])
def test_every_form_gives_the_same_manifests(upper_sphere, tmp_path, upper, audio, fmt):
    root, _ = upper_sphere
    ref = prepare_timit(root, tmp_path / "ref")
    other = tmp_path / "other"
    write_fake_timit(other, upper=upper, audio=audio)  # same seed: same samples and phones
    got = prepare_timit(other, tmp_path / "got", fmt=fmt)
    for split in ref:
        assert without_path(read_manifest(got[split])) == without_path(read_manifest(ref[split]))


def test_corpus_root_may_be_the_parent(upper_sphere):
    root, _ = upper_sphere
    assert find_corpus_root(root.parent) == root


def test_work_already_done_is_skipped(upper_sphere, tmp_path):
    root, _ = upper_sphere
    paths = prepare_timit(root, tmp_path)
    mtimes = {s: os.stat(p).st_mtime_ns for s, p in paths.items()}
    prepare_timit(root, tmp_path)
    assert {s: os.stat(p).st_mtime_ns for s, p in paths.items()} == mtimes
    prepare_timit(root, tmp_path, force=True)
    assert all(os.stat(p).st_mtime_ns >= mtimes[s] for s, p in paths.items())


def test_packaged_speaker_lists_are_the_standard_ones(tmp_path):
    dev, core = load_speaker_list("dev"), load_speaker_list("test")
    assert len(dev) == 50 and len(core) == 24 and not set(dev) & set(core)
    assert "mdab0" in core and "faks0" in dev
    (tmp_path / "dev_speakers.txt").write_text("fabc0\n")
    assert load_speaker_list("dev", tmp_path) == ["fabc0"]
    assert load_speaker_list("test", tmp_path) == core  # no local core-test list: the packaged one


def test_without_local_lists_the_standard_speakers_are_required(tmp_path):
    root = tmp_path / "timit"
    write_fake_timit(root, speaker_lists=False)
    with pytest.raises(CorpusError, match="dev speakers are not in the corpus"):
        standard_splits(list_utterances(root), corpus_root=root)


# --- bad input ----------------------------------------------------------------------------------------------

def test_missing_path(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        prepare_timit(tmp_path / "nowhere", tmp_path / "data")


def test_path_without_train_and_test(tmp_path):
    (tmp_path / "corpus" / "TRAIN").mkdir(parents=True)
    with pytest.raises(CorpusError, match="no TRAIN and TEST"):
        prepare_timit(tmp_path / "corpus", tmp_path / "data")


@pytest.fixture
def good_then_broken(upper_sphere, tmp_path):
    """A copy of the corpus, prepared once successfully; the test then breaks a file in it."""
    root, _ = upper_sphere
    copy = tmp_path / "TIMIT"
    shutil.copytree(root, copy)
    paths = prepare_timit(copy, tmp_path / "data")
    before = {s: p.read_bytes() for s, p in paths.items()}
    return copy, tmp_path / "data", paths, before


def _assert_untouched(paths, before):
    assert {s: p.read_bytes() for s, p in paths.items()} == before


@pytest.mark.parametrize("content", [b"", b"this is not audio at all" * 10], ids=["empty", "corrupt"])
def test_bad_audio_file_is_named(good_then_broken, content):
    corpus, data, paths, before = good_then_broken
    bad = first_file(corpus / "TEST", ".wav")
    bad.write_bytes(content)
    with pytest.raises(CorpusError, match=bad.name):
        prepare_timit(corpus, data, force=True)
    _assert_untouched(paths, before)


def test_unknown_phone_is_named(good_then_broken):
    corpus, data, paths, before = good_then_broken
    bad = first_file(corpus / "TRAIN", ".phn")
    lines = bad.read_text().splitlines()
    lines[1] = lines[1].rsplit(" ", 1)[0] + " zz"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(UnknownPhoneError, match=rf"{bad.name}.*line 2.*'zz'"):
        prepare_timit(corpus, data, force=True)
    _assert_untouched(paths, before)


def test_audio_without_phn_is_named(good_then_broken):
    corpus, data, paths, before = good_then_broken
    first_file(corpus / "TRAIN", ".phn").unlink()
    with pytest.raises(CorpusError, match="no .PHN"):
        prepare_timit(corpus, data, force=True)
    _assert_untouched(paths, before)
