"""The skip mark of the tests that synthesise speech with espeak-ng (the built-in corpus's synthesiser)."""
import pytest

from kfront.synth import _espeak


def espeak_missing() -> str:
    """Why espeak-ng cannot be loaded, or ``""`` when it can."""
    try:
        _espeak.library_version()
    except RuntimeError as err:
        return str(err)
    return ""


needs_espeak = pytest.mark.skipif(bool(espeak_missing()), reason=espeak_missing() or "espeak-ng present")
