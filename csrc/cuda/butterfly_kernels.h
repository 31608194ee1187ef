// Launchers of the CUDA butterfly kernels: plain pointers, a Problem (butterfly_problem.h) and a stream, no
// torch. Every function returns the first CUDA error it met (cudaSuccess otherwise); kernels run
// asynchronously on `stream`. Needs compute capability 7.0 or newer (__grid_constant__ kernel parameters).
//
// Layouts (all contiguous, elements of the dtype; complex interleaved re, im):
//   twiddle, d_twiddle (nstacks, nblocks, log_n, n/2, 2, 2), twiddle 16-byte aligned
//   x, out, grad, d_x  (batch, nstacks, n), aligned to their element (16 bytes for the fastest path)
// Semantics: those of the pure-PyTorch reference; gradients follow PyTorch's complex convention
// (d_x = conj(T)^T grad, d_twiddle = grad x conj(x) per pair).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "../butterfly_problem.h"
#include "butterfly_types.h"

namespace kfront {
namespace cuda {

enum class Dtype : int { kFloat32 = 0, kFloat64 = 1, kComplex64 = 2, kComplex128 = 3 };

// out = butterfly(twiddle) x. out may equal x. With in.x set (rows shorter than n, a real x for a complex dtype,
// an input permutation: see InputMap in butterfly_types.h), x is read through the map instead and may be
// nullptr; a map needs nblocks >= 1.
cudaError_t butterfly_forward(Dtype dtype, const void* twiddle, const void* x, void* out, const Problem& pb,
                              const Options& opt, cudaStream_t stream, const InputMap& in = InputMap{});

// Bytes of scratch device memory butterfly_backward needs: the inputs of its chunks after the first and,
// unless the input's gradient is written as whole frames to d_x (frames_grad), the gradient between chunks; 0
// when one chunk holds every layer. Depends on the current device's shared memory.
cudaError_t butterfly_backward_workspace_bytes(Dtype dtype, const Problem& pb, bool frames_grad, const Options& opt,
                                               int64_t* bytes);

// d_x and d_twiddle (fully overwritten; d_twiddle is zeroed on the stream first) from grad = dL/d out.
// d_x == nullptr: the input's gradient is not written. grad may not alias d_x; workspace holds at least
// butterfly_backward_workspace_bytes bytes. With in.x set, x is read and the input's gradient written (to in.dx,
// when not nullptr) through the map; x and d_x must be nullptr then.
cudaError_t butterfly_backward(Dtype dtype, const void* grad, const void* twiddle, const void* x, void* d_twiddle,
                               void* d_x, void* workspace, int64_t workspace_bytes, const Problem& pb,
                               const Options& opt, cudaStream_t stream, const InputMap& in = InputMap{});

}  // namespace cuda
}  // namespace kfront
