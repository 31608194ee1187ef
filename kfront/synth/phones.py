"""espeak-ng phonemes to TIMIT's 61 phones: the map is ``resources/espeak_to_timit.tsv``, nowhere else.

Decisions, for every voice:

* One espeak-ng phone becomes exactly one TIMIT phone. espeak-ng reports one event per phone, so splitting a phone
  (say an r-coloured vowel into vowel + ``r``) would need a boundary the synthesiser never reported. Where one
  espeak-ng phoneme carries what TIMIT writes as two phones, the map keeps the nucleus and the table says
  ``approximate``.
* Stops and affricates get no closure segment (``bcl dcl gcl pcl tcl kcl`` never occur). espeak-ng emits the
  silence before a stop's release as a pause *before* it reports the stop, and reports nothing where that silence
  starts, so the closure stays at the end of the preceding segment and the stop's segment starts at its release.
  Inventing a closure start would put a boundary where the synthesiser gave none.
* ``h#`` is the silence before the first and after the last phone (espeak-ng's own pauses there and the padding
  added around each utterance); a pause inside the utterance is ``pau``. ``epi`` is not used.
* A phone whose sound espeak-ng folds into its neighbour (its event has the same sample as the next one, typically
  a word-final ``l`` after a vowel) has no samples of its own and is left out of the ``.PHN`` file.
"""

import csv
import io
from functools import lru_cache
from importlib import resources
from typing import Dict, FrozenSet

from ..timit import load_phone_map

__all__ = ["timit_phones", "espeak_to_timit_table", "to_timit", "language_of", "is_pause", "LANGUAGES", "SILENCE",
           "PAUSE"]

#: Voice languages the map has a column for.
LANGUAGES = ("en-us", "en")
#: TIMIT's symbol for the silence at both ends of an utterance.
SILENCE = "h#"
#: TIMIT's symbol for a pause inside an utterance.
PAUSE = "pau"


@lru_cache(maxsize=None)
def timit_phones() -> FrozenSet[str]:
    """TIMIT's 61 phone symbols, as :mod:`kfront.timit`'s phone table has them."""
    phones = frozenset(load_phone_map().phones61)
    if len(phones) != 61:
        raise RuntimeError(f"phones.61-48-39.tsv lists {len(phones)} phones, expected 61")
    return phones


@lru_cache(maxsize=None)
def espeak_to_timit_table() -> Dict[str, Dict[str, str]]:
    """The map as ``{language: {espeak mnemonic: TIMIT phone}}``, checked against TIMIT's 61 symbols."""
    text = resources.files("kfront.synth").joinpath("resources", "espeak_to_timit.tsv").read_text(encoding="utf-8")
    # Only whole-line comments: mnemonics themselves contain '#' (t#, a#).
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))),
                          delimiter="\t", quoting=csv.QUOTE_NONE)
    table: Dict[str, Dict[str, str]] = {lang: {} for lang in LANGUAGES}
    valid = timit_phones()
    for row in rows:
        for lang in LANGUAGES:
            phone = row[lang]
            if phone not in valid or phone == SILENCE:
                raise RuntimeError(f"espeak_to_timit.tsv maps {row['espeak']!r} ({lang}) to {phone!r}, "
                                   "which is not one of TIMIT's 61 phones (h# is only assigned at the ends)")
            table[lang][row["espeak"]] = phone
    return table


def language_of(voice: str) -> str:
    """The language column a voice uses: ``"en-us+m3"`` -> ``"en-us"``.

    Args:
        voice (str): espeak-ng voice name with an optional ``+variant``.
    """
    lang = voice.split("+", 1)[0].lower()
    if lang not in LANGUAGES:
        raise ValueError(f"voice {voice!r}: the phone map covers languages {LANGUAGES}, not {lang!r}")
    return lang


def to_timit(mnemonic: str, language: str) -> str:
    """Map one espeak-ng phoneme mnemonic to a TIMIT phone.

    Args:
        mnemonic (str): the name a PHONEME event reports, e.g. ``"aI"`` or ``"t#"``.
        language (str): ``"en-us"`` or ``"en"``.

    Raises:
        ValueError: the mnemonic is not in the map (add a row to ``espeak_to_timit.tsv``).
    """
    table = espeak_to_timit_table()
    if language not in table:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    try:
        return table[language][mnemonic]
    except KeyError:
        raise ValueError(f"espeak-ng phoneme {mnemonic!r} ({language}) has no TIMIT phone in "
                         "resources/espeak_to_timit.tsv") from None


def is_pause(mnemonic: str) -> bool:
    """Whether an espeak-ng mnemonic is one of its pause phonemes (``_``, ``_:``, ...)."""
    return mnemonic.startswith("_")

