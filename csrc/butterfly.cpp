// Schema of the butterfly ops, declared once for every backend.
//
// The CPU kernels register themselves in cpu/butterfly_cpu.cpp, CUDA kernels (when built) in cuda/. Autograd
// and fake (meta) kernels are registered from Python (kfront/core/_ops.py) so that torch.compile and
// torch.library.opcheck see the same op the eager code calls.
#include <torch/library.h>

TORCH_LIBRARY(kfront, m) {
  // twiddle: (nstacks, nblocks, log2 n, n/2, 2, 2); x: (batch, nstacks, L <= n), rows read zero-padded to n;
  // returns (batch, nstacks, n). perm, when given, (n,) int64: the product's input j is entry perm[j] of the
  // padded row (the CPU kernels apply it while loading their tiles; no permuted copy is written).
  m.def("butterfly_multiply(Tensor twiddle, Tensor x, bool increasing_stride, Tensor? perm=None) -> Tensor");
  // grad: (batch, nstacks, n), the gradient of the forward's output; returns (d_twiddle, d_x). Without
  // input_grad, d_x is not computed and an empty (0,) tensor takes its place (the front-end's frames need none).
  m.def("butterfly_multiply_backward(Tensor grad, Tensor twiddle, Tensor x, bool increasing_stride, "
        "bool input_grad=True, Tensor? perm=None) -> (Tensor, Tensor)");
  // The power |y|^2 of the first k outputs of y = butterfly_multiply(twiddle, x, increasing_stride), a frame's
  // stacks in a row (k <= nstacks * n), for a complex twiddle: (batch, k) real. With a separation (2, k) of
  // coefficients a, b (k - 1 <= n), instead |X_j|^2 for j < k, X_j = a_j y_(j mod N) + b_j conj(y_((N - j) mod N)),
  // N = k - 1: the power spectrum of a real frame packed as N complex numbers. The front-end's spectrum in one
  // pass, without y. CPU only: elsewhere kfront.core.power composes butterfly_multiply and the power.
  m.def("butterfly_multiply_power(Tensor twiddle, Tensor x, bool increasing_stride, int k, Tensor? separation=None, "
        "Tensor? perm=None) -> Tensor");
  // grad: (batch, k) real; returns (d_twiddle, d_x, d_separation), d_x as butterfly_multiply_backward returns it,
  // d_separation empty (0,) without a separation.
  m.def("butterfly_multiply_power_backward(Tensor grad, Tensor twiddle, Tensor x, bool increasing_stride, int k, "
        "Tensor? separation=None, bool input_grad=True, Tensor? perm=None) -> (Tensor, Tensor, Tensor)");
}
