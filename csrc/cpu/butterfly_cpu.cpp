// CPU implementation of kfront::butterfly_multiply and its backward: tensor plumbing around the fused kernel in
// butterfly_kernel.h. Work is split into tiles of W frames of one stack; tiles are spread over threads with
// at::parallel_for (OpenMP, honouring torch.set_num_threads).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <c10/util/complex.h>
#include <torch/library.h>
#include <torch/types.h>

#include <cstdlib>
#include <memory>

#include "../butterfly_checks.h"
#include "butterfly_kernel.h"

namespace kfront {
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

struct Geometry {
  int64_t batch, nstacks, n, nblocks;
  int log_n;
  Geometry(const at::Tensor& twiddle, const at::Tensor& x)
      : batch(x.size(0)), nstacks(x.size(1)), n(x.size(2)), nblocks(twiddle.size(1)), log_n(int(twiddle.size(2))) {}
};

// Below this many element-layers (frames * n * layers) per chunk, waking another thread costs more than it saves.
constexpr int64_t kMinChunkWork = int64_t{1} << 18;

// How many chunks to split ntasks tasks of task_work each into: at most get_num_threads(), each worth at least
// kMinChunkWork.
int64_t num_chunks(int64_t ntasks, int64_t task_work) {
  const int64_t by_work = std::max<int64_t>(1, ntasks * task_work / kMinChunkWork);
  return std::max<int64_t>(1, std::min<int64_t>({at::get_num_threads(), ntasks, by_work}));
}

// Runs f(task_begin, task_end, chunk) over nchunks contiguous chunks of [0, ntasks), in parallel. A chunk, not a
// thread id, owns any per-worker buffer, so results do not depend on how threads are scheduled.
template <typename F>
void run_chunks(int64_t ntasks, int64_t nchunks, const F& f) {
  at::parallel_for(0, nchunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) f(c * ntasks / nchunks, (c + 1) * ntasks / nchunks, c);
  });
}

template <typename T, bool kCplx, int kTileVectors>
void forward_impl(const T* tw, const T* x, T* out, const Geometry& g, bool increasing_stride) {
  using K = cpu::ButterflyKernel<T, kCplx, kTileVectors>;
  constexpr int W = K::W;
  const int64_t m = g.n * K::C, row_stride = g.nstacks * m;  // values per frame; between a stack's frames
  const int64_t tw_stack = g.nblocks * g.log_n * (g.n / 2) * K::kTw;
  const int64_t ntiles = (g.batch + W - 1) / W;
  const int64_t ntasks = ntiles * g.nstacks;
  constexpr int lsub = K::kL1SubLog2;
  run_chunks(ntasks, num_chunks(ntasks, W * g.n * g.nblocks * g.log_n), [&](int64_t t0, int64_t t1, int64_t) {
    auto tile = aligned_scratch<T>(K::forward_scratch(g.n, lsub));  // the tile, then sub-block scratch
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t stack = t % g.nstacks, b0 = (t / g.nstacks) * W;
      const int rows = int(std::min<int64_t>(W, g.batch - b0));
      K::load_tile(x + b0 * row_stride + stack * m, row_stride, rows, m, tile.get());
      K::forward_tile(tile.get(), tw + stack * tw_stack, int(g.nblocks), g.log_n, lsub, increasing_stride);
      K::store_tile(tile.get(), rows, m, out + b0 * row_stride + stack * m, row_stride);
    }
  });
}

// dtw: the twiddle gradient, as many values as the twiddles; every value is written.
template <typename T, bool kCplx, int kTileVectors>
void backward_impl(const T* grad, const T* tw, const T* x, T* dtw, T* dx, const Geometry& g, bool increasing_stride) {
  using K = cpu::ButterflyKernel<T, kCplx, kTileVectors>;
  constexpr int W = K::W;
  const int64_t m = g.n * K::C, row_stride = g.nstacks * m;
  const int64_t tw_stack = g.nblocks * g.log_n * (g.n / 2) * K::kTw, tw_total = g.nstacks * tw_stack;
  const int64_t ntiles = (g.batch + W - 1) / W, ntasks = ntiles * g.nstacks;
  constexpr int lsub = K::kL1SubLog2;
  const int64_t scratch_values = K::backward_scratch(g.n, int(g.nblocks), g.log_n, lsub);
  const int64_t tile_work = 3 * W * g.n * g.nblocks * g.log_n;  // recompute + backward: about 3 forwards
  const int64_t nchunks = num_chunks(ntasks, tile_work);
  // One row of twiddle gradient per chunk, summed serially below: small next to the batch, and cheaper than
  // waking threads again for a parallel sum.
  auto partial = aligned_scratch<T>(nchunks * tw_total);
  run_chunks(ntasks, nchunks, [&](int64_t t0, int64_t t1, int64_t chunk) {
    auto scratch = aligned_scratch<T>(scratch_values);
    T* x_tile = K::x_tile(scratch.get());
    T* g_tile = K::grad_tile(scratch.get(), g.n, int(g.nblocks), g.log_n, lsub);
    const int64_t acc_stack = K::accumulator_values(tw_stack);
    auto acc = aligned_scratch<T>(g.nstacks * acc_stack);  // lane-folded twiddle gradient of this chunk's tiles
    std::fill(acc.get(), acc.get() + g.nstacks * acc_stack, T(0));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t stack = t % g.nstacks, b0 = (t / g.nstacks) * W;
      const int rows = int(std::min<int64_t>(W, g.batch - b0));
      const int64_t offset = b0 * row_stride + stack * m;
      K::load_tile(x + offset, row_stride, rows, m, x_tile);
      K::load_tile(grad + offset, row_stride, rows, m, g_tile);
      K::backward_tile(scratch.get(), tw + stack * tw_stack, acc.get() + stack * acc_stack, int(g.nblocks),
                       g.log_n, lsub, increasing_stride);
      K::store_tile(g_tile, rows, m, dx + offset, row_stride);
    }
    T* row = partial.get() + chunk * tw_total;
    std::fill(row, row + tw_total, T(0));
    K::finish_twiddle_grad(acc.get(), row, tw_total);
  });
  std::copy(partial.get(), partial.get() + tw_total, dtw);
  for (int64_t c = 1; c < nchunks; ++c)
    for (int64_t k = 0; k < tw_total; ++k) dtw[k] += partial.get()[c * tw_total + k];
}

void check_dtype(const at::Tensor& x, const char* op) {
  const auto st = x.scalar_type();
  TORCH_CHECK_VALUE(st == at::kFloat || st == at::kDouble || st == at::kComplexFloat || st == at::kComplexDouble,
                    op, ": the CPU kernel supports float32, float64, complex64 and complex128, got ", st);
}

at::Tensor butterfly_multiply_cpu(const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride) {
  constexpr const char* op = "kfront::butterfly_multiply";
  check_butterfly_inputs(twiddle, x, op);
  check_dtype(x, op);
  const auto tw_c = twiddle.contiguous();
  const auto x_c = x.contiguous();
  auto out = at::empty_like(x_c, at::MemoryFormat::Contiguous);
  if (x_c.numel() == 0) return out;
  const Geometry g(tw_c, x_c);
  AT_DISPATCH_FLOATING_AND_COMPLEX_TYPES(x_c.scalar_type(), "butterfly_multiply_cpu", [&] {
    using real_t = typename c10::scalar_value_type<scalar_t>::type;
    constexpr bool kCplx = c10::is_complex<scalar_t>::value;
    with_tile_vectors(g.n * int64_t(sizeof(scalar_t) / sizeof(real_t)), kMaxForwardTileBytes, [&](auto nv) {
      forward_impl<real_t, kCplx, decltype(nv)::value>(reinterpret_cast<const real_t*>(tw_c.data_ptr<scalar_t>()),
                                                       reinterpret_cast<const real_t*>(x_c.data_ptr<scalar_t>()),
                                                       reinterpret_cast<real_t*>(out.data_ptr<scalar_t>()), g,
                                                       increasing_stride);
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> butterfly_multiply_backward_cpu(const at::Tensor& grad, const at::Tensor& twiddle,
                                                                   const at::Tensor& x, bool increasing_stride) {
  constexpr const char* op = "kfront::butterfly_multiply_backward";
  check_butterfly_inputs(twiddle, x, op);
  check_butterfly_grad(grad, x, op);
  check_dtype(x, op);
  const auto tw_c = twiddle.contiguous();
  const auto x_c = x.contiguous();
  const auto grad_c = grad.contiguous();
  auto dx = at::empty_like(x_c, at::MemoryFormat::Contiguous);
  if (x_c.numel() == 0) return {at::zeros_like(tw_c, at::MemoryFormat::Contiguous), dx};
  const Geometry g(tw_c, x_c);
  auto dtw = at::empty_like(tw_c, at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_AND_COMPLEX_TYPES(x_c.scalar_type(), "butterfly_multiply_backward_cpu", [&] {
    using real_t = typename c10::scalar_value_type<scalar_t>::type;
    constexpr bool kCplx = c10::is_complex<scalar_t>::value;
    with_tile_vectors(g.n * int64_t(sizeof(scalar_t) / sizeof(real_t)), kMaxBackwardTileBytes, [&](auto nv) {
      backward_impl<real_t, kCplx, decltype(nv)::value>(
          reinterpret_cast<const real_t*>(grad_c.data_ptr<scalar_t>()),
          reinterpret_cast<const real_t*>(tw_c.data_ptr<scalar_t>()),
          reinterpret_cast<const real_t*>(x_c.data_ptr<scalar_t>()),
          reinterpret_cast<real_t*>(dtw.data_ptr<scalar_t>()), reinterpret_cast<real_t*>(dx.data_ptr<scalar_t>()), g,
          increasing_stride);
    });
  });
  return {dtw, dx};
}

}  // namespace

TORCH_LIBRARY_IMPL(kfront, CPU, m) {
  m.impl("butterfly_multiply", &butterfly_multiply_cpu);
  m.impl("butterfly_multiply_backward", &butterfly_multiply_backward_cpu);
}

}  // namespace kfront
