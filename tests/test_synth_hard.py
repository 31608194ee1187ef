"""The built-in corpus's hard condition and few-voices setting; the standard corpus unchanged by them."""

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from _espeak_marks import needs_espeak
from kfront.synth import CorpusConfig, generate_corpus, plan_corpus, render_utterance, timit_phones
from kfront.synth import _espeak, cli
from kfront.synth.align import rescale
from kfront.synth.channel import Channel, resample_to
from kfront.synth.hard import HARD_VARIANTS, Perturbation, source_rate
from kfront.synth.plan import PlannedUtterance
from kfront.synth.rooms import SPEED_OF_SOUND, Room, random_room, reverberate, room_responses
from kfront.synth.speakers import Speaker
from kfront.synth.telephone import mulaw_round_trip, telephone_line
from kfront.synth.text import words_of


ROOT = Path(__file__).resolve().parents[1]
RATE = 16000


def _hard_tiny(seed=0):
    return dataclasses.replace(CorpusConfig.tiny(seed=seed), condition="hard")


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard") / "corpus"
    generate_corpus(root, _hard_tiny(), jobs=2, progress=False)
    return root


@pytest.fixture(scope="module")
def hard_again(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard_again") / "corpus"
    generate_corpus(root, _hard_tiny(), jobs=1, progress=False)  # other job count: same bytes
    return root


@pytest.fixture(scope="module")
def hard_seed1(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard_seed1") / "corpus"
    assert cli.main(["--tiny", "--condition", "hard", "--seed", "1", "--jobs", "2", "--quiet", str(root)]) == 0
    return root


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _segments(path):
    return [(int(s), int(e), label) for s, e, label in (line.split() for line in path.read_text().splitlines())]


# ---- the standard corpus is what it was ---------------------------------------------------------------------

def _plan_digest(config):
    """Everything the standard plan decided, in the terms it had before the hard condition existed."""
    plan = plan_corpus(config)
    rows = [(u.stem, u.text, u.seed, u.speaker.voice, u.speaker.rate, u.speaker.pitch, u.speaker.pitch_range,
             sorted(u.speaker.channel.as_dict().items())) for u in plan.utterances]
    rows.append((plan.dev_speakers, plan.core_test_speakers))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def test_standard_plan_is_unchanged():
    # Digests of the plans made by the generator before the hard condition and train_voices were added.
    assert _plan_digest(CorpusConfig()) == "922c7d629b9c5a7b614ab3d4fb9d4b95b9b6d9da04eb475cc464ed21743dc756"
    assert _plan_digest(CorpusConfig(seed=3)) == "93bd2d5ba40b21035ebe76f54cd2473a9f2fe86adb5f8e4e7ebaeeafd96b85a6"
    assert CorpusConfig().settings() == {k: v for k, v in CorpusConfig().as_dict().items()
                                         if k not in ("condition", "train_voices")}
    assert all(u.perturbation is None and u.speaker.room is None and not u.speaker.telephone
               for u in plan_corpus(CorpusConfig()).utterances)


# CorpusConfig.tiny(seed=0) as the generator made it before the hard condition existed, with espeak-ng 1.51 (the
# synthesiser's version changes its phones and audio). Labels, transcripts, speaker lists and the stamp file follow
# from the plan and the synthesiser's phoneme events alone: their bytes are recorded. The audio also goes through
# numpy and scipy filters, whose float rounding may differ between their versions; that moves a sample by one
# quantisation step at most, while a change to what the generator does moves samples by far more. So each audio
# file's length is recorded exactly, and eight of its samples (at 1/16, 3/16, ..., 15/16 of it) to within one step.
_TINY_ESPEAK = "1.51"
_TINY_TEXT_DIGEST = "042e854865460dfc779de883573c9afb064ffe8b6ab58a0d1bf0c210cc68ad3f"
_TINY_AUDIO = {
    "TEST/DR3/FPNI0/SA1": (70535, (264, 77, -166, 162, 277, -2975, 135, 14)),
    "TEST/DR3/FPNI0/SA2": (61195, (765, -388, -3530, -94, -385, -1880, -606, -147)),
    "TEST/DR3/FPNI0/SI456": (25595, (6, -49, 894, -469, 476, -1411, -2354, -55)),
    "TEST/DR3/FPNI0/SX4": (24716, (35, -718, 761, 93, -491, -111, -273, 37)),
    "TEST/DR4/MRYQ0/SA1": (61339, (-145, -230, -2537, -3003, 438, 579, 661, -24)),
    "TEST/DR4/MRYQ0/SA2": (52347, (632, -797, 5833, -491, 248, -13700, 3, -1511)),
    "TEST/DR4/MRYQ0/SI455": (19442, (-37, 441, 429, -735, 636, -76, 444, -49)),
    "TEST/DR4/MRYQ0/SX4": (24358, (6, 1875, -2347, 4978, -319, 206, 2492, -142)),
    "TRAIN/DR7/FBAE0/SA1": (75370, (-131, 19, 3104, 381, -86, 22, 6063, 101)),
    "TRAIN/DR7/FBAE0/SA2": (64963, (-2164, 205, 595, 65, -268, 4738, -7432, -9)),
    "TRAIN/DR7/FBAE0/SI453": (23533, (7, -138, 337, -71, -210, -2419, -2624, 10)),
    "TRAIN/DR7/FBAE0/SX3": (60347, (540, -906, 2493, -6, -249, -1490, 5263, -158)),
    "TRAIN/DR8/MECW0/SA1": (77342, (976, 6358, -349, 24, 85, 357, -92, -1024)),
    "TRAIN/DR8/MECW0/SA2": (68149, (-5490, -1004, 2969, 401, -2, 248, -1516, -238)),
    "TRAIN/DR8/MECW0/SI454": (38758, (7, 145, 39, -140, -84, 143, 911, -333)),
    "TRAIN/DR8/MECW0/SX3": (64037, (18, 5571, 379, 242, 749, -93, -98, 2515)),
}


@needs_espeak
def test_standard_corpus_is_unchanged(tmp_path):
    if _espeak.library_version() != _TINY_ESPEAK:
        pytest.skip(f"recorded with espeak-ng {_TINY_ESPEAK}, this is {_espeak.library_version()}")
    root = tmp_path / "corpus"
    generate_corpus(root, CorpusConfig.tiny(seed=0), jobs=2, progress=False)
    files = _files(root)
    text = hashlib.sha256()
    for name, data in files.items():
        if not name.endswith(".WAV"):
            text.update(name.encode() + b"\0" + data)
    assert text.hexdigest() == _TINY_TEXT_DIGEST
    assert sorted(n[:-4] for n in files if n.endswith(".WAV")) == sorted(_TINY_AUDIO)
    for stem, (length, picked) in _TINY_AUDIO.items():
        audio = sf.read(str(root / (stem + ".WAV")), dtype="int16")[0].astype(np.int64)
        assert audio.shape[0] == length, stem
        now = [int(audio[length * (2 * i + 1) // 16]) for i in range(8)]
        assert max(abs(a - b) for a, b in zip(now, picked)) <= 1, (stem, now, picked)


# ---- the hard corpus -------------------------------------------------------------------------------------

@needs_espeak
def test_hard_same_seed_same_bytes_other_seed_differs(hard, hard_again, hard_seed1):
    first, again, other = _files(hard), _files(hard_again), _files(hard_seed1)
    assert first.keys() == again.keys()
    for name in first:
        assert first[name] == again[name], name
    assert '"condition": "hard"' in first["kfront_corpus.json"].decode()
    audio = {n: d for n, d in first.items() if n.endswith(".WAV")}
    assert not set(audio.values()) & {d for n, d in other.items() if n.endswith(".WAV")}


@needs_espeak
def test_hard_labels_cover_audio(hard):
    valid = timit_phones()
    stems = sorted(p.with_suffix("") for p in hard.glob("*/DR*/*/*.WAV"))
    assert len(stems) == 16
    for stem in stems:
        audio, rate = sf.read(str(stem.with_suffix(".WAV")), dtype="int16")
        assert rate == RATE and np.abs(audio).max() > 1000
        phn = _segments(stem.with_suffix(".PHN"))
        assert phn[0][0] == 0 and phn[-1][1] == audio.shape[0], stem
        assert all(s < e for s, e, _ in phn) and all(a[1] == b[0] for a, b in zip(phn, phn[1:])), stem
        assert phn[0][2] == "h#" and phn[-1][2] == "h#" and {p for _, _, p in phn} <= valid, stem
        head, end, text = stem.with_suffix(".TXT").read_text().rstrip("\n").split(" ", 2)
        assert int(end) == audio.shape[0]
        wrd = _segments(stem.with_suffix(".WRD"))
        assert [w for _, _, w in wrd] == words_of(text), stem
        bounds = {s for s, _, _ in phn} | {audio.shape[0]}
        assert all(s in bounds and e in bounds for s, e, _ in wrd), stem


def test_hard_plan():
    plan = plan_corpus(CorpusConfig(condition="hard"))
    speakers = [s for spk in plan.speakers.values() for s in spk]
    assert all(s.room is not None and s.channel.rt60_s is None for s in speakers)
    assert 0.1 < np.mean([s.telephone for s in speakers]) < 0.35
    assert len({s.voice for s in speakers}) > 40  # far more than the standard condition's 24 voice names
    assert {s.voice.split("+")[1] for s in speakers} <= set(HARD_VARIANTS)
    settings = {(s.voice, s.rate, s.pitch) for s in speakers}
    texts = {u.text for u in plan.utterances}
    speeds = []
    for utt in plan.utterances:
        p = utt.perturbation
        speeds.append(p.speed)
        assert 0.9 <= p.speed <= 1.1 and 15.0 <= p.babble_snr_db <= 30.0 and 3 <= len(p.babble) <= 6
        for talker in p.babble:
            assert talker.voice != utt.speaker.voice and (talker.voice, talker.rate, talker.pitch) not in settings
            assert not set(talker.texts) & texts
    assert np.std(speeds) > 0.03


def test_train_voices():
    plan = plan_corpus(CorpusConfig(train_voices=4, condition="hard"))
    train, test = plan.speakers["TRAIN"], plan.speakers["TEST"]
    assert len(train) == 40 and len({(s.voice, s.pitch, s.pitch_range) for s in train}) == 4
    assert len({s.rate for s in train}) > 20  # rate and channel stay each speaker's own
    assert not {s.voice for s in train} & {s.voice for s in test}
    assert len({s.id for s in train + test}) == len(train + test)
    assert plan_corpus(CorpusConfig(train_voices=4)).speakers["TRAIN"][0].voice.split("+")[1] in \
        ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
    for bad in (0, 41):
        with pytest.raises(ValueError, match="train_voices must be in"):
            CorpusConfig(train_voices=bad)
    with pytest.raises(ValueError, match="condition must be one of"):
        CorpusConfig(condition="noisy")
    args = cli.build_parser().parse_args(["--condition", "hard", "--train_voices", "6", "out"])
    assert cli.config_from_args(args) == CorpusConfig(condition="hard", train_voices=6)
    assert CorpusConfig(condition="hard", train_voices=6).settings()["train_voices"] == 6


# ---- nothing moves against the labels ---------------------------------------------------------------------

def _room(distance_samples=16):
    mic = np.array([2.0, 2.0, 1.2])
    source = mic + np.array([distance_samples * SPEED_OF_SOUND / RATE, 0.0, 0.0])
    return Room(size_m=(5.0, 4.0, 3.0), rt60_s=0.3, source_m=tuple(source), mic_m=tuple(mic),
                babble_m=(4.0, 3.0, 1.5))


def test_room_keeps_the_direct_path_at_lag_zero():
    rng = np.random.default_rng(0)
    dry = np.zeros(8000)
    dry[rng.choice(np.arange(500, 7000), size=12, replace=False)] = 1.0
    for room in (_room(), random_room(np.random.default_rng(3), RATE, rt60_s=(0.5, 0.7), distance_m=(2.0, 3.0))):
        response = room_responses(room, RATE)
        distance = np.linalg.norm(np.subtract(room.source_m, room.mic_m))
        assert abs(distance * RATE / SPEED_OF_SOUND - round(distance * RATE / SPEED_OF_SOUND)) < 1e-6
        assert response.speech_lag >= round(distance * RATE / SPEED_OF_SOUND)  # the delay it compensates
        click = np.zeros(4000)
        click[1000] = 1.0
        wet_click = reverberate(click, response.speech, response.speech_lag)
        assert wet_click[1000] == pytest.approx(1.0, abs=1e-9)  # the direct path, in place, at gain 1
        # Before the direct path's interpolation filter, only the slow ringing of the simulator's zero-phase
        # 10 Hz high-pass filter (a few %); a delay left in would put the whole direct path out here.
        assert np.abs(wet_click[:1000 - 41]).max() < 0.05
        assert np.abs(wet_click[1001:]).max() > 0.05  # and the room is there after it
        wet = reverberate(dry, response.speech, response.speech_lag)
        assert wet.shape == dry.shape
        xcorr = signal.correlate(wet, dry, mode="full")[dry.shape[0] - 1 - 50: dry.shape[0] + 50]
        assert np.argmax(xcorr) == 50


def test_speed_moves_signal_and_boundaries_alike():
    events = np.array([300, 1234, 2001, 5000, 7777, 9001])
    clicks = np.zeros(10000)
    clicks[events] = 1.0
    for speed in (397 / 441, 1.0, 485 / 441):
        rate = source_rate(22050, speed)
        out = resample_to(clicks, rate, RATE)
        peaks = np.sort(np.argsort(out)[-len(events):])
        assert peaks.tolist() == [rescale(int(e), rate, RATE) for e in events]


class _ClickEngine:
    """A stand-in synthesiser: a click where every phone starts, so the audio shows where the labels must be."""

    sample_rate = 22050
    phonemes = ((5, "_:", 0), (5, "D", 1), (9, "@2", 1), (12, "l", 5), (12, "z", 5), (15, "_:", 9), (17, "_", 0),
                (19, "k", 12), (22, "_:", 14), (24, "_", 14))
    words = ((0, 1, 3), (10, 5, 5), (18, 0, 0), (18, 12, 2))

    def synthesize(self, text, voice, **_):
        step = 1500
        audio = np.zeros(26 * step, np.int16)
        for s, _, _ in self.phonemes:
            audio[s * step] = 20000
        return _espeak.Synthesis(audio, self.sample_rate, tuple((s * step, m, p) for s, m, p in self.phonemes),
                                 tuple((s * step, p, n) for s, p, n in self.words))


def test_hard_chain_keeps_labels_on_the_signal(tmp_path, monkeypatch):
    monkeypatch.setattr(_espeak, "get_engine", lambda: _ClickEngine())
    channel = Channel(snr_db=60.0, noise_color="white", highpass_hz=40.0, lowpass_hz=7600.0, rt60_s=None,
                      wet_db=-20.0, peak_dbfs=-3.0, room_seed=0)
    for telephone in (False, True):
        speaker = Speaker("MABC0", "DR1", "en-us+m3", 175, 50, 50, channel, room=_room(), telephone=telephone)
        utt = PlannedUtterance("TRAIN", speaker, "SX3", "The sells, ok", 7,
                               perturbation=Perturbation(speed=400 / 441, babble_snr_db=10.0, babble=()))
        n = render_utterance(tmp_path, utt)
        audio = np.abs(sf.read(str(tmp_path / (utt.stem + ".WAV")), dtype="int16")[0].astype(np.float64))
        assert audio.shape[0] == n
        starts = [s for s, _, _ in _segments(tmp_path / (utt.stem + ".PHN"))][1:]
        assert len(starts) == 6
        for s in starts:
            assert abs(int(np.argmax(audio[s - 40: s + 41])) - 40) <= 1, (telephone, s)


# ---- telephone line -----------------------------------------------------------------------------------------

def test_mulaw_matches_the_standard_library_codec():
    audioop = pytest.importorskip("audioop")  # CPython's G.711 codec (removed in Python 3.13)
    x = np.arange(-32768, 32768, dtype=np.int16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = np.frombuffer(audioop.ulaw2lin(audioop.lin2ulaw(x.tobytes(), 2), 2), dtype=np.int16)
    ours = mulaw_round_trip(x)
    assert set(np.unique(ours)) == set(np.unique(ref)) and len(np.unique(ours)) == 255  # the same 8-bit levels
    differ = ours != ref  # the two codecs round a few inputs at each decision level the other way
    assert differ.mean() < 0.01
    assert np.all(np.diff(ours.astype(np.int64)) >= 0)
    assert np.array_equal(mulaw_round_trip(ours), ours)


def test_telephone_line_band_and_timing():
    t = np.arange(RATE) / RATE
    window = signal.windows.tukey(RATE, 0.2)
    inside = (8000 * window * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    through = telephone_line(inside, RATE).astype(np.float64)
    assert through.shape == inside.shape
    assert np.corrcoef(through, inside)[0, 1] > 0.999  # in band, in place (no delay)
    for hz in (100, 6000):  # below the band (the band filter) and above it (also the 8 kHz resampling)
        outside = (8000 * window * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        assert np.abs(telephone_line(outside, RATE)).max() < 8000 * 0.01, hz
    with pytest.raises(ValueError, match="above"):
        telephone_line(inside, 8000)


# ---- packaging -----------------------------------------------------------------------------------------------

def test_import_stays_light():
    code = ("import sys, kfront.synth; heavy = {'torch', 'pyroomacoustics', 'soundfile'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == "[]"


def test_cli_help_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "kfront.synth", "--help"], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.startswith("usage: python -m kfront.synth")
    for flag in ("--condition {standard,hard}", "--train-voices N", "pyroomacoustics", "mu-law"):
        assert flag in out, flag
