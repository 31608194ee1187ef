// Argument checks of the butterfly ops, one for every backend: the CPU and the CUDA bindings call these
// before anything else, so the same bad input gives the same error on every device. They raise ValueError in
// Python (TORCH_CHECK_VALUE) and name the offending sizes, dtypes or devices.
#pragma once

#include <torch/types.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "butterfly_problem.h"

namespace kfront {

// twiddle: (nstacks, nblocks, log2 n, n/2, 2, 2); x: (batch, nstacks, L) with 1 <= L <= n, rows shorter than n
// standing for themselves zero-padded at the end to n; same device, and the same dtype or, with a complex
// twiddle, real of the same precision (a real input; the output is complex).
inline void check_butterfly_inputs(const at::Tensor& twiddle, const at::Tensor& x, const char* op) {
  TORCH_CHECK_VALUE(twiddle.dim() == 6 && twiddle.size(4) == 2 && twiddle.size(5) == 2, op,
                    ": twiddle must have shape (nstacks, nblocks, log2 n, n/2, 2, 2), got ", twiddle.sizes());
  const int64_t log_n = twiddle.size(2);
  TORCH_CHECK_VALUE(log_n >= 1 && log_n <= kMaxLogN && twiddle.size(3) == (int64_t{1} << (log_n - 1)) &&
                        twiddle.size(1) <= std::numeric_limits<int>::max(),
                    op, ": twiddle shape ", twiddle.sizes(), " is inconsistent: dimension 3 must be n/2 = ",
                    "2^(log2 n - 1) with 1 <= log2 n <= ", kMaxLogN);
  const int64_t n = int64_t{1} << log_n;
  TORCH_CHECK_VALUE(x.dim() == 3 && x.size(1) == twiddle.size(0) && x.size(2) >= 1 && x.size(2) <= n, op,
                    ": x must have shape (batch, nstacks, n) = (batch, ", twiddle.size(0), ", ", n, ") for twiddle ",
                    twiddle.sizes(), ", or rows of 1 <= L < n samples, zero-padded to n: (batch, ", twiddle.size(0),
                    ", L); got ", x.sizes(), x.dim() == 3 ? " (L = " + std::to_string(x.size(2)) + ")" : "");
  TORCH_CHECK_VALUE(twiddle.scalar_type() == x.scalar_type() ||
                        (twiddle.is_complex() && x.scalar_type() == c10::toRealValueType(twiddle.scalar_type())),
                    op, ": x must have the dtype of twiddle or, with a complex twiddle, its real counterpart; got ",
                    "twiddle ", twiddle.scalar_type(), " and x ", x.scalar_type());
  TORCH_CHECK_VALUE(twiddle.device() == x.device(), op, ": twiddle is on ", twiddle.device(), " but x is on ",
                    x.device());
}

// The dtypes the compiled kernels are instantiated for (x is checked against the twiddle's).
inline void check_butterfly_dtype(const at::Tensor& twiddle, const char* op) {
  const auto st = twiddle.scalar_type();
  TORCH_CHECK_VALUE(st == at::kFloat || st == at::kDouble || st == at::kComplexFloat || st == at::kComplexDouble,
                    op, ": the compiled kernels support float32, float64, complex64 and complex128, got ", st);
}

// grad: the gradient of the output, (batch, nstacks, n) (x's shape when L = n), with the dtype of twiddle.
inline void check_butterfly_grad(const at::Tensor& grad, const at::Tensor& twiddle, const at::Tensor& x,
                                 const char* op) {
  const int64_t n = 2 * twiddle.size(3);
  TORCH_CHECK_VALUE(grad.dim() == 3 && grad.size(0) == x.size(0) && grad.size(1) == x.size(1) && grad.size(2) == n,
                    op, ": grad must have the shape of the output (batch, nstacks, n) = (", x.size(0), ", ",
                    x.size(1), ", ", n, "), got ", grad.sizes());
  TORCH_CHECK_VALUE(grad.scalar_type() == twiddle.scalar_type(), op, ": grad must have the dtype of the output (",
                    twiddle.scalar_type(), "), got ", grad.scalar_type());
  TORCH_CHECK_VALUE(grad.device() == x.device(), op, ": grad is on ", grad.device(), " but x is on ", x.device());
}

// The power ops: |y|^2 of the first k outputs (k <= nstacks * n), or with a separation (2, k) of coefficients
// (2 <= k <= n + 1) |X|^2 of the separated first k - 1; the twiddle is complex. Checks twiddle and x first
// (check_butterfly_inputs): n is the twiddle's.
inline void check_power_args(const at::Tensor& twiddle, const at::Tensor& x, int64_t k,
                             const std::optional<at::Tensor>& separation, const char* op) {
  check_butterfly_inputs(twiddle, x, op);
  TORCH_CHECK_VALUE(twiddle.is_complex(), op, ": the power is taken of complex outputs: twiddle must be complex, got ",
                    twiddle.scalar_type());
  const int64_t n = 2 * twiddle.size(3);
  if (!separation.has_value()) {
    TORCH_CHECK_VALUE(k >= 0 && k <= x.size(1) * n, op, ": k must lie in [0, nstacks * n] = [0, ", x.size(1) * n,
                      "], got ", k);
    return;
  }
  const at::Tensor& s = *separation;
  TORCH_CHECK_VALUE(s.dim() == 2 && s.size(0) == 2 && s.size(1) == k && k >= 2 && k - 1 <= n, op,
                    ": separation must be (2, k) with 2 <= k <= n + 1 (k = ", k, ", n = ", n, "), got ", s.sizes());
  TORCH_CHECK_VALUE(s.scalar_type() == twiddle.scalar_type() && s.device() == twiddle.device(), op,
                    ": separation must have the twiddle's dtype and device, got ", s.scalar_type(), " on ", s.device());
}

// grad of a power op: (batch, k), real of the twiddle's precision.
inline void check_power_grad(const at::Tensor& grad, const at::Tensor& twiddle, const at::Tensor& x, int64_t k,
                             const char* op) {
  const auto real = c10::toRealValueType(twiddle.scalar_type());
  TORCH_CHECK_VALUE(grad.dim() == 2 && grad.size(0) == x.size(0) && grad.size(1) == k &&
                        grad.scalar_type() == real && grad.device() == x.device(),
                    op, ": grad must be (batch, k) = (", x.size(0), ", ", k, ") ", real, ", got ", grad.sizes(), " ",
                    grad.scalar_type());
}

// perm, when given: the input permutation, (n,) int64 on x's device, a permutation of 0 .. n - 1. The product's
// input j is then entry perm[j] of x's row zero-padded to n (entries perm[j] >= L read zero). Its values are
// checked by checked_perm (butterfly_perm.h), once per buffer, with perm_inverse below on either device.
inline void check_perm(const std::optional<at::Tensor>& perm, const at::Tensor& twiddle, const at::Tensor& x,
                       const char* op) {
  if (!perm.has_value()) return;
  const int64_t n = 2 * twiddle.size(3);
  TORCH_CHECK_VALUE(perm->dim() == 1 && perm->size(0) == n && perm->scalar_type() == at::kLong, op,
                    ": perm must be a (n,) = (", n, ",) int64 tensor, got ", perm->sizes(), " ", perm->scalar_type());
  TORCH_CHECK_VALUE(perm->device() == x.device(), op, ": perm is on ", perm->device(), " but x is on ", x.device());
}

// The inverse of a checked perm held in host memory: inverse[perm[j]] = j. Raises ValueError if perm is not a
// permutation of 0 .. n - 1.
inline std::vector<int64_t> perm_inverse(const at::Tensor& perm, const char* op) {
  const auto p = perm.contiguous();
  const int64_t* v = p.const_data_ptr<int64_t>();
  const int64_t n = p.numel();
  std::vector<int64_t> inverse(n, -1);
  for (int64_t j = 0; j < n; ++j) {
    const bool in_range = v[j] >= 0 && v[j] < n;
    TORCH_CHECK_VALUE(in_range && inverse[v[j]] < 0, op, ": perm must be a permutation of 0 .. ", n - 1,
                      ", but perm[", j, "] = ", v[j], in_range ? " is repeated" : " is out of range");
    inverse[v[j]] = j;
  }
  return inverse;
}

// The problem of checked arguments.
inline Problem problem_of(const at::Tensor& twiddle, const at::Tensor& x, bool increasing_stride) {
  Problem pb;
  pb.batch = x.size(0);
  pb.nstacks = x.size(1);
  pb.log_n = int(twiddle.size(2));
  pb.nblocks = int(twiddle.size(1));
  pb.increasing_stride = increasing_stride;
  return pb;
}

}  // namespace kfront
