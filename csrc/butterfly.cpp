// Schema of the butterfly ops, declared once for every backend.
//
// The CPU kernels register themselves in cpu/butterfly_cpu.cpp, CUDA kernels (when built) in cuda/. Autograd
// and fake (meta) kernels are registered from Python (kfront/core/_ops.py) so that torch.compile and
// torch.library.opcheck see the same op the eager code calls.
#include <torch/library.h>

TORCH_LIBRARY(kfront, m) {
  // twiddle: (nstacks, nblocks, log2 n, n/2, 2, 2); x: (batch, nstacks, n); returns (batch, nstacks, n).
  m.def("butterfly_multiply(Tensor twiddle, Tensor x, bool increasing_stride) -> Tensor");
  // grad: (batch, nstacks, n), the gradient of the forward's output; returns (d_twiddle, d_x).
  m.def("butterfly_multiply_backward(Tensor grad, Tensor twiddle, Tensor x, bool increasing_stride) "
        "-> (Tensor, Tensor)");
}
