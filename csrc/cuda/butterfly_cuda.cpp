// CUDA implementations of kfront::butterfly_multiply and kfront::butterfly_multiply_backward: argument
// checks, allocation and the current stream; the work is in the launchers of butterfly_kernels.h.
//
// Tuning and testing knobs, read at every call (unset or 0: the defaults):
//   KFRONT_CUDA_MAX_WINDOW_LOG2  largest sub-block a launch keeps in shared memory, as log2 of its size
//                                (forward default 12, backward 10); smaller values force the chunked paths
//   KFRONT_CUDA_BW_SMEM_BYTES    shared-memory budget of a backward block (default: the device maximum)
//   KFRONT_CUDA_FWD_FRAMES       4: forward threads carry 4 frames instead of 2 (float32, complex64)
//   KFRONT_CUDA_BW_FRAMES        1, 2 or 4 frames per backward thread (default: the planner's choice)
//   KFRONT_CUDA_BW_THREADS       threads per backward block, at most 256
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cstdint>
#include <cstdlib>
#include <tuple>

#include "butterfly_kernels.h"

namespace {

using kfront_cuda::Dtype;

Dtype kernel_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return Dtype::kFloat32;
    case at::kDouble: return Dtype::kFloat64;
    case at::kComplexFloat: return Dtype::kComplex64;
    case at::kComplexDouble: return Dtype::kComplex128;
    default: TORCH_CHECK(false, "kfront butterfly (CUDA): unsupported dtype ", t);
  }
}

int64_t env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::strtoll(v, nullptr, 10) : 0;
}

kfront_cuda::Options options_from_env() {
  kfront_cuda::Options opt;
  opt.max_window_log2 = int(env_int("KFRONT_CUDA_MAX_WINDOW_LOG2"));
  opt.bw_smem_bytes = env_int("KFRONT_CUDA_BW_SMEM_BYTES");
  opt.fwd_frames = int(env_int("KFRONT_CUDA_FWD_FRAMES"));
  opt.bwd_frames = int(env_int("KFRONT_CUDA_BW_FRAMES"));
  opt.bwd_threads = int(env_int("KFRONT_CUDA_BW_THREADS"));
  return opt;
}

void check_args(const at::Tensor& twiddle, const at::Tensor& x, const char* op) {
  TORCH_CHECK(twiddle.is_cuda() && x.is_cuda(), op, ": twiddle and x must be CUDA tensors");
  TORCH_CHECK(twiddle.device() == x.device(), op, ": twiddle is on ", twiddle.device(), " but x is on ", x.device());
  TORCH_CHECK(twiddle.scalar_type() == x.scalar_type(), op, ": twiddle is ", twiddle.scalar_type(), " but x is ",
              x.scalar_type());
  TORCH_CHECK(twiddle.dim() == 6 && twiddle.size(4) == 2 && twiddle.size(5) == 2, op,
              ": twiddle must have shape (nstacks, nblocks, log2 n, n/2, 2, 2), got ", twiddle.sizes());
  const int64_t log_n = twiddle.size(2);
  TORCH_CHECK(log_n >= 1 && log_n <= kfront_cuda::kMaxLogN && twiddle.size(3) == (int64_t(1) << (log_n - 1)) &&
                  twiddle.size(1) >= 1,
              op, ": inconsistent twiddle shape ", twiddle.sizes());
  TORCH_CHECK(x.dim() == 3 && x.size(1) == twiddle.size(0) && x.size(2) == (int64_t(1) << log_n), op,
              ": x must have shape (batch, nstacks, n) = (batch, ", twiddle.size(0), ", ", int64_t(1) << log_n,
              "), got ", x.sizes());
}

// A real x with a complex twiddle (a real input) runs as a complex one; its gradient is the real part.
at::Tensor as_twiddle_dtype(const at::Tensor& twiddle, const at::Tensor& x) {
  if (twiddle.is_complex() && !x.is_complex() && x.scalar_type() == c10::toRealValueType(twiddle.scalar_type()))
    return x.to(twiddle.scalar_type());
  return x;
}

// The kernels read a twiddle block as 16-byte vectors; a fresh allocation is aligned, a view may not be.
at::Tensor aligned_contiguous(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  if (reinterpret_cast<std::uintptr_t>(c.data_ptr()) % 16 != 0) c = c.clone();
  return c;
}

void check_cuda(cudaError_t err, const char* op) {
  TORCH_CHECK(err == cudaSuccess, op, " (CUDA) failed: ", cudaGetErrorName(err), ": ", cudaGetErrorString(err));
}

at::Tensor butterfly_multiply_cuda(const at::Tensor& twiddle, const at::Tensor& x_in, bool increasing_stride) {
  constexpr const char* op = "kfront::butterfly_multiply";
  const at::Tensor x = as_twiddle_dtype(twiddle, x_in);
  check_args(twiddle, x, op);
  const c10::cuda::CUDAGuard guard(x.device());
  const at::Tensor tw = aligned_contiguous(twiddle);
  const at::Tensor xc = x.contiguous();
  at::Tensor out = at::empty_like(xc);  // (batch, nstacks, n)
  if (out.numel() == 0) return out;
  check_cuda(kfront_cuda::butterfly_forward(kernel_dtype(xc.scalar_type()), tw.data_ptr(), xc.data_ptr(),
                                            out.data_ptr(), xc.size(0), xc.size(1), int(tw.size(2)),
                                            int(tw.size(1)), increasing_stride, options_from_env(),
                                            c10::cuda::getCurrentCUDAStream().stream()),
             op);
  return out;
}

// input_grad = false returns an empty (0,) tensor for d_x, as the CPU kernel does (d_x is still computed here,
// into a temporary).
std::tuple<at::Tensor, at::Tensor> butterfly_multiply_backward_cuda(const at::Tensor& grad, const at::Tensor& twiddle,
                                                                    const at::Tensor& x_in, bool increasing_stride,
                                                                    bool input_grad) {
  constexpr const char* op = "kfront::butterfly_multiply_backward";
  const at::Tensor x = as_twiddle_dtype(twiddle, x_in);
  check_args(twiddle, x, op);
  TORCH_CHECK(grad.sizes() == x.sizes() && grad.scalar_type() == x.scalar_type() && grad.device() == x.device(), op,
              ": grad must match x (", x.sizes(), ", ", x.scalar_type(), "), got ", grad.sizes(), ", ",
              grad.scalar_type());
  const c10::cuda::CUDAGuard guard(x.device());
  const at::Tensor tw = aligned_contiguous(twiddle);
  const at::Tensor xc = x.contiguous();
  const at::Tensor gc = grad.contiguous();
  at::Tensor d_twiddle = at::empty_like(tw);  // zeroed by the launcher
  at::Tensor d_x = at::empty_like(xc);
  const at::Tensor no_d_x = at::empty({0}, x_in.options());
  auto result = [&] {
    if (!input_grad) return std::make_tuple(d_twiddle, no_d_x);
    return std::make_tuple(d_twiddle, x_in.scalar_type() == x.scalar_type() ? d_x : at::real(d_x).contiguous());
  };
  if (tw.numel() == 0) return result();
  const Dtype dtype = kernel_dtype(xc.scalar_type());
  const kfront_cuda::Options opt = options_from_env();
  const int log_n = int(tw.size(2)), nblocks = int(tw.size(1));
  int64_t ws_bytes = 0;
  check_cuda(kfront_cuda::butterfly_backward_workspace_bytes(dtype, xc.size(0), xc.size(1), log_n, nblocks,
                                                             increasing_stride, opt, &ws_bytes),
             op);
  at::Tensor workspace = at::empty({ws_bytes}, xc.options().dtype(at::kByte));
  check_cuda(kfront_cuda::butterfly_backward(dtype, gc.data_ptr(), tw.data_ptr(), xc.data_ptr(), d_twiddle.data_ptr(),
                                             d_x.data_ptr(), workspace.data_ptr(), ws_bytes, xc.size(0), xc.size(1),
                                             log_n, nblocks, increasing_stride, opt,
                                             c10::cuda::getCurrentCUDAStream().stream()),
             op);
  return result();
}

}  // namespace

TORCH_LIBRARY_IMPL(kfront, CUDA, m) {
  m.impl("butterfly_multiply", &butterfly_multiply_cuda);
  m.impl("butterfly_multiply_backward", &butterfly_multiply_backward_cuda);
}
