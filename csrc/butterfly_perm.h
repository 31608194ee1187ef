// Input permutations checked once per buffer, for both backends.
//
// The op's perm is a module buffer passed on every forward and backward. Checking its values on every call means
// reading them on the host every time: on CUDA a device-to-host copy, i.e. a synchronisation per call, which also
// makes the op impossible to capture in a CUDA graph. So a check's result is kept against the buffer (its address,
// size and stride) and its version counter: an in-place change bumps the version and the next call checks again.
// An entry holds a reference to the buffer, so no other tensor can be allocated at its address while the entry
// lives. The kernels read the entry's own copy of the values as checked, so a change that bypasses the version
// counter (through .data, or from NumPy) never makes them read a non-permutation.
//
// Inference tensors have no version counter: theirs are checked on every call. A first call on a buffer that
// is being captured into a CUDA graph still synchronises: run the op once before capturing (the usual warm-up).
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <list>
#include <mutex>
#include <vector>

#include "butterfly_checks.h"

namespace kfront {

struct CheckedPerm {
  at::Tensor perm;     // (n,) int64, contiguous, on the buffer's device: the values as checked
  at::Tensor inverse;  // (n,) int64, on the buffer's device: inverse[perm[j]] = j
};

namespace detail {

struct PermEntry {
  at::Tensor buffer;  // the checked tensor itself, kept alive so that its address stays its own
  int64_t version;
  CheckedPerm checked;
};

// Most entries kept: a model has a few permutations (one per frame size); older entries are dropped first.
constexpr std::size_t kPermCacheEntries = 16;

// Never destroyed: entries may hold CUDA tensors, which must not be freed after the CUDA runtime has shut down.
inline std::list<PermEntry>& perm_cache() {
  static auto* cache = new std::list<PermEntry>();
  return *cache;
}
inline std::mutex& perm_cache_mutex() {
  static auto* mutex = new std::mutex();
  return *mutex;
}

// Reads the values on the host (the one synchronisation on CUDA), raises ValueError naming the first bad entry
// (perm_inverse: the same message on every device), and returns the checked values and the inverse on the buffer's
// device.
inline CheckedPerm check_now(const at::Tensor& perm, const char* op) {
  const at::Tensor host = perm.to(at::kCPU).contiguous();
  std::vector<int64_t> inverse = perm_inverse(host, op);
  const auto n = static_cast<int64_t>(inverse.size());
  const at::Tensor inverse_host = at::from_blob(inverse.data(), {n}, at::dtype(at::kLong)).clone();
  return {host.clone().to(perm.device()), inverse_host.to(perm.device())};
}

inline bool same_buffer(const at::Tensor& a, const at::Tensor& b) {
  return a.data_ptr() == b.data_ptr() && a.device() == b.device() && a.sizes() == b.sizes() &&
         a.strides() == b.strides();
}

}  // namespace detail

// The checked values and inverse of perm (shape, dtype and device already passed check_perm); raises ValueError if
// it is not a permutation of 0 .. n - 1.
inline CheckedPerm checked_perm(const at::Tensor& perm, const char* op) {
  if (perm.is_inference()) return detail::check_now(perm, op);
  const int64_t version = perm._version();
  auto& cache = detail::perm_cache();
  {
    const std::lock_guard<std::mutex> lock(detail::perm_cache_mutex());
    for (auto it = cache.begin(); it != cache.end(); ++it) {
      if (!detail::same_buffer(it->buffer, perm)) continue;
      if (it->version == version && it->buffer._version() == version) {
        cache.splice(cache.begin(), cache, it);  // most recently used first
        return it->checked;
      }
      cache.erase(it);  // changed since its check
      break;
    }
  }
  CheckedPerm checked = detail::check_now(perm, op);  // unlocked: it may wait for the device
  const std::lock_guard<std::mutex> lock(detail::perm_cache_mutex());
  cache.push_front({perm, version, checked});
  if (cache.size() > detail::kPermCacheEntries) cache.pop_back();
  return checked;
}

}  // namespace kfront
