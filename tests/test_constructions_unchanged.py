"""The named initialisations build the same twiddles, permutations and outputs as before they moved to
:mod:`kfront.core.constructions`: SHA-256 digests over every layout of a small grid (``tests/_init_states.py``),
recorded from the former code, must match bitwise."""
import hashlib
import json
import math
import re
from pathlib import Path

import pytest
import torch

import _init_states

GOLDEN = Path(__file__).resolve().parent / "data" / "init_states_sha256.json"


def platform_digests() -> dict:
    """Digests of the primitives the inits round through (trigonometry, the seeded generator, QR): the golden
    digests hold only where these agree with the platform that recorded them."""
    angles = 2 * math.pi * torch.arange(1024, dtype=torch.float64) / 1024
    g = torch.Generator().manual_seed(0)
    tensors = {"polar": torch.polar(torch.ones_like(angles), angles),
               "randn64": torch.randn(64, 2, 2, dtype=torch.float64, generator=g),
               "qr": torch.linalg.qr(torch.randn(16, 2, 2, dtype=torch.complex128, generator=g))[0]}
    return {k: _init_states.digest({"t": v}) for k, v in tensors.items()}


def test_every_init_is_unchanged():
    golden = json.loads(GOLDEN.read_text())
    if platform_digests() != golden["platform"]:
        pytest.skip("this platform rounds trigonometry, the generator or QR differently from the one that recorded "
                    "the digests; run `python tests/_init_states.py` on two versions to compare them here")
    now = group_digests()
    assert now.keys() == golden["groups"].keys()
    differ = sorted(name for name in now if now[name] != golden["groups"][name])
    assert not differ, f"differ: {differ}; `python tests/_init_states.py` compares layout by layout"


def group_digests() -> dict:
    """One digest per module class, init and dtype, over the layouts of the small grid in their order: their twiddles,
    permutations and where those act, or that the layout is refused (the outputs follow from these through the op,
    whichever backend runs it; the messages may be reworded)."""
    groups = {}
    for name, state in _init_states.states("small", outputs=False).items():
        state = {"refused": True} if "error" in state else state
        key = re.match(r"(\w+)\(", name)[1] + " " + re.search(r"init=(\w+)", name)[1] + " " + \
            re.search(r"dtype=torch\.(\w+)", name)[1]
        groups.setdefault(key, hashlib.sha256()).update((name + _init_states.digest(state)).encode())
    return {key: h.hexdigest() for key, h in groups.items()}


if __name__ == "__main__":  # records the digests (run on the version to compare against)
    groups = group_digests()
    GOLDEN.write_text(json.dumps({"platform": platform_digests(), "groups": groups}, indent=1, sort_keys=True) + "\n")
    print(f"{len(groups)} groups -> {GOLDEN}")
