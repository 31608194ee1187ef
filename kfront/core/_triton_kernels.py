"""Triton kernels of the butterfly op: one forward and one backward kernel, each applying a **chunk** of layers to
tiles of frames held in registers. Launch plans, autograd and the op live in :mod:`kfront.core._triton`.

Tiles. A program holds ``B`` frames of one stack, ``E = 2^(W + R)`` elements of each, as two real planes (real and
imaginary; a real twiddle has one). The chunk's layers use the frame bits of a window ``[A, A + W)``; the tile also
carries the ``R <= A`` lowest bits, so that its elements come in runs of ``2^R`` neighbours in memory. Tile element
``e = j 2^R + lo`` (``j < 2^W``, ``lo < 2^R``) of sub-block group ``sub = hi 2^(A - R) + mid`` is frame position
``p = hi 2^(A + W) + j 2^A + mid 2^R + lo``. With ``A = R = 0`` a tile is ``2^W`` consecutive elements, the whole
frame when ``W = log2 n``. A layer at frame bit ``b`` is a layer at tile bit ``b - A + R``: the tile is reshaped to
``(B, E / 2s, 2, s)``, the pairs' halves split apart, combined with their 2x2 twiddle blocks and joined back. Every
layer of a chunk runs on registers; a chunk loads its tile once and stores it once. The first chunk loads the
frames as the op's contract reads them: entry ``perm[p]`` of the row for position ``p``, zero past the row's ``L``
samples, a zero imaginary plane for a real input.

Twiddles. The real view of the contiguous twiddle, ``(nstacks, nblocks, log2 n, n/2, 2, 2[, 2])``: 8 (or 4 for a
real twiddle) values per pair, ``t00, t01, t10, t11``, each (re, im). A chunk's layers are given as compile-time
tuples: ``LAYERS[t]`` the global layer (``block * log2 n + layer``), ``BITS[t]`` its frame bit.

Backward. A program recomputes its chunk's layers on each tile, keeping every layer's input (the pairs, as a
tuple), then runs the layers backwards. Programs loop over the frames of their sub-block group and keep the twiddle
gradient of every layer in registers across the loop, per frame of the tile, in the layout of the products they sum
(a tuple of ``(B, E / 2s, s)`` tensors per layer: no reduction and no layout change inside the loop); at the end
each program sums them over its tile's frames and adds them to the gradient with one atomic add per entry, so the
reduction across programs needs no host round trip and the atomics scale with the programs, not the frames.

Only ``triton.language`` builtins are called (``tl.reduce``, ``tl.full``, never ``tl.sum`` or ``tl.zeros``): those
helpers are ``@triton.jit`` functions of Triton itself, which an interpreted copy of this module (the CPU path,
see :mod:`kfront.core._triton`) could not call. Compile-time integers are never assigned to names inside kernels:
the interpreter turns every assigned value into a tensor, which cannot serve as a shape. A function returns once,
at its end: Triton's compiler checks every return statement's type, also in a branch a constant rules out.
"""
import triton
import triton.language as tl

# Output modes of the forward kernel's last chunk, and gradient modes of the backward's.
FRAMES, POWER, SEPARATED = 0, 1, 2

# Arguments that follow the batch and the rows' length, which Triton would otherwise specialise on (== 1, divisible
# by 16): they only bound masks and loops, and a training run's every new batch size would compile the kernels
# again (seconds each). Strides stay specialised: a unit element stride is what makes the loads contiguous.
BATCH_SIZES = ("nrows", "length", "k_out", "n_row_tiles", "n_row_progs", "iters")


# tl.sum's own combine function: the interpreter recognises it and sums with NumPy (any other combine function it
# applies element by element, in Python).
_add = tl.standard._sum_combine


@triton.jit
def _position(e, sub, A: tl.constexpr, W: tl.constexpr, R: tl.constexpr):
    # frame position of tile element e (any shape) of sub-block group `sub`
    if A == 0:
        p = (sub << W) | e
    else:
        p = (((sub >> (A - R)) << (A + W)) | ((e >> R) << A) | ((sub & ((1 << (A - R)) - 1)) << R)
             | (e & ((1 << R) - 1)))
    return p


@triton.jit
def _pair_index(sub, E: tl.constexpr, S: tl.constexpr, BIT: tl.constexpr, A: tl.constexpr, W: tl.constexpr,
                R: tl.constexpr):
    # twiddle index of each pair of the tile at frame bit BIT (tile stride S): (E / 2S, S)
    if A == 0:  # the affine form, so that the compiler sees consecutive pairs
        i = (sub << (W - 1)) + tl.arange(0, E // (2 * S))[:, None] * S + tl.arange(0, S)[None, :]
    else:
        p = _position(tl.arange(0, E // (2 * S))[:, None] * (2 * S) + tl.arange(0, S)[None, :], sub, A, W, R)
        i = ((p >> (BIT + 1)) << BIT) | (p & ((1 << BIT) - 1))
    return i


@triton.jit
def _split_pairs(x, B: tl.constexpr, E: tl.constexpr, S: tl.constexpr):
    # (B, E) -> the lower and the upper element of every pair at tile stride S: (B, E / 2S, S) each
    return tl.split(tl.permute(tl.reshape(x, (B, E // (2 * S), 2, S)), (0, 1, 3, 2)))


@triton.jit
def _join_pairs(a, b, B: tl.constexpr, E: tl.constexpr, S: tl.constexpr):
    return tl.reshape(tl.permute(tl.join(a, b), (0, 1, 3, 2)), (B, E))


@triton.jit
def _load_twiddle(tw_ptr, base, idx, CPLX: tl.constexpr):
    # the 2x2 blocks of pairs idx, (1, E / 2S, S) each, broadcast over the tile's frames: t00, t01, t10, t11,
    # each (re, im) when complex
    if CPLX:
        o = base + idx.to(tl.int64) * 8
        t = (tl.load(tw_ptr + o)[None], tl.load(tw_ptr + o + 1)[None], tl.load(tw_ptr + o + 2)[None],
             tl.load(tw_ptr + o + 3)[None], tl.load(tw_ptr + o + 4)[None], tl.load(tw_ptr + o + 5)[None],
             tl.load(tw_ptr + o + 6)[None], tl.load(tw_ptr + o + 7)[None])
    else:
        o = base + idx.to(tl.int64) * 4
        t = (tl.load(tw_ptr + o)[None], tl.load(tw_ptr + o + 1)[None], tl.load(tw_ptr + o + 2)[None],
             tl.load(tw_ptr + o + 3)[None])
    return t


@triton.jit
def _pair_forward(ar, ai, br, bi, t, CPLX: tl.constexpr):
    # (ya, yb) = T (a, b)
    if CPLX:
        t00r, t00i, t01r, t01i, t10r, t10i, t11r, t11i = t
        yar = t00r * ar - t00i * ai + t01r * br - t01i * bi
        yai = t00r * ai + t00i * ar + t01r * bi + t01i * br
        ybr = t10r * ar - t10i * ai + t11r * br - t11i * bi
        ybi = t10r * ai + t10i * ar + t11r * bi + t11i * br
    else:
        t00, t01, t10, t11 = t
        yar = t00 * ar + t01 * br
        ybr = t10 * ar + t11 * br
        yai = yar  # no imaginary plane: never read
        ybi = ybr
    return yar, yai, ybr, ybi


@triton.jit
def _layer(xr, xi, tw_ptr, tw_base, sub, B: tl.constexpr, E: tl.constexpr, BIT: tl.constexpr, A: tl.constexpr,
           W: tl.constexpr, R: tl.constexpr, CPLX: tl.constexpr):
    # one layer on the tile: returns the pairs of its input (for the backward) and its output planes
    ar, br = _split_pairs(xr, B, E, 1 << (BIT - A + R))
    if CPLX:
        ai, bi = _split_pairs(xi, B, E, 1 << (BIT - A + R))
    else:
        ai, bi = ar, br
    t = _load_twiddle(tw_ptr, tw_base, _pair_index(sub, E, 1 << (BIT - A + R), BIT, A, W, R), CPLX)
    yar, yai, ybr, ybi = _pair_forward(ar, ai, br, bi, t, CPLX)
    yr = _join_pairs(yar, ybr, B, E, 1 << (BIT - A + R))
    if CPLX:
        yi = _join_pairs(yai, ybi, B, E, 1 << (BIT - A + R))
    else:
        yi = yr
    return (ar, ai, br, bi), yr, yi


@triton.jit
def _tile_offsets(rows, stack, pos, perm_ptr, s_row, s_stack, s_elem, nrows, length, PERM: tl.constexpr):
    # value offsets (B, E) of tile elements at frame positions pos (E,) of frames rows (B,), and the mask of those
    # that exist: the product's input p is entry perm[p] of the row, and entries past `length` read as zero
    if PERM:
        q = tl.load(perm_ptr + pos)
    else:
        q = pos
    offs = (rows.to(tl.int64)[:, None] * s_row + stack.to(tl.int64) * s_stack) + q.to(tl.int64)[None, :] * s_elem
    return offs, (rows < nrows)[:, None] & (q < length)[None, :]


@triton.jit
def _load_planes(ptr, offs, mask, CPLX: tl.constexpr):
    re = tl.load(ptr + offs, mask=mask, other=0.0)
    if CPLX:
        im = tl.load(ptr + offs + 1, mask=mask, other=0.0)
    else:
        im = tl.full(re.shape, 0.0, re.dtype)
    return re, im


@triton.jit
def _store_planes(ptr, offs, mask, re, im, CPLX: tl.constexpr):
    tl.store(ptr + offs, re, mask=mask)
    if CPLX:
        tl.store(ptr + offs + 1, im, mask=mask)


@triton.jit
def _column(v, e, j):
    # column j of the tile v (B, E): (B,)
    return tl.reduce(tl.where(e[None, :] == j, v, 0.0), 1, _add)


@triton.jit
def _separation(sep_ptr, e, N, nsep):
    # coefficients a_j and b_j, j < N, of the separation (2, N + 1): (E,) each as (re, im), zero from N on; then
    # a_N and b_N, scalars
    m = e < N
    o = e.to(tl.int64) * 2
    return (tl.load(sep_ptr + o, mask=m, other=0.0), tl.load(sep_ptr + o + 1, mask=m, other=0.0),
            tl.load(sep_ptr + 2 * nsep + o, mask=m, other=0.0), tl.load(sep_ptr + 2 * nsep + o + 1, mask=m, other=0.0),
            tl.load(sep_ptr + 2 * N), tl.load(sep_ptr + 2 * N + 1), tl.load(sep_ptr + 2 * nsep + 2 * N),
            tl.load(sep_ptr + 2 * nsep + 2 * N + 1))


@triton.jit
def _separated(yr, yi, e, N, B: tl.constexpr, E: tl.constexpr):
    # u_j = y_(j mod N) and v_j = y_((N - j) mod N) for j < N, (B, E); and y_0, which is both for j = N, (B,)
    rev = tl.broadcast_to(tl.where((e == 0) | (e >= N), 0, N - e)[None, :], (B, E))
    return yr, yi, tl.gather(yr, rev, 1), tl.gather(yi, rev, 1), _column(yr, e, 0), _column(yi, e, 0)


@triton.jit(do_not_specialize=BATCH_SIZES)
def forward_kernel(
        src_ptr, dst_ptr, tw_ptr, perm_ptr, sep_ptr,
        nrows, length, k_out, s_row, s_stack, s_elem, d_row, d_stack, n_sub, n_row_tiles,
        LOG_N: tl.constexpr, NBLOCKS: tl.constexpr, NL: tl.constexpr, LAYERS: tl.constexpr, BITS: tl.constexpr,
        A: tl.constexpr, W: tl.constexpr, R: tl.constexpr, B: tl.constexpr,
        CPLX: tl.constexpr, SRC_CPLX: tl.constexpr, PERM: tl.constexpr, OUT: tl.constexpr):
    """One chunk of layers on a tile of B frames: load (src, with the permutation and the zero padding of rows of
    `length` values), apply the chunk's NL layers, store. OUT: FRAMES writes the tile to dst (contiguous frames of
    the twiddle's dtype, rows d_row and stacks d_stack values apart), POWER the power of outputs s n + p < k_out
    to dst (batch, k_out), SEPARATED the power of the separation (2, k_out) of the first k_out - 1 outputs."""
    pid = tl.program_id(0)
    rt = pid % n_row_tiles
    sub = (pid // n_row_tiles) % n_sub
    stack = pid // (n_row_tiles * n_sub)
    rows = rt * B + tl.arange(0, B)
    e = tl.arange(0, (1 << (W + R)))
    pos = _position(e, sub, A, W, R)
    offs, mask = _tile_offsets(rows, stack, pos, perm_ptr, s_row, s_stack, s_elem, nrows, length, PERM)
    xr, xi = _load_planes(src_ptr, offs, mask, SRC_CPLX)
    tw_stack = stack.to(tl.int64) * NBLOCKS * LOG_N
    for t in tl.static_range(NL):
        _, xr, xi = _layer(xr, xi, tw_ptr, ((tw_stack + LAYERS[t]) << (LOG_N - 1)) * (8 if CPLX else 4), sub, B,
                           1 << (W + R), BITS[t], A, W, R, CPLX)
    if OUT == 0:
        o = rows.to(tl.int64)[:, None] * d_row + stack.to(tl.int64) * d_stack + pos.to(tl.int64)[None, :] * (
            2 if CPLX else 1)
        _store_planes(dst_ptr, o, (rows < nrows)[:, None], xr, xi, CPLX)
    elif OUT == 1:
        col = stack * (1 << LOG_N) + pos
        o = rows.to(tl.int64)[:, None] * k_out + col[None, :]
        tl.store(dst_ptr + o, xr * xr + xi * xi, mask=(rows < nrows)[:, None] & (col < k_out)[None, :])
    else:  # the whole frame of stack 0 is in the tile (A = R = 0, W = log2 n)
        N = k_out - 1
        ur, ui, vr, vi, y0r, y0i = _separated(xr, xi, e, N, B, 1 << (W + R))
        sar, sai, sbr, sbi, anr, ani, bnr, bni = _separation(sep_ptr, e, N, k_out)
        pr = sar[None] * ur - sai[None] * ui + sbr[None] * vr + sbi[None] * vi
        pi = sar[None] * ui + sai[None] * ur + sbi[None] * vr - sbr[None] * vi
        o = rows.to(tl.int64)[:, None] * k_out + e[None, :]
        tl.store(dst_ptr + o, pr * pr + pi * pi, mask=(rows < nrows)[:, None] & (e < N)[None, :])
        qr = anr * y0r - ani * y0i + bnr * y0r + bni * y0i  # X_N = a_N y_0 + b_N conj(y_0)
        qi = anr * y0i + ani * y0r + bni * y0r - bnr * y0i
        tl.store(dst_ptr + rows.to(tl.int64) * k_out + N, qr * qr + qi * qi, mask=rows < nrows)


@triton.jit
def _zero_sums(B: tl.constexpr, E: tl.constexpr, S: tl.constexpr, dtype: tl.constexpr, CPLX: tl.constexpr):
    # twiddle-gradient sums of one layer, per frame of the tile: (B, E / 2S, S) per value of the pair's block
    z = (tl.full((B, E // (2 * S), S), 0.0, dtype), tl.full((B, E // (2 * S), S), 0.0, dtype),
         tl.full((B, E // (2 * S), S), 0.0, dtype), tl.full((B, E // (2 * S), S), 0.0, dtype))
    if CPLX:
        z = z + z
    return z


@triton.jit
def _add_sums(a, b, CPLX: tl.constexpr):
    s = (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])
    if CPLX:
        s = s + (a[4] + b[4], a[5] + b[5], a[6] + b[6], a[7] + b[7])
    return s


@triton.jit
def _layer_backward(pairs, gr, gi, tw_ptr, tw_base, sub, B: tl.constexpr, E: tl.constexpr, BIT: tl.constexpr,
                    A: tl.constexpr, W: tl.constexpr, R: tl.constexpr, CPLX: tl.constexpr, DIN: tl.constexpr):
    # Backward of one layer whose input pairs were `pairs`, given the gradient of its output: the twiddle gradient
    # of each of the tile's frames (PyTorch's convention: d t[r][c] = g_r conj(in_c)) and, with DIN, the gradient
    # of its input (d in = conj(T)^T g); without DIN the output's gradient is returned unchanged.
    ar, ai, br, bi = pairs
    gar, gbr = _split_pairs(gr, B, E, 1 << (BIT - A + R))
    if CPLX:
        gai, gbi = _split_pairs(gi, B, E, 1 << (BIT - A + R))
        sums = (gar * ar + gai * ai, gai * ar - gar * ai, gar * br + gai * bi, gai * br - gar * bi,
                gbr * ar + gbi * ai, gbi * ar - gbr * ai, gbr * br + gbi * bi, gbi * br - gbr * bi)
    else:
        sums = (gar * ar, gar * br, gbr * ar, gbr * br)
    if DIN:
        t = _load_twiddle(tw_ptr, tw_base, _pair_index(sub, E, 1 << (BIT - A + R), BIT, A, W, R), CPLX)
        if CPLX:
            t00r, t00i, t01r, t01i, t10r, t10i, t11r, t11i = t
            dar = t00r * gar + t00i * gai + t10r * gbr + t10i * gbi
            dai = t00r * gai - t00i * gar + t10r * gbi - t10i * gbr
            dbr = t01r * gar + t01i * gai + t11r * gbr + t11i * gbi
            dbi = t01r * gai - t01i * gar + t11r * gbi - t11i * gbr
            gi = _join_pairs(dai, dbi, B, E, 1 << (BIT - A + R))
        else:
            t00, t01, t10, t11 = t
            dar = t00 * gar + t10 * gbr
            dbr = t01 * gar + t11 * gbr
        gr = _join_pairs(dar, dbr, B, E, 1 << (BIT - A + R))
    return sums, gr, gi


@triton.jit
def _add_twiddle_grad(dtw_ptr, base, idx, sums, CPLX: tl.constexpr):
    # the program's sums, (B, E / 2S, S) each, summed over its frames and added to the gradient
    o = base + idx.to(tl.int64) * (8 if CPLX else 4)
    for c in tl.static_range(8 if CPLX else 4):
        tl.atomic_add(dtw_ptr + o + c, tl.reduce(sums[c], 0, _add))


@triton.jit
def _separated_grad(g_ptr, sep_ptr, rows, nrows, k_out, yr, yi, e, sacc, B: tl.constexpr, E: tl.constexpr):
    # The gradient of the outputs y (B, E) from that of the separated power, gp (batch, N + 1), and the
    # separation's gradient added to sacc (a and b: (E,) per part for j < N, then (1,) per part for j = N). With
    # G = 2 X gp: d u += conj(a) G, d v += b conj(G), d a += conj(u) G, d b += v G.
    N = k_out - 1
    ur, ui, vr, vi, y0r, y0i = _separated(yr, yi, e, N, B, E)
    ar, ai, br, bi, anr, ani, bnr, bni = _separation(sep_ptr, e, N, k_out)
    ar, ai, br, bi = ar[None], ai[None], br[None], bi[None]
    gp = tl.load(g_ptr + rows.to(tl.int64)[:, None] * k_out + e[None, :],
                 mask=(rows < nrows)[:, None] & (e < N)[None, :], other=0.0)
    gpn = tl.load(g_ptr + rows.to(tl.int64) * k_out + N, mask=rows < nrows, other=0.0)
    gr = 2 * gp * (ar * ur - ai * ui + br * vr + bi * vi)
    gi = 2 * gp * (ar * ui + ai * ur + bi * vr - br * vi)
    gnr = 2 * gpn * (anr * y0r - ani * y0i + bnr * y0r + bni * y0i)
    gni = 2 * gpn * (anr * y0i + ani * y0r + bni * y0r - bnr * y0i)
    rev = tl.broadcast_to(tl.where((e == 0) | (e >= N), 0, N - e)[None, :], (B, E))
    wr = br * gr + bi * gi  # b conj(G), to be read at (N - m) mod N
    wi = bi * gr - br * gi
    first = (e == 0)[None, :]
    dyr = ar * gr + ai * gi + tl.where((e < N)[None, :], tl.gather(wr, rev, 1), 0.0) + tl.where(
        first, (anr * gnr + ani * gni + bnr * gnr + bni * gni)[:, None], 0.0)
    dyi = ar * gi - ai * gr + tl.where((e < N)[None, :], tl.gather(wi, rev, 1), 0.0) + tl.where(
        first, (anr * gni - ani * gnr + bni * gnr - bnr * gni)[:, None], 0.0)
    sacc = (sacc[0] + tl.reduce(ur * gr + ui * gi, 0, _add), sacc[1] + tl.reduce(ur * gi - ui * gr, 0, _add),
            sacc[2] + tl.reduce(vr * gr - vi * gi, 0, _add), sacc[3] + tl.reduce(vr * gi + vi * gr, 0, _add),
            sacc[4] + tl.reduce(y0r * gnr + y0i * gni, 0, _add), sacc[5] + tl.reduce(y0r * gni - y0i * gnr, 0, _add),
            sacc[6] + tl.reduce(y0r * gnr - y0i * gni, 0, _add), sacc[7] + tl.reduce(y0r * gni + y0i * gnr, 0, _add))
    return dyr, dyi, sacc


@triton.jit(do_not_specialize=BATCH_SIZES)
def backward_kernel(
        src_ptr, g_ptr, dst_ptr, tw_ptr, dtw_ptr, perm_ptr, sep_ptr, dsep_ptr,
        nrows, length, k_out, s_row, s_stack, s_elem, g_row, g_stack, d_row, d_stack, d_elem,
        n_sub, n_row_progs, iters,
        LOG_N: tl.constexpr, NBLOCKS: tl.constexpr, NL: tl.constexpr, LAYERS: tl.constexpr, BITS: tl.constexpr,
        A: tl.constexpr, W: tl.constexpr, R: tl.constexpr, B: tl.constexpr,
        CPLX: tl.constexpr, SRC_CPLX: tl.constexpr, PERM: tl.constexpr, GRAD: tl.constexpr,
        INPUT_GRAD: tl.constexpr):
    """Backward of one chunk: each program loops over `iters` tiles of B frames (every n_row_progs-th) of one
    sub-block group of one stack, recomputes the chunk's layers from its input (src, read as the forward reads
    it), takes the output's gradient (GRAD: FRAMES reads it from g, contiguous frames g_row and g_stack values
    apart; POWER and SEPARATED make it from the power's gradient g (batch, k_out)), runs the layers backwards,
    stores the input's gradient to dst (as src is laid out: d_* strides, the permutation, `length`) unless not
    INPUT_GRAD, and adds its twiddle-gradient sums to dtw (and the separation's to dsep) atomically at the end."""
    pid = tl.program_id(0)
    prog = pid % n_row_progs
    sub = (pid // n_row_progs) % n_sub
    stack = pid // (n_row_progs * n_sub)
    e = tl.arange(0, (1 << (W + R)))
    pos = _position(e, sub, A, W, R)
    tw_stack = stack.to(tl.int64) * NBLOCKS * LOG_N
    sums = ()
    for t in tl.static_range(NL):
        sums = sums + (_zero_sums(B, 1 << (W + R), 1 << (BITS[t] - A + R), tw_ptr.dtype.element_ty, CPLX),)
    if GRAD == 2:
        sacc = (tl.full(e.shape, 0.0, tw_ptr.dtype.element_ty), tl.full(e.shape, 0.0, tw_ptr.dtype.element_ty),
                tl.full(e.shape, 0.0, tw_ptr.dtype.element_ty), tl.full(e.shape, 0.0, tw_ptr.dtype.element_ty),
                tl.full((1,), 0.0, tw_ptr.dtype.element_ty), tl.full((1,), 0.0, tw_ptr.dtype.element_ty),
                tl.full((1,), 0.0, tw_ptr.dtype.element_ty), tl.full((1,), 0.0, tw_ptr.dtype.element_ty))
    else:
        sacc = ()
    for i in range(0, iters):
        rows = (prog + i * n_row_progs) * B + tl.arange(0, B)
        offs, mask = _tile_offsets(rows, stack, pos, perm_ptr, s_row, s_stack, s_elem, nrows, length, PERM)
        xr, xi = _load_planes(src_ptr, offs, mask, SRC_CPLX)
        saved = ()
        for t in tl.static_range(NL):
            pairs, xr, xi = _layer(xr, xi, tw_ptr, ((tw_stack + LAYERS[t]) << (LOG_N - 1)) * (8 if CPLX else 4),
                                   sub, B, 1 << (W + R), BITS[t], A, W, R, CPLX)
            saved = saved + (pairs,)
        if GRAD == 0:
            go = rows.to(tl.int64)[:, None] * g_row + stack.to(tl.int64) * g_stack + pos.to(tl.int64)[None, :] * (
                2 if CPLX else 1)
            gr, gi = _load_planes(g_ptr, go, (rows < nrows)[:, None], CPLX)
        elif GRAD == 1:  # d |y|^2 = 2 y gp for the outputs s n + p < k_out, zero beyond
            col = stack * (1 << LOG_N) + pos
            gp = tl.load(g_ptr + rows.to(tl.int64)[:, None] * k_out + col[None, :],
                         mask=(rows < nrows)[:, None] & (col < k_out)[None, :], other=0.0)
            gr = 2 * gp * xr
            gi = 2 * gp * xi
        else:
            gr, gi, sacc = _separated_grad(g_ptr, sep_ptr, rows, nrows, k_out, xr, xi, e, sacc, B, 1 << (W + R))
        new_sums = ()
        for u in tl.static_range(NL):
            s, gr, gi = _layer_backward(saved[NL - 1 - u], gr, gi, tw_ptr,
                                        ((tw_stack + LAYERS[NL - 1 - u]) << (LOG_N - 1)) * (8 if CPLX else 4), sub,
                                        B, 1 << (W + R), BITS[NL - 1 - u], A, W, R, CPLX,
                                        (u < NL - 1) | INPUT_GRAD)
            new_sums = (_add_sums(sums[NL - 1 - u], s, CPLX),) + new_sums
        sums = new_sums
        if INPUT_GRAD:
            doffs, dmask = _tile_offsets(rows, stack, pos, perm_ptr, d_row, d_stack, d_elem, nrows, length, PERM)
            _store_planes(dst_ptr, doffs, dmask, gr, gi, SRC_CPLX)
    for t in tl.static_range(NL):
        _add_twiddle_grad(dtw_ptr, ((tw_stack + LAYERS[t]) << (LOG_N - 1)) * (8 if CPLX else 4),
                          _pair_index(sub, 1 << (W + R), 1 << (BITS[t] - A + R), BITS[t], A, W, R), sums[t], CPLX)
    if GRAD == 2:
        N = k_out - 1
        m = e < N
        tl.atomic_add(dsep_ptr + 2 * e, sacc[0], mask=m)
        tl.atomic_add(dsep_ptr + 2 * e + 1, sacc[1], mask=m)
        tl.atomic_add(dsep_ptr + 2 * k_out + 2 * e, sacc[2], mask=m)
        tl.atomic_add(dsep_ptr + 2 * k_out + 2 * e + 1, sacc[3], mask=m)
        one = tl.arange(0, 1)
        tl.atomic_add(dsep_ptr + 2 * N + one, sacc[4])
        tl.atomic_add(dsep_ptr + 2 * N + 1 + one, sacc[5])
        tl.atomic_add(dsep_ptr + 2 * k_out + 2 * N + one, sacc[6])
        tl.atomic_add(dsep_ptr + 2 * k_out + 2 * N + 1 + one, sacc[7])
