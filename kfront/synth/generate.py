"""Write the built-in corpus to disk in TIMIT's layout.

Each utterance is synthesised, resampled to 16 kHz, passed through its speaker's channel and written as
``<root>/<SPLIT>/DR<n>/<SPEAKER>/<ID>.{WAV,PHN,WRD,TXT}``. espeak-ng carries state from one synthesis to the next,
so each utterance is made in a fresh child process forked from a clean server process: the bytes of an utterance
then depend on the seed and the settings only, not on which worker made it or in which order.

In the hard condition (:mod:`kfront.synth.hard`) the resampling also changes the utterance's speed, its babble is
synthesised in the same child after it, the speech and babble are put into the speaker's room before the channel,
and telephone speakers' audio goes through the telephone line after it. The rooms are simulated once per speaker,
in the same worker pool, before the utterances.
"""

import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import numpy as np

from . import _espeak
from .align import phone_segments, rescale, word_segments
from .channel import apply_channel, resample_to
from .hard import room_and_babble, source_rate
from .phones import language_of
from .plan import SAMPLE_RATE, CorpusConfig, CorpusPlan, PlannedUtterance, plan_corpus
from .rooms import Room, RoomResponse, room_responses
from .telephone import telephone_line
from .writers import atomic_write, write_audio, write_segments, write_transcript

__all__ = ["SAMPLE_RATE", "MANIFEST_NAME", "CorpusSummary", "generate_corpus", "render_utterance"]

#: Stamp file at the corpus root: the settings it was made with, and whether it is complete.
MANIFEST_NAME = "kfront_corpus.json"
#: Version of the generator's output; bump it whenever the same settings would give different files.
FORMAT_VERSION = 1
_PAD_SECONDS = (0.08, 0.25)  # silence added before and after the synthesiser's own (h#, as in TIMIT)


@dataclass(frozen=True)
class CorpusSummary:
    """What a corpus holds.

    Attributes:
        root (Path): corpus root.
        utterances (dict): ``{"train": n, "dev": n, "core_test": n}``, SA included.
        seconds (dict): audio duration in seconds, keyed like ``utterances``.
        skipped (bool): the corpus was already complete, nothing was written.
    """

    root: Path
    utterances: Dict[str, int]
    seconds: Dict[str, float]
    skipped: bool = False

    @property
    def hours(self) -> float:
        """Total audio duration in hours."""
        return sum(self.seconds.values()) / 3600.0


def render_utterance(root: str | os.PathLike, utt: PlannedUtterance, sphere: bool = False,
                     room: RoomResponse | None = None) -> int:
    """Synthesise one utterance and write its four files.

    Call it in a process that has not synthesised anything before if the bytes must not depend on history.

    Args:
        root (str or os.PathLike): corpus root.
        utt (PlannedUtterance): what to say, who says it and the seed.
        sphere (bool, optional): NIST SPHERE audio instead of RIFF. (Default: ``False``)
        room (RoomResponse or None, optional): the speaker's simulated room, if it has one and it was simulated
            already. (Default: ``None``: simulated here when the speaker has a room)

    Returns:
        int: length of the audio in samples at :data:`SAMPLE_RATE`.
    """
    spk = utt.speaker
    syn = _espeak.get_engine().synthesize(utt.text, spk.voice, rate=spk.rate, pitch=spk.pitch,
                                          pitch_range=spk.pitch_range, seed=utt.seed)
    rng = np.random.default_rng(utt.seed)
    lead, trail = (int(rng.uniform(*_PAD_SECONDS) * syn.sample_rate) for _ in range(2))
    audio = np.concatenate([np.zeros(lead), syn.audio.astype(np.float64), np.zeros(trail)])
    # The rate the synthesiser's samples are read at: their own, or another one that changes the speed.
    rate = syn.sample_rate if utt.perturbation is None else source_rate(syn.sample_rate, utt.perturbation.speed)
    audio = resample_to(audio, rate, SAMPLE_RATE)
    n = audio.shape[0]

    def move(sample: int) -> int:  # synthesiser sample -> output sample, the same way for every boundary
        return min(rescale(sample + lead, rate, SAMPLE_RATE), n)

    phonemes = [(move(s), m, p) for s, m, p in syn.phonemes]
    speech = slice(move(0), move(syn.audio.shape[0]))
    if utt.perturbation is not None:
        if room is None and spk.room is not None:
            room = room_responses(spk.room, SAMPLE_RATE)
        audio = room_and_babble(audio, SAMPLE_RATE, utt.perturbation, room, speech,
                                np.random.default_rng([utt.seed, 2]))
    samples = apply_channel(audio, SAMPLE_RATE, spk.channel, rng, speech=speech)
    if spk.telephone:
        samples = telephone_line(samples, SAMPLE_RATE)

    stem = Path(root) / utt.stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    sphere_id = f"{spk.id[1:].lower()}_{utt.utterance_id.lower()}"  # TIMIT's: "abc0_sx12" for MABC0
    write_audio(stem.with_suffix(".WAV"), samples, SAMPLE_RATE, sphere=sphere, utterance_id=sphere_id)
    write_segments(stem.with_suffix(".PHN"), phone_segments(phonemes, n, language_of(spk.voice)))
    write_segments(stem.with_suffix(".WRD"), word_segments(syn.words, phonemes, n, utt.text))
    write_transcript(stem.with_suffix(".TXT"), n, utt.text)
    return n


def _render_task(args):
    root, utt, sphere, room = args
    return utt, render_utterance(root, utt, sphere, room)


def _room_task(room: Room) -> RoomResponse:
    return room_responses(room, SAMPLE_RATE)


def _pool(jobs: int):
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        # The server imports the generator once, never synthesises, and forks one clean child per utterance.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
    else:
        ctx = multiprocessing.get_context("spawn")
    return ctx.Pool(jobs, maxtasksperchild=1)


def _expected_files(plan: CorpusPlan):
    for utt in plan.utterances:
        for ext in (".WAV", ".PHN", ".WRD", ".TXT"):
            yield utt.stem + ext
    yield "dev_speakers.txt"
    yield "core_test_speakers.txt"


def _settings(config: CorpusConfig) -> dict:
    return {"format_version": FORMAT_VERSION, **config.settings()}


def _check_root(root: Path, settings: dict, plan: CorpusPlan) -> dict | None:
    """The manifest of a complete corpus made with ``settings`` at ``root``, or None if it must be written."""
    manifest = root / MANIFEST_NAME
    if manifest.exists():
        found = json.loads(manifest.read_text())
        old = found.get("settings") or {}
        if old != settings:
            diff = ", ".join(f"{k}={old.get(k)!r} there, {settings.get(k)!r} asked"
                             for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k))
            raise RuntimeError(f"{root} holds a corpus made with other settings ({diff}); refusing to overwrite "
                               "it: choose another directory or delete that one")
        if found.get("complete") and all((root / f).is_file() for f in _expected_files(plan)):
            return found
        return None  # our own unfinished run: carry on over it
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise RuntimeError(f"refusing to write the corpus into {root}: it exists and is not empty, and holds no "
                           f"{MANIFEST_NAME} from an earlier run; choose a new or empty directory")
    return None


def _summarise(plan: CorpusPlan, lengths: Dict[str, int]):
    dev = {s.upper() for s in plan.dev_speakers}
    counts = {"train": 0, "dev": 0, "core_test": 0}
    seconds = {"train": 0.0, "dev": 0.0, "core_test": 0.0}
    for utt in plan.utterances:
        part = "train" if utt.split == "TRAIN" else "dev" if utt.speaker.id in dev else "core_test"
        counts[part] += 1
        seconds[part] += lengths[utt.stem] / SAMPLE_RATE
    return counts, {k: round(v, 3) for k, v in seconds.items()}


def _simulate_rooms(pool, utterances, progress: bool) -> Dict[str, RoomResponse]:
    """Speaker id -> its room's responses, for the speakers of ``utterances`` that have a room."""
    from tqdm import tqdm

    rooms = {u.speaker.id: u.speaker.room for u in utterances if u.speaker.room is not None}
    ids = sorted(rooms)
    responses = pool.imap(_room_task, [rooms[i] for i in ids], chunksize=1)
    return dict(zip(ids, tqdm(responses, total=len(ids), unit="room", disable=not progress or not ids,
                              desc="simulating rooms")))


def generate_corpus(root: str | os.PathLike, config: CorpusConfig | None = None, jobs: int | None = None,
                    progress: bool = True) -> CorpusSummary:
    """Generate the built-in corpus at ``root``, or do nothing if a complete one with the same settings is there.

    Args:
        root (str or os.PathLike): corpus root; created if missing. It must be new, empty, or hold a corpus from an
            earlier run with the same settings.
        config (CorpusConfig or None, optional): sizes, seed and audio format. (Default: ``CorpusConfig()``)
        jobs (int or None, optional): worker processes. (Default: the number of CPUs, at most 8)
        progress (bool, optional): show a progress bar over utterances. (Default: ``True``)

    Raises:
        RuntimeError: espeak-ng is not installed (the message says how to install it), or ``root`` holds something
            other than a corpus with these settings.
    """
    config = CorpusConfig() if config is None else config
    jobs = min(os.cpu_count() or 1, 8) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    version = _espeak.library_version()  # fails here, with the install command, if espeak-ng is missing
    root = Path(root)
    plan = plan_corpus(config)
    settings = _settings(config)
    done = _check_root(root, settings, plan)
    if done is not None:
        return CorpusSummary(root, done["utterances"], done["seconds"], skipped=True)

    root.mkdir(parents=True, exist_ok=True)
    manifest = {"settings": settings, "espeak_ng": version, "complete": False}
    atomic_write(root / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
    from tqdm import tqdm

    lengths: Dict[str, int] = {}
    todo = []
    for utt in plan.utterances:
        # Files are written whole or not at all, and the same settings give the same bytes: an utterance that an
        # interrupted run of these settings finished is kept.
        if all((root / (utt.stem + ext)).is_file() for ext in (".WAV", ".PHN", ".WRD", ".TXT")):
            lengths[utt.stem] = int((root / (utt.stem + ".TXT")).read_text().split(" ", 2)[1])
        else:
            todo.append(utt)
    for stale in root.rglob(".*.tmp*"):  # temporary files of a run that was killed
        stale.unlink()
    if todo:
        with _pool(min(jobs, len(todo))) as pool:
            rooms = _simulate_rooms(pool, todo, progress)
            tasks = [(str(root), utt, config.sphere, rooms.get(utt.speaker.id)) for utt in todo]
            with tqdm(total=len(plan.utterances), initial=len(lengths), unit="utt", disable=not progress,
                      desc="synthesising") as bar:
                for utt, n in pool.imap_unordered(_render_task, tasks, chunksize=1):
                    lengths[utt.stem] = n
                    bar.update(1)
    atomic_write(root / "dev_speakers.txt", "".join(f"{s}\n" for s in plan.dev_speakers).encode())
    atomic_write(root / "core_test_speakers.txt", "".join(f"{s}\n" for s in plan.core_test_speakers).encode())
    counts, seconds = _summarise(plan, lengths)
    manifest.update(complete=True, utterances=counts, seconds=seconds,
                    speakers={split: [s.id for s in spk] for split, spk in plan.speakers.items()})
    atomic_write(root / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
    return CorpusSummary(root, counts, seconds)
