// SIMD vectors of the target's native width (AVX-512: 64 bytes, AVX: 32, otherwise 16) through GCC/Clang vector
// extensions, so the kernel is written once for every target. Beyond arithmetic, the kernel needs two
// cross-lane operations the auto-vectoriser does not produce well: a register transpose (tiles of frames <->
// rows of the input) and a batched horizontal sum (the twiddle gradient, summed over the frames in the lanes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#if !defined(__GNUC__)
#error "kfront's CPU butterfly kernel needs GCC or Clang vector extensions"
#endif

#if defined(__AVX512F__)
#define KFRONT_VECTOR_BYTES 64
#elif defined(__AVX__)
#define KFRONT_VECTOR_BYTES 32  // wider vectors would be split into register pairs, and their shuffles emulated
#else
#define KFRONT_VECTOR_BYTES 16
#endif

// Everything here is a few instructions once inlined; out of line, the vectors would go through memory.
#define KFRONT_INLINE inline __attribute__((always_inline))
#define KFRONT_INLINE_LAMBDA __attribute__((always_inline))

namespace kfront {
namespace cpu {

template <typename T>
struct Simd;

template <>
struct Simd<float> {
  typedef float V __attribute__((vector_size(KFRONT_VECTOR_BYTES)));
  typedef int32_t Mask __attribute__((vector_size(KFRONT_VECTOR_BYTES)));
};

template <>
struct Simd<double> {
  typedef double V __attribute__((vector_size(KFRONT_VECTOR_BYTES)));
  typedef int64_t Mask __attribute__((vector_size(KFRONT_VECTOR_BYTES)));
};

template <typename T>
struct Vec {
  using V = typename Simd<T>::V;
  using Mask = typename Simd<T>::Mask;
  static constexpr int kLanes = KFRONT_VECTOR_BYTES / sizeof(T);

  static KFRONT_INLINE V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));  // unaligned-safe; compiles to one vector load
    return v;
  }
  static KFRONT_INLINE void store(T* p, const V& v) { std::memcpy(p, &v, sizeof(V)); }
  template <size_t... J>
  static KFRONT_INLINE V splat_impl(T x, std::index_sequence<J...>) {
    return V{((void)J, x)...};
  }
  static KFRONT_INLINE V splat(T x) { return splat_impl(x, std::make_index_sequence<kLanes>{}); }  // broadcast
  static KFRONT_INLINE V zero() { return V{}; }

  // Two-source permutation: lane j of the result is lane F::lane(j) of the concatenation (a, b).
  template <typename F, size_t... J>
  static KFRONT_INLINE V permute_impl(const V& a, const V& b, std::index_sequence<J...>) {
#if defined(__clang__)
    return __builtin_shufflevector(a, b, F::lane(J)...);
#else
    return __builtin_shuffle(a, b, Mask{F::lane(J)...});
#endif
  }
  template <typename F>
  static KFRONT_INLINE V permute(const V& a, const V& b) {
    return permute_impl<F>(a, b, std::make_index_sequence<kLanes>{});
  }

  // Transpose step at scale h: swap the lanes with bit h set in row i with the lanes without it in row i + h.
  template <int H>
  struct SwapLo {
    static constexpr int lane(int j) { return (j & H) ? kLanes + j - H : j; }
  };
  template <int H>
  struct SwapHi {
    static constexpr int lane(int j) { return (j & H) ? kLanes + j : j + H; }
  };
  template <int H>
  static KFRONT_INLINE void transpose_step(V* v) {
#pragma GCC unroll 16
    for (int i = 0; i < kLanes; ++i) {
      if (i & H) continue;
      const V a = v[i], b = v[i + H];
      v[i] = permute<SwapLo<H>>(a, b);
      v[i + H] = permute<SwapHi<H>>(a, b);
    }
    if constexpr (H > 1) transpose_step<H / 2>(v);
  }
  // In-register transpose of a kLanes x kLanes block: afterwards v[i][j] is the former v[j][i].
  static KFRONT_INLINE void transpose(V* v) { transpose_step<kLanes / 2>(v); }

  // Fold for the horizontal sums: each input holds kLanes / S targets with S partial sums each (contiguous);
  // the result holds the targets of a, then those of b, with S / 2 partial sums each.
  template <int S, int Part>
  struct Fold {
    static constexpr int lane(int j) {
      const int half = kLanes / 2, jj = j % half, t = jj / (S / 2), e = jj % (S / 2);
      return (j >= half ? kLanes : 0) + t * S + e + Part * (S / 2);
    }
  };
  template <int S>
  static KFRONT_INLINE V fold(const V& a, const V& b) {
    return permute<Fold<S, 0>>(a, b) + permute<Fold<S, 1>>(a, b);
  }
  template <int Count, int S>
  static KFRONT_INLINE void fold_vectors(V* v) {
    if constexpr (Count > 1 && S > 1) {
      for (int k = 0; k < Count / 2; ++k) v[k] = fold<S>(v[2 * k], v[2 * k + 1]);
      fold_vectors<Count / 2, S / 2>(v);
    }
  }
  template <int S>
  static KFRONT_INLINE V compact(const V& y) {
    if constexpr (S > 1) {
      return compact<S / 2>(fold<S>(y, y));
    } else {
      return y;
    }
  }

  // Horizontal sums of K vectors in two steps, so that the second can be deferred: fold_sums packs them into
  // packed<K>() vectors (K targets, or kLanes per vector, with the rest of the lanes holding partial sums) in
  // about 3 permutes and adds per vector, and such packed vectors can simply be added up; add_sums finishes
  // them and adds the K totals to dst.
  template <int K>
  static constexpr int packed() { return K > kLanes ? K / kLanes : 1; }
  template <int K>
  static KFRONT_INLINE void fold_sums(V* v) {  // v[0 .. packed<K>()) hold the result
    static_assert(K >= 1 && (K & (K - 1)) == 0, "K must be a power of 2");
    fold_vectors<K, kLanes>(v);
  }
  template <int K>
  static KFRONT_INLINE void add_sums(const V* packed_sums, T* __restrict__ dst) {
    T sums[kLanes];
    if constexpr (K >= kLanes) {
      for (int p = 0; p < K / kLanes; ++p) {
        store(sums, packed_sums[p]);
        for (int k = 0; k < kLanes; ++k) dst[p * kLanes + k] += sums[k];
      }
    } else {
      store(sums, compact<kLanes / K>(packed_sums[0]));
      for (int k = 0; k < K; ++k) dst[k] += sums[k];
    }
  }
};

}  // namespace cpu
}  // namespace kfront
