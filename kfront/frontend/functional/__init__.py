"""Stateless pieces of the front-end pipelines: framing, windows, mel filterbanks, log, DCT and the rest.

Every function takes all its parameters (as ``torchaudio.functional`` does) and builds its constants in float64
before casting, so a float64 front-end is exact to float64 rounding. ``framing``: padding, frames, DC removal,
pre-emphasis, log energy; ``windows``: analysis windows; ``mel``: mel scales and filterbanks; ``features``: log
compression, dynamic-range floor, DCT, lifter, deltas, context.
"""
from .features import (LOG_SCALES, compress, context_window, create_dct, deltas, floor_dynamic_range, lifter_coefficients,
                       log_mel, power_to_features)
from .framing import (FLT_EPSILON, center_pad, count_frames, frame, kaldi_mirror_pad, log_energy, num_frames, preemphasis,
                      preemphasized_frames, remove_dc_offset)
from .mel import (MEL_SCALES, fft_frequencies, filterbank_from_edges, hz_to_mel, mel_filterbank, mel_points, mel_to_hz,
                  symmetric_filterbank, triangular_filterbank)
from .windows import WINDOWS, make_window, pad_window

__all__ = [
    "FLT_EPSILON", "LOG_SCALES", "MEL_SCALES", "WINDOWS", "center_pad", "compress", "context_window", "count_frames",
    "create_dct", "deltas", "fft_frequencies", "filterbank_from_edges", "floor_dynamic_range", "frame",
    "hz_to_mel", "kaldi_mirror_pad", "lifter_coefficients", "log_energy", "log_mel", "make_window", "mel_filterbank",
    "mel_points", "mel_to_hz", "num_frames", "pad_window", "power_to_features", "preemphasis", "preemphasized_frames",
    "remove_dc_offset",
    "symmetric_filterbank", "triangular_filterbank",
]
