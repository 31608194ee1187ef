// CUDA kernels and launchers of the butterfly op. The kernel bodies are in butterfly_device.cuh, the launch
// sequence in butterfly_launch.h and the planning in butterfly_plan.h; this file only binds them to CUDA.
//
// Launch geometry (defaults; butterfly_plan.h has the details):
// - forward: R = 8 elements (3 layers) per thread per phase, F = 2 frames per thread (1 for complex128),
//   256 threads per block (512 for n = 4096), one launch for n <= 4096. Shared memory per block:
//   G * F * m * (1 + 1/16) * 8 bytes for complex64 (G * m = 2048): 34 KB (n <= 2048), 70 KB (n = 4096).
// - backward: R = 4 (2 layers) per phase, F = 2 or 1, 256 threads, a persistent grid (blocks = SMs x
//   occupancy, spread over stacks and sub-block groups). Shared memory: (phases + 1) checkpoint buffers
//   plus 2 * layers * 1024 twiddle-gradient accumulators: for complex64, n = 1024, nblocks = 1, F = 1 that
//   is 6 * 8.5 KB + 160 KB = 212 KB, one block per SM; chunks shrink to fit the device's opt-in maximum.
// Kernel parameters (the chunk's layer and phase tables, ~2.2 KB) are __grid_constant__, so the tables are
// indexed in the constant bank without a per-thread copy.
#include "butterfly_kernels.h"

#include <climits>

#include "butterfly_device.cuh"
#include "butterfly_launch.h"

namespace kfront_cuda {
namespace {

// Kernel parameters beyond 4 KB need CUDA 12.1 and Volta or newer; stay below.
static_assert(sizeof(ForwardParams<Complex<double>>) <= 4096 && sizeof(BackwardParams<Complex<double>>) <= 4096,
              "kernel parameters too large");

template <class T, int R, int F>
__global__ void __launch_bounds__(F >= 4 ? kMaxFwdThreadsF4 : kMaxFwdThreads, 1)
    forward_kernel(const __grid_constant__ ForwardParams<T> p) {
  DeviceCtx ctx;
  forward_body<T, R, F>(p, ctx);
}

template <class T, int R, int F>
__global__ void __launch_bounds__(kMaxBwdThreads, 1) backward_kernel(const __grid_constant__ BackwardParams<T> p) {
  DeviceCtx ctx;
  backward_body<T, R, F>(p, ctx);
}

// Dynamic shared memory above 48 KB needs an explicit opt-in per kernel.
template <class Kernel>
cudaError_t allow_smem(Kernel kernel, int64_t smem) {
  if (smem <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
}

struct CudaExec {
  using Status = cudaError_t;
  cudaStream_t stream = nullptr;
  int sms = 1;
  int64_t optin = 48 * 1024;
  Status init_error = cudaSuccess;

  explicit CudaExec(cudaStream_t s) : stream(s) {
    int device = 0, value = 0;
    init_error = cudaGetDevice(&device);
    if (init_error == cudaSuccess) init_error = cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device);
    if (init_error == cudaSuccess) sms = value;
    if (init_error == cudaSuccess) {
      init_error = cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
    }
    if (init_error == cudaSuccess) optin = value;
  }

  static Status ok() { return cudaSuccess; }
  static Status invalid() { return cudaErrorInvalidValue; }
  static Status misaligned() { return cudaErrorMisalignedAddress; }
  static bool failed(Status s) { return s != cudaSuccess; }
  int sm_count() const { return sms; }
  int64_t smem_optin() const { return optin; }
  int64_t max_grid() const { return INT_MAX; }
  Status zero(void* ptr, int64_t bytes) { return bytes > 0 ? cudaMemsetAsync(ptr, 0, size_t(bytes), stream) : ok(); }

  template <class T, int R, int F>
  Status forward(int64_t grid, int threads, int64_t smem, const ForwardParams<T>& p) {
    Status st = allow_smem(forward_kernel<T, R, F>, smem);
    if (st != cudaSuccess) return st;
    forward_kernel<T, R, F><<<unsigned(grid), unsigned(threads), size_t(smem), stream>>>(p);
    return cudaGetLastError();
  }

  template <class T, int R, int F>
  Status backward(int64_t grid, int threads, int64_t smem, const BackwardParams<T>& p) {
    Status st = allow_smem(backward_kernel<T, R, F>, smem);
    if (st != cudaSuccess) return st;
    backward_kernel<T, R, F><<<unsigned(grid), unsigned(threads), size_t(smem), stream>>>(p);
    return cudaGetLastError();
  }

  template <class T, int R, int F>
  int backward_blocks_per_sm(int threads, int64_t smem) {
    int blocks = 1;
    if (allow_smem(backward_kernel<T, R, F>, smem) != cudaSuccess ||
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, backward_kernel<T, R, F>, threads, size_t(smem)) !=
            cudaSuccess) {
      return 1;
    }
    return blocks;
  }
};

template <class T>
cudaError_t run_forward(const void* twiddle, const void* x, void* out, const Problem& pb, const Options& opt,
                        cudaStream_t stream) {
  CudaExec ex(stream);
  if (ex.init_error != cudaSuccess) return ex.init_error;
  return forward<T>(ex, pb, static_cast<const T*>(twiddle), static_cast<const T*>(x), static_cast<T*>(out), opt);
}

template <class T>
cudaError_t run_backward(const void* grad, const void* twiddle, const void* x, void* d_twiddle, void* d_x,
                         void* workspace, int64_t workspace_bytes, const Problem& pb, const Options& opt,
                         cudaStream_t stream) {
  CudaExec ex(stream);
  if (ex.init_error != cudaSuccess) return ex.init_error;
  return backward<T>(ex, pb, static_cast<const T*>(grad), static_cast<const T*>(twiddle),
                     static_cast<const T*>(x), static_cast<T*>(d_twiddle), static_cast<T*>(d_x),
                     static_cast<T*>(workspace), workspace_bytes / int64_t(sizeof(T)), opt);
}

template <class T>
cudaError_t workspace_bytes(const Problem& pb, const Options& opt, int64_t* bytes) {
  CudaExec ex(nullptr);
  if (ex.init_error != cudaSuccess) return ex.init_error;
  if (!valid_problem(pb)) return cudaErrorInvalidValue;
  const BackwardPlan plan = backward_plan<T>(pb, opt, ex.smem_optin());
  if (plan.chunks.empty()) return cudaErrorInvalidValue;
  *bytes = backward_workspace_elems<T>(plan, pb) * int64_t(sizeof(T));
  return cudaSuccess;
}

template <class Fn>
cudaError_t dispatch(Dtype dtype, Fn fn) {
  switch (dtype) {
    case Dtype::kFloat32: return fn(float{});
    case Dtype::kFloat64: return fn(double{});
    case Dtype::kComplex64: return fn(Complex<float>{});
    case Dtype::kComplex128: return fn(Complex<double>{});
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t butterfly_forward(Dtype dtype, const void* twiddle, const void* x, void* out, int64_t batch,
                              int64_t nstacks, int log_n, int nblocks, bool increasing_stride, const Options& opt,
                              cudaStream_t stream) {
  const Problem pb{batch, nstacks, log_n, nblocks, increasing_stride};
  return dispatch(dtype, [&](auto tag) {
    return run_forward<decltype(tag)>(twiddle, x, out, pb, opt, stream);
  });
}

cudaError_t butterfly_backward_workspace_bytes(Dtype dtype, int64_t batch, int64_t nstacks, int log_n,
                                               int nblocks, bool increasing_stride, const Options& opt,
                                               int64_t* bytes) {
  const Problem pb{batch, nstacks, log_n, nblocks, increasing_stride};
  return dispatch(dtype, [&](auto tag) { return workspace_bytes<decltype(tag)>(pb, opt, bytes); });
}

cudaError_t butterfly_backward(Dtype dtype, const void* grad, const void* twiddle, const void* x, void* d_twiddle,
                               void* d_x, void* workspace, int64_t workspace_bytes, int64_t batch, int64_t nstacks,
                               int log_n, int nblocks, bool increasing_stride, const Options& opt,
                               cudaStream_t stream) {
  const Problem pb{batch, nstacks, log_n, nblocks, increasing_stride};
  return dispatch(dtype, [&](auto tag) {
    return run_backward<decltype(tag)>(grad, twiddle, x, d_twiddle, d_x, workspace, workspace_bytes, pb, opt,
                                       stream);
  });
}

}  // namespace kfront_cuda
