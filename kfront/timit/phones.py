"""TIMIT phone sets and the 61 -> 48 -> 39 folding (Lee & Hon, 1989)."""
from __future__ import annotations

import functools
from importlib import resources
from typing import Dict, Iterable, List, Tuple

__all__ = ["PhoneMap", "load_phone_map", "UnknownPhoneError"]


class UnknownPhoneError(ValueError):
    """A phone symbol outside the set it was expected to belong to."""


class PhoneMap:
    """The TIMIT phone sets and the maps between them.

    Args:
        rows (iterable of tuple): ``(phone61, phone48 or None, phone39 or None)``; ``None`` means the phone is
            removed (TIMIT's ``q``).

    Attributes:
        phones61, phones48, phones39 (list of str): each set, sorted.
    """

    def __init__(self, rows: Iterable[Tuple[str, str | None, str | None]]):
        self._to48: Dict[str, str | None] = {}
        self._to39: Dict[str, str | None] = {}
        for p61, p48, p39 in rows:
            self._to48[p61] = p48
            self._to39[p61] = p39
        self.phones61: List[str] = sorted(self._to48)
        self.phones48: List[str] = sorted({p for p in self._to48.values() if p})
        self.phones39: List[str] = sorted({p for p in self._to39.values() if p})
        # 48 -> 39 is a function of the 61 -> 48 -> 39 table; decoded 48-phone outputs are scored through it.
        self._48to39: Dict[str, str] = {}
        for p61, p48 in self._to48.items():
            if p48 is not None:
                self._48to39[p48] = self._to39[p61]

    def fold(self, phones: Iterable[str], target: int, source: int = 61) -> List[str]:
        """Map a phone sequence to a smaller set, dropping removed phones (``q``).

        Args:
            phones (iterable of str): the sequence, in the ``source`` set.
            target (int): 61, 48 or 39.
            source (int, optional): 61 or 48. (Default: ``61``)

        Returns:
            list of str: the folded sequence.

        Raises:
            UnknownPhoneError: a phone is not in the ``source`` set.
        """
        if (source, target) not in {(61, 61), (61, 48), (61, 39), (48, 48), (48, 39), (39, 39)}:
            raise ValueError(f"cannot fold phones from a {source}-phone set to a {target}-phone set")
        if source == 61:
            table = {61: {p: p for p in self.phones61}, 48: self._to48, 39: self._to39}[target]
        elif source == 48:
            table = {48: {p: p for p in self.phones48}, 39: self._48to39}[target]
        else:
            table = {p: p for p in self.phones39}
        out = []
        for p in phones:
            if p not in table:
                raise UnknownPhoneError(f"phone {p!r} is not in the {source}-phone TIMIT set")
            if table[p] is not None:
                out.append(table[p])
        return out

    def __repr__(self) -> str:
        return (f"PhoneMap({len(self.phones61)} -> {len(self.phones48)} -> {len(self.phones39)} phones, "
                f"removed: {sorted(p for p, v in self._to48.items() if v is None)})")


def parse_phone_map(text: str) -> PhoneMap:
    """Parse the tab-separated ``phone61  phone48  phone39`` table; a line with one column removes that phone."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) == 1:
            rows.append((cols[0], None, None))
        elif len(cols) == 3:
            rows.append((cols[0], cols[1], cols[2]))
        else:
            raise ValueError(f"phone map line {n} has {len(cols)} columns, expected 1 or 3: {line!r}")
    return PhoneMap(rows)


@functools.lru_cache(maxsize=None)
def load_phone_map() -> PhoneMap:
    """The packaged 61 -> 48 -> 39 map (``kfront/timit/lists/phones.61-48-39.tsv``)."""
    text = resources.files("kfront.timit").joinpath("lists/phones.61-48-39.tsv").read_text()
    return parse_phone_map(text)
