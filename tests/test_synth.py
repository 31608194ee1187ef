"""The built-in corpus: TIMIT's layout and formats, labels from espeak-ng's events, reproducibility, safety."""

import random
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from _espeak_marks import needs_espeak
from kfront.synth import (MANIFEST_NAME, CorpusConfig, generate_corpus, load_grammar, plan_corpus, timit_phones,
                           to_timit)
from kfront.synth import _espeak, cli
from kfront.synth.align import phone_segments, rescale, word_segments
from kfront.synth.text import words_of
from kfront.synth.writers import atomic_write, riff_bytes, sphere_bytes


EXTENSIONS = (".WAV", ".PHN", ".WRD", ".TXT")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "corpus"
    summary = generate_corpus(root, CorpusConfig.tiny(seed=0), jobs=2, progress=False)
    assert not summary.skipped
    return root


@pytest.fixture(scope="session")
def corpus_again(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_again") / "corpus"
    generate_corpus(root, CorpusConfig.tiny(seed=0), jobs=1, progress=False)  # other job count: same bytes
    return root


@pytest.fixture(scope="session")
def corpus_sphere_seed1(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_sphere") / "corpus"
    assert cli.main(["--tiny", "--sphere", "--seed", "1", "--jobs", "2", "--quiet", str(root)]) == 0
    return root


def _files(root):
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _stems(root):
    return sorted(p.with_suffix("") for p in root.glob("*/DR*/*/*.WAV"))


def _segments(path):
    return [(int(s), int(e), label) for s, e, label in (line.split() for line in path.read_text().splitlines())]


@needs_espeak
def test_layout(corpus):
    config = CorpusConfig.tiny()
    speakers = {split: sorted(p.name for p in (corpus / split).glob("DR*/*")) for split in ("TRAIN", "TEST")}
    assert len(speakers["TRAIN"]) == config.train_speakers
    assert len(speakers["TEST"]) == config.dev_speakers + config.core_test_speakers
    for speaker_dir in corpus.glob("*/DR*/*"):
        assert re.fullmatch(r"DR[1-8]", speaker_dir.parent.name)
        assert re.fullmatch(r"[MF][A-Z]{3}[0-9]", speaker_dir.name)
        ids = sorted(p.stem for p in speaker_dir.glob("*.WAV"))
        assert "SA1" in ids and "SA2" in ids
        assert sum(i.startswith("SX") for i in ids) == config.sx_per_speaker
        assert sum(i.startswith("SI") for i in ids) == config.si_per_speaker
        for i in ids:
            assert all((speaker_dir / (i + ext)).is_file() for ext in EXTENSIONS)
    assert not list(corpus.rglob(".*.tmp*"))
    assert '"complete": true' in (corpus / MANIFEST_NAME).read_text()


@needs_espeak
def test_labels_cover_audio_with_timit_phones(corpus):
    valid = timit_phones()
    for stem in _stems(corpus):
        info = sf.info(str(stem.with_suffix(".WAV")))
        n = info.frames
        phn = _segments(stem.with_suffix(".PHN"))
        assert phn[0][0] == 0 and phn[-1][1] == n, stem
        assert all(s < e for s, e, _ in phn), stem
        assert all(a[1] == b[0] for a, b in zip(phn, phn[1:])), stem
        assert phn[0][2] == "h#" and phn[-1][2] == "h#", stem
        assert all(p != "h#" for _, _, p in phn[1:-1]), stem
        assert {p for _, _, p in phn} <= valid, stem
        assert len(phn) > 5, stem
        head, end, text = stem.with_suffix(".TXT").read_text().rstrip("\n").split(" ", 2)
        assert (head, int(end)) == ("0", n)
        wrd = _segments(stem.with_suffix(".WRD"))
        assert [w for _, _, w in wrd] == words_of(text), stem
        bounds = {s for s, _, _ in phn} | {n}
        assert all(s in bounds and e in bounds and s < e for s, e, _ in wrd), stem
        assert all(a[1] <= b[0] for a, b in zip(wrd, wrd[1:])), stem


@needs_espeak
def test_audio_reads_back_riff_and_sphere(corpus, corpus_sphere_seed1):
    for root, fmt in ((corpus, "WAV"), (corpus_sphere_seed1, "NIST")):
        for stem in _stems(root):
            path = stem.with_suffix(".WAV")
            info = sf.info(str(path))
            assert (info.format, info.subtype, info.samplerate, info.channels) == (fmt, "PCM_16", 16000, 1)
            audio, rate = sf.read(str(path), dtype="int16")
            assert rate == 16000 and audio.ndim == 1 and audio.dtype == np.int16
            assert np.abs(audio).max() > 1000  # speech at a sensible level, not silence
    assert next(iter(_stems(corpus_sphere_seed1))).with_suffix(".WAV").read_bytes()[:16] == b"NIST_1A\n   1024\n"


@needs_espeak
def test_same_seed_same_bytes_other_seed_differs(corpus, corpus_again, corpus_sphere_seed1):
    first, again = _files(corpus), _files(corpus_again)
    assert first.keys() == again.keys()
    for name, path in first.items():
        assert path.read_bytes() == again[name].read_bytes(), name
    other = {p.stem: sf.read(str(p), dtype="int16")[0] for p in corpus_sphere_seed1.glob("*/DR*/*/SA1.WAV")}
    for path in corpus.glob("*/DR*/*/SA1.WAV"):
        audio = sf.read(str(path), dtype="int16")[0]
        assert not any(a.shape == audio.shape and np.array_equal(a, audio) for a in other.values())
    assert sorted(p.name for p in corpus.glob("*/DR*/*")) != sorted(p.name for p in corpus_sphere_seed1.glob("*/DR*/*"))


@needs_espeak
def test_speaker_lists_and_disjoint_splits(corpus):
    train = {p.name for p in corpus.glob("TRAIN/DR*/*")}
    test = {p.name for p in corpus.glob("TEST/DR*/*")}
    assert train and test and not train & test
    dev = (corpus / "dev_speakers.txt").read_text().splitlines()
    core = (corpus / "core_test_speakers.txt").read_text().splitlines()
    assert all(re.fullmatch(r"[mf][a-z]{3}[0-9]", s) for s in dev + core)
    assert not set(dev) & set(core)
    assert {s.upper() for s in dev + core} == test
    plan = plan_corpus(CorpusConfig())  # the default size: voices never repeat across speakers
    voices = [(s.voice, s.rate, s.pitch) for spk in plan.speakers.values() for s in spk]
    assert len(set(voices)) == len(voices)


@needs_espeak
def test_existing_corpus_is_skipped_other_content_refused(corpus, tmp_path):
    before = {name: path.stat().st_mtime_ns for name, path in _files(corpus).items()}
    assert generate_corpus(corpus, CorpusConfig.tiny(seed=0), progress=False).skipped
    assert {name: path.stat().st_mtime_ns for name, path in _files(corpus).items()} == before
    with pytest.raises(RuntimeError, match="other settings"):
        generate_corpus(corpus, CorpusConfig.tiny(seed=5), progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="refusing"):
        generate_corpus(tmp_path, CorpusConfig.tiny(), progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_missing_espeak_gives_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(_espeak, "LIBRARY_NAME", "libespeak-ng-not-installed.so.1")
    with pytest.raises(RuntimeError, match=re.escape("sudo apt-get install -y espeak-ng")):
        generate_corpus(tmp_path / "corpus", CorpusConfig.tiny(), progress=False)
    assert not (tmp_path / "corpus").exists()


@needs_espeak
def test_phone_map_covers_the_vocabulary():
    engine = _espeak.get_engine()
    grammar = load_grammar()
    words = sorted({w for ws in grammar.classes.values() for w in ws})
    texts = [" ".join(words[i:i + 25]) + "." for i in range(0, len(words), 25)]
    texts += grammar.sentences(10, random.Random(0))
    for voice in ("en-us", "en"):
        for text in texts:
            for _, mnemonic, _ in engine.synthesize(text, voice).phonemes:
                assert to_timit(mnemonic, voice) in timit_phones()
    with pytest.raises(ValueError, match="no TIMIT phone"):
        to_timit("not-a-phoneme", "en-us")


def test_phone_segments_from_events():
    events = [(5, "_:", 0), (5, "D", 1), (9, "@2", 1), (12, "l", 5), (12, "z", 5), (15, "_:", 9), (17, "_", 0),
              (19, "k", 12), (22, "_:", 14), (24, "_", 14)]
    assert phone_segments(events, 30, "en-us") == [
        (0, 5, "h#"), (5, 9, "dh"), (9, 12, "ax"), (12, 15, "z"), (15, 19, "pau"), (19, 22, "k"), (22, 30, "h#")]
    assert word_segments([(0, 1, 3), (10, 5, 5), (18, 0, 0), (18, 12, 2)], events, 30, "The sells, ok") == [
        (5, 12, "the"), (12, 15, "sells"), (19, 22, "ok")]
    with pytest.raises(RuntimeError, match="back in time"):
        phone_segments([(5, "D", 1), (4, "@", 1)], 30, "en-us")
    assert rescale(22050, 22050, 16000) == 16000 and rescale(441, 22050, 16000) == 320


def test_writers_round_trip_and_leave_no_partial_file(tmp_path):
    audio = (np.random.default_rng(0).standard_normal(1234) * 3000).astype(np.int16)
    for data, fmt in ((sphere_bytes(audio, 16000, "abc0_sa1"), "NIST"), (riff_bytes(audio, 16000), "WAV")):
        path = tmp_path / "x.WAV"
        atomic_write(path, data)
        read, rate = sf.read(str(path), dtype="int16")
        assert sf.info(str(path)).format == fmt and rate == 16000 and np.array_equal(read, audio)
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "y.PHN", "not bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.WAV"]


def test_import_does_not_pull_in_torch():
    # The generator forks a worker per utterance: importing torch in each would cost seconds for nothing.
    code = ("import sys, kfront.synth; assert sorted(kfront.synth.timit_phones()) == "
            "kfront.timit.load_phone_map().phones61; print(sorted(m for m in sys.modules if m.startswith('torch')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == "[]\n", proc.stdout + proc.stderr


def test_cli_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--tiny", "--train-speakers", "--dev-speakers", "--core-test-speakers", "--sx-per-speaker",
                 "--si-per-speaker", "--sx-readers", "--seed", "--sphere", "--jobs", "--quiet", "out_dir"):
        assert flag in out
    args = cli.build_parser().parse_args(["--tiny", "--train-speakers", "3", "out"])
    assert cli.config_from_args(args) == CorpusConfig(**{**CorpusConfig.tiny().as_dict(), "train_speakers": 3})
