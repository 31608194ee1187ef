"""A synthesised speech corpus in TIMIT's layout, so that the TIMIT recipe runs without TIMIT.

espeak-ng speaks sentences composed from the package's own grammar; its phoneme events give the ``.PHN`` and
``.WRD`` boundaries, mapped to TIMIT's 61 phones. Example::

    from kfront.corpus import CorpusConfig, generate_corpus
    summary = generate_corpus("data/mini_timit", CorpusConfig(seed=0))
"""

from .generate import MANIFEST_NAME, SAMPLE_RATE, CorpusSummary, generate_corpus, render_utterance
from .phones import espeak_to_timit_table, timit_phones, to_timit
from .plan import CorpusConfig, CorpusPlan, Utterance, plan_corpus
from .text import load_grammar

__all__ = [
    "CorpusConfig",
    "CorpusPlan",
    "CorpusSummary",
    "MANIFEST_NAME",
    "SAMPLE_RATE",
    "Utterance",
    "espeak_to_timit_table",
    "generate_corpus",
    "load_grammar",
    "plan_corpus",
    "render_utterance",
    "timit_phones",
    "to_timit",
]
