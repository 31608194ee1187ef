// CUDA kernels and launchers of the butterfly op. The kernel bodies are in butterfly_forward.cuh and
// butterfly_backward.cuh, the launch sequence in butterfly_launch.h and the planning in butterfly_plan.h;
// this file only binds them to CUDA: the __global__ kernels, the device limits and the launches.
// Kernel parameters (the chunk's layer and phase tables, ~2.2 KB) are __grid_constant__, so the tables are
// indexed in the constant bank without a per-thread copy.
#include "butterfly_kernels.h"

#include <algorithm>
#include <climits>
#include <mutex>
#include <unordered_map>

#include "butterfly_launch.h"

namespace kfront {
namespace cuda {
namespace {

// Kernel parameters beyond 4 KB need CUDA 12.1 and Volta or newer; stay below.
static_assert(sizeof(ForwardParams<Complex<double>>) <= 4096 && sizeof(BackwardParams<Complex<double>>) <= 4096,
              "kernel parameters too large");

template <class T, int R, int F>
__global__ void __launch_bounds__(forward_max_threads(F), 1)
    forward_kernel(const __grid_constant__ ForwardParams<T> p) {
  DeviceCtx ctx;
  forward_body<T, R, F>(p, ctx);
}

template <class T, int R, int F>
__global__ void __launch_bounds__(kWideMaxThreads, 1) backward_kernel(const __grid_constant__ BackwardParams<T> p) {
  DeviceCtx ctx;
  backward_body<T, R, F>(p, ctx);
}

// Dynamic shared memory above 48 KB needs an explicit opt-in per kernel.
template <class Kernel>
cudaError_t allow_smem(Kernel kernel, int64_t smem) {
  if (smem <= kSmemWithoutOptIn) return cudaSuccess;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
}

// The largest static shared memory of `kernel` and the bytes already in `*bytes`.
template <class Kernel>
cudaError_t add_static_smem(Kernel kernel, int64_t* bytes) {
  cudaFuncAttributes attr;
  const cudaError_t err = cudaFuncGetAttributes(&attr, kernel);
  if (err == cudaSuccess) *bytes = std::max<int64_t>(*bytes, int64_t(attr.sharedSizeBytes));
  return err;
}

// Static shared memory of every kernel instantiated for T: what the dynamic allocation cannot have of the
// opt-in maximum (the plans are made before the frames per thread, and so the kernel, are chosen).
template <class T>
cudaError_t static_smem_bytes(int64_t* bytes) {
  using Cfg = KernelConfig<T>;
  *bytes = 0;
  cudaError_t err = add_static_smem(forward_kernel<T, kFwdR, Cfg::kFwdF>, bytes);
  if (err == cudaSuccess) err = add_static_smem(forward_kernel<T, kFwdR, Cfg::kFwdMaxF>, bytes);
  if (err == cudaSuccess) err = add_static_smem(backward_kernel<T, kBwdR, 1>, bytes);
  if constexpr (Cfg::kBwdMaxF >= 2) {
    if (err == cudaSuccess) err = add_static_smem(backward_kernel<T, kBwdR, 2>, bytes);
  }
  if constexpr (Cfg::kBwdMaxF >= 4) {
    if (err == cudaSuccess) err = add_static_smem(backward_kernel<T, kBwdR, 4>, bytes);
  }
  return err;
}

// What the plans need of a device: its SMs and the dynamic shared memory a block of T's kernels may use.
struct DeviceLimits {
  int sms = 1;
  int64_t smem_limit = kSmemWithoutOptIn;
};

template <class T>
cudaError_t query_limits(int device, DeviceLimits* out) {
  int sms = 0, optin = 0;
  int64_t static_bytes = 0;
  cudaError_t err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err == cudaSuccess) err = static_smem_bytes<T>(&static_bytes);
  if (err == cudaSuccess) *out = {sms, int64_t(optin) - static_bytes};
  return err;
}

// The limits of the current device, queried once per device and dtype (seven runtime queries, five of them
// cudaFuncGetAttributes, that every call would otherwise repeat).
template <class T>
cudaError_t current_device_limits(DeviceLimits* out) {
  static std::mutex mutex;
  static std::unordered_map<int, DeviceLimits> known;
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return err;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto it = known.find(device);
  if (it != known.end()) {
    *out = it->second;
    return cudaSuccess;
  }
  err = query_limits<T>(device, out);
  if (err == cudaSuccess) known.emplace(device, *out);
  return err;
}

template <class T>
struct CudaExec {
  using Status = cudaError_t;
  cudaStream_t stream = nullptr;
  int sms = 1;
  int64_t limit = kSmemWithoutOptIn;
  Status init_error = cudaSuccess;

  explicit CudaExec(cudaStream_t s) : stream(s) {
    DeviceLimits lim;
    init_error = current_device_limits<T>(&lim);
    sms = lim.sms;
    limit = lim.smem_limit;
  }

  static Status ok() { return cudaSuccess; }
  static Status invalid() { return cudaErrorInvalidValue; }
  static Status misaligned() { return cudaErrorMisalignedAddress; }
  static bool failed(Status s) { return s != cudaSuccess; }
  int sm_count() const { return sms; }
  int64_t smem_limit() const { return limit; }
  int64_t max_grid() const { return INT_MAX; }
  Status zero(void* ptr, int64_t bytes) { return bytes > 0 ? cudaMemsetAsync(ptr, 0, size_t(bytes), stream) : ok(); }
  Status copy(void* dst, const void* src, int64_t bytes) {
    return cudaMemcpyAsync(dst, src, size_t(bytes), cudaMemcpyDeviceToDevice, stream);
  }

  template <class U, int R, int F>
  Status forward(int64_t grid, int threads, int64_t smem, const ForwardParams<U>& p) {
    if (smem > limit || grid < 1 || grid > max_grid()) return invalid();
    Status st = allow_smem(forward_kernel<U, R, F>, smem);
    if (st != cudaSuccess) return st;
    forward_kernel<U, R, F><<<unsigned(grid), unsigned(threads), size_t(smem), stream>>>(p);
    return cudaGetLastError();
  }

  template <class U, int R, int F>
  Status backward(int64_t grid, int threads, int64_t smem, const BackwardParams<U>& p) {
    if (smem > limit || grid < 1 || grid > max_grid()) return invalid();
    Status st = allow_smem(backward_kernel<U, R, F>, smem);
    if (st != cudaSuccess) return st;
    backward_kernel<U, R, F><<<unsigned(grid), unsigned(threads), size_t(smem), stream>>>(p);
    return cudaGetLastError();
  }

  template <class U, int R, int F>
  int backward_blocks_per_sm(int threads, int64_t smem) {
    int blocks = 1;
    if (allow_smem(backward_kernel<U, R, F>, smem) != cudaSuccess ||
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, backward_kernel<U, R, F>, threads, size_t(smem)) !=
            cudaSuccess) {
      return 1;
    }
    return blocks;
  }
};

template <class T>
cudaError_t run_forward(const void* twiddle, const void* x, void* out, const Problem& pb, const Options& opt,
                        cudaStream_t stream, const InputMap& in) {
  CudaExec<T> ex(stream);
  if (ex.init_error != cudaSuccess) return ex.init_error;
  return forward<T>(ex, pb, static_cast<const T*>(twiddle), static_cast<const T*>(x), static_cast<T*>(out), opt,
                    in);
}

template <class T>
cudaError_t run_backward(const void* grad, const void* twiddle, const void* x, void* d_twiddle, void* d_x,
                         void* workspace, int64_t workspace_bytes, const Problem& pb, const Options& opt,
                         cudaStream_t stream, const InputMap& in) {
  CudaExec<T> ex(stream);
  if (ex.init_error != cudaSuccess) return ex.init_error;
  return backward<T>(ex, pb, static_cast<const T*>(grad), static_cast<const T*>(twiddle),
                     static_cast<const T*>(x), static_cast<T*>(d_twiddle), static_cast<T*>(d_x),
                     static_cast<T*>(workspace), workspace_bytes / int64_t(sizeof(T)), opt, in);
}

template <class T>
cudaError_t workspace_bytes(const Problem& pb, bool frames_grad, const Options& opt, int64_t* bytes) {
  CudaExec<T> ex(nullptr);
  if (ex.init_error != cudaSuccess) return ex.init_error;
  if (!valid_problem(pb)) return cudaErrorInvalidValue;
  *bytes = 0;
  if (pb.nblocks == 0) return cudaSuccess;
  const BackwardPlan plan = backward_plan<T>(pb, opt, ex.smem_limit());
  if (plan.chunks.empty()) return cudaErrorInvalidValue;
  *bytes = backward_workspace_elems<T>(plan, pb, frames_grad) * int64_t(sizeof(T));
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

cudaError_t butterfly_forward(Dtype dtype, const void* twiddle, const void* x, void* out, const Problem& pb,
                              const Options& opt, cudaStream_t stream, const InputMap& in) {
  return dispatch(dtype,
                  [&](auto tag) { return run_forward<decltype(tag)>(twiddle, x, out, pb, opt, stream, in); });
}

cudaError_t butterfly_backward_workspace_bytes(Dtype dtype, const Problem& pb, bool frames_grad, const Options& opt,
                                               int64_t* bytes) {
  return dispatch(dtype, [&](auto tag) { return workspace_bytes<decltype(tag)>(pb, frames_grad, opt, bytes); });
}

cudaError_t butterfly_backward(Dtype dtype, const void* grad, const void* twiddle, const void* x, void* d_twiddle,
                               void* d_x, void* workspace, int64_t workspace_bytes, const Problem& pb,
                               const Options& opt, cudaStream_t stream, const InputMap& in) {
  return dispatch(dtype, [&](auto tag) {
    return run_backward<decltype(tag)>(grad, twiddle, x, d_twiddle, d_x, workspace, workspace_bytes, pb, opt,
                                       stream, in);
  });
}

}  // namespace cuda
}  // namespace kfront
