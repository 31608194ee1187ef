// Fused CPU butterfly kernel on raw pointers: all layers of all blocks are applied to a tile of frames while it
// sits in cache; the backward keeps a few checkpoints per tile and recomputes the rest in L1-sized pieces.
//
// Tile layout: W = NV * kLanes frames (NV vectors) side by side in SIMD lanes, real and imaginary parts planar.
// Component c (0 real, 1 imaginary) of element p of frame l lives at tile[(p * C + c) * W + l], i.e. element p
// is a run of CW = C * W values. Whatever the stride, a pair (p, p + s) is then NV whole vectors per component,
// and the 2x2 product is a few vector FMAs with the twiddle entries broadcast.
//
// Cache blocking: layers whose log-strides lie in [q0, q1) (a "phase" of at most lsub layers) only mix elements
// p = h * span + m * 2^q0 + r that share h and r (span = 2^q1, m < M = 2^(q1 - q0)). Such a sub-block of
// M x R elements (at most 2^lsub; kL1SubLog2 makes it 16 KiB) goes through all the phase's layers in L1 before
// the next one; lsub >= log2 n means no blocking.
//
// Twiddles of one (stack, block, layer): (n/2, 2, 2) values, each entry (re, im) when complex, i.e. kTw = 4 * C
// consecutive values per pair: t00, t01, t10, t11. Pair i of stride s joins p = 2 s (i / s) + i % s and p + s.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "simd.h"

namespace kfront {
namespace cpu {

template <typename T, bool kCplx, int NV>
struct ButterflyKernel {
  using S = Vec<T>;
  using V = typename S::V;
  static constexpr int VL = S::kLanes;
  static constexpr int W = NV * VL;  // frames per tile
  static constexpr int C = kCplx ? 2 : 1;
  static constexpr int CW = C * W;  // values per element of a tile
  static constexpr int kTw = 4 * C;
  static constexpr int kPacked = S::template packed<kTw>();  // vectors of twiddle-gradient sums per pair
  // log2 of the elements of a 16 KiB sub-block: the cache blocking used (lsub below). Measured on an AVX-512
  // CPU: the backward is up to 1.5x faster than with whole tiles (n = 4096); the forward gains nothing either
  // way, its tile already lives in L2.
  static constexpr int kL1SubLog2 = __builtin_ctzll(16384 / int64_t(CW * sizeof(T)));

  // ---- tiles <-> frames -------------------------------------------------------------------------------------
  // Transpose `rows` (<= W) frames into a tile of m values per frame: value q < m_read of frame r, at
  // src + r * row_stride + q, goes to tile row q * spread, and the rows of values m_read <= q < m are zeroed,
  // so a row shorter than the tile (m_read = L * C) is read as if zero-padded, with no padded copy in memory.
  // m = n * C with spread 1; a real frame into a complex tile has m = n and spread 2, and its imaginary rows are
  // zeroed. Lanes past `rows` are zeroed so that they carry finite values through the layers (they are never
  // stored).
  static void load_tile(const T* src, int64_t row_stride, int rows, int64_t m_read, int64_t m, T* tile,
                        int spread = 1) {
    auto zero_row = [&](int64_t row) {
      for (int o = 0; o < W; o += VL) S::store(tile + row * W + o, S::zero());
    };
    if (spread == 2)
      for (int64_t q = 0; q < m; ++q) zero_row(2 * q + 1);
    if (m % VL != 0) {  // frames shorter than a vector: element by element
      for (int64_t q = 0; q < m; ++q)
        for (int r = 0; r < W; ++r) tile[q * spread * W + r] = r < rows && q < m_read ? src[r * row_stride + q] : T(0);
      return;
    }
    // Whole vectors of values up to m_full, then one vector of the last m_read - m_full values and zeros (m is a
    // multiple of VL, so it stays inside the tile), then zero rows.
    const int64_t m_full = m_read / VL * VL, m_blocks = (m_read + VL - 1) / VL * VL;
    for (int64_t q = m_blocks; q < m; ++q) zero_row(q * spread);
    for (int g = 0; g < NV; ++g) {
      const int r0 = g * VL, nr = std::clamp(rows - r0, 0, VL);
      auto transpose_in = [&](int64_t q0, V* blk) KFRONT_INLINE_LAMBDA {
        S::transpose(blk);
#pragma GCC unroll 16
        for (int q = 0; q < VL; ++q) S::store(tile + (q0 + q) * spread * W + r0, blk[q]);
      };
      for (int64_t q0 = 0; q0 < m_full; q0 += VL) {
        V blk[VL];
#pragma GCC unroll 16
        for (int r = 0; r < VL; ++r) blk[r] = r < nr ? S::load(src + (r0 + r) * row_stride + q0) : S::zero();
        transpose_in(q0, blk);
      }
      if (m_full < m_read) {
        V blk[VL];
        for (int r = 0; r < VL; ++r) {
          T part[VL] = {};
          if (r < nr) std::memcpy(part, src + (r0 + r) * row_stride + m_full, sizeof(T) * (m_read - m_full));
          blk[r] = S::load(part);
        }
        transpose_in(m_full, blk);
      }
    }
  }

  // Inverse of load_tile for the first `rows` lanes; with spread 2, the real parts of a complex tile.
  static void store_tile(const T* tile, int rows, int64_t m, T* dst, int64_t row_stride, int spread = 1) {
    if (m % VL != 0) {
      for (int r = 0; r < rows; ++r)
        for (int64_t q = 0; q < m; ++q) dst[r * row_stride + q] = tile[q * spread * W + r];
      return;
    }
    for (int g = 0; g < NV; ++g) {
      const int r0 = g * VL, nr = std::clamp(rows - r0, 0, VL);
      for (int64_t q0 = 0; nr > 0 && q0 < m; q0 += VL) {
        V blk[VL];
#pragma GCC unroll 16
        for (int q = 0; q < VL; ++q) blk[q] = S::load(tile + (q0 + q) * spread * W + r0);
        S::transpose(blk);
#pragma GCC unroll 16
        for (int r = 0; r < VL; ++r)  // unrolled: constant indices keep blk in registers
          if (r < nr) S::store(dst + (r0 + r) * row_stride + q0, blk[r]);
      }
    }
  }

  // ---- permuted tiles <-> frames -----------------------------------------------------------------------------
  // With an input permutation the frame's values keep their order in memory and change rows in the tile:
  // value q < m_read of a frame goes to tile row row_of[q] (in units of W values), and the rows listed in zero
  // receive none (the padding, and the imaginary rows of a real frame in a complex tile). The transposes are
  // load_tile's; only the row each transposed vector is stored to changes, so the permutation costs no pass.
  static void load_tile_mapped(const T* src, int64_t row_stride, int rows, int64_t m_read, const int64_t* row_of,
                               const int64_t* zero, int64_t nzero, T* tile) {
    for (int64_t z = 0; z < nzero; ++z)
      for (int o = 0; o < W; o += VL) S::store(tile + zero[z] * W + o, S::zero());
    const int64_t m_full = m_read / VL * VL;
    for (int g = 0; g < NV; ++g) {
      const int r0 = g * VL, nr = std::clamp(rows - r0, 0, VL);
      for (int64_t q0 = 0; q0 < m_full; q0 += VL) {
        V blk[VL];
#pragma GCC unroll 16
        for (int r = 0; r < VL; ++r) blk[r] = r < nr ? S::load(src + (r0 + r) * row_stride + q0) : S::zero();
        S::transpose(blk);
#pragma GCC unroll 16
        for (int q = 0; q < VL; ++q) S::store(tile + row_of[q0 + q] * W + r0, blk[q]);
      }
      for (int64_t q = m_full; q < m_read; ++q)  // the last values, fewer than a vector: one by one
        for (int r = 0; r < VL; ++r) tile[row_of[q] * W + r0 + r] = r < nr ? src[(r0 + r) * row_stride + q] : T(0);
    }
  }

  // Inverse of load_tile_mapped for the first `rows` lanes: value q of frame r is tile row row_of[q], lane r.
  static void store_tile_mapped(const T* tile, int rows, int64_t m, const int64_t* row_of, T* dst, int64_t row_stride) {
    const int64_t m_full = m / VL * VL;
    for (int g = 0; g < NV; ++g) {
      const int r0 = g * VL, nr = std::clamp(rows - r0, 0, VL);
      if (nr == 0) continue;
      for (int64_t q0 = 0; q0 < m_full; q0 += VL) {
        V blk[VL];
#pragma GCC unroll 16
        for (int q = 0; q < VL; ++q) blk[q] = S::load(tile + row_of[q0 + q] * W + r0);
        S::transpose(blk);
#pragma GCC unroll 16
        for (int r = 0; r < VL; ++r)
          if (r < nr) S::store(dst + (r0 + r) * row_stride + q0, blk[r]);
      }
      for (int r = 0; r < nr; ++r)
        for (int64_t q = m_full; q < m; ++q) dst[(r0 + r) * row_stride + q] = tile[row_of[q] * W + r0 + r];
    }
  }

  // ---- one pair ---------------------------------------------------------------------------------------------
  // (ya, yb) = T (a, b) for the W frames; a may alias ya and b yb (both are read before either is written).
  static KFRONT_INLINE void pair_forward(const T* a, const T* b, T* ya, T* yb, const T* t) {
    if constexpr (kCplx) {
      const V t00r = S::splat(t[0]), t00i = S::splat(t[1]), t01r = S::splat(t[2]), t01i = S::splat(t[3]);
      const V t10r = S::splat(t[4]), t10i = S::splat(t[5]), t11r = S::splat(t[6]), t11i = S::splat(t[7]);
      for (int o = 0; o < W; o += VL) {
        const V ar = S::load(a + o), ai = S::load(a + W + o), br = S::load(b + o), bi = S::load(b + W + o);
        S::store(ya + o, t00r * ar - t00i * ai + t01r * br - t01i * bi);
        S::store(ya + W + o, t00r * ai + t00i * ar + t01r * bi + t01i * br);
        S::store(yb + o, t10r * ar - t10i * ai + t11r * br - t11i * bi);
        S::store(yb + W + o, t10r * ai + t10i * ar + t11r * bi + t11i * br);
      }
    } else {
      const V t00 = S::splat(t[0]), t01 = S::splat(t[1]), t10 = S::splat(t[2]), t11 = S::splat(t[3]);
      for (int o = 0; o < W; o += VL) {
        const V av = S::load(a + o), bv = S::load(b + o);
        S::store(ya + o, t00 * av + t01 * bv);
        S::store(yb + o, t10 * av + t11 * bv);
      }
    }
  }

  // Backward of one pair whose inputs were (a, b): (ga, gb), the outputs' gradient, becomes the inputs' in
  // place (unless kInGrad is false: then they are left as they are), and the twiddle gradient, folded over the
  // W frames into one vector (see Vec::fold_sums), is added to the pair's accumulator `acc`; the last horizontal
  // step waits until a worker's tiles are done (finish_twiddle_grad). PyTorch's complex convention:
  // d_in = conj(T)^T g, d_t[r][c] = g[r] * conj(in[c]).
  template <bool kInGrad>
  static KFRONT_INLINE void pair_backward(const T* a, const T* b, T* ga, T* gb, const T* t, T* acc) {
    V d[kTw] = {};  // per-lane twiddle gradient, in dt's order
    if constexpr (kCplx) {
      for (int o = 0; o < W; o += VL) {
        const V ar = S::load(a + o), ai = S::load(a + W + o), br = S::load(b + o), bi = S::load(b + W + o);
        const V gar = S::load(ga + o), gai = S::load(ga + W + o), gbr = S::load(gb + o), gbi = S::load(gb + W + o);
        // Written as d = d + x * y + z * w, so that each product folds into one FMA.
        d[0] = d[0] + gar * ar + gai * ai;  // g_a * conj(a)
        d[1] = d[1] + gai * ar - gar * ai;
        d[2] = d[2] + gar * br + gai * bi;  // g_a * conj(b)
        d[3] = d[3] + gai * br - gar * bi;
        d[4] = d[4] + gbr * ar + gbi * ai;  // g_b * conj(a)
        d[5] = d[5] + gbi * ar - gbr * ai;
        d[6] = d[6] + gbr * br + gbi * bi;  // g_b * conj(b)
        d[7] = d[7] + gbi * br - gbr * bi;
        if constexpr (kInGrad) {
          const V t00r = S::splat(t[0]), t00i = S::splat(t[1]), t01r = S::splat(t[2]), t01i = S::splat(t[3]);
          const V t10r = S::splat(t[4]), t10i = S::splat(t[5]), t11r = S::splat(t[6]), t11i = S::splat(t[7]);
          S::store(ga + o, t00r * gar + t00i * gai + t10r * gbr + t10i * gbi);  // conj(t00) g_a + conj(t10) g_b
          S::store(ga + W + o, t00r * gai - t00i * gar + t10r * gbi - t10i * gbr);
          S::store(gb + o, t01r * gar + t01i * gai + t11r * gbr + t11i * gbi);  // conj(t01) g_a + conj(t11) g_b
          S::store(gb + W + o, t01r * gai - t01i * gar + t11r * gbi - t11i * gbr);
        }
      }
    } else {
      for (int o = 0; o < W; o += VL) {
        const V av = S::load(a + o), bv = S::load(b + o), gav = S::load(ga + o), gbv = S::load(gb + o);
        d[0] = d[0] + gav * av;
        d[1] = d[1] + gav * bv;
        d[2] = d[2] + gbv * av;
        d[3] = d[3] + gbv * bv;
        if constexpr (kInGrad) {
          const V t00 = S::splat(t[0]), t01 = S::splat(t[1]), t10 = S::splat(t[2]), t11 = S::splat(t[3]);
          S::store(ga + o, t00 * gav + t10 * gbv);
          S::store(gb + o, t01 * gav + t11 * gbv);
        }
      }
    }
    S::template fold_sums<kTw>(d);
    for (int p = 0; p < kPacked; ++p) S::store(acc + p * VL, S::load(acc + p * VL) + d[p]);
  }

  // ---- one layer on one sub-block ---------------------------------------------------------------------------
  // A sub-block of a phase starting at log-stride q0: elements (m, r), m < M, r < R, at tile positions
  // base + m * 2^q0 + r, processed in compact form, element (m, r) at offset (m * R + r) * CW. Contiguous
  // sub-blocks (R == 2^q0) are processed in place; strided ones are gathered into L1-sized scratch first, since
  // rows 2^q0 elements apart all fall into the same few cache sets.
  struct Sub {
    int64_t base, s_lo, M, R;
    bool contiguous() const { return s_lo == R; }
  };

  static KFRONT_INLINE void copy_elements(const T* src, T* dst, int64_t count) {  // count elements of CW values
    for (int64_t v = 0; v < count * CW; v += VL) S::store(dst + v, S::load(src + v));
  }
  static void gather(const T* tile, const Sub& sb, T* buf) {
    for (int64_t m = 0; m < sb.M; ++m) copy_elements(tile + (sb.base + m * sb.s_lo) * CW, buf + m * sb.R * CW, sb.R);
  }
  static void scatter(const T* buf, const Sub& sb, T* tile) {
    for (int64_t m = 0; m < sb.M; ++m) copy_elements(buf + m * sb.R * CW, tile + (sb.base + m * sb.s_lo) * CW, sb.R);
  }

  // Calls f(i, a, b) for every pair of the layer of log-stride ls: i is the twiddle index, a and b the compact
  // offsets, in values, of its two elements.
  template <typename F>
  static KFRONT_INLINE void for_each_pair(const Sub& sb, int ls, F&& f) {
    const int64_t s = int64_t{1} << ls, sm = s / sb.s_lo;
    for (int64_t mj = 0; mj < sb.M; mj += 2 * sm) {
      for (int64_t mk = 0; mk < sm; ++mk) {
        const int64_t m = mj + mk, p = sb.base + m * sb.s_lo;
        const int64_t i0 = p - ((p >> (ls + 1)) << ls);  // pair index of p: p = 2 s j + k -> i = s j + k
        for (int64_t r = 0; r < sb.R; ++r) f(i0 + r, (m * sb.R + r) * CW, ((m + sm) * sb.R + r) * CW);
      }
    }
  }

  static void sub_forward(const T* src, T* dst, const T* tw, const Sub& sb, int ls) {
    for_each_pair(sb, ls, [&](int64_t i, int64_t a, int64_t b) KFRONT_INLINE_LAMBDA {
      pair_forward(src + a, src + b, dst + a, dst + b, tw + i * kTw);
    });
  }

  // acc: the layer's twiddle-gradient accumulators, kPacked vectors per pair.
  template <bool kInGrad = true>
  static void sub_backward(const T* act, T* g, const T* tw, T* acc, const Sub& sb, int ls) {
    for_each_pair(sb, ls, [&](int64_t i, int64_t a, int64_t b) KFRONT_INLINE_LAMBDA {
      pair_backward<kInGrad>(act + a, act + b, g + a, g + b, tw + i * kTw, acc + i * kPacked * VL);
    });
  }

  // The outputs' gradient from the power's: g_p = 2 y_p gp_p for tile positions p < ks, zero beyond (PyTorch's
  // convention for d|y|^2 / dy). y and g are compact sub-blocks, gp a real tile (load_power_grad).
  static void power_grad_sub(const T* y, const T* gp, int64_t ks, const Sub& sb, T* g) {
    for (int64_t m = 0; m < sb.M; ++m)
      for (int64_t r = 0; r < sb.R; ++r) {
        const int64_t p = sb.base + m * sb.s_lo + r, e = (m * sb.R + r) * CW;
        for (int o = 0; o < W; o += VL) {
          const V two_gp = p < ks ? S::splat(T(2)) * S::load(gp + p * W + o) : S::zero();
          for (int c = 0; c < C; ++c) S::store(g + e + c * W + o, two_gp * S::load(y + e + c * W + o));
        }
      }
  }

  // Twiddle-gradient accumulators: kPacked vectors per pair of every (stack, block, layer). finish_twiddle_grad
  // adds their totals to dtw (same layout as the twiddles).
  static int64_t accumulator_values(int64_t twiddle_values) { return twiddle_values / kTw * kPacked * VL; }
  static void finish_twiddle_grad(const T* acc, T* dtw, int64_t twiddle_values) {
    for (int64_t i = 0; i < twiddle_values / kTw; ++i) {
      V packed[kPacked];
      for (int p = 0; p < kPacked; ++p) packed[p] = S::load(acc + (i * kPacked + p) * VL);
      S::template add_sums<kTw>(packed, dtw + i * kTw);
    }
  }

  // ---- phases -----------------------------------------------------------------------------------------------
  // A block's log2 n layers are split, in the order they are applied, into phases of at most k = lsub
  // layers: r, k, ..., k (short_first) or k, ..., k, r. With an increasing block the first covers log-strides
  // [0, r) or [0, k), with a decreasing one the highest ones. The forward puts the short phase last: its
  // sub-blocks then have few, long rows, cheap to gather. The backward recomputes every phase but the last from
  // checkpoints and, within a phase, every layer but the first: putting the short phase first minimises both.
  static int num_phases(int log_n, int lsub) { return (log_n + lsub - 1) / lsub; }

  struct Phase {
    int q0, q1;
    bool inc;
    int layers() const { return q1 - q0; }
    int log_stride(int j) const { return inc ? q0 + j : q1 - 1 - j; }  // of the phase's j-th layer
  };
  static Phase phase(int log_n, int lsub, bool inc, int j, bool short_first) {
    const int np = num_phases(log_n, lsub), r = log_n - (np - 1) * lsub;
    const int first = short_first ? r : std::min(lsub, log_n);
    const int c0 = j == 0 ? 0 : first + (j - 1) * lsub;  // layers applied before this phase
    const int c1 = std::min(log_n, j == 0 ? first : c0 + lsub);
    return inc ? Phase{c0, c1, true} : Phase{log_n - c1, log_n - c0, false};
  }

  // Calls f(Sub) for sub-blocks of at most 2^lsub elements covering the tile. Contiguous sub-blocks may span
  // several groups of M rows (the pair pattern repeats), which keeps them large when the phase is short.
  template <typename F>
  static void for_each_sub(int64_t n, int lsub, const Phase& ph, F&& f) {
    const int64_t s_lo = int64_t{1} << ph.q0, M = int64_t{1} << ph.layers(), span = M * s_lo, E = int64_t{1} << lsub;
    const int64_t R = std::min(s_lo, std::max<int64_t>(1, E / M));
    if (R == s_lo) {
      const int64_t rows = std::min(std::max(M, E / s_lo), n / s_lo);
      for (int64_t base = 0; base < n; base += rows * s_lo) f(Sub{base, s_lo, rows, R});
      return;
    }
    for (int64_t h = 0; h < n; h += span)
      for (int64_t r0 = 0; r0 < s_lo; r0 += R) f(Sub{h + r0, s_lo, M, R});
  }

  static bool block_increasing(bool increasing_stride, int blk) { return increasing_stride != (blk % 2 == 1); }

  // dst = phase(src), sub-block by sub-block; src == dst is allowed. tw_blk: (log_n, n/2, kTw) of the block;
  // buf: 2^lsub * CW values of scratch. With `keep`, the inputs of the phase's layers 1 .. L-1 are kept too:
  // sub-block after sub-block, in for_each_sub's order and compact form, layer j's at keep + (j - 1) * tile
  // (tile = n * CW values).
  static void forward_phase(const T* src, T* dst, const T* tw_blk, int log_n, int lsub, const Phase& ph, T* buf,
                            T* keep = nullptr) {
    const int64_t half = int64_t{1} << (log_n - 1), tile = 2 * half * CW;
    int64_t off = 0;
    for_each_sub(2 * half, lsub, ph, [&](const Sub& sb) {
      const bool gathered = !sb.contiguous();
      const T* in = src + sb.base * CW;
      T* out = dst + sb.base * CW;
      if (gathered) {
        gather(src, sb, buf);
        in = out = buf;
      }
      const int L = ph.layers();
      for (int j = 0; j < L; ++j) {
        const int ls = ph.log_stride(j), layer = ph.inc ? ls : log_n - 1 - ls;
        const T* layer_in = j == 0 ? in : keep ? keep + (j - 1) * tile + off : out;
        T* layer_out = keep && j + 1 < L ? keep + j * tile + off : out;
        sub_forward(layer_in, layer_out, tw_blk + layer * half * kTw, sb, ls);
      }
      if (gathered) scatter(buf, sb, dst);
      off += sb.M * sb.R * CW;
    });
  }

  // ---- whole tiles ------------------------------------------------------------------------------------------
  // Scratch of one worker, in values. Forward: the tile and one sub-block. Backward: the input of every phase
  // of every block (the first is the x tile), with `keep` the inputs of the other layers of every phase but the
  // last, the gradient tile, and per sub-block the inputs of the phase's layers, its gradient and its output.
  static int64_t checkpoints(int nblocks, int log_n, int lsub) { return int64_t(nblocks) * num_phases(log_n, lsub); }
  // Layer inputs kept besides the checkpoints: every layer's but those of the last phase, which is recomputed
  // sub-block by sub-block in L1 instead.
  static int64_t kept_layers(int nblocks, int log_n, int lsub) {
    const int last = phase(log_n, lsub, true, num_phases(log_n, lsub) - 1, true).layers();
    return int64_t(nblocks) * log_n - last - (checkpoints(nblocks, log_n, lsub) - 1);
  }
  static int64_t forward_scratch(int64_t n, int lsub) { return n * CW + (int64_t{1} << lsub) * CW; }
  static int64_t backward_scratch(int64_t n, int nblocks, int log_n, int lsub, bool keep) {
    const int64_t tiles = checkpoints(nblocks, log_n, lsub) + (keep ? kept_layers(nblocks, log_n, lsub) : 0) + 1;
    return tiles * n * CW + (lsub + 2) * (int64_t{1} << lsub) * CW;
  }
  static T* x_tile(T* scratch) { return scratch; }
  static T* grad_tile(T* scratch, int64_t n, int nblocks, int log_n, int lsub, bool keep) {
    return scratch + (checkpoints(nblocks, log_n, lsub) + (keep ? kept_layers(nblocks, log_n, lsub) : 0)) * n * CW;
  }

  // All layers of all blocks, in place on the tile at the start of scratch. tw: this stack's
  // (nblocks, log_n, n/2, kTw) twiddles.
  static void forward_tile(T* scratch, const T* tw, int nblocks, int log_n, int lsub, bool increasing_stride) {
    const int64_t tw_block = (int64_t(log_n) << (log_n - 1)) * kTw;
    T* buf = scratch + (int64_t{1} << log_n) * CW;
    for (int blk = 0; blk < nblocks; ++blk)
      for (int j = 0; j < num_phases(log_n, lsub); ++j)
        forward_phase(scratch, scratch, tw + blk * tw_block, log_n, lsub,
                      phase(log_n, lsub, block_increasing(increasing_stride, blk), j, false), buf);
  }

  // The output of a tile from the backward's last checkpoint (see backward_tile's output_grad): its last phase
  // applied to it. buf: one sub-block of scratch.
  static void last_phase_forward(const T* checkpoint, T* out, const T* tw, int nblocks, int log_n, int lsub,
                                 bool increasing_stride, T* buf) {
    const int nph = num_phases(log_n, lsub), blk = nblocks - 1;
    forward_phase(checkpoint, out, tw + blk * (int64_t(log_n) << (log_n - 1)) * kTw, log_n, lsub,
                  phase(log_n, lsub, block_increasing(increasing_stride, blk), nph - 1, true), buf);
  }

  // On entry x_tile holds the input and grad_tile the output's gradient, which on return holds d_x (with
  // input_grad; otherwise it is left undefined and the last layer's input gradient is not computed). The twiddle
  // gradient is added to acc, this stack's accumulators (see accumulator_values). keep: whether the scratch has
  // room for the kept layer inputs (backward_scratch); then every layer but those of the last phase is
  // recomputed once, else twice.
  //
  // Power mode (gp not null): the output's gradient comes from that of its power, gp, a real tile
  // (load_power_grad) of elements [0, ks); grad_tile's content on entry is ignored. The last phase then also
  // recomputes its last layer, sub-block by sub-block, to get the output.
  //
  // output_grad, when given, is called as output_grad(checkpoint, g) once the checkpoints are made, with the
  // last one (the input of the last phase; see last_phase) and grad_tile, into which it writes the output's
  // gradient (grad_tile's content on entry is then ignored).
  template <typename F = std::nullptr_t>
  static void backward_tile(T* scratch, const T* tw, T* acc, int nblocks, int log_n, int lsub, bool increasing_stride,
                            bool input_grad, bool keep, const T* gp = nullptr, int64_t ks = 0,
                            F&& output_grad = nullptr) {
    const int64_t half = int64_t{1} << (log_n - 1), n = 2 * half, tile = n * CW, tw_block = log_n * half * kTw;
    const int64_t acc_block = log_n * half * kPacked * VL;
    const int nph = num_phases(log_n, lsub);
    const int64_t ncp = checkpoints(nblocks, log_n, lsub), sub_values = (int64_t{1} << lsub) * CW;
    T* kept = scratch + ncp * tile;             // kept layer inputs of phases 0 .. ncp - 2, in that order
    T* g = grad_tile(scratch, n, nblocks, log_n, lsub, keep);
    T* sub = g + tile;                          // (lsub, sub_values): a sub-block's layer inputs
    T* sub_g = sub + lsub * sub_values;         // (sub_values): its gradient
    T* sub_y = sub_g + sub_values;              // (sub_values): its output, in power mode
    auto phase_of = [&](int64_t c) {
      return phase(log_n, lsub, block_increasing(increasing_stride, int(c / nph)), int(c % nph), true);
    };
    for (int64_t c = 0, k = 0; c + 1 < ncp; ++c) {  // checkpoint c + 1 = phase c applied to checkpoint c
      const Phase ph = phase_of(c);
      const T* tw_blk = tw + (c / nph) * tw_block;
      if (keep) {
        forward_phase(scratch + c * tile, scratch + (c + 1) * tile, tw_blk, log_n, lsub, ph, sub,
                           kept + k * tile);
        k += ph.layers() - 1;
      } else {
        forward_phase(scratch + c * tile, scratch + (c + 1) * tile, tw_blk, log_n, lsub, ph, sub);
      }
    }
    if constexpr (!std::is_same_v<std::decay_t<F>, std::nullptr_t>) output_grad(scratch + (ncp - 1) * tile, g);
    int64_t k_end = keep ? kept_layers(nblocks, log_n, lsub) : 0;  // end of phase c's kept inputs
    for (int64_t c = ncp - 1; c >= 0; --c) {
      const int blk = int(c / nph);
      const Phase ph = phase_of(c);
      const bool kept_here = keep && c + 1 < ncp, last_grad = c == 0 && !input_grad;
      const bool power_here = gp != nullptr && c + 1 == ncp;  // the output's gradient is made here
      const T* kept_c = kept + (k_end - (ph.layers() - 1)) * tile;
      if (kept_here) k_end -= ph.layers() - 1;
      const T* tw_blk = tw + blk * tw_block;
      T* acc_blk = acc + blk * acc_block;
      const T* ckpt = scratch + c * tile;
      auto layer_of = [&](int ls) { return ph.inc ? ls : log_n - 1 - ls; };
      int64_t off = 0;
      for_each_sub(n, lsub, ph, [&](const Sub& sb) {
        // Inputs of the phase's layers for this sub-block: layer 0's from the checkpoint, the others kept or
        // recomputed into L1-resident scratch.
        auto input = [&](int j) -> const T* {
          return kept_here ? kept_c + (j - 1) * tile + off : sub + j * sub_values;
        };
        const T* in0 = ckpt + sb.base * CW;
        T* gs = g + sb.base * CW;
        if (!sb.contiguous()) {
          gather(ckpt, sb, sub);
          if (!power_here) gather(g, sb, sub_g);
          in0 = sub;
          gs = sub_g;
        }
        if (!kept_here)
          for (int j = 0; j + 1 < ph.layers(); ++j) {
            const int ls = ph.log_stride(j);
            sub_forward(j == 0 ? in0 : input(j), sub + (j + 1) * sub_values, tw_blk + layer_of(ls) * half * kTw, sb,
                        ls);
          }
        if (power_here) {
          const int j = ph.layers() - 1, ls = ph.log_stride(j);
          sub_forward(j == 0 ? in0 : input(j), sub_y, tw_blk + layer_of(ls) * half * kTw, sb, ls);
          power_grad_sub(sub_y, gp, ks, sb, gs);
        }
        for (int j = ph.layers() - 1; j >= 0; --j) {
          const int ls = ph.log_stride(j);
          const T* twl = tw_blk + layer_of(ls) * half * kTw;
          T* accl = acc_blk + layer_of(ls) * half * kPacked * VL;
          if (j == 0 && last_grad)
            sub_backward<false>(in0, gs, twl, accl, sb, ls);
          else
            sub_backward<true>(j == 0 ? in0 : input(j), gs, twl, accl, sb, ls);
        }
        if (!sb.contiguous() && !last_grad) scatter(sub_g, sb, g);
        off += sb.M * sb.R * CW;
      });
    }
  }
};

}  // namespace cpu
}  // namespace kfront
