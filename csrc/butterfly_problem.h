// What one call of a butterfly op computes, in plain C++ (no torch, no CUDA): the sizes and the stride order.
// Shared by the argument checks (butterfly_checks.h), the CPU kernels (cpu/) and the CUDA launchers (cuda/).
//
//   twiddle (nstacks, nblocks, log_n, n/2, 2, 2), x (batch, nstacks, n), n = 2^log_n
//
// The ops also take rows of L < n samples, x (batch, nstacks, L), standing for themselves zero-padded to n; a
// Problem is always of whole n-sample frames: the CPU kernels read short rows into zero-padded tiles (their Job
// carries L), the CUDA binding pads them before its kernels.
//
// Block b applies its log_n layers with increasing strides 1, 2, ..., n/2 when increasing_stride xor (b odd),
// else with decreasing ones. nblocks = 0 is the identity.
#pragma once

#include <cstdint>

namespace kfront {

// Largest log2 n either backend accepts: a frame's positions and pair indices then fit a 32-bit int.
constexpr int kMaxLogN = 30;

struct Problem {
  int64_t batch = 0, nstacks = 0;
  int log_n = 1, nblocks = 1;
  bool increasing_stride = true;

  int64_t n() const { return int64_t{1} << log_n; }
  // Twiddle entries of one stack (a real or complex number each): nblocks * log_n layers of n/2 2x2 blocks.
  int64_t stack_twiddles() const { return int64_t(nblocks) * log_n * (n() / 2) * 4; }
  // Elements of x (and of the output, grad and d_x).
  int64_t frame_elements() const { return batch * nstacks * n(); }
};

}  // namespace kfront
