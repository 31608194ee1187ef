"""A synthesised speech corpus in TIMIT's layout, so that the TIMIT recipe runs without TIMIT.

espeak-ng speaks sentences composed from the package's own grammar; its phoneme events give the ``.PHN`` and
``.WRD`` boundaries, mapped to TIMIT's 61 phones. Example::

    from kfront.synth import CorpusConfig, generate_corpus
    summary = generate_corpus("data/mini_timit", CorpusConfig(seed=0))
    generate_corpus("data/mini_timit_hard", CorpusConfig(condition="hard", train_voices=8))

Two conditions (``CorpusConfig.condition``, ``--condition``): ``"standard"``, close microphones with mild noise,
and ``"hard"`` (:mod:`kfront.synth.hard`): every speaker in a room simulated with pyroomacoustics, babble of other
synthetic talkers, a telephone line with mu-law for some speakers, speed perturbation, many more voice variants.
``train_voices`` (``--train-voices``) makes TRAIN's speakers share a few voices that TEST does not have. The
command line is ``python -m kfront.synth --help``. pyroomacoustics (hard condition only) and soundfile are
imported only when they are used.
"""

from .generate import MANIFEST_NAME, SAMPLE_RATE, CorpusSummary, generate_corpus, render_utterance
from .hard import CONDITIONS
from .phones import espeak_to_timit_table, timit_phones, to_timit
from .plan import CorpusConfig, CorpusPlan, PlannedUtterance, plan_corpus
from .text import load_grammar

__all__ = [
    "CONDITIONS",
    "CorpusConfig",
    "CorpusPlan",
    "CorpusSummary",
    "MANIFEST_NAME",
    "PlannedUtterance",
    "SAMPLE_RATE",
    "espeak_to_timit_table",
    "generate_corpus",
    "load_grammar",
    "plan_corpus",
    "render_utterance",
    "timit_phones",
    "to_timit",
]
