"""Launch plans of the Triton butterfly kernels: which layers each launch applies, on which tiles. Pure Python
(no Triton), so that plans are tested without it.

A butterfly block applies ``log2 n`` layers at frame bits ``0 .. log2 n - 1`` (increasing strides) or the reverse;
``nblocks`` blocks alternate. Consecutive layers whose bits lie in one window of ``w`` bits only mix elements that
agree outside the window, so one launch (a **chunk**) can apply them to independent tiles of ``2^w`` elements (times
``2^r`` neighbours that ride along for wide memory accesses). The forward takes all layers in one chunk when the
frame fits one tile (n <= 2^12 by default); the backward also bounds what a program keeps in registers (every
layer's input and its twiddle-gradient sums), so large n or many blocks split it into chunks whose inputs the
forward first writes to a workspace. The CUDA kernels split the same way
(``csrc/cuda/README.md``).

Knobs (read at every call, for tuning on a GPU and for tests; the defaults keep every kernel free of register
spills when compiled for sm_90, ``tests/test_triton_compile.py``): ``KFRONT_TRITON_WINDOW_LOG2`` (forward window,
default 12), ``KFRONT_TRITON_TILE`` (forward elements per tile, frames x window, default 4096),
``KFRONT_TRITON_BW_WINDOW_LOG2`` (largest backward window, default 10), ``KFRONT_TRITON_BW_VALUES`` (what a
backward program keeps in registers, each layer's input and its twiddle-gradient sums for every frame of its tile;
default 16384 values: the window is the widest whose block of layers one frame fits), ``KFRONT_TRITON_BW_PROGRAMS``
(backward programs per multiprocessor, default 4), ``KFRONT_TRITON_WARPS`` (forward warps per program; default
by tile size), ``KFRONT_TRITON_BW_WARPS`` (backward warps; default by what a program keeps).
"""
import dataclasses
import math
import os

# Frame bits a windowed chunk (one that cannot start at bit 0) carries along below its window, so that each
# element of the window is a run of 4 neighbours in memory (32 bytes of complex64).
RIDE_ALONG_LOG2 = 2


def knob(name: str, default: int, low: int = 0) -> int:
    """An integer knob from the environment; ValueError naming it when it is not an integer >= low."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {text!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Consecutive layers of one launch: global layers ``block * log2 n + layer`` and their frame bits, which lie in
    the window ``[a, a + w)``; tiles of ``2^(w + r)`` elements (``r <= a`` bits below the window ride along)."""
    layers: tuple[int, ...]
    bits: tuple[int, ...]
    a: int
    w: int
    r: int

    @property
    def elements(self) -> int:
        return 1 << (self.w + self.r)

    def subblocks(self, log_n: int) -> int:
        """Tiles per frame."""
        return 1 << (log_n - self.w - self.r)

    def whole_frame(self, log_n: int) -> bool:
        """Whether a tile holds whole frames."""
        return self.a == 0 and self.r == 0 and self.w == log_n


def layer_sequence(log_n: int, nblocks: int, increasing_stride: bool) -> list[tuple[int, int]]:
    """(global layer, frame bit) of every layer in the order they are applied."""
    seq = []
    for blk in range(nblocks):
        inc = increasing_stride != (blk % 2 == 1)
        seq += [(blk * log_n + layer, layer if inc else log_n - 1 - layer) for layer in range(log_n)]
    return seq


def _window(bits: list[int], log_n: int, window: int) -> tuple[int, int, int]:
    """(a, w, r) of a chunk whose bits span at most its window: r <= a <= min(bits), max(bits) < a + w <= log2 n,
    and tiles of at most 2^window elements."""
    lo = min(bits)
    r = min(RIDE_ALONG_LOG2, lo, window - 1) if log_n > window else 0
    w = min(window, log_n) - r
    return min(lo, log_n - w), w, r


def plan(log_n: int, nblocks: int, increasing_stride: bool, window: int, max_layers: int | None = None,
         values_per_pair: int = 8, acc: int | None = None) -> list[Chunk]:
    """Chunks covering every layer, in order. Layers are grouped greedily into runs whose bits span at most
    ``window`` bits (``window - RIDE_ALONG_LOG2`` where several windows are needed); with ``acc``, each run is cut
    into near-equal chunks whose twiddle-gradient sums (tile pairs x layers x ``values_per_pair``) fit ``acc``.
    No blocks: one chunk of no layers (the load and store of the identity)."""
    seq = layer_sequence(log_n, nblocks, increasing_stride)
    if not seq:
        w = min(window, log_n)
        return [Chunk((), (), 0, w, 0)]
    span = window if log_n <= window else max(1, window - RIDE_ALONG_LOG2)
    runs, current = [], []
    for g, bit in seq:
        bits = [b for _, b in current] + [bit]
        if current and max(bits) - min(bits) + 1 > span:
            runs.append(current)
            current = []
        current.append((g, bit))
    runs.append(current)
    chunks = []
    for run in runs:
        a, w, r = _window([b for _, b in run], log_n, window)
        per_chunk = len(run)
        if acc is not None:
            per_chunk = max(1, acc // ((1 << (w + r - 1)) * values_per_pair))
        if max_layers is not None:
            per_chunk = min(per_chunk, max_layers)
        pieces = math.ceil(len(run) / per_chunk)
        bounds = [round(i * len(run) / pieces) for i in range(pieces + 1)]
        for lo, hi in zip(bounds, bounds[1:]):
            part = run[lo:hi]
            chunks.append(Chunk(tuple(g for g, _ in part), tuple(b for _, b in part), a, w, r))
    return chunks


def forward_plan(log_n: int, nblocks: int, increasing_stride: bool) -> list[Chunk]:
    return plan(log_n, nblocks, increasing_stride, knob("KFRONT_TRITON_WINDOW_LOG2", 12, 1))


def kept_per_element(complex_twiddle: bool) -> int:
    """Values a backward tile keeps per frame, element and layer: the layer's input (two planes when complex) and
    its twiddle-gradient sums (the pair's 4 or 8 values, per two elements)."""
    return 6 if complex_twiddle else 3


def backward_window(log_n: int, per_element: int, budget: int, cap: int) -> int:
    """The widest window (at most ``cap`` bits) whose block of layers a one-frame tile can keep within ``budget``
    values: ``per_element x w x 2^w``."""
    w = min(cap, log_n)
    while w > 1 and per_element * w * (1 << w) > budget:
        w -= 1
    return w


def backward_plan(log_n: int, nblocks: int, increasing_stride: bool, complex_twiddle: bool) -> list[Chunk]:
    per, budget = kept_per_element(complex_twiddle), knob("KFRONT_TRITON_BW_VALUES", 16384, 1)
    window = backward_window(log_n, per, budget, knob("KFRONT_TRITON_BW_WINDOW_LOG2", 10, 1))
    return plan(log_n, nblocks, increasing_stride, window, values_per_pair=2 * per, acc=budget)


# Triton's interpreter spends its time per operation, not per element: it runs tiles this many times larger than
# the defaults (a knob set in the environment is taken as it is).
INTERPRETER_TILE_SCALE = 32


def tile_rows(elements: int, nrows: int, interpreted: bool = False) -> int:
    """Frames per forward tile, a power of 2 no larger than the batch needs: ``KFRONT_TRITON_TILE`` elements."""
    rows = knob("KFRONT_TRITON_TILE", 4096 * (INTERPRETER_TILE_SCALE if interpreted else 1), 1) // elements
    return _rows(rows, nrows)


def backward_tile_rows(elements: int, layers: int, complex_twiddle: bool, nrows: int,
                       interpreted: bool = False) -> int:
    """Frames per backward tile: what it keeps (``kept_per_element`` x elements x layers per frame) within
    ``KFRONT_TRITON_BW_VALUES``."""
    budget = knob("KFRONT_TRITON_BW_VALUES", 16384 * (INTERPRETER_TILE_SCALE if interpreted else 1), 1)
    return _rows(budget // (kept_per_element(complex_twiddle) * max(1, layers) * elements), nrows)


def _rows(rows: int, nrows: int) -> int:
    rows = 1 << (max(1, rows).bit_length() - 1)
    return max(1, min(rows, 1 << max(0, (nrows - 1).bit_length())))


def warps(tile_elements: int) -> int:
    """Warps of a forward program."""
    default = 2 if tile_elements <= 512 else 4 if tile_elements <= 2048 else 8
    return knob("KFRONT_TRITON_WARPS", default, 1)


def backward_warps(kept_values: int) -> int:
    """Warps of a backward program: enough threads that the layer inputs and the twiddle-gradient sums it keeps
    take about 64 registers per thread, 2 to 8 warps (at 16 warps ptxas caps a thread at 128 registers and the
    default tiles spill; at 8 they compile without spills, ``benchmarks/triton_compile_report.py``)."""
    threads = kept_values // 64
    default = min(8, max(2, 1 << max(0, (threads // 32 - 1).bit_length())))
    return knob("KFRONT_TRITON_BW_WARPS", default, 1)


def backward_programs(multiprocessors: int, row_tiles: int, other_programs: int) -> int:
    """Programs along the frames for the backward: enough to fill the device about BW_PROGRAMS times over,
    no more than there are row tiles."""
    target = multiprocessors * knob("KFRONT_TRITON_BW_PROGRAMS", 4, 1)
    return max(1, min(row_tiles, math.ceil(target / max(1, other_programs))))
