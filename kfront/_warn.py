"""Warnings that point at the user's line.

A warning raised deep inside kfront (a fallback decided in the backend, a filterbank checked while a front-end is
built) is reached through a different number of kfront and torch frames from each entry point, so no fixed
``stacklevel`` names the caller. :func:`warn_user` walks out of kfront's and torch's own files (``nn.Module``'s
call machinery, ``torch.compile``'s tracer) and attributes the warning to the first frame outside them.
"""
import os
import sys
import warnings

_KFRONT = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _internal_dirs() -> tuple:
    dirs = [_KFRONT]
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "__file__", None):
        dirs.append(os.path.dirname(os.path.abspath(torch.__file__)) + os.sep)
    return tuple(dirs)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` in the calling function name the first frame outside
    kfront and torch."""
    internal = _internal_dirs()
    frame = sys._getframe(1)  # the function that calls warnings.warn: stacklevel 1
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(internal):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str, category: type = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the user's line (see the module's docstring)."""
    warnings.warn(message, category, stacklevel=user_stacklevel())
