"""Sentences for the built-in corpus, composed from a small grammar and word list shipped with the package.

The grammar (``resources/grammar.txt``) and the word classes (``resources/words.txt``) were written for this
project, so the sentences can be shipped and changed freely; they are not TIMIT's prompts. Composition is
driven by a ``random.Random`` seeded by the caller, so a seed always gives the same sentences.
"""

import random
import re
from functools import lru_cache
from importlib import resources
from typing import Dict, List, Tuple

__all__ = ["Grammar", "load_grammar", "dialect_sentences", "words_of"]

_VOWEL_SOUND_EXCEPTIONS = {"honest"}  # written with a consonant, spoken with a vowel: "an honest ..."


def _read_resource(name: str) -> str:
    return resources.files("kfront.synth").joinpath("resources", name).read_text(encoding="utf-8")


def _parse_words(text: str) -> Dict[str, List[str]]:
    classes: Dict[str, List[str]] = {}
    current = None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"\[([A-Z_]+)\]", line)
        if match:
            current = classes.setdefault(match.group(1), [])
        elif current is None:
            raise ValueError(f"words.txt line {lineno}: words before any [CLASS] header: {line!r}")
        else:
            current.extend(line.split())
    return classes


def _parse_rules(text: str) -> Tuple[Dict[str, List[List[str]]], List[str]]:
    rules: Dict[str, List[List[str]]] = {}
    dialect: List[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "->" not in line:
            raise ValueError(f"grammar.txt line {lineno}: expected 'NAME -> ...', got {line!r}")
        name, body = (part.strip() for part in line.split("->", 1))
        if name == "SA":
            dialect.append(body)
        else:
            rules.setdefault(name, []).extend(alt.split() for alt in body.split("|"))
    return rules, dialect


def _join(tokens: List[str]) -> str:
    """Tokens to a written sentence: 'a' before a vowel becomes 'an', punctuation attaches, first letter up."""
    out: List[str] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "a" and (nxt[:1] in tuple("aeiou") or nxt in _VOWEL_SOUND_EXCEPTIONS):
            tok = "an"
        if tok in {".", ",", "?", "!"} and out:
            out[-1] += tok
        else:
            out.append(tok)
    sentence = " ".join(out)
    return sentence[:1].upper() + sentence[1:]


def words_of(sentence: str) -> List[str]:
    """The words of a written sentence, lower-case, without punctuation (as TIMIT's ``.WRD`` files spell them)."""
    return re.findall(r"[a-z']+", sentence.lower())


class Grammar:
    """A context-free grammar over word classes.

    Args:
        rules (dict): rule name -> list of alternatives, each a list of symbols. A symbol that names a rule or a
            word class is expanded; any other symbol is written as it stands.
        classes (dict): word-class name -> list of words (a repeated word is proportionally more likely).
        start (str, optional): the rule generation starts from. (Default: ``"S"``)
    """

    def __init__(self, rules: Dict[str, List[List[str]]], classes: Dict[str, List[str]], start: str = "S"):
        if start not in rules:
            raise ValueError(f"start rule {start!r} is not defined; rules are {sorted(rules)}")
        for name in set(rules) & set(classes):
            raise ValueError(f"{name!r} is both a rule and a word class")
        for name, alternatives in rules.items():
            for alt in alternatives:
                if not alt:
                    raise ValueError(f"rule {name!r} has an empty alternative")
                for sym in alt:
                    if sym.isupper() and len(sym) > 1 and sym not in rules and sym not in classes:
                        raise ValueError(f"rule {name!r} uses {sym!r}, which is neither a rule nor a word class")
        self.rules, self.classes, self.start = rules, classes, start

    def _expand(self, symbol: str, rng: random.Random, depth: int) -> List[str]:
        if depth > 20:
            raise ValueError(f"grammar recursion deeper than 20 while expanding {symbol!r}")
        if symbol in self.classes:
            return [rng.choice(self.classes[symbol])]
        if symbol in self.rules:
            out: List[str] = []
            for sym in rng.choice(self.rules[symbol]):
                out.extend(self._expand(sym, rng, depth + 1))
            return out
        return [symbol]

    def sentence(self, rng: random.Random) -> str:
        """One sentence, capitalised and punctuated.

        Args:
            rng (random.Random): the source of choices; the same state gives the same sentence.
        """
        return _join(self._expand(self.start, rng, 0))

    def sentences(self, n: int, rng: random.Random, exclude=()) -> List[str]:
        """``n`` distinct sentences, none of them in ``exclude``.

        Args:
            n (int): how many.
            rng (random.Random): the source of choices.
            exclude (iterable of str, optional): sentences not to return (e.g. those used elsewhere).
        """
        seen = set(exclude)
        out: List[str] = []
        for _ in range(100 * n + 100):
            if len(out) == n:
                break
            s = self.sentence(rng)
            if s not in seen:
                seen.add(s)
                out.append(s)
        if len(out) < n:
            raise ValueError(f"the grammar produced only {len(out)} distinct sentences of the {n} asked for")
        return out


@lru_cache(maxsize=None)
def _load() -> Tuple[Grammar, Tuple[str, ...]]:
    rules, dialect = _parse_rules(_read_resource("grammar.txt"))
    return Grammar(rules, _parse_words(_read_resource("words.txt"))), tuple(dialect)


def load_grammar() -> Grammar:
    """The package's sentence grammar (``resources/grammar.txt`` over ``resources/words.txt``)."""
    return _load()[0]


def dialect_sentences() -> Tuple[str, str]:
    """The two sentences every speaker reads, in the order of their ids ``SA1``, ``SA2``."""
    dialect = _load()[1]
    if len(dialect) != 2:
        raise ValueError(f"grammar.txt must define exactly two SA sentences, found {len(dialect)}")
    return dialect[0], dialect[1]
