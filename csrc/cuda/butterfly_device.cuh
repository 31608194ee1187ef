// Device code shared by the forward (butterfly_forward.cuh) and backward (butterfly_backward.cuh) kernel bodies:
// complex arithmetic, global loads and stores, the thread context, position arithmetic, the staging of
// instances between global and shared memory, and the phase loads and stores.
//
// The bodies are templates over a context `Ctx` that supplies the thread and block index, the block barrier,
// dynamic shared memory and global atomics: under nvcc that is DeviceCtx (threadIdx, __syncthreads,
// atomicAdd); the host emulation runs the very same bodies with one std::thread per CUDA thread and a
// std::barrier, so the index arithmetic and the barrier placement are tested without a GPU.
//
// All register arrays are indexed with compile-time constants only (loops unrolled, the layer's bit
// dispatched through a switch), so nothing spills to local memory.
#pragma once

#include <type_traits>

#include "butterfly_types.h"

#if defined(__CUDACC__)
#define KF_DEV __device__ __forceinline__
#define KF_HD __host__ __device__ __forceinline__
#define KF_UNROLL _Pragma("unroll")
#define KF_NO_UNROLL _Pragma("unroll 1")
#else
#define KF_DEV inline
#define KF_HD inline
#define KF_UNROLL
#define KF_NO_UNROLL
#endif

namespace kfront {
namespace cuda {

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
// twiddles, which every tile re-reads, out of L1. One element at a time (its natural alignment, which the
// launcher checks) ...
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

// ... or kVec<T> consecutive elements in one 16-byte access (the pointer 16-byte aligned: use_vector_io).
template <class T>
constexpr int kVec = kVectorBytes / int(sizeof(T));

#if defined(__CUDA_ARCH__)
KF_DEV void load_stream_vector(const float* p, float (&v)[4]) {
  const float4 r = __ldcs(reinterpret_cast<const float4*>(p));
  v[0] = r.x; v[1] = r.y; v[2] = r.z; v[3] = r.w;
}
KF_DEV void load_stream_vector(const double* p, double (&v)[2]) {
  const double2 r = __ldcs(reinterpret_cast<const double2*>(p));
  v[0] = r.x; v[1] = r.y;
}
KF_DEV void load_stream_vector(const Complex<float>* p, Complex<float> (&v)[2]) {
  const float4 r = __ldcs(reinterpret_cast<const float4*>(p));
  v[0] = {r.x, r.y}; v[1] = {r.z, r.w};
}
KF_DEV void load_stream_vector(const Complex<double>* p, Complex<double> (&v)[1]) {
  const double2 r = __ldcs(reinterpret_cast<const double2*>(p));
  v[0] = {r.x, r.y};
}
KF_DEV void store_stream_vector(float* p, const float (&v)[4]) {
  __stcs(reinterpret_cast<float4*>(p), make_float4(v[0], v[1], v[2], v[3]));
}
KF_DEV void store_stream_vector(double* p, const double (&v)[2]) {
  __stcs(reinterpret_cast<double2*>(p), make_double2(v[0], v[1]));
}
KF_DEV void store_stream_vector(Complex<float>* p, const Complex<float> (&v)[2]) {
  __stcs(reinterpret_cast<float4*>(p), make_float4(v[0].re, v[0].im, v[1].re, v[1].im));
}
KF_DEV void store_stream_vector(Complex<double>* p, const Complex<double> (&v)[1]) {
  __stcs(reinterpret_cast<double2*>(p), make_double2(v[0].re, v[0].im));
}
#else
template <class T>
inline void load_stream_vector(const T* p, T (&v)[kVec<T>]) {
  for (int e = 0; e < kVec<T>; ++e) v[e] = p[e];
}
template <class T>
inline void store_stream_vector(T* p, const T (&v)[kVec<T>]) {
  for (int e = 0; e < kVec<T>; ++e) p[e] = v[e];
}
#endif

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

// Global position of sub-block o's element 0: the bits outside the window [a, a + log_m).
KF_DEV int64_t sub_block_base(int64_t o, int a, int log_m) {
  return ((o >> a) << (a + log_m)) | (o & ((int64_t(1) << a) - 1));
}

// Index i of the pair whose first position is p (bit k of p clear): p = 2 (i - i mod s) + i mod s, s = 2^k.
KF_DEV int64_t pair_index(int64_t p, int k) {
  return ((p >> (k + 1)) << k) | (p & ((int64_t(1) << k) - 1));
}

// Window-relative positions of a thread's R elements in a phase: the thread index fills the bits the
// phase does not own (bit k at position tpos[k]), element e fills the owned ones.
template <int R>
KF_DEV void phase_positions(const PhaseDesc& ph, int log_m, int lt, int (&lp)[R]) {
  constexpr int RB = Log2<R>::value;
  int base = 0;
  const int nfree = log_m - ph.nowned;
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

// ---- staging: the instances of one tile between global and shared memory ---------------------------------
// A tile holds G * F instances of m elements, tpb * reff * F in all (G m = tpb reff), so each thread moves
// reff * F <= R * F of them, a count known at compile time up to the guard. Staged element k of a thread has
// the flat index tid + k * tpb (in vectors: vector index tid + k * tpb), decomposed by stage_pos; frames past
// the batch read as zeros and are not written. A thread issues kStageGroup accesses to the one side before
// the first to the other, so that several are in flight (4 x 16 bytes per thread keep 32 KB in flight per
// 512-thread block), without holding all of a tile's values in registers (groups of 8 made the forward spill).
constexpr int kStageGroup = 4;

struct StagePos {
  int64_t global;  // element offset in the frames
  int shared;      // element offset in shared memory
  bool valid;      // the frame is inside the batch
};

// The position of flat element idx. The index runs along global memory: along j when the window starts at bit
// 0 (a sub-block is contiguous), else along consecutive sub-blocks (the Go sub-blocks of a block share hi and
// differ in the low bits lo, so they are adjacent for a fixed j).
template <int F>
KF_DEV StagePos stage_pos(int idx, const TileLayout& lay, int a, int log_m, int64_t s, int64_t oi, int64_t bi,
                          int64_t n) {
  int j, go, rest;
  if (a == 0) {
    j = idx & (lay.m - 1);
    rest = idx >> log_m;
    go = rest & (lay.Go - 1);
    rest >>= lay.log_go;
  } else {
    go = idx & (lay.Go - 1);
    rest = idx >> lay.log_go;
    j = rest & (lay.m - 1);
    rest >>= log_m;
  }
  const int f = rest % F, gb = rest / F;
  const int slot = (gb << lay.log_go) | go;
  const int64_t b = (bi * lay.Gb + gb) * F + f;
  StagePos pos;
  pos.global = (b * lay.nstacks + s) * n + (sub_block_base(oi * lay.Go + go, a, log_m) | (int64_t(j) << a));
  pos.shared = (slot * F + f) * lay.mpad + pad_index(j, lay.pad_shift);
  pos.valid = b < lay.batch;
  return pos;
}

// V = 1: one element per access, any window. V = kVec<T>: 16-byte accesses, for a == 0 and m >= V (a vector's
// elements are then consecutive in a sub-block and, since V <= 2^pad_shift, in shared memory); with the
// padding, the scalar shared-memory accesses of a warp's 32 consecutive vectors hit distinct banks.
template <bool kToShared, int V, class T, int R, int F>
KF_DEV void stage_accesses(T* buf, const T* src, T* dst, const TileLayout& lay, int a, int log_m, int64_t s,
                           int64_t oi, int64_t bi, int tid, int64_t n) {
  constexpr int K = R * F / V > 0 ? R * F / V : 1;  // accesses per thread at most
  constexpr int U = K < kStageGroup ? K : kStageGroup;
  const int count = lay.reff * F / V;  // reff >= V whenever m >= V, so V divides reff * F
  KF_NO_UNROLL  // one group's values live at a time: unrolled, the groups' loads are hoisted together
  for (int k0 = 0; k0 < K; k0 += U) {
    T v[U][V];
    int64_t where[U];  // toShared: the shared offset; else the global offset, -1 past the batch
    KF_UNROLL
    for (int u = 0; u < U; ++u) {
      if (k0 + u >= count) continue;
      const StagePos p = stage_pos<F>((tid + (k0 + u) * lay.tpb) * V, lay, a, log_m, s, oi, bi, n);
      if (kToShared) {
        where[u] = p.shared;
        if (!p.valid) {
          KF_UNROLL
          for (int e = 0; e < V; ++e) v[u][e] = T{};
        } else if constexpr (V == 1) {
          v[u][0] = load_stream(src + p.global);
        } else {
          load_stream_vector(src + p.global, v[u]);
        }
      } else {
        where[u] = p.valid ? p.global : -1;
        KF_UNROLL
        for (int e = 0; e < V; ++e) v[u][e] = buf[p.shared + e];
      }
    }
    KF_UNROLL
    for (int u = 0; u < U; ++u) {
      if (k0 + u >= count) continue;
      if (kToShared) {
        KF_UNROLL
        for (int e = 0; e < V; ++e) buf[where[u] + e] = v[u][e];
      } else if (where[u] >= 0) {
        if constexpr (V == 1) {
          store_stream(dst + where[u], v[u][0]);
        } else {
          store_stream_vector(dst + where[u], v[u]);
        }
      }
    }
  }
}

// Stages tile (s, oi, bi): src -> buf (kToShared) or buf -> dst.
template <bool kToShared, class T, int R, int F>
KF_DEV void stage(T* buf, const T* src, T* dst, const TileLayout& lay, const ChunkDesc& c, bool vector_io,
                  int64_t s, int64_t oi, int64_t bi, int tid) {
  const int64_t n = int64_t(1) << c.log_n;
  if (vector_io) {
    stage_accesses<kToShared, kVec<T>, T, R, F>(buf, src, dst, lay, 0, c.log_m, s, oi, bi, tid, n);
  } else {
    stage_accesses<kToShared, 1, T, R, F>(buf, src, dst, lay, c.a, c.log_m, s, oi, bi, tid, n);
  }
}

// ---- staging through an InputMap: the op's own x and d_x ------------------------------------------------------
// Element by element: staged position p of a frame is value q = perm[p] of its row (q = p without a
// permutation), zero where q is past the row's length; the gradient of position p goes back to value q, and that
// of a padding position nowhere. A permuted frame's values are gathered, so they are read through the L1 cache
// (the other values of the row are read by the block's other threads soon after; a streaming load would evict
// them first).
template <class T>
struct RealOf {
  using type = T;
};
template <class R>
struct RealOf<Complex<R>> {
  using type = R;
};

template <class T>
KF_DEV T load_cached(const T* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(p);
#else
  return *p;
#endif
}
template <class R>
KF_DEV Complex<R> load_cached(const Complex<R>* p) {
#if defined(__CUDA_ARCH__)
  using V = typename std::conditional<sizeof(R) == 4, float2, double2>::type;
  const V v = __ldg(reinterpret_cast<const V*>(p));
  return {v.x, v.y};
#else
  return *p;
#endif
}
KF_DEV int64_t load_index(const int64_t* p) {
#if defined(__CUDA_ARCH__)
  return int64_t(__ldg(reinterpret_cast<const long long*>(p)));
#else
  return *p;
#endif
}

// Value q of row `row` ((batch, stack) pairs in order) of the mapped input.
template <class T>
KF_DEV T load_mapped(const InputMap& in, int64_t row, int64_t q) {
  using R = typename RealOf<T>::type;
  if (q >= in.length) return T{};
  const int64_t i = row * in.length + q;
  if constexpr (!std::is_same<T, R>::value) {
    if (in.real) return T{load_cached(static_cast<const R*>(in.x) + i), R(0)};
  }
  return load_cached(static_cast<const T*>(in.x) + i);
}

template <class T>
KF_DEV void store_mapped(const InputMap& in, int64_t row, int64_t q, T v) {
  using R = typename RealOf<T>::type;
  if (q >= in.length) return;
  const int64_t i = row * in.length + q;
  if constexpr (!std::is_same<T, R>::value) {
    if (in.real) {
      store_stream(static_cast<R*>(in.dx) + i, v.re);  // a real input's gradient is the real part
      return;
    }
  }
  store_stream(static_cast<T*>(in.dx) + i, v);
}

// Stages tile (s, oi, bi) from in.x into buf (kToShared) or from buf to in.dx, in stage_accesses' element order
// and groups; any window (a chunked plan's first chunk holds strided sub-blocks, so a permutation is a gather).
template <bool kToShared, class T, int R, int F>
KF_DEV void stage_mapped(T* buf, const InputMap& in, const TileLayout& lay, const ChunkDesc& c, int64_t s,
                         int64_t oi, int64_t bi, int tid) {
  constexpr int K = R * F;
  constexpr int U = K < kStageGroup ? K : kStageGroup;
  const int64_t n = int64_t(1) << c.log_n;
  const int count = lay.reff * F;
  KF_NO_UNROLL
  for (int k0 = 0; k0 < K; k0 += U) {
    T v[U];
    int64_t row[U], q[U];  // row -1: the frame is past the batch
    int shared[U];
    KF_UNROLL
    for (int u = 0; u < U; ++u) {
      if (k0 + u >= count) continue;
      const StagePos p = stage_pos<F>(tid + (k0 + u) * lay.tpb, lay, c.a, c.log_m, s, oi, bi, n);
      const int64_t pos = p.global & (n - 1);
      row[u] = p.valid ? p.global >> c.log_n : -1;
      q[u] = in.perm != nullptr ? load_index(in.perm + pos) : pos;
      shared[u] = p.shared;
      if (kToShared) {
        v[u] = p.valid ? load_mapped<T>(in, row[u], q[u]) : T{};
      } else {
        v[u] = buf[p.shared];
      }
    }
    KF_UNROLL
    for (int u = 0; u < U; ++u) {
      if (k0 + u >= count) continue;
      if (kToShared) {
        buf[shared[u]] = v[u];
      } else if (row[u] >= 0) {
        store_mapped(in, row[u], q[u], v[u]);
      }
    }
  }
}

template <class T, int R, int F>
KF_DEV void load_phase(const T* buf, const TileLayout& lay, int slot, const int (&lp)[R], T (&v)[F][R]) {
  KF_UNROLL
  for (int f = 0; f < F; ++f) {
    const T* inst = buf + (slot * F + f) * lay.mpad;
    KF_UNROLL
    for (int e = 0; e < R; ++e) v[f][e] = e < lay.reff ? inst[pad_index(lp[e], lay.pad_shift)] : T{};
  }
}

template <class T, int R, int F>
KF_DEV void store_phase(T* buf, const TileLayout& lay, int slot, const int (&lp)[R], const T (&v)[F][R]) {
  KF_UNROLL
  for (int f = 0; f < F; ++f) {
    T* inst = buf + (slot * F + f) * lay.mpad;
    KF_UNROLL
    for (int e = 0; e < R; ++e) {
      if (e < lay.reff) inst[pad_index(lp[e], lay.pad_shift)] = v[f][e];
    }
  }
}

}  // namespace cuda
}  // namespace kfront
