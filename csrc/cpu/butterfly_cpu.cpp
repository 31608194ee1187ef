// CPU implementation of the kfront ops (butterfly_multiply, the power ops, their backwards): tensor plumbing
// around the fused kernels in butterfly_kernel.h and power_kernel.h. Work is split into tiles of W frames of one
// stack (W: frames per tile, the SIMD lanes times the tile's vectors); the tiles are cut into contiguous shares,
// one per worker, run with at::parallel_for (OpenMP, honouring torch.set_num_threads). Arguments are checked by
// butterfly_checks.h, as on every backend.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <c10/util/complex.h>
#include <torch/library.h>
#include <torch/types.h>

#include <cstdlib>
#include <memory>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../butterfly_checks.h"
#include "../butterfly_perm.h"
#include "butterfly_kernel.h"
#include "power_kernel.h"

namespace kfront {
namespace cpu {
namespace {

// Vectors per component in a tile (a tile holds that many times kLanes frames): two amortise the twiddle
// broadcasts (and in the backward the twiddle gradient's horizontal sums) over twice the frames; one keeps the
// tile smaller. Measured with AVX-512: two are faster up to 256 KiB tiles in the forward (n = 512 complex) and
// up to 1 MiB tiles in the backward (n = 4096 complex).
template <typename F>
void with_tile_vectors(int64_t n_values, int64_t max_tile_bytes, const F& f) {  // n_values: n * C
  if (2 * n_values * KFRONT_VECTOR_BYTES <= max_tile_bytes) return f(std::integral_constant<int, 2>{});
  f(std::integral_constant<int, 1>{});
}
constexpr int64_t kMaxForwardTileBytes = int64_t{256} << 10, kMaxBackwardTileBytes = int64_t{1} << 20;
// The backward keeps the layer inputs it computes while making its checkpoints (rather than recomputing them
// later) when they take at most this much: measured at n = 512 complex, a quarter fewer recomputed layers is
// about 6% faster while the scratch stays in L2, and no faster beyond.
constexpr int64_t kMaxKeptBytes = int64_t{1} << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// 64-byte aligned, uninitialised scratch: tiles are re-read every layer, so avoid split cache lines.
template <typename T>
std::unique_ptr<T, FreeDeleter> aligned_scratch(int64_t count) {
  const size_t bytes = ((sizeof(T) * size_t(count) + 63) / 64) * 64;
  T* p = static_cast<T*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
  TORCH_CHECK(p != nullptr, "kfront::butterfly_multiply: cannot allocate ", bytes, " bytes of scratch");
  return std::unique_ptr<T, FreeDeleter>(p);
}

// Asks for transparent huge pages for the 2 MiB-aligned interior of a fresh output of at least kMinHugeBytes
// (where the system leaves them to madvise, as is common): a large output is otherwise first touched 4 KiB page
// by page, and under virtualisation those page faults cost as much as the kernel's own work (measured at
// n = 512 complex, 10k frames, 2 threads: forward 15 -> 9 ms). Advice only: nothing changes where it is refused.
constexpr int64_t kMinHugeBytes = int64_t{8} << 20;
void advise_huge_pages(const at::Tensor& t) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const int64_t bytes = t.numel() * int64_t(t.element_size());
  if (bytes < kMinHugeBytes) return;
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data_ptr()) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data_ptr()) + uintptr_t(bytes)) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)t;
#endif
}

// One call as the CPU kernels see it: the problem (see butterfly_problem.h), the length of x's rows, whether x
// is real, and power mode.
struct Job : Problem {
  int64_t length;   // L, samples per row of x (and d_x), 1 <= L <= n: rows are read zero-padded to n
  bool real_input;  // a real x with a complex twiddle
  // Power mode, power_k >= 0: the op's output (its gradient in the backward) is (batch, power_k) real: |y|^2 of
  // y's first power_k outputs or, with separation ((2, power_k) complex coefficients, see power_kernel.h), of
  // the separation of its first power_k - 1.
  int64_t power_k;
  const void* separation;
  // The input permutation's inverse (n entries, see check_perm), or nullptr: x's element e is the product's
  // input inverse[e].
  const int64_t* inverse = nullptr;
  Job(const Problem& pb, int64_t length, bool real_input, int64_t power_k = -1, const void* separation = nullptr)
      : Problem(pb), length(length), real_input(real_input), power_k(power_k), separation(separation) {}
  // Power mode: how many of a stack's power outputs are its own (a frame's stacks are in a row, stack s from
  // s * n on; the separated power only needs stack 0).
  int64_t power_head(int64_t stack) const {
    if (separation != nullptr) return stack == 0 ? power_k : 0;
    return std::clamp<int64_t>(power_k - stack * n(), 0, n());
  }
  // Values per row of x (and d_x), and how far apart their rows lie in a tile (see load_tile).
  int64_t x_values(int C) const { return real_input ? length : length * C; }
  // Values per frame of x's tile: the whole n elements.
  int64_t x_tile_values(int C) const { return real_input ? n() : n() * C; }
  int spread() const { return real_input ? 2 : 1; }
};

// Where a permuted input's values go in a tile of C values per element (see load_tile_mapped): row_of[q] for
// each of a row's x_values(C) values, and the rows that receive none (every component of the inputs the
// permutation takes from the padding, and a real input's imaginary rows).
struct TileRows {
  std::vector<int64_t> row_of, zero;
};
TileRows tile_rows(const Job& job, int C) {
  TileRows t;
  if (job.inverse == nullptr) return t;
  const int cx = job.real_input ? 1 : C;  // values per element of x
  t.row_of.resize(job.length * cx);
  std::vector<char> filled(job.n() * C, 0);
  for (int64_t e = 0; e < job.length; ++e)
    for (int c = 0; c < cx; ++c) filled[t.row_of[e * cx + c] = job.inverse[e] * C + c] = 1;
  for (int64_t r = 0; r < job.n() * C; ++r)
    if (!filled[r]) t.zero.push_back(r);
  return t;
}

// `rows` frames of x (row_stride apart) into a tile of kernel K, through the permutation's map when the job has
// one; and the inverse, for d_x.
template <class K, typename T>
void load_x_tile(const T* src, int64_t row_stride, int rows, const Job& job, const TileRows& map, T* tile) {
  const int64_t mx = job.x_values(K::C);
  if (job.inverse != nullptr)
    K::load_tile_mapped(src, row_stride, rows, mx, map.row_of.data(), map.zero.data(), int64_t(map.zero.size()),
                        tile);
  else
    K::load_tile(src, row_stride, rows, mx, job.x_tile_values(K::C), tile, job.spread());
}
template <class K, typename T>
void store_x_tile(const T* tile, int rows, const Job& job, const TileRows& map, T* dst, int64_t row_stride) {
  const int64_t mx = job.x_values(K::C);
  if (job.inverse != nullptr)
    K::store_tile_mapped(tile, rows, mx, map.row_of.data(), dst, row_stride);
  else
    K::store_tile(tile, rows, mx, dst, row_stride, job.spread());
}

// Below this many element-layers (frames * n * layers) per share, waking another thread costs more than it saves.
constexpr int64_t kMinShareWork = int64_t{1} << 18;

// How many shares to split ntasks tasks of task_work each into: at most get_num_threads(), each worth at least
// kMinShareWork.
int64_t num_shares(int64_t ntasks, int64_t task_work) {
  const int64_t by_work = std::max<int64_t>(1, ntasks * task_work / kMinShareWork);
  return std::max<int64_t>(1, std::min<int64_t>({at::get_num_threads(), ntasks, by_work}));
}

// Runs f(task_begin, task_end, share) over nshares contiguous shares of [0, ntasks), in parallel. A share, not a
// thread id, owns any per-worker buffer, so results do not depend on how threads are scheduled.
template <typename F>
void run_shares(int64_t ntasks, int64_t nshares, const F& f) {
  at::parallel_for(0, nshares, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) f(c * ntasks / nshares, (c + 1) * ntasks / nshares, c);
  });
}

// x: (batch, nstacks, L); out: (batch, nstacks, n), or (batch, power_k) real in power mode.
template <typename T, bool kCplx, int kTileVectors>
void forward_impl(const T* tw, const T* x, T* out, const Job& job) {
  using K = ButterflyKernel<T, kCplx, kTileVectors>;
  constexpr int W = K::W;
  const int64_t m = job.n() * K::C, row_stride = job.nstacks * m;  // values per frame; between a stack's frames
  const int64_t mx = job.x_values(K::C), x_stride = job.nstacks * mx;  // the same for x
  const int64_t tw_stack = job.nblocks * job.log_n * (job.n() / 2) * K::kTw;
  const int64_t ntiles = (job.batch + W - 1) / W;
  const int64_t ntasks = ntiles * job.nstacks;
  constexpr int lsub = K::kL1SubLog2;
  const TileRows map = tile_rows(job, K::C);
  run_shares(ntasks, num_shares(ntasks, W * job.n() * job.nblocks * job.log_n), [&](int64_t t0, int64_t t1, int64_t) {
    auto tile = aligned_scratch<T>(K::forward_scratch(job.n(), lsub));  // the tile, then sub-block scratch
    using P = PowerKernel<T, kTileVectors>;
    auto power = aligned_scratch<T>(job.power_k >= 0 ? P::real_tile_values(job.n()) : 0);  // the power, a real tile
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t stack = t % job.nstacks, b0 = (t / job.nstacks) * W;
      const int rows = int(std::min<int64_t>(W, job.batch - b0));
      if (job.power_k >= 0 && job.power_head(stack) == 0) continue;  // none of this stack's outputs is kept
      load_x_tile<K>(x + b0 * x_stride + stack * mx, x_stride, rows, job, map, tile.get());
      K::forward_tile(tile.get(), tw + stack * tw_stack, int(job.nblocks), job.log_n, lsub, job.increasing_stride);
      if constexpr (kCplx) {
        if (job.power_k >= 0) {
          const int64_t ks = job.power_head(stack);
          if (job.separation != nullptr)
            P::separated_power_rows(tile.get(), static_cast<const T*>(job.separation), ks - 1, power.get());
          else
            P::power_rows(tile.get(), ks, power.get());
          P::store_real_rows(power.get(), rows, ks, out + b0 * job.power_k + stack * job.n(), job.power_k);
          continue;
        }
      }
      K::store_tile(tile.get(), rows, m, out + b0 * row_stride + stack * m, row_stride);
    }
  });
}

// x: (batch, nstacks, L); grad: (batch, nstacks, n), or (batch, power_k) real in power mode. dtw: the twiddle gradient, as many values
// as the twiddles; every value is written. dx: the input's gradient (x's shape), or nullptr when it is not wanted. dsep: the
// separation's gradient (2 power_k complex values) when the job has one.
template <typename T, bool kCplx, int kTileVectors>
void backward_impl(const T* grad, const T* tw, const T* x, T* dtw, T* dx, T* dsep, const Job& job) {
  using K = ButterflyKernel<T, kCplx, kTileVectors>;
  constexpr int W = K::W;
  TORCH_INTERNAL_ASSERT(job.nblocks >= 1, "backward_impl needs a block (backward_cpu runs none as one)");
  const int64_t m = job.n() * K::C, row_stride = job.nstacks * m;
  const int64_t mx = job.x_values(K::C), x_stride = job.nstacks * mx;
  const int64_t tw_stack = job.nblocks * job.log_n * (job.n() / 2) * K::kTw, tw_total = job.nstacks * tw_stack;
  const int64_t ntiles = (job.batch + W - 1) / W, ntasks = ntiles * job.nstacks;
  constexpr int lsub = K::kL1SubLog2;
  const bool keep = K::kept_layers(int(job.nblocks), job.log_n, lsub) * job.n() * K::CW * int64_t(sizeof(T)) <= kMaxKeptBytes;
  const int64_t scratch_values = K::backward_scratch(job.n(), int(job.nblocks), job.log_n, lsub, keep);
  const int64_t tile_work = 3 * W * job.n() * job.nblocks * job.log_n;  // recompute + backward: about 3 forwards
  const int64_t nshares = num_shares(ntasks, tile_work);
  // One row of twiddle (and separation) gradient per share, summed serially below: small next to the batch, and
  // cheaper than waking threads again for a parallel sum.
  const int64_t sep_total = job.separation != nullptr ? 4 * job.power_k : 0, row_total = tw_total + sep_total;
  auto partial = aligned_scratch<T>(nshares * row_total);
  const TileRows map = tile_rows(job, K::C);
  run_shares(ntasks, nshares, [&](int64_t t0, int64_t t1, int64_t share) {
    auto scratch = aligned_scratch<T>(scratch_values);
    T* x_tile = K::x_tile(scratch.get());
    T* g_tile = K::grad_tile(scratch.get(), job.n(), int(job.nblocks), job.log_n, lsub, keep);
    const int64_t acc_stack = K::accumulator_values(tw_stack);
    auto acc = aligned_scratch<T>(job.nstacks * acc_stack);  // lane-folded twiddle gradient of this share's tiles
    std::fill(acc.get(), acc.get() + job.nstacks * acc_stack, T(0));
    using P = PowerKernel<T, kTileVectors>;
    auto gp = aligned_scratch<T>(job.power_k >= 0 ? P::real_tile_values(job.n()) : 0);  // the power's gradient, a real tile
    // Separated power: the recomputed output tile (and a sub-block of scratch to make it), and the
    // coefficients' lane-wise gradient.
    auto y_tile = aligned_scratch<T>(sep_total > 0 ? job.n() * K::CW + (int64_t{1} << lsub) * K::CW : 0);
    auto sacc = aligned_scratch<T>(sep_total * K::VL);
    std::fill(sacc.get(), sacc.get() + sep_total * K::VL, T(0));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t stack = t % job.nstacks, b0 = (t / job.nstacks) * W;
      const int rows = int(std::min<int64_t>(W, job.batch - b0));
      const int64_t offset = b0 * row_stride + stack * m, x_offset = b0 * x_stride + stack * mx;
      const int64_t ks = job.power_k >= 0 ? job.power_head(stack) : 0;
      if (job.power_k >= 0 && ks == 0) {  // no output of this stack is kept: zero gradients
        if (dx != nullptr)
          for (int r = 0; r < rows; ++r) std::fill_n(dx + x_offset + r * x_stride, mx, T(0));
        continue;
      }
      load_x_tile<K>(x + x_offset, x_stride, rows, job, map, x_tile);
      if (job.power_k >= 0)
        P::load_real_rows(grad + b0 * job.power_k + stack * job.n(), job.power_k, rows, ks, gp.get());
      else
        K::load_tile(grad + offset, row_stride, rows, m, m, g_tile);
      const T* tw_s = tw + stack * tw_stack;
      T* acc_s = acc.get() + stack * acc_stack;
      auto backward = [&](auto&& output_grad) {
        K::backward_tile(scratch.get(), tw_s, acc_s, int(job.nblocks), job.log_n, lsub, job.increasing_stride,
                         dx != nullptr, keep, job.power_k >= 0 && sep_total == 0 ? gp.get() : nullptr, ks,
                         output_grad);
      };
      if constexpr (kCplx) {
        // Separated power: the output's gradient from the power's, through the output recomputed from the last
        // checkpoint.
        auto separated_grad = [&](const T* checkpoint, T* g_out) {
          T* y = y_tile.get();
          K::last_phase_forward(checkpoint, y, tw_s, int(job.nblocks), job.log_n, lsub, job.increasing_stride,
                                y + job.n() * K::CW);
          P::separated_power_grad(y, static_cast<const T*>(job.separation), job.power_k - 1, gp.get(), g_out,
                                  sacc.get(), job.n());
        };
        if (sep_total > 0)
          backward(separated_grad);
        else
          backward(nullptr);
      } else {
        backward(nullptr);
      }
      // A real input's gradient is the real part of the complex one (PyTorch's convention).
      if (dx != nullptr) store_x_tile<K>(g_tile, rows, job, map, dx + x_offset, x_stride);
    }
    T* row = partial.get() + share * row_total;
    std::fill(row, row + row_total, T(0));
    K::finish_twiddle_grad(acc.get(), row, tw_total);
    for (int64_t k = 0; k < sep_total / 4; ++k)  // sacc: (d a_k, d b_k) per k -> dsep: (2, power_k) complex
      for (int c = 0; c < 4; ++c) {
        T sum = 0;
        for (int l = 0; l < K::VL; ++l) sum += sacc.get()[(k * 4 + c) * K::VL + l];
        row[tw_total + (c / 2) * 2 * job.power_k + 2 * k + c % 2] = sum;
      }
  });
  std::copy(partial.get(), partial.get() + tw_total, dtw);
  if (sep_total > 0) std::copy(partial.get() + tw_total, partial.get() + row_total, dsep);
  for (int64_t c = 1; c < nshares; ++c) {
    for (int64_t k = 0; k < tw_total; ++k) dtw[k] += partial.get()[c * row_total + k];
    for (int64_t k = 0; k < sep_total; ++k) dsep[k] += partial.get()[c * row_total + tw_total + k];
  }
}

// power_k < 0: y = the butterfly product, (batch, nstacks, n); else |y|^2 of y's first power_k outputs, its
// stacks in a row, or with a separation (defined: (2, power_k) coefficients) |X|^2 of the separated first
// power_k - 1 outputs: (batch, power_k) real. perm: the input permutation (see check_perm), or none.
at::Tensor forward_cpu(const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride, int64_t power_k,
                       const at::Tensor& separation, const std::optional<at::Tensor>& perm, const char* op) {
  check_butterfly_inputs(twiddle, x, op);
  check_butterfly_dtype(twiddle, op);
  check_perm(perm, twiddle, x, op);
  const auto tw_c = twiddle.contiguous();
  const auto x_c = x.contiguous();
  const auto real = c10::toRealValueType(tw_c.scalar_type());
  // (batch, nstacks, n), or (batch, power_k)
  auto out = power_k < 0 ? at::empty({x_c.size(0), x_c.size(1), 2 * tw_c.size(3)}, tw_c.options())
                         : at::empty({x_c.size(0), power_k}, tw_c.options().dtype(real));
  const at::Tensor inverse = perm.has_value() ? checked_perm(*perm, op).inverse : at::Tensor();  // once per buffer
  if (out.numel() == 0) return out;
  advise_huge_pages(out);
  const auto sep_c = separation.defined() ? separation.contiguous() : separation;
  Job job(problem_of(tw_c, x_c, increasing_stride), x_c.size(2), tw_c.is_complex() && !x_c.is_complex(), power_k,
          sep_c.defined() ? sep_c.const_data_ptr() : nullptr);
  job.inverse = perm.has_value() ? inverse.const_data_ptr<int64_t>() : nullptr;
  AT_DISPATCH_FLOATING_AND_COMPLEX_TYPES(tw_c.scalar_type(), "butterfly_multiply_cpu", [&] {
    using real_t = typename c10::scalar_value_type<scalar_t>::type;
    constexpr bool kCplx = c10::is_complex<scalar_t>::value;
    with_tile_vectors(job.n() * int64_t(sizeof(scalar_t) / sizeof(real_t)), kMaxForwardTileBytes, [&](auto nv) {
      forward_impl<real_t, kCplx, decltype(nv)::value>(reinterpret_cast<const real_t*>(tw_c.data_ptr<scalar_t>()),
                                                       static_cast<const real_t*>(x_c.const_data_ptr()),
                                                       static_cast<real_t*>(out.data_ptr()), job);
    });
  });
  return out;
}

// Without input_grad, d_x is neither computed nor allocated: an empty tensor takes its place. power_k and
// separation and perm as in forward_cpu: grad is the gradient of its output. Returns (d_twiddle, d_x,
// d_separation); the last is empty without a separation.
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_cpu(const at::Tensor& grad, const at::Tensor& twiddle,
                                                            const at::Tensor& x, bool increasing_stride,
                                                            bool input_grad, int64_t power_k,
                                                            const at::Tensor& separation,
                                                            const std::optional<at::Tensor>& perm, const char* op) {
  check_butterfly_inputs(twiddle, x, op);
  check_butterfly_dtype(twiddle, op);
  check_perm(perm, twiddle, x, op);
  if (power_k < 0)
    check_butterfly_grad(grad, twiddle, x, op);
  else
    check_power_grad(grad, twiddle, x, power_k, op);
  if (twiddle.size(1) == 0) {
    // No blocks is the identity, but the backward's scratch is laid out around the checkpoints of at least one
    // block: run one block of identity twiddles (the same product, the same input gradient) and return the
    // twiddle's gradient, which has no values.
    const auto identity =
        at::eye(2, twiddle.options()).expand({twiddle.size(0), 1, twiddle.size(2), twiddle.size(3), 2, 2});
    auto [no_dtw, dx, dsep] =
        backward_cpu(grad, identity, x, increasing_stride, input_grad, power_k, separation, perm, op);
    return {at::empty_like(twiddle, at::MemoryFormat::Contiguous), dx, dsep};
  }
  const auto tw_c = twiddle.contiguous();
  const auto x_c = x.contiguous();
  const auto grad_c = grad.contiguous();
  auto dx = input_grad ? at::empty_like(x_c, at::MemoryFormat::Contiguous) : at::empty({0}, x_c.options());
  advise_huge_pages(dx);
  const auto sep_c = separation.defined() ? separation.contiguous() : separation;
  auto dsep = sep_c.defined() ? at::zeros_like(sep_c, at::MemoryFormat::Contiguous) : at::empty({0}, tw_c.options());
  const at::Tensor inverse = perm.has_value() ? checked_perm(*perm, op).inverse : at::Tensor();  // once per buffer
  if (x_c.numel() == 0) return {at::zeros_like(tw_c, at::MemoryFormat::Contiguous), dx, dsep};
  Job job(problem_of(tw_c, x_c, increasing_stride), x_c.size(2), tw_c.is_complex() && !x_c.is_complex(), power_k,
          sep_c.defined() ? sep_c.const_data_ptr() : nullptr);
  job.inverse = perm.has_value() ? inverse.const_data_ptr<int64_t>() : nullptr;
  auto dtw = at::empty_like(tw_c, at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_AND_COMPLEX_TYPES(tw_c.scalar_type(), "butterfly_multiply_backward_cpu", [&] {
    using real_t = typename c10::scalar_value_type<scalar_t>::type;
    constexpr bool kCplx = c10::is_complex<scalar_t>::value;
    with_tile_vectors(job.n() * int64_t(sizeof(scalar_t) / sizeof(real_t)), kMaxBackwardTileBytes, [&](auto nv) {
      backward_impl<real_t, kCplx, decltype(nv)::value>(
          static_cast<const real_t*>(grad_c.const_data_ptr()),
          reinterpret_cast<const real_t*>(tw_c.data_ptr<scalar_t>()),
          static_cast<const real_t*>(x_c.const_data_ptr()), reinterpret_cast<real_t*>(dtw.data_ptr<scalar_t>()),
          input_grad ? static_cast<real_t*>(dx.data_ptr()) : nullptr,
          sep_c.defined() ? static_cast<real_t*>(dsep.data_ptr()) : nullptr, job);
    });
  });
  return {dtw, dx, dsep};
}

at::Tensor butterfly_multiply_cpu(const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride,
                                  const std::optional<at::Tensor>& perm) {
  return forward_cpu(twiddle, x, increasing_stride, -1, at::Tensor(), perm, "kfront::butterfly_multiply");
}

std::tuple<at::Tensor, at::Tensor> butterfly_multiply_backward_cpu(const at::Tensor& grad, const at::Tensor& twiddle,
                                                                   const at::Tensor& x, bool increasing_stride,
                                                                   bool input_grad,
                                                                   const std::optional<at::Tensor>& perm) {
  auto [dtw, dx, dsep] = backward_cpu(grad, twiddle, x, increasing_stride, input_grad, -1, at::Tensor(), perm,
                                      "kfront::butterfly_multiply_backward");
  return {dtw, dx};
}

at::Tensor butterfly_multiply_power_cpu(const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride,
                                        int64_t k, const std::optional<at::Tensor>& separation,
                                        const std::optional<at::Tensor>& perm) {
  constexpr const char* op = "kfront::butterfly_multiply_power";
  check_power_args(twiddle, x, k, separation, op);
  return forward_cpu(twiddle, x, increasing_stride, k, separation.value_or(at::Tensor()), perm, op);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> butterfly_multiply_power_backward_cpu(
    const at::Tensor& grad, const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride, int64_t k,
    const std::optional<at::Tensor>& separation, bool input_grad, const std::optional<at::Tensor>& perm) {
  constexpr const char* op = "kfront::butterfly_multiply_power_backward";
  check_power_args(twiddle, x, k, separation, op);
  return backward_cpu(grad, twiddle, x, increasing_stride, input_grad, k, separation.value_or(at::Tensor()), perm,
                      op);
}

}  // namespace

TORCH_LIBRARY_IMPL(kfront, CPU, m) {
  m.impl("butterfly_multiply", &butterfly_multiply_cpu);
  m.impl("butterfly_multiply_backward", &butterfly_multiply_backward_cpu);
  m.impl("butterfly_multiply_power", &butterfly_multiply_power_cpu);
  m.impl("butterfly_multiply_power_backward", &butterfly_multiply_power_backward_cpu);
}

}  // namespace cpu
}  // namespace kfront
