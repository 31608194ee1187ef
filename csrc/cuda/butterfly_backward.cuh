// The backward kernel body of one chunk: the chunk's forward recomputed in shared memory, then its layers
// backpropagated phase by phase, with the twiddle gradient summed per block in shared memory.
//
// Shared memory (units of T; GFm = G * F * mpad):
//   X[p]  p < nphases   the input of phase p for the tile's instances (X[0] is the chunk input)
//   Gbuf                the gradient, updated in place phase by phase from the chunk output back to its input
//   DT    4 * nlayers * G * (m / 2)   twiddle-gradient accumulators, [layer][entry][slot][pair]
// A work item is one (stack, sub-block group) and a share of its frame groups, bi = split, split + nsplit, ...;
// blocks loop over the items. The accumulators live across an item's frame groups, and each entry is added to
// global memory once per item at its end (summed over the block's Gb frame-group slots first).
#pragma once

#include "butterfly_forward.cuh"

namespace kfront {
namespace cuda {

// Backward of one layer: gradients of the layer input (in place in g) and the twiddle-gradient sums over
// the F frames, added to the slot's shared-memory accumulators (each (layer, pair) of a slot belongs to
// exactly one thread, so the read-modify-write needs no atomics).
template <int J, class T, int R, int F>
KF_DEV void backward_layer_j(const T* tw, int kg, int kb, int64_t base, int a, int reff, const int (&lp)[R],
                             const T (&x)[F][R], T (&g)[F][R], T* dt, int dt_stride) {
  KF_UNROLL
  for (int e = 0; e < R; ++e) {
    if ((e >> J & 1) || e >= reff) continue;
    const int e2 = e | (1 << J);
    const int64_t i = pair_index(base | (int64_t(lp[e]) << a), kg);
    T t[4];
    load_twiddle(tw + 4 * i, t);
    T acc[4] = {T{}, T{}, T{}, T{}};
    KF_UNROLL
    for (int f = 0; f < F; ++f) {
      const T x0 = x[f][e], x1 = x[f][e2], g0 = g[f][e], g1 = g[f][e2];
      acc[0] += g0 * kconj(x0);
      acc[1] += g0 * kconj(x1);
      acc[2] += g1 * kconj(x0);
      acc[3] += g1 * kconj(x1);
      g[f][e] = kconj(t[0]) * g0 + kconj(t[2]) * g1;
      g[f][e2] = kconj(t[1]) * g0 + kconj(t[3]) * g1;
    }
    const int il = int(pair_index(lp[e], kb));
    KF_UNROLL
    for (int c = 0; c < 4; ++c) dt[c * dt_stride + il] += acc[c];
  }
}

template <class T, int R, int F>
KF_DEV void backward_layer(const LayerDesc& L, const T* tw_s, int64_t base, int a, int reff,
                           const int (&lp)[R], const T (&x)[F][R], T (&g)[F][R], T* dt, int dt_stride) {
  constexpr int RB = Log2<R>::value;
  const T* tw = tw_s + L.tw_offset;
  const int kg = a + L.bit;
  switch (L.jbit) {
    case 0: backward_layer_j<0>(tw, kg, L.bit, base, a, reff, lp, x, g, dt, dt_stride); break;
    case 1:
      if constexpr (RB > 1) backward_layer_j<1>(tw, kg, L.bit, base, a, reff, lp, x, g, dt, dt_stride);
      break;
    case 2:
      if constexpr (RB > 2) backward_layer_j<2>(tw, kg, L.bit, base, a, reff, lp, x, g, dt, dt_stride);
      break;
    default: break;
  }
}

// One frame group of an item: stage the chunk's input and its output's gradient, recompute the phases'
// inputs, backpropagate, stage the input's gradient out.
template <class T, int R, int F, class Ctx>
KF_DEV void backward_tile(const BackwardParams<T>& P, Ctx& ctx, T* smem, int64_t s, int64_t oi, int64_t bi,
                          int64_t base, const T* tw_s) {
  constexpr int RB = Log2<R>::value;
  const ChunkDesc& C = P.c;
  const TileLayout& lay = P.lay;
  const int gfm = lay.G * F * lay.mpad;
  T* X = smem;
  T* gbuf = smem + C.nphases * gfm;
  T* DT = gbuf + gfm;
  const int dt_stride = lay.G * (lay.m / 2);  // between the 4 entries of one layer
  const int tid = ctx.thread();
  const int slot = tid / lay.tpi, lt = tid % lay.tpi;

  if (P.in.x != nullptr) {
    stage_mapped<true, T, R, F>(X, P.in, lay, C, s, oi, bi, tid);
  } else {
    stage<true, T, R, F>(X, P.x, nullptr, lay, C, P.vector_io, s, oi, bi, tid);
  }
  stage<true, T, R, F>(gbuf, P.gin, nullptr, lay, C, P.vector_io, s, oi, bi, tid);
  ctx.sync();
  // Recompute the chunk's forward, keeping every phase's input.
  for (int ph = 0; ph + 1 < C.nphases; ++ph) {
    const PhaseDesc& pd = C.phases[ph];
    int lp[R];
    phase_positions<R>(pd, C.log_m, lt, lp);
    T v[F][R];
    load_phase<T, R, F>(X + ph * gfm, lay, slot, lp, v);
    for (int l = 0; l < pd.nlayers; ++l) {
      forward_layer<T, R, F>(C.layers[pd.first_layer + l], tw_s, base, C.a, lay.reff, lp, v);
    }
    store_phase<T, R, F>(X + (ph + 1) * gfm, lay, slot, lp, v);
    ctx.sync();
  }
  for (int ph = C.nphases - 1; ph >= 0; --ph) {
    const PhaseDesc& pd = C.phases[ph];
    int lp[R];
    phase_positions<R>(pd, C.log_m, lt, lp);
    T xs[RB][F][R];  // xs[l]: the input of the phase's layer l
    load_phase<T, R, F>(X + ph * gfm, lay, slot, lp, xs[0]);
    KF_UNROLL
    for (int l = 1; l < RB; ++l) {
      if (l < pd.nlayers) {
        KF_UNROLL
        for (int f = 0; f < F; ++f) {
          KF_UNROLL
          for (int e = 0; e < R; ++e) xs[l][f][e] = xs[l - 1][f][e];
        }
        forward_layer<T, R, F>(C.layers[pd.first_layer + l - 1], tw_s, base, C.a, lay.reff, lp, xs[l]);
      }
    }
    T gr[F][R];
    load_phase<T, R, F>(gbuf, lay, slot, lp, gr);
    KF_UNROLL
    for (int l = RB - 1; l >= 0; --l) {
      if (l < pd.nlayers) {
        const int layer = pd.first_layer + l;
        backward_layer<T, R, F>(C.layers[layer], tw_s, base, C.a, lay.reff, lp, xs[l], gr,
                                DT + layer * 4 * dt_stride + slot * (lay.m / 2), dt_stride);
      }
    }
    store_phase<T, R, F>(gbuf, lay, slot, lp, gr);
    ctx.sync();
  }
  if (P.in.x != nullptr) {
    if (P.in.dx != nullptr) stage_mapped<false, T, R, F>(gbuf, P.in, lay, C, s, oi, bi, tid);
  } else if (P.gx != nullptr) {
    stage<false, T, R, F>(gbuf, nullptr, P.gx, lay, C, P.vector_io, s, oi, bi, tid);
  }
  ctx.sync();
}

template <class T, int R, int F, class Ctx>
KF_DEV void backward_body(const BackwardParams<T>& P, Ctx& ctx) {
  const ChunkDesc& C = P.c;
  const TileLayout& lay = P.lay;
  T* smem = ctx.template smem<T>();
  T* DT = smem + (C.nphases + 1) * lay.G * F * lay.mpad;
  const int half = lay.m / 2;
  const int dt_stride = lay.G * half;
  const int dt_total = 4 * C.nlayers * dt_stride;
  const int tid = ctx.thread();
  const int go = (tid / lay.tpi) & (lay.Go - 1);
  for (int64_t item = ctx.block(); item < P.nitems; item += ctx.nblocks()) {
    const int64_t split = item % P.nsplit;
    const int64_t oi = (item / P.nsplit) % lay.nO;
    const int64_t s = item / P.nsplit / lay.nO;
    const int64_t base = sub_block_base(oi * lay.Go + go, C.a, C.log_m);
    const T* tw_s = P.tw + s * P.tw_stack_stride;
    ctx.sync();  // the previous item's flush has read the accumulators
    for (int idx = tid; idx < dt_total; idx += lay.tpb) DT[idx] = T{};
    ctx.sync();  // orders the zeroing for an item that runs no frame group
    for (int64_t bi = split; bi < lay.nB; bi += P.nsplit) backward_tile<T, R, F>(P, ctx, smem, s, oi, bi, base, tw_s);

    // One global atomic per twiddle-gradient entry of this item.
    const int flush_total = lay.Go * C.nlayers * half * 4;
    for (int idx = tid; idx < flush_total; idx += lay.tpb) {
      const int c = idx & 3;
      const int il = (idx >> 2) & (half - 1);
      const int rest = (idx >> 2) / half;
      const int layer = rest % C.nlayers, fgo = rest / C.nlayers;
      T sum{};
      for (int fgb = 0; fgb < lay.Gb; ++fgb) {
        sum += DT[layer * 4 * dt_stride + c * dt_stride + ((fgb << lay.log_go) | fgo) * half + il];
      }
      const LayerDesc& L = C.layers[layer];
      const int kb = L.bit;
      const int lpos = ((il >> kb) << (kb + 1)) | (il & ((1 << kb) - 1));  // insert a zero at bit kb
      const int64_t p = sub_block_base(oi * lay.Go + fgo, C.a, C.log_m) | (int64_t(lpos) << C.a);
      const int64_t i = pair_index(p, C.a + kb);
      ctx.atomic_add(P.dtw + s * P.tw_stack_stride + L.tw_offset + 4 * i + c, sum);
    }
  }
}

}  // namespace cuda
}  // namespace kfront
