// Kernel bodies of the fused butterfly forward and backward (see butterfly_plan.h for the data layout and
// launch geometry). They are templates over a context `Ctx` that supplies the thread and block index, the
// block barrier, dynamic shared memory and global atomics: under nvcc that is DeviceCtx (threadIdx,
// __syncthreads, atomicAdd); the host emulation runs the very same bodies with one std::thread per CUDA
// thread and a std::barrier, so the index arithmetic and the barrier placement are tested without a GPU.
//
// Per phase a thread keeps R elements of F instances in registers, loaded from and stored back to the
// same shared-memory positions; no thread reads a position another thread writes in the same phase, so
// one barrier per phase suffices. All register arrays are indexed with compile-time constants only (loops
// unrolled, the layer's bit dispatched through a switch), so nothing spills to local memory.
#pragma once

#include <type_traits>

#include "butterfly_plan.h"

#if defined(__CUDACC__)
#define KF_DEV __device__ __forceinline__
#define KF_HD __host__ __device__ __forceinline__
#define KF_UNROLL _Pragma("unroll")
#else
#define KF_DEV inline
#define KF_HD inline
#define KF_UNROLL
#endif

namespace kfront_cuda {

// Interleaved (re, im), the memory layout of torch.complex64 / complex128.
template <class R>
struct alignas(2 * sizeof(R)) Complex {
  R re, im;
};

template <class R>
KF_HD Complex<R> operator+(Complex<R> a, Complex<R> b) { return {a.re + b.re, a.im + b.im}; }
template <class R>
KF_HD Complex<R> operator*(Complex<R> a, Complex<R> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <class R>
KF_HD Complex<R>& operator+=(Complex<R>& a, Complex<R> b) {
  a.re += b.re;
  a.im += b.im;
  return a;
}
template <class R>
KF_HD Complex<R> kconj(Complex<R> a) { return {a.re, -a.im}; }
KF_HD float kconj(float a) { return a; }
KF_HD double kconj(double a) { return a; }

template <int R>
struct Log2 {
  static constexpr int value = R <= 1 ? 0 : 1 + Log2<R / 2>::value;
};
template <>
struct Log2<1> {
  static constexpr int value = 0;
};

// The 2x2 block (t00, t01, t10, t11) of one pair: 4 consecutive elements, 16-byte aligned (the launcher
// checks the twiddle pointer), read through the read-only cache in 16-byte loads.
KF_DEV void load_twiddle(const float* p, float t[4]) {
#if defined(__CUDA_ARCH__)
  const float4 v = __ldg(reinterpret_cast<const float4*>(p));
  t[0] = v.x; t[1] = v.y; t[2] = v.z; t[3] = v.w;
#else
  for (int k = 0; k < 4; ++k) t[k] = p[k];
#endif
}
KF_DEV void load_twiddle(const double* p, double t[4]) {
#if defined(__CUDA_ARCH__)
  const double2 v0 = __ldg(reinterpret_cast<const double2*>(p));
  const double2 v1 = __ldg(reinterpret_cast<const double2*>(p) + 1);
  t[0] = v0.x; t[1] = v0.y; t[2] = v1.x; t[3] = v1.y;
#else
  for (int k = 0; k < 4; ++k) t[k] = p[k];
#endif
}
KF_DEV void load_twiddle(const Complex<float>* p, Complex<float> t[4]) {
#if defined(__CUDA_ARCH__)
  const float4 v0 = __ldg(reinterpret_cast<const float4*>(p));
  const float4 v1 = __ldg(reinterpret_cast<const float4*>(p) + 1);
  t[0] = {v0.x, v0.y}; t[1] = {v0.z, v0.w}; t[2] = {v1.x, v1.y}; t[3] = {v1.z, v1.w};
#else
  for (int k = 0; k < 4; ++k) t[k] = p[k];
#endif
}
KF_DEV void load_twiddle(const Complex<double>* p, Complex<double> t[4]) {
#if defined(__CUDA_ARCH__)
  KF_UNROLL
  for (int k = 0; k < 4; ++k) {
    const double2 v = __ldg(reinterpret_cast<const double2*>(p) + k);
    t[k] = {v.x, v.y};
  }
#else
  for (int k = 0; k < 4; ++k) t[k] = p[k];
#endif
}

// Frames are read and written once per launch: streaming (evict-first) accesses keep them from pushing the
// twiddles, which every tile re-reads, out of L1.
template <class T>
KF_DEV T load_stream(const T* p) {
#if defined(__CUDA_ARCH__)
  return __ldcs(p);
#else
  return *p;
#endif
}
template <class R>
KF_DEV Complex<R> load_stream(const Complex<R>* p) {
#if defined(__CUDA_ARCH__)
  using V = typename std::conditional<sizeof(R) == 4, float2, double2>::type;
  const V v = __ldcs(reinterpret_cast<const V*>(p));
  return {v.x, v.y};
#else
  return *p;
#endif
}
template <class T>
KF_DEV void store_stream(T* p, T v) {
#if defined(__CUDA_ARCH__)
  __stcs(p, v);
#else
  *p = v;
#endif
}
template <class R>
KF_DEV void store_stream(Complex<R>* p, Complex<R> v) {
#if defined(__CUDA_ARCH__)
  using V = typename std::conditional<sizeof(R) == 4, float2, double2>::type;
  __stcs(reinterpret_cast<V*>(p), V{v.re, v.im});
#else
  *p = v;
#endif
}

#if defined(__CUDACC__)
struct DeviceCtx {
  __device__ __forceinline__ int thread() const { return int(threadIdx.x); }
  __device__ __forceinline__ int64_t block() const { return int64_t(blockIdx.x); }
  __device__ __forceinline__ int64_t nblocks() const { return int64_t(gridDim.x); }
  __device__ __forceinline__ void sync() const { __syncthreads(); }
  template <class T>
  __device__ __forceinline__ T* smem() const {
    extern __shared__ __align__(16) unsigned char kf_dynamic_smem[];
    return reinterpret_cast<T*>(kf_dynamic_smem);
  }
  __device__ __forceinline__ void atomic_add(float* p, float v) const { atomicAdd(p, v); }
  __device__ __forceinline__ void atomic_add(double* p, double v) const { atomicAdd(p, v); }
  template <class R>
  __device__ __forceinline__ void atomic_add(Complex<R>* p, Complex<R> v) const {
    atomicAdd(&p->re, v.re);
    atomicAdd(&p->im, v.im);
  }
};
#endif

KF_DEV int pad_index(int q, int shift) { return q + (q >> shift); }

// Global position of sub-block o's element 0: the bits outside the window [a, a + W).
KF_DEV int64_t sub_block_base(int64_t o, int a, int W) {
  return ((o >> a) << (a + W)) | (o & ((int64_t(1) << a) - 1));
}

// Index i of the pair whose first position is p (bit k of p clear): p = 2 (i - i mod s) + i mod s, s = 2^k.
KF_DEV int64_t pair_index(int64_t p, int k) {
  return ((p >> (k + 1)) << k) | (p & ((int64_t(1) << k) - 1));
}

// Window-relative positions of a thread's R elements in a phase: the thread index fills the bits the
// phase does not own (bit k at position tpos[k]), element e fills the owned ones.
template <int R>
KF_DEV void phase_positions(const PhaseDesc& ph, int W, int lt, int (&lp)[R]) {
  constexpr int RB = Log2<R>::value;
  int base = 0;
  const int nfree = W - ph.nowned;
  for (int k = 0; k < nfree; ++k) base |= ((lt >> k) & 1) << ph.tpos[k];
  KF_UNROLL
  for (int e = 0; e < R; ++e) {
    int off = 0;
    KF_UNROLL
    for (int j = 0; j < RB; ++j) {
      if (e >> j & 1) off |= 1 << ph.owned[j];
    }
    lp[e] = base | off;
  }
}

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

// Instances of one tile between global and shared memory. The loop index runs along global memory: along
// j when the window starts at bit 0 (a sub-block is contiguous), else along consecutive sub-blocks (the
// Go sub-blocks of a block share hi and differ in the low bits lo, so they are adjacent for a fixed j).
// Frames past the batch read as zeros and are not written.
template <bool kToShared, class T, int F>
KF_DEV void stage(T* buf, const T* src, T* dst, const Geometry& g, int a, int W, int64_t s, int64_t oi,
                  int64_t bi, int tid, int64_t n) {
  const int total = g.G * F * g.m;
  for (int idx = tid; idx < total; idx += g.tpb) {
    int j, go, rest;
    if (a == 0) {
      j = idx & (g.m - 1);
      rest = idx >> W;
      go = rest & (g.Go - 1);
      rest >>= g.log_go;
    } else {
      go = idx & (g.Go - 1);
      rest = idx >> g.log_go;
      j = rest & (g.m - 1);
      rest >>= W;
    }
    const int f = rest % F, gb = rest / F;
    const int slot = (gb << g.log_go) | go;
    const int64_t b = (bi * g.Gb + gb) * F + f;
    const int64_t off = (b * g.nstacks + s) * n + (sub_block_base(oi * g.Go + go, a, W) | (int64_t(j) << a));
    T* sm = buf + (slot * F + f) * g.mpad + pad_index(j, g.pad_shift);
    if (kToShared) {
      *sm = b < g.batch ? load_stream(src + off) : T{};
    } else if (b < g.batch) {
      store_stream(dst + off, *sm);
    }
  }
}

template <class T, int R, int F>
KF_DEV void load_phase(const T* buf, const Geometry& g, int slot, const int (&lp)[R], T (&v)[F][R]) {
  KF_UNROLL
  for (int f = 0; f < F; ++f) {
    const T* inst = buf + (slot * F + f) * g.mpad;
    KF_UNROLL
    for (int e = 0; e < R; ++e) v[f][e] = e < g.reff ? inst[pad_index(lp[e], g.pad_shift)] : T{};
  }
}

template <class T, int R, int F>
KF_DEV void store_phase(T* buf, const Geometry& g, int slot, const int (&lp)[R], const T (&v)[F][R]) {
  KF_UNROLL
  for (int f = 0; f < F; ++f) {
    T* inst = buf + (slot * F + f) * g.mpad;
    KF_UNROLL
    for (int e = 0; e < R; ++e) {
      if (e < g.reff) inst[pad_index(lp[e], g.pad_shift)] = v[f][e];
    }
  }
}

// Forward: one tile (Gb * F frames x Go sub-blocks of one stack) per block iteration, all of the chunk's
// layers applied in shared memory and registers between one global read and one global write.
template <class T, int R, int F, class Ctx>
KF_DEV void forward_body(const ForwardParams<T>& P, Ctx& ctx) {
  const ChunkDesc& C = P.c;
  const Geometry& g = P.g;
  T* buf = ctx.template smem<T>();
  const int tid = ctx.thread();
  const int slot = tid / g.tpi, lt = tid % g.tpi;
  const int go = slot & (g.Go - 1);
  const int64_t n = int64_t(1) << C.log_n;
  for (int64_t tile = ctx.block(); tile < g.ntiles; tile += ctx.nblocks()) {
    const int64_t bi = tile % g.nB, oi = (tile / g.nB) % g.nO, s = tile / g.nB / g.nO;
    stage<true, T, F>(buf, P.x, nullptr, g, C.a, C.W, s, oi, bi, tid, n);
    ctx.sync();
    const int64_t base = sub_block_base(oi * g.Go + go, C.a, C.W);
    const T* tw_s = P.tw + s * P.tw_stack_stride;
    for (int ph = 0; ph < C.nphases; ++ph) {
      const PhaseDesc& pd = C.phases[ph];
      int lp[R];
      phase_positions<R>(pd, C.W, lt, lp);
      T v[F][R];
      load_phase<T, R, F>(buf, g, slot, lp, v);
      for (int l = 0; l < pd.nlayers; ++l) {
        forward_layer<T, R, F>(C.layers[pd.first_layer + l], tw_s, base, C.a, g.reff, lp, v);
      }
      store_phase<T, R, F>(buf, g, slot, lp, v);
      ctx.sync();
    }
    stage<false, T, F>(buf, nullptr, P.out, g, C.a, C.W, s, oi, bi, tid, n);
    ctx.sync();
  }
}

// Backward of one chunk. Shared memory (units of T; GFm = G * F * mpad):
//   X[p]  p < nphases   the input of phase p for the tile's instances (X[0] is the chunk input)
//   Gbuf                the gradient, updated in place phase by phase from the chunk output back to its input
//   DT    4 * nlayers * G * (m / 2)   twiddle-gradient accumulators, [layer][entry][slot][pair]
// A block owns one (stack, sub-block group) and loops over frame groups bi = split, split + nsplit, ...;
// the accumulators live across that loop, and each entry is added to global memory once per block at the
// end (summed over the block's Gb frame-group slots first).
template <class T, int R, int F, class Ctx>
KF_DEV void backward_body(const BackwardParams<T>& P, Ctx& ctx) {
  constexpr int RB = Log2<R>::value;
  const ChunkDesc& C = P.c;
  const Geometry& g = P.g;
  T* smem = ctx.template smem<T>();
  const int gfm = g.G * F * g.mpad;
  T* X = smem;
  T* gbuf = smem + C.nphases * gfm;
  T* DT = gbuf + gfm;
  const int half = g.m / 2;
  const int dt_stride = g.G * half;  // between the 4 entries of one layer
  const int dt_total = 4 * C.nlayers * dt_stride;
  const int tid = ctx.thread();
  const int slot = tid / g.tpi, lt = tid % g.tpi;
  const int go = slot & (g.Go - 1);
  const int64_t n = int64_t(1) << C.log_n;
  const int64_t split = ctx.block() % P.nsplit;
  const int64_t oi = (ctx.block() / P.nsplit) % g.nO;
  const int64_t s = ctx.block() / P.nsplit / g.nO;
  const int64_t base = sub_block_base(oi * g.Go + go, C.a, C.W);
  const T* tw_s = P.tw + s * P.tw_stack_stride;

  for (int idx = tid; idx < dt_total; idx += g.tpb) DT[idx] = T{};
  for (int64_t bi = split; bi < g.nB; bi += P.nsplit) {
    stage<true, T, F>(X, P.x, nullptr, g, C.a, C.W, s, oi, bi, tid, n);
    stage<true, T, F>(gbuf, P.gin, nullptr, g, C.a, C.W, s, oi, bi, tid, n);
    ctx.sync();
    // Recompute the chunk's forward, keeping every phase's input.
    for (int ph = 0; ph + 1 < C.nphases; ++ph) {
      const PhaseDesc& pd = C.phases[ph];
      int lp[R];
      phase_positions<R>(pd, C.W, lt, lp);
      T v[F][R];
      load_phase<T, R, F>(X + ph * gfm, g, slot, lp, v);
      for (int l = 0; l < pd.nlayers; ++l) {
        forward_layer<T, R, F>(C.layers[pd.first_layer + l], tw_s, base, C.a, g.reff, lp, v);
      }
      store_phase<T, R, F>(X + (ph + 1) * gfm, g, slot, lp, v);
      ctx.sync();
    }
    for (int ph = C.nphases - 1; ph >= 0; --ph) {
      const PhaseDesc& pd = C.phases[ph];
      int lp[R];
      phase_positions<R>(pd, C.W, lt, lp);
      T xs[RB][F][R];  // xs[l]: the input of the phase's layer l
      load_phase<T, R, F>(X + ph * gfm, g, slot, lp, xs[0]);
      KF_UNROLL
      for (int l = 1; l < RB; ++l) {
        if (l < pd.nlayers) {
          KF_UNROLL
          for (int f = 0; f < F; ++f) {
            KF_UNROLL
            for (int e = 0; e < R; ++e) xs[l][f][e] = xs[l - 1][f][e];
          }
          forward_layer<T, R, F>(C.layers[pd.first_layer + l - 1], tw_s, base, C.a, g.reff, lp, xs[l]);
        }
      }
      T gr[F][R];
      load_phase<T, R, F>(gbuf, g, slot, lp, gr);
      KF_UNROLL
      for (int l = RB - 1; l >= 0; --l) {
        if (l < pd.nlayers) {
          const int layer = pd.first_layer + l;
          backward_layer<T, R, F>(C.layers[layer], tw_s, base, C.a, g.reff, lp, xs[l], gr,
                                  DT + layer * 4 * dt_stride + slot * half, dt_stride);
        }
      }
      store_phase<T, R, F>(gbuf, g, slot, lp, gr);
      ctx.sync();
    }
    stage<false, T, F>(gbuf, nullptr, P.gx, g, C.a, C.W, s, oi, bi, tid, n);
    ctx.sync();
  }

  // One global atomic per twiddle-gradient entry of this block.
  ctx.sync();  // orders the zeroing above for a block that ran no iteration
  const int flush_total = g.Go * C.nlayers * half * 4;
  for (int idx = tid; idx < flush_total; idx += g.tpb) {
    const int c = idx & 3;
    const int il = (idx >> 2) & (half - 1);
    const int rest = (idx >> 2) / half;
    const int layer = rest % C.nlayers, fgo = rest / C.nlayers;
    T sum{};
    for (int fgb = 0; fgb < g.Gb; ++fgb) {
      sum += DT[layer * 4 * dt_stride + c * dt_stride + ((fgb << g.log_go) | fgo) * half + il];
    }
    const LayerDesc& L = C.layers[layer];
    const int kb = L.bit;
    const int lpos = ((il >> kb) << (kb + 1)) | (il & ((1 << kb) - 1));  // insert a zero at bit kb
    const int64_t p = sub_block_base(oi * g.Go + fgo, C.a, C.W) | (int64_t(lpos) << C.a);
    const int64_t i = pair_index(p, C.a + kb);
    ctx.atomic_add(P.dtw + s * P.tw_stack_stride + L.tw_offset + 4 * i + c, sum);
  }
}

}  // namespace kfront_cuda
