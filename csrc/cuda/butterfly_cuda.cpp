// CUDA implementations of kfront::butterfly_multiply and kfront::butterfly_multiply_backward: the argument
// checks shared with the CPU (butterfly_checks.h), allocation, alignment and the current stream; the work is in
// the launchers of butterfly_kernels.h. The power ops have no CUDA kernel: kfront.core.power composes
// butterfly_multiply and the power where the dispatcher has none. Rows shorter than n (x (batch, nstacks, L),
// L < n) are zero-padded to n here, before the kernels, which take whole frames; d_x is cut back to L.
//
// Tuning and testing knobs, read at every call (unset or 0: the defaults):
//   KFRONT_CUDA_MAX_WINDOW_LOG2  largest sub-block a launch keeps in shared memory, as log2 of its size
//                                (forward default 12, backward 10); smaller values force the chunked paths
//   KFRONT_CUDA_BW_SMEM_BYTES    shared-memory budget of a backward block (default: all the device allows)
//   KFRONT_CUDA_FWD_FRAMES       4: forward threads carry 4 frames instead of 2 (float32, complex64)
//   KFRONT_CUDA_BW_FRAMES        1, 2 or 4 frames per backward thread (default: the planner's choice)
//   KFRONT_CUDA_BW_THREADS       threads per backward block, at most 256
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "../butterfly_checks.h"
#include "butterfly_kernels.h"

namespace kfront {
namespace cuda {
namespace {

Dtype kernel_dtype(at::ScalarType t) {  // t passed check_butterfly_dtype
  switch (t) {
    case at::kFloat: return Dtype::kFloat32;
    case at::kDouble: return Dtype::kFloat64;
    case at::kComplexFloat: return Dtype::kComplex64;
    default: return Dtype::kComplex128;
  }
}

int64_t env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::strtoll(v, nullptr, 10) : 0;
}

Options options_from_env() {
  Options opt;
  opt.max_window_log2 = int(env_int("KFRONT_CUDA_MAX_WINDOW_LOG2"));
  opt.bw_smem_bytes = env_int("KFRONT_CUDA_BW_SMEM_BYTES");
  opt.fwd_frames = int(env_int("KFRONT_CUDA_FWD_FRAMES"));
  opt.bwd_frames = int(env_int("KFRONT_CUDA_BW_FRAMES"));
  opt.bwd_threads = int(env_int("KFRONT_CUDA_BW_THREADS"));
  return opt;
}

// Contiguous and 16-byte aligned: the kernels read twiddle blocks and frames in 16-byte vectors. A fresh
// allocation is aligned, a view may not be.
at::Tensor aligned_contiguous(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  if (reinterpret_cast<std::uintptr_t>(c.data_ptr()) % 16 != 0) c = c.clone();
  return c;
}

// The kernels' frames (batch, nstacks, n): a real x with a complex twiddle (a real input) runs as a complex one
// (its gradient is the real part), and rows of L < n samples are zero-padded to n (one write of the frames:
// the rows copied in, the padding zeroed). With an input permutation, the padded frames' entries perm[j] (a
// gather here; the CPU kernels permute while loading their tiles).
at::Tensor frames_for(const at::Tensor& twiddle, const at::Tensor& x, const std::optional<at::Tensor>& perm) {
  const int64_t n = 2 * twiddle.size(3), length = x.size(2);
  at::Tensor frames;
  if (length == n) {
    frames = twiddle.is_complex() && !x.is_complex() ? x.to(twiddle.scalar_type()) : x;
  } else {
    frames = at::empty({x.size(0), x.size(1), n}, twiddle.options());
    frames.narrow(2, 0, length).copy_(x);
    frames.narrow(2, length, n - length).zero_();
  }
  if (perm.has_value()) frames = frames.index_select(2, *perm);  // fresh, contiguous
  return aligned_contiguous(frames);
}

// d_x as the op returns it, with x's shape and dtype: the gradient of the kernels' frames (frames_for) put back
// in x's order (inverse: the permutation's inverse, from perm_inverse_on_device), cut back to x's rows, and its
// real part for a real input.
at::Tensor input_grad_of(const at::Tensor& d_frames, const at::Tensor& x, const std::optional<at::Tensor>& inverse) {
  const bool real_input = !x.is_complex() && d_frames.is_complex();
  const at::Tensor d = inverse.has_value() ? d_frames.index_select(2, *inverse) : d_frames;
  if (d.size(2) == x.size(2)) return real_input ? at::real(d).contiguous() : d;
  return (real_input ? at::real(d) : d).narrow(2, 0, x.size(2)).contiguous();
}

// The inverse of a checked perm (check_perm), on its device, from one sort: its sorted values must be
// 0 .. n - 1 (else ValueError), and the order that sorts it is the inverse.
std::optional<at::Tensor> perm_inverse_on_device(const std::optional<at::Tensor>& perm, const char* op) {
  if (!perm.has_value()) return std::nullopt;
  const auto [sorted, inverse] = at::sort(*perm);
  TORCH_CHECK_VALUE(at::equal(sorted, at::arange(perm->size(0), perm->options())), op,
                    ": perm must be a permutation of 0 .. ", perm->size(0) - 1);
  return inverse;
}

void check_cuda(cudaError_t err, const char* op) {
  TORCH_CHECK(err == cudaSuccess, op, " (CUDA) failed: ", cudaGetErrorName(err), ": ", cudaGetErrorString(err));
}

at::Tensor butterfly_multiply_cuda(const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride,
                                   const std::optional<at::Tensor>& perm) {
  constexpr const char* op = "kfront::butterfly_multiply";
  check_butterfly_inputs(twiddle, x, op);
  check_butterfly_dtype(twiddle, op);
  check_perm(perm, twiddle, x, op);
  const c10::cuda::CUDAGuard guard(x.device());
  perm_inverse_on_device(perm, op);  // for its check of the values: the forward needs no inverse
  const Problem pb = problem_of(twiddle, x, increasing_stride);
  const at::Tensor tw = aligned_contiguous(twiddle);
  const at::Tensor xc = frames_for(tw, x, perm);
  at::Tensor out = at::empty(xc.sizes(), tw.options());  // (batch, nstacks, n)
  if (out.numel() == 0) return out;
  check_cuda(butterfly_forward(kernel_dtype(tw.scalar_type()), tw.data_ptr(), xc.data_ptr(), out.data_ptr(), pb,
                               options_from_env(), c10::cuda::getCurrentCUDAStream().stream()),
             op);
  return out;
}

// input_grad = false returns an empty (0,) tensor for d_x, as the CPU kernel does, and the kernels skip its
// final write.
std::tuple<at::Tensor, at::Tensor> butterfly_multiply_backward_cuda(const at::Tensor& grad, const at::Tensor& twiddle,
                                                                    const at::Tensor& x, bool increasing_stride,
                                                                    bool input_grad,
                                                                    const std::optional<at::Tensor>& perm) {
  constexpr const char* op = "kfront::butterfly_multiply_backward";
  check_butterfly_inputs(twiddle, x, op);
  check_butterfly_dtype(twiddle, op);
  check_butterfly_grad(grad, twiddle, x, op);
  check_perm(perm, twiddle, x, op);
  const c10::cuda::CUDAGuard guard(x.device());
  const std::optional<at::Tensor> inverse = perm_inverse_on_device(perm, op);
  const Problem pb = problem_of(twiddle, x, increasing_stride);
  const at::Tensor tw = aligned_contiguous(twiddle);
  const at::Tensor xc = frames_for(tw, x, perm);
  const at::Tensor gc = aligned_contiguous(grad);
  at::Tensor d_twiddle = at::empty_like(tw);  // zeroed by the launcher
  const at::Tensor no_d_x = at::empty({0}, x.options());
  if (xc.numel() == 0) return {d_twiddle.zero_(), input_grad ? at::empty(x.sizes(), x.options()) : no_d_x};
  at::Tensor d_x = input_grad ? at::empty_like(xc) : no_d_x;
  const Dtype dtype = kernel_dtype(tw.scalar_type());
  const Options opt = options_from_env();
  int64_t ws_bytes = 0;
  check_cuda(butterfly_backward_workspace_bytes(dtype, pb, input_grad, opt, &ws_bytes), op);
  at::Tensor workspace = at::empty({ws_bytes}, xc.options().dtype(at::kByte));
  check_cuda(butterfly_backward(dtype, gc.data_ptr(), tw.data_ptr(), xc.data_ptr(), d_twiddle.data_ptr(),
                                input_grad ? d_x.data_ptr() : nullptr, workspace.data_ptr(), ws_bytes, pb, opt,
                                c10::cuda::getCurrentCUDAStream().stream()),
             op);
  return {d_twiddle, input_grad ? input_grad_of(d_x, x, inverse) : d_x};
}

}  // namespace

TORCH_LIBRARY_IMPL(kfront, CUDA, m) {
  m.impl("butterfly_multiply", &butterfly_multiply_cuda);
  m.impl("butterfly_multiply_backward", &butterfly_multiply_backward_cuda);
}

}  // namespace cuda
}  // namespace kfront
