"""TIMIT phone sets and the 61 -> 48 -> 39 folding."""
import pytest

from kfront.timit import UnknownPhoneError, load_phone_map


def test_set_sizes():
    pm = load_phone_map()
    assert (len(pm.phones61), len(pm.phones48), len(pm.phones39)) == (61, 48, 39)


def test_folding():
    pm = load_phone_map()
    seq = "h# q ix dcl d ax-h pcl p epi pau h#".split()
    assert pm.fold(seq, 61) == seq  # the 61-phone set is the full set, q included
    assert pm.fold(seq, 48) == "sil ix vcl d ax cl p epi sil sil".split()
    assert pm.fold(seq, 39) == "sil ih sil d ah sil p sil sil sil".split()
    # 48 -> 39 agrees with 61 -> 39 for every phone
    for p in pm.phones61:
        assert pm.fold(pm.fold([p], 48), 39, source=48) == pm.fold([p], 39)


def test_q_is_removed():
    pm = load_phone_map()
    assert pm.fold(["q"], 48) == [] and pm.fold(["q"], 39) == []


def test_unknown_phone():
    with pytest.raises(UnknownPhoneError, match="'xx'"):
        load_phone_map().fold(["aa", "xx"], 39)
    with pytest.raises(ValueError, match="cannot fold"):
        load_phone_map().fold(["aa"], 61, source=39)
