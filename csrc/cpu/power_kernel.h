// Power spectra straight from the butterfly kernel's complex tiles (butterfly_kernel.h), so that a front-end
// never writes the transform itself: |y_p|^2 of the first outputs, or of the separation stage of a real frame
// packed into N complex numbers, X_k = a_k y_(k mod N) + b_k conj(y_((N - k) mod N)); with their backward.
//
// A real tile holds one value per element and lane: element p of lane l at [p * W + l], like one component of
// a complex tile. Real tiles go to and from (batch, k) tensors with the same register transposes as tiles.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "butterfly_kernel.h"

namespace kfront {
namespace cpu {

template <typename T, int NV>
struct PowerKernel {
  using K = ButterflyKernel<T, true, NV>;
  using S = typename K::S;
  using V = typename K::V;
  static constexpr int VL = K::VL, W = K::W, CW = K::CW;

  // Values of a real tile with room for k <= n + 1 rows (rows are written VL at a time).
  static int64_t real_tile_values(int64_t n) { return (n + VL) * W; }

  // Rows [0, ks) of the real tile src into the first `rows` frames, frame r's at dst + r * row_stride.
  static void store_real_rows(const T* src, int rows, int64_t ks, T* dst, int64_t row_stride) {
    for (int g = 0; g < NV; ++g) {
      const int r0 = g * VL, nr = std::clamp(rows - r0, 0, VL);
      for (int64_t q0 = 0; nr > 0 && q0 < ks; q0 += VL) {
        const int nq = int(std::min<int64_t>(VL, ks - q0));
        V blk[VL];
#pragma GCC unroll 16
        for (int q = 0; q < VL; ++q) blk[q] = q < nq ? S::load(src + (q0 + q) * W + r0) : S::zero();
        S::transpose(blk);
#pragma GCC unroll 16
        for (int r = 0; r < VL; ++r) {
          if (r >= nr) continue;
          T* d = dst + (r0 + r) * row_stride + q0;
          if (nq == VL) {
            S::store(d, blk[r]);
          } else {
            T part[VL];
            S::store(part, blk[r]);
            std::memcpy(d, part, sizeof(T) * nq);
          }
        }
      }
    }
  }

  // power[p] = |y_p|^2 for elements p < ks of the complex tile y, as a real tile.
  static void power_rows(const T* y, int64_t ks, T* power) {
    for (int64_t p = 0; p < ks; ++p)
      for (int o = 0; o < W; o += VL) {
        const V re = S::load(y + p * CW + o), im = S::load(y + p * CW + W + o);
        S::store(power + p * W + o, re * re + im * im);
      }
  }

  // The separation of a packed real frame (see the front-end): for k = 0 .. N, with u = y_(k mod N) and
  // v = y_((N - k) mod N), X_k = a_k u + b_k conj(v). sep: (2, N + 1) complex coefficients, rows a and b.
  // Calls f(k, pu, pv, o, ar, ai, br, bi, ur, ui, vr, vi, xr, xi) for every k and vector of lanes o: the elements
  // pu and pv that u and v are, and the parts of a_k, b_k, u, v and X_k.
  template <typename F>
  static KFRONT_INLINE void for_each_separated(const T* y, const T* sep, int64_t N, F&& f) {
    for (int64_t k = 0; k <= N; ++k) {
      const int64_t pu = k < N ? k : 0, pv = k == 0 ? 0 : N - k;
      const T* a = sep + 2 * k;
      const T* b = sep + 2 * (N + 1) + 2 * k;
      const V ar = S::splat(a[0]), ai = S::splat(a[1]), br = S::splat(b[0]), bi = S::splat(b[1]);
      for (int o = 0; o < W; o += VL) {
        const V ur = S::load(y + pu * CW + o), ui = S::load(y + pu * CW + W + o);
        const V vr = S::load(y + pv * CW + o), vi = S::load(y + pv * CW + W + o);
        f(k, pu, pv, o, ar, ai, br, bi, ur, ui, vr, vi, ar * ur - ai * ui + br * vr + bi * vi,
          ar * ui + ai * ur + bi * vr - br * vi);
      }
    }
  }

  // power[k] = |X_k|^2, k = 0 .. N, as a real tile.
  static void separated_power_rows(const T* y, const T* sep, int64_t N, T* power) {
    for_each_separated(y, sep, N, [&](int64_t k, int64_t, int64_t, int o, V, V, V, V, V, V, V, V, V xr, V xi)
                                      KFRONT_INLINE_LAMBDA { S::store(power + k * W + o, xr * xr + xi * xi); });
  }

  // Backward of separated_power_rows: g (the complex tile y's gradient) from gp (the power's, a real tile of
  // N + 1 rows), and the coefficients' gradient, summed over the lanes' frames into sacc: 4 vectors of VL lanes
  // per k (d a_k, then d b_k, each real and imaginary part; horizontal sums are left to the caller). With
  // G = 2 X gp (PyTorch's d|X|^2 / dX): d u += conj(a) G, d v += b conj(G), d a += conj(u) G, d b += v G.
  static void separated_power_grad(const T* y, const T* sep, int64_t N, const T* gp, T* g, T* sacc, int64_t n) {
    for (int64_t v = 0; v < n * CW; v += VL) S::store(g + v, S::zero());
    for_each_separated(y, sep, N, [&](int64_t k, int64_t pu, int64_t pv, int o, V ar, V ai, V br, V bi, V ur, V ui,
                                      V vr, V vi, V xr, V xi) KFRONT_INLINE_LAMBDA {
      const V two_gp = S::splat(T(2)) * S::load(gp + k * W + o), gr = two_gp * xr, gi = two_gp * xi;
      T* du = g + pu * CW + o;
      T* dv = g + pv * CW + o;
      S::store(du, S::load(du) + ar * gr + ai * gi);
      S::store(du + W, S::load(du + W) + ar * gi - ai * gr);
      S::store(dv, S::load(dv) + br * gr + bi * gi);
      S::store(dv + W, S::load(dv + W) + bi * gr - br * gi);
      T* acc = sacc + k * 4 * VL;
      S::store(acc, S::load(acc) + ur * gr + ui * gi);
      S::store(acc + VL, S::load(acc + VL) + ur * gi - ui * gr);
      S::store(acc + 2 * VL, S::load(acc + 2 * VL) + vr * gr - vi * gi);
      S::store(acc + 3 * VL, S::load(acc + 3 * VL) + vr * gi + vi * gr);
    });
  }

  // Inverse of store_real_rows: rows [0, ks) of gp from `rows` frames, frame r at src + r * row_stride; lanes past
  // `rows` are zero.
  static void load_real_rows(const T* src, int64_t row_stride, int rows, int64_t ks, T* gp) {
    for (int g = 0; g < NV; ++g) {
      const int r0 = g * VL, nr = std::clamp(rows - r0, 0, VL);
      for (int64_t q0 = 0; q0 < ks; q0 += VL) {
        const int nq = int(std::min<int64_t>(VL, ks - q0));
        V blk[VL];
#pragma GCC unroll 16
        for (int r = 0; r < VL; ++r) {
          if (r >= nr) {
            blk[r] = S::zero();
          } else if (nq == VL) {
            blk[r] = S::load(src + (r0 + r) * row_stride + q0);
          } else {
            T part[VL] = {};
            std::memcpy(part, src + (r0 + r) * row_stride + q0, sizeof(T) * nq);
            blk[r] = S::load(part);
          }
        }
        S::transpose(blk);
#pragma GCC unroll 16
        for (int q = 0; q < VL; ++q) S::store(gp + (q0 + q) * W + r0, blk[q]);
      }
    }
  }
};

}  // namespace cpu
}  // namespace kfront
