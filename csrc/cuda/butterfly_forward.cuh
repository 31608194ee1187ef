// The forward kernel body: one tile (Gb * F frames x Go sub-blocks of one stack) per block iteration, all of a
// chunk's layers applied in shared memory and registers between one global read and one global write.
//
// Per phase a thread keeps R elements of F instances in registers, loaded from and stored back to the same
// shared-memory positions; no thread reads a position another thread writes in the same phase, so one barrier
// per phase suffices.
#pragma once

#include "butterfly_device.cuh"

namespace kfront {
namespace cuda {

// One layer on the thread's registers; J is the layer bit's index among the phase's owned bits, so
// element e pairs with e | 2^J.
template <int J, class T, int R, int F>
KF_DEV void forward_layer_j(const T* tw, int kg, int64_t base, int a, int reff, const int (&lp)[R],
                            T (&v)[F][R]) {
  KF_UNROLL
  for (int e = 0; e < R; ++e) {
    if ((e >> J & 1) || e >= reff) continue;
    const int e2 = e | (1 << J);
    const int64_t i = pair_index(base | (int64_t(lp[e]) << a), kg);
    T t[4];
    load_twiddle(tw + 4 * i, t);
    KF_UNROLL
    for (int f = 0; f < F; ++f) {
      const T x0 = v[f][e], x1 = v[f][e2];
      v[f][e] = t[0] * x0 + t[1] * x1;
      v[f][e2] = t[2] * x0 + t[3] * x1;
    }
  }
}

template <class T, int R, int F>
KF_DEV void forward_layer(const LayerDesc& L, const T* tw_s, int64_t base, int a, int reff,
                          const int (&lp)[R], T (&v)[F][R]) {
  constexpr int RB = Log2<R>::value;
  const T* tw = tw_s + L.tw_offset;
  const int kg = a + L.bit;
  switch (L.jbit) {
    case 0: forward_layer_j<0>(tw, kg, base, a, reff, lp, v); break;
    case 1: if constexpr (RB > 1) forward_layer_j<1>(tw, kg, base, a, reff, lp, v); break;
    case 2: if constexpr (RB > 2) forward_layer_j<2>(tw, kg, base, a, reff, lp, v); break;
    default: break;
  }
}

template <class T, int R, int F, class Ctx>
KF_DEV void forward_body(const ForwardParams<T>& P, Ctx& ctx) {
  const ChunkDesc& C = P.c;
  const TileLayout& lay = P.lay;
  T* buf = ctx.template smem<T>();
  const int tid = ctx.thread();
  const int slot = tid / lay.tpi, lt = tid % lay.tpi;
  const int go = slot & (lay.Go - 1);
  for (int64_t tile = ctx.block(); tile < lay.ntiles; tile += ctx.nblocks()) {
    const int64_t bi = tile % lay.nB, oi = (tile / lay.nB) % lay.nO, s = tile / lay.nB / lay.nO;
    if (P.in.x != nullptr) {
      stage_mapped<true, T, R, F>(buf, P.in, lay, C, s, oi, bi, tid);
    } else {
      stage<true, T, R, F>(buf, P.x, nullptr, lay, C, P.vector_io, s, oi, bi, tid);
    }
    ctx.sync();
    const int64_t base = sub_block_base(oi * lay.Go + go, C.a, C.log_m);
    const T* tw_s = P.tw + s * P.tw_stack_stride;
    for (int ph = 0; ph < C.nphases; ++ph) {
      const PhaseDesc& pd = C.phases[ph];
      int lp[R];
      phase_positions<R>(pd, C.log_m, lt, lp);
      T v[F][R];
      load_phase<T, R, F>(buf, lay, slot, lp, v);
      for (int l = 0; l < pd.nlayers; ++l) {
        forward_layer<T, R, F>(C.layers[pd.first_layer + l], tw_s, base, C.a, lay.reff, lp, v);
      }
      store_phase<T, R, F>(buf, lay, slot, lp, v);
      ctx.sync();
    }
    stage<false, T, R, F>(buf, nullptr, P.out, lay, C, P.vector_io, s, oi, bi, tid);
    ctx.sync();
  }
}

}  // namespace cuda
}  // namespace kfront
