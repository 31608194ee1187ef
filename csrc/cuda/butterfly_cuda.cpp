// CUDA implementations of kfront::butterfly_multiply and kfront::butterfly_multiply_backward: the argument
// checks shared with the CPU (butterfly_checks.h), allocation, alignment and the current stream; the work is in
// the launchers of butterfly_kernels.h. The power ops have no CUDA kernel: kfront.core.power composes
// butterfly_multiply and the power where the dispatcher has none. Rows shorter than n (x (batch, nstacks, L),
// L < n), a real x with a complex twiddle and an input permutation are read by the kernels' staging (InputMap),
// which also writes d_x in x's shape and order: none of them costs a pass of its own over the frames. A
// permutation's values are checked once per buffer (butterfly_perm.h), so a call makes no device-to-host copy.
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
#include "../butterfly_perm.h"
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

// How the kernels read x: directly when it is whole frames of the twiddle's dtype, else through an InputMap over
// xc (contiguous; a fresh or contiguous tensor is aligned to its element) and the checked permutation. d_x (may
// be undefined): where the backward writes the input's gradient through the map.
struct Frames {
  bool mapped = false;
  InputMap map{};
};

Frames frames_of(const at::Tensor& twiddle, const at::Tensor& xc, const std::optional<CheckedPerm>& perm,
                 const at::Tensor& d_x) {
  const int64_t n = 2 * twiddle.size(3);
  Frames f;
  f.mapped = perm.has_value() || xc.size(2) != n || xc.scalar_type() != twiddle.scalar_type();
  if (!f.mapped) return f;
  f.map.x = xc.data_ptr();
  f.map.dx = d_x.defined() ? d_x.data_ptr() : nullptr;
  f.map.perm = perm.has_value() ? perm->perm.const_data_ptr<int64_t>() : nullptr;
  f.map.length = xc.size(2);
  f.map.real = xc.scalar_type() != twiddle.scalar_type();
  return f;
}

// No blocks is the identity on the zero-padded, permuted rows: out (batch, nstacks, n), and the gradient back in
// x's order and shape. Not worth a kernel of its own (nothing uses it for speed).
at::Tensor identity_forward(const at::Tensor& twiddle, const at::Tensor& x, const std::optional<CheckedPerm>& perm) {
  const int64_t n = 2 * twiddle.size(3);
  at::Tensor out = at::zeros({x.size(0), x.size(1), n}, twiddle.options());
  out.narrow(2, 0, x.size(2)).copy_(x);
  return perm.has_value() ? out.index_select(2, perm->perm) : out;
}

at::Tensor identity_input_grad(const at::Tensor& grad, const at::Tensor& x, const std::optional<CheckedPerm>& perm) {
  const at::Tensor d = perm.has_value() ? grad.index_select(2, perm->inverse) : grad;  // back in x's order
  const at::Tensor cut = d.narrow(2, 0, x.size(2));
  return (x.is_complex() ? cut : at::real(cut)).contiguous();
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
  const std::optional<CheckedPerm> checked =
      perm.has_value() ? std::optional<CheckedPerm>(checked_perm(*perm, op)) : std::nullopt;
  const Problem pb = problem_of(twiddle, x, increasing_stride);
  const at::Tensor tw = aligned_contiguous(twiddle);
  if (pb.nblocks == 0) return identity_forward(tw, x, checked);
  const at::Tensor xc = x.contiguous();
  const Frames frames = frames_of(tw, xc, checked, at::Tensor());
  const at::Tensor xf = frames.mapped ? xc : aligned_contiguous(xc);  // whole frames: 16-byte vectors need it
  at::Tensor out = at::empty({x.size(0), x.size(1), pb.n()}, tw.options());  // (batch, nstacks, n)
  if (out.numel() == 0) return out;
  check_cuda(butterfly_forward(kernel_dtype(tw.scalar_type()), tw.data_ptr(), frames.mapped ? nullptr : xf.data_ptr(),
                               out.data_ptr(), pb, options_from_env(), c10::cuda::getCurrentCUDAStream().stream(),
                               frames.map),
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
  const std::optional<CheckedPerm> checked =
      perm.has_value() ? std::optional<CheckedPerm>(checked_perm(*perm, op)) : std::nullopt;
  const Problem pb = problem_of(twiddle, x, increasing_stride);
  const at::Tensor tw = aligned_contiguous(twiddle);
  const at::Tensor no_d_x = at::empty({0}, x.options());
  if (pb.nblocks == 0) {
    return {at::empty_like(tw), input_grad ? identity_input_grad(grad, x, checked) : no_d_x};
  }
  const at::Tensor xc = x.contiguous();
  // x's shape and dtype; a fresh allocation, so 16-byte aligned for the whole-frame path's vectors
  const at::Tensor d_x = input_grad ? at::empty(xc.sizes(), xc.options()) : no_d_x;
  at::Tensor d_twiddle = at::empty_like(tw);  // zeroed by the launcher
  if (xc.numel() == 0) return {d_twiddle.zero_(), d_x};
  const Frames frames = frames_of(tw, xc, checked, input_grad ? d_x : at::Tensor());
  const at::Tensor xf = frames.mapped ? xc : aligned_contiguous(xc);
  const at::Tensor gc = aligned_contiguous(grad);
  const Dtype dtype = kernel_dtype(tw.scalar_type());
  const Options opt = options_from_env();
  int64_t ws_bytes = 0;
  check_cuda(butterfly_backward_workspace_bytes(dtype, pb, input_grad && !frames.mapped, opt, &ws_bytes), op);
  at::Tensor workspace = at::empty({ws_bytes}, xc.options().dtype(at::kByte));
  check_cuda(butterfly_backward(dtype, gc.data_ptr(), tw.data_ptr(), frames.mapped ? nullptr : xf.data_ptr(),
                                d_twiddle.data_ptr(), input_grad && !frames.mapped ? d_x.data_ptr() : nullptr,
                                workspace.data_ptr(), ws_bytes, pb, opt, c10::cuda::getCurrentCUDAStream().stream(),
                                frames.map),
             op);
  return {d_twiddle, d_x};
}

}  // namespace

TORCH_LIBRARY_IMPL(kfront, CUDA, m) {
  m.impl("butterfly_multiply", &butterfly_multiply_cuda);
  m.impl("butterfly_multiply_backward", &butterfly_multiply_backward_cuda);
}

}  // namespace cuda
}  // namespace kfront
