"""Command line of the built-in corpus generator (``python -m kfront.synth``, ``recipes/timit/local/make_mini_timit.py``).

    python -m kfront.synth data/mini_timit                       # the standard corpus
    python -m kfront.synth --condition hard data/mini_timit_hard  # rooms, babble, telephone, speed, more voices
    python -m kfront.synth --condition hard --train-voices 4 data/mini_timit_hard4
"""

import argparse
import dataclasses
import sys
import time
from typing import List

from .generate import MANIFEST_NAME, generate_corpus
from .hard import CONDITIONS
from .hard import summary as hard_summary
from .plan import CorpusConfig

__all__ = ["build_parser", "main"]

_DEFAULT = CorpusConfig()
_TINY = CorpusConfig.tiny()
_TINY_UTTERANCES = 2 + _TINY.sx_per_speaker + _TINY.si_per_speaker  # SA1, SA2, SX..., SI...
_SIZES = ("train_speakers", "dev_speakers", "core_test_speakers", "sx_per_speaker", "si_per_speaker", "sx_readers")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, with help for every flag."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Synthesise a small speech corpus in TIMIT's layout (TRAIN/ and TEST/ with "
                    "DR*/<SPEAKER>/<UTT>.{WAV,PHN,WRD,TXT}, 16 kHz 16-bit mono, TIMIT's 61 phones) with espeak-ng, "
                    "plus dev_speakers.txt and core_test_speakers.txt at its root, so that the TIMIT recipe runs "
                    "without TIMIT. The same settings and seed always give the same bytes. Needs espeak-ng "
                    "(sudo apt-get install -y espeak-ng).",
    )
    parser.add_argument("out_dir", help="corpus root to create. If it already holds a complete corpus made with "
                        f"the same settings (see its {MANIFEST_NAME}) nothing is done; if it holds anything else, "
                        "the generator refuses to touch it.")
    size = parser.add_argument_group("size (the default is about 30 minutes of audio, under a minute to make on "
                                      "2 cores)")
    size.add_argument("--tiny", action="store_true",
                      help=f"test-sized corpus: {_TINY.train_speakers} train, {_TINY.dev_speakers} dev and "
                           f"{_TINY.core_test_speakers} core-test speakers, {_TINY_UTTERANCES} utterances each "
                           "(size flags given as well still apply)")
    size.add_argument("--train-speakers", type=int, default=None, metavar="N",
                      help=f"speakers in TRAIN [default: {_DEFAULT.train_speakers}]")
    size.add_argument("--dev-speakers", type=int, default=None, metavar="N",
                      help=f"speakers in TEST listed in dev_speakers.txt [default: {_DEFAULT.dev_speakers}]")
    size.add_argument("--core-test-speakers", type=int, default=None, metavar="N",
                      help="speakers in TEST listed in core_test_speakers.txt "
                           f"[default: {_DEFAULT.core_test_speakers}]")
    size.add_argument("--sx-per-speaker", type=int, default=None, metavar="N",
                      help=f"SX utterances per speaker (sentences shared by several speakers) "
                           f"[default: {_DEFAULT.sx_per_speaker}]")
    size.add_argument("--si-per-speaker", type=int, default=None, metavar="N",
                      help=f"SI utterances per speaker (sentences read once) [default: {_DEFAULT.si_per_speaker}]")
    size.add_argument("--sx-readers", type=int, default=None, metavar="N",
                      help=f"speakers reading each SX sentence [default: {_DEFAULT.sx_readers}]")
    sound = parser.add_argument_group("sound (neither changes the layout or the size)")
    sound.add_argument("--condition", choices=CONDITIONS, default=_DEFAULT.condition,
                       help="standard: close microphones, mild noise, 12 espeak-ng voice variants; hard: "
                            f"{hard_summary().replace('%', '%%')} [default: {_DEFAULT.condition}]")
    sound.add_argument("--train-voices", "--train_voices", type=int, default=None, metavar="N",
                       help="TRAIN's speakers share N voices (voice, pitch, pitch range; each keeps its own rate "
                            "and channel) that no TEST speaker uses, like a small real corpus with few speakers "
                            "[default: every speaker's voice its own]")
    parser.add_argument("--seed", type=int, default=_DEFAULT.seed,
                        help="seed of speakers, sentences and noise; every speaker also reads the two fixed SA "
                             f"sentences, which TIMIT recipes drop [default: {_DEFAULT.seed}]")
    parser.add_argument("--sphere", action="store_true",
                        help="write .WAV files as NIST SPHERE like the LDC original (default: RIFF WAV)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes [default: the number of CPUs, at most 8]; does not change the output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def config_from_args(args: argparse.Namespace) -> CorpusConfig:
    """The :class:`CorpusConfig` the parsed flags ask for."""
    base = _TINY if args.tiny else _DEFAULT
    given = {name: getattr(args, name) for name in _SIZES if getattr(args, name) is not None}
    return dataclasses.replace(base, seed=args.seed, sphere=args.sphere, condition=args.condition,
                               train_voices=args.train_voices, **given)


def main(argv: List[str] | None = None, prog: str | None = None) -> int:
    """Run the generator; returns the process exit status.

    Args:
        argv (list of str or None, optional): arguments without the program name. (Default: ``sys.argv[1:]``)
        prog (str or None, optional): program name for messages. (Default: from ``sys.argv[0]``)
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        start = time.perf_counter()
        summary = generate_corpus(args.out_dir, config, jobs=args.jobs, progress=not args.quiet)
    except (ValueError, RuntimeError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    if not args.quiet:
        what = "already complete, nothing to do" if summary.skipped else \
            f"made in {time.perf_counter() - start:.1f} s"
        parts = ", ".join(f"{k} {summary.utterances[k]} utterances / {summary.seconds[k] / 60:.1f} min"
                          for k in summary.utterances)
        print(f"{summary.root}: {what}; {parts} (SA included); {summary.hours:.2f} h in all", file=sys.stderr)
    return 0
