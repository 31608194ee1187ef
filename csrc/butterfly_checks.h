// Argument checks shared by every backend of the butterfly ops. They raise ValueError in Python
// (TORCH_CHECK_VALUE) and name the offending sizes and dtypes.
#pragma once

#include <torch/types.h>

namespace kfront {

// twiddle: (nstacks, nblocks, log2 n, n/2, 2, 2); x: (batch, nstacks, n), same device, and the same dtype or,
// with a complex twiddle, real of the same precision (a real input; the output is complex).
inline void check_butterfly_inputs(const at::Tensor& twiddle, const at::Tensor& x, const char* op) {
  TORCH_CHECK_VALUE(twiddle.dim() == 6 && twiddle.size(4) == 2 && twiddle.size(5) == 2, op,
                    ": twiddle must have shape (nstacks, nblocks, log2 n, n/2, 2, 2), got ", twiddle.sizes());
  const int64_t log_n = twiddle.size(2);
  TORCH_CHECK_VALUE(log_n >= 1 && log_n <= 30 && twiddle.size(3) == (int64_t{1} << (log_n - 1)), op,
                    ": twiddle shape ", twiddle.sizes(), " is inconsistent: dimension 3 must be n/2 = 2^(log2 n - 1)");
  TORCH_CHECK_VALUE(x.dim() == 3 && x.size(1) == twiddle.size(0) && x.size(2) == (int64_t{1} << log_n), op,
                    ": x must have shape (batch, nstacks, n) = (batch, ", twiddle.size(0), ", ",
                    int64_t{1} << log_n, ") for twiddle ", twiddle.sizes(), ", got ", x.sizes());
  TORCH_CHECK_VALUE(twiddle.scalar_type() == x.scalar_type() ||
                        (twiddle.is_complex() && x.scalar_type() == c10::toRealValueType(twiddle.scalar_type())),
                    op, ": x must have the dtype of twiddle or, with a complex twiddle, its real counterpart; got ",
                    "twiddle ", twiddle.scalar_type(), " and x ", x.scalar_type());
  TORCH_CHECK_VALUE(twiddle.device() == x.device(), op, ": twiddle is on ", twiddle.device(), " but x is on ",
                    x.device());
}

// grad: the gradient of the output, which has the shape of x and the dtype of twiddle.
inline void check_butterfly_grad(const at::Tensor& grad, const at::Tensor& twiddle, const at::Tensor& x,
                                 const char* op) {
  TORCH_CHECK_VALUE(grad.sizes() == x.sizes(), op, ": grad must have the shape of x ", x.sizes(), ", got ",
                    grad.sizes());
  TORCH_CHECK_VALUE(grad.scalar_type() == twiddle.scalar_type(), op, ": grad must have the dtype of the output (",
                    twiddle.scalar_type(), "), got ", grad.scalar_type());
  TORCH_CHECK_VALUE(grad.device() == x.device(), op, ": grad is on ", grad.device(), " but x is on ", x.device());
}

}  // namespace kfront
