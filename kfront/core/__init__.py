"""The butterfly / K-matrix core: the op, its reference, named initialisations and modules."""
from . import constructions
from ._backend import backend, backend_reason
from ._reference import butterfly_multiply_reference
from .bluestein import bluestein_size, bluestein_twiddle, check_dft_size, dft_construction
from .butterfly import Butterfly
from .kmatrix import KMatrix
from .multiply import butterfly_multiply
from .permutation import bitreversal_permutation, invert_permutation, is_power_of_2, next_power_of_2
from .power import butterfly_multiply_power, head_power, separate
from .twiddles import fft_twiddle, identity_twiddle, ortho_twiddle, randn_twiddle

__all__ = [
    "Butterfly", "KMatrix", "backend", "backend_reason", "bitreversal_permutation", "bluestein_size",
    "bluestein_twiddle", "butterfly_multiply", "butterfly_multiply_power", "butterfly_multiply_reference",
    "check_dft_size", "constructions", "dft_construction", "fft_twiddle", "head_power", "identity_twiddle",
    "invert_permutation", "is_power_of_2", "next_power_of_2", "ortho_twiddle", "randn_twiddle", "separate",
]
