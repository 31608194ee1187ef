// Launchers of the CUDA butterfly kernels: plain pointers, sizes and a stream, no torch. Every function
// returns the first CUDA error it met (cudaSuccess otherwise); kernels run asynchronously on `stream`.
// Needs compute capability 7.0 or newer (__grid_constant__ kernel parameters).
//
// Layouts (all contiguous, elements of the dtype; complex interleaved re, im):
//   twiddle, d_twiddle (nstacks, nblocks, log_n, n/2, 2, 2), twiddle 16-byte aligned
//   x, out, grad, d_x  (batch, nstacks, n), n = 2^log_n, 1 <= log_n <= 30
// Semantics: those of the pure-PyTorch reference (block b runs increasing strides when
// increasing_stride xor (b odd)); gradients follow PyTorch's complex convention (d_x = conj(T)^T grad,
// d_twiddle = grad x conj(x) per pair).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "butterfly_plan.h"

namespace kfront_cuda {

enum class Dtype : int { kFloat32 = 0, kFloat64 = 1, kComplex64 = 2, kComplex128 = 3 };

// out = butterfly(twiddle) x. out may equal x.
cudaError_t butterfly_forward(Dtype dtype, const void* twiddle, const void* x, void* out, int64_t batch,
                              int64_t nstacks, int log_n, int nblocks, bool increasing_stride, const Options& opt,
                              cudaStream_t stream);

// Bytes of scratch device memory butterfly_backward needs: the inputs of its chunks after the first, 0 when
// one chunk holds every layer. Depends on the current device's shared memory.
cudaError_t butterfly_backward_workspace_bytes(Dtype dtype, int64_t batch, int64_t nstacks, int log_n,
                                               int nblocks, bool increasing_stride, const Options& opt,
                                               int64_t* bytes);

// d_x and d_twiddle (fully overwritten; d_twiddle is zeroed on the stream first) from grad = dL/d out.
// grad may not alias d_x; workspace holds at least butterfly_backward_workspace_bytes bytes.
cudaError_t butterfly_backward(Dtype dtype, const void* grad, const void* twiddle, const void* x, void* d_twiddle,
                               void* d_x, void* workspace, int64_t workspace_bytes, int64_t batch, int64_t nstacks,
                               int log_n, int nblocks, bool increasing_stride, const Options& opt,
                               cudaStream_t stream);

}  // namespace kfront_cuda
