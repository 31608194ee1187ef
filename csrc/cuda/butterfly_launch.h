// The launch sequence of the butterfly forward and backward, written once over an executor `Exec` that
// either launches the CUDA kernels (butterfly_kernels.cu) or runs them in the host emulation. Exec gives:
//   Status, ok(), invalid(), misaligned(), failed(Status)
//   sm_count(), smem_optin(), max_grid()                device limits (max_grid caps the forward grid)
//   zero(ptr, bytes)                                    memset on the stream
//   forward<T, R, F>(grid, threads, smem_bytes, params), backward<T, R, F>(...)
//   backward_blocks_per_sm<T, R, F>(threads, smem_bytes)
//
// Forward: the layer sequence is split into chunks (one launch each, see butterfly_plan.h); for n <= 4096
// (float32/complex64; less where shared memory is short) that is one launch for all nblocks * log_n layers.
// Chunk c > 0 runs in place on the output.
//
// Backward: chunks sized so that a block's checkpoints and twiddle-gradient accumulators fit in shared
// memory (one chunk for n <= 1024 and nblocks = 1 in float32/complex64 on Hopper). The inputs of chunks
// 1 .. C-1 are first computed by forward launches into a workspace ((C - 1) * batch * nstacks * n
// elements); then the chunks run last to first, the gradient flowing through d_x in place.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "butterfly_device.cuh"
#include "butterfly_plan.h"

namespace kfront_cuda {

// Frames per thread: they share the thread's twiddle loads (and, in the backward, its twiddle-gradient
// sums). kFwdF is the forward's default; the Max values are the instantiated options (Options::*_frames).
// complex128 keeps register use down instead.
template <class T>
struct KernelConfig {
  static constexpr int kFwdF = 2, kFwdMaxF = 4, kBwdMaxF = 4;
};
template <>
struct KernelConfig<double> {
  static constexpr int kFwdF = 2, kFwdMaxF = 2, kBwdMaxF = 2;
};
template <>
struct KernelConfig<Complex<double>> {
  static constexpr int kFwdF = 1, kFwdMaxF = 1, kBwdMaxF = 1;
};

constexpr int kFwdR = 1 << kFwdRBits;
constexpr int kBwdR = 1 << kBwdRBits;

struct Problem {
  int64_t batch, nstacks;
  int log_n, nblocks;
  bool increasing_stride;
};

inline bool valid_problem(const Problem& pb) {
  return pb.batch >= 0 && pb.nstacks >= 0 && pb.log_n >= 1 && pb.log_n <= kMaxLogN && pb.nblocks >= 1;
}

inline int64_t twiddle_stack_stride(const Problem& pb) {
  return int64_t(pb.nblocks) * pb.log_n * (int64_t(1) << (pb.log_n - 1)) * 4;
}

inline int64_t frame_elems(const Problem& pb) { return pb.batch * pb.nstacks << pb.log_n; }

template <class T>
BackwardPlan backward_plan(const Problem& pb, const Options& opt, int64_t smem_optin) {
  return plan_backward(pb.log_n, pb.nblocks, pb.increasing_stride, opt, KernelConfig<T>::kBwdMaxF, sizeof(T),
                       smem_optin);
}

template <class T>
int64_t backward_workspace_elems(const BackwardPlan& plan, const Problem& pb) {
  return plan.chunks.empty() ? 0 : int64_t(plan.chunks.size() - 1) * frame_elems(pb);
}

template <class T>
int forward_frames(const Options& opt) {
  return opt.fwd_frames >= 4 && KernelConfig<T>::kFwdMaxF >= 4 ? 4 : KernelConfig<T>::kFwdF;
}

// Applies layers seq[begin, end) to src, writing dst (src may equal dst), F frames per thread.
template <class T, int F, class Exec>
typename Exec::Status forward_layers_f(Exec& ex, const std::vector<SeqLayer>& seq, int begin, int end,
                                       const Problem& pb, const T* tw, const T* src, T* dst, const Options& opt) {
  const int W = forward_window(pb.log_n, opt, F, int(sizeof(T)), ex.smem_optin());
  const auto chunks =
      plan_chunks(seq, begin, end, pb.log_n, W, kFwdRBits, pad_shift_for(int(sizeof(T))),
                  [](const ChunkDesc&) { return true; });
  if (chunks.empty()) return ex.invalid();
  const T* in = src;
  for (const ChunkDesc& c : chunks) {
    ForwardParams<T> p{};
    p.c = c;
    const int threads = std::min(forward_threads(opt), F >= 4 ? kMaxFwdThreadsF4 : kMaxFwdThreads);
    p.g = make_geometry(pb.log_n, c.W, kFwdRBits, F, threads, int(sizeof(T)), pb.batch, pb.nstacks);
    p.tw = tw;
    p.x = in;
    p.out = dst;
    p.tw_stack_stride = twiddle_stack_stride(pb);
    const auto st = ex.template forward<T, kFwdR, F>(std::min(p.g.ntiles, ex.max_grid()), p.g.tpb,
                                                     forward_smem_bytes(p.g, int(sizeof(T))), p);
    if (ex.failed(st)) return st;
    in = dst;
  }
  return ex.ok();
}

template <class T, class Exec>
typename Exec::Status forward_layers(Exec& ex, const std::vector<SeqLayer>& seq, int begin, int end,
                                     const Problem& pb, const T* tw, const T* src, T* dst, const Options& opt) {
  if constexpr (KernelConfig<T>::kFwdMaxF >= 4) {
    if (forward_frames<T>(opt) == 4) return forward_layers_f<T, 4>(ex, seq, begin, end, pb, tw, src, dst, opt);
  }
  return forward_layers_f<T, KernelConfig<T>::kFwdF>(ex, seq, begin, end, pb, tw, src, dst, opt);
}

template <class T, class Exec>
typename Exec::Status forward(Exec& ex, const Problem& pb, const T* tw, const T* x, T* out, const Options& opt) {
  if (!valid_problem(pb)) return ex.invalid();
  if (reinterpret_cast<std::uintptr_t>(tw) % 16 != 0) return ex.misaligned();
  if (frame_elems(pb) == 0) return ex.ok();
  const auto seq = layer_sequence(pb.log_n, pb.nblocks, pb.increasing_stride);
  return forward_layers<T>(ex, seq, 0, int(seq.size()), pb, tw, x, out, opt);
}

template <class T, int F, class Exec>
typename Exec::Status backward_chunk(Exec& ex, const ChunkDesc& c, int threads, const Problem& pb, const T* tw,
                                     const T* x, const T* gin, T* gx, T* dtw) {
  BackwardParams<T> p{};
  p.c = c;
  p.g = make_geometry(pb.log_n, c.W, kBwdRBits, F, threads, int(sizeof(T)), pb.batch, pb.nstacks);
  p.tw = tw;
  p.x = x;
  p.gin = gin;
  p.gx = gx;
  p.dtw = dtw;
  p.tw_stack_stride = twiddle_stack_stride(pb);
  const int64_t smem = backward_smem_bytes(p.g, c, int(sizeof(T)));
  // Enough blocks to fill the device once; each then loops over its share of the frame groups, so the
  // twiddle gradient costs one global atomic per entry per block.
  const int per_sm = std::max(1, ex.template backward_blocks_per_sm<T, kBwdR, F>(p.g.tpb, smem));
  const int64_t groups = pb.nstacks * p.g.nO;
  const int64_t target = int64_t(ex.sm_count()) * per_sm;
  p.nsplit = std::min(p.g.nB, std::max<int64_t>(1, (target + groups - 1) / groups));
  return ex.template backward<T, kBwdR, F>(groups * p.nsplit, p.g.tpb, smem, p);
}

template <class T, class Exec>
typename Exec::Status backward(Exec& ex, const Problem& pb, const T* grad, const T* tw, const T* x, T* dtw, T* dx,
                               T* workspace, int64_t workspace_elems, const Options& opt) {
  if (!valid_problem(pb)) return ex.invalid();
  if (reinterpret_cast<std::uintptr_t>(tw) % 16 != 0) return ex.misaligned();
  const BackwardPlan plan = backward_plan<T>(pb, opt, ex.smem_optin());
  if (plan.chunks.empty() || workspace_elems < backward_workspace_elems<T>(plan, pb)) return ex.invalid();
  auto st = ex.zero(dtw, pb.nstacks * twiddle_stack_stride(pb) * int64_t(sizeof(T)));
  if (ex.failed(st) || frame_elems(pb) == 0) return st;

  const auto seq = layer_sequence(pb.log_n, pb.nblocks, pb.increasing_stride);
  const int C = int(plan.chunks.size());
  std::vector<int> start(C + 1, 0);
  for (int c = 0; c < C; ++c) start[c + 1] = start[c] + plan.chunks[c].nlayers;
  std::vector<const T*> input(C, x);
  for (int c = 1; c < C; ++c) {
    T* dst = workspace + (c - 1) * frame_elems(pb);
    st = forward_layers<T>(ex, seq, start[c - 1], start[c], pb, tw, input[c - 1], dst, opt);
    if (ex.failed(st)) return st;
    input[c] = dst;
  }
  for (int c = C - 1; c >= 0; --c) {
    const T* gin = c == C - 1 ? grad : dx;
    const ChunkDesc& chunk = plan.chunks[c];
    if constexpr (KernelConfig<T>::kBwdMaxF >= 4) {
      if (plan.F == 4) st = backward_chunk<T, 4>(ex, chunk, plan.threads, pb, tw, input[c], gin, dx, dtw);
    }
    if constexpr (KernelConfig<T>::kBwdMaxF >= 2) {
      if (plan.F == 2) st = backward_chunk<T, 2>(ex, chunk, plan.threads, pb, tw, input[c], gin, dx, dtw);
    }
    if (plan.F == 1) st = backward_chunk<T, 1>(ex, chunk, plan.threads, pb, tw, input[c], gin, dx, dtw);
    if (ex.failed(st)) return st;
  }
  return ex.ok();
}

}  // namespace kfront_cuda
