// The launch sequence of the butterfly forward and backward, written once over an executor `Exec` that
// either launches the CUDA kernels (butterfly_kernels.cu) or runs them in the host emulation. Exec gives:
//   Status, ok(), invalid(), misaligned(), failed(Status)
//   sm_count(), smem_limit(), max_grid()   device limits; smem_limit: dynamic shared memory a block may use
//                                          (the opt-in maximum less the kernels' static shared memory)
//   zero(ptr, bytes), copy(dst, src, bytes)          on the stream
//   forward<T, R, F>(grid, threads, smem_bytes, params), backward<T, R, F>(...)
//   backward_blocks_per_sm<T, R, F>(threads, smem_bytes)
// README.md beside this file describes the plans this sequence runs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "butterfly_backward.cuh"
#include "butterfly_forward.cuh"
#include "butterfly_plan.h"

namespace kfront {
namespace cuda {

inline bool valid_problem(const Problem& pb) {
  return pb.batch >= 0 && pb.nstacks >= 0 && pb.log_n >= 1 && pb.log_n <= kMaxLogN && pb.nblocks >= 0;
}

inline bool aligned(const void* p, int bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

// A map's pointers aligned to their elements and its rows within the frame. A map needs at least one block: with
// none, no launch would read it (the binding applies the identity itself).
template <class T>
bool valid_map(const InputMap& in, const Problem& pb) {
  const int elem = in.real ? int(sizeof(typename RealOf<T>::type)) : int(alignof(T));
  const bool real_ok = !in.real || !std::is_same<T, typename RealOf<T>::type>::value;
  return pb.nblocks >= 1 && in.length >= 1 && in.length <= pb.n() && real_ok && aligned(in.x, elem) &&
         aligned(in.dx, elem) && aligned(in.perm, int(alignof(int64_t)));
}

template <class T>
BackwardPlan backward_plan(const Problem& pb, const Options& opt, int64_t smem_limit) {
  return plan_backward(pb.log_n, pb.nblocks, pb.increasing_stride, opt, KernelConfig<T>::kBwdMaxF, sizeof(T),
                       smem_limit);
}

// Elements of scratch the backward needs: the inputs of chunks 1 .. C-1 and, without d_x over several chunks,
// the gradient between chunks.
template <class T>
int64_t backward_workspace_elems(const BackwardPlan& plan, const Problem& pb, bool input_grad) {
  if (plan.chunks.size() <= 1) return 0;
  return int64_t(plan.chunks.size() - 1 + (input_grad ? 0 : 1)) * pb.frame_elements();
}

template <class T>
int forward_frames(const Options& opt) {
  return opt.fwd_frames >= 4 && KernelConfig<T>::kFwdMaxF >= 4 ? 4 : KernelConfig<T>::kFwdF;
}

// Applies layers seq[begin, end) to src, writing dst (src may equal dst), F frames per thread. With a map, the
// first launch reads its input through it (src unused).
template <class T, int F, class Exec>
typename Exec::Status forward_layers_f(Exec& ex, const std::vector<SeqLayer>& seq, int begin, int end,
                                       const Problem& pb, const T* tw, const T* src, T* dst, const Options& opt,
                                       const InputMap* map) {
  const int log_m = forward_log_m(pb.log_n, opt, F, int(sizeof(T)), ex.smem_limit());
  const auto chunks = plan_chunks(seq, begin, end, pb.log_n, log_m, kFwdRBits, pad_shift_for(int(sizeof(T))),
                                  [](const ChunkDesc&) { return true; });
  if (chunks.empty()) return ex.invalid();
  const int threads = std::min(forward_threads(opt), forward_max_threads(F));
  const T* in = src;
  for (const ChunkDesc& c : chunks) {
    ForwardParams<T> p{};
    p.c = c;
    p.lay = make_tile_layout(pb.log_n, c.log_m, kFwdRBits, F, threads, int(sizeof(T)), pb.batch, pb.nstacks);
    p.tw = tw;
    p.x = in;
    p.out = dst;
    p.tw_stack_stride = pb.stack_twiddles();
    if (map != nullptr) p.in = *map;  // the vector path only moves the output then
    p.vector_io = use_vector_io(c, int(sizeof(T)),
                                (map != nullptr || aligned(in, kVectorBytes)) && aligned(dst, kVectorBytes));
    const auto st = ex.template forward<T, kFwdR, F>(launch_grid(p.lay.ntiles, ex.max_grid()), p.lay.tpb,
                                                     forward_smem_bytes(p.lay, int(sizeof(T))), p);
    if (ex.failed(st)) return st;
    in = dst;
    map = nullptr;
  }
  return ex.ok();
}

template <class T, class Exec>
typename Exec::Status forward_layers(Exec& ex, const std::vector<SeqLayer>& seq, int begin, int end,
                                     const Problem& pb, const T* tw, const T* src, T* dst, const Options& opt,
                                     const InputMap* map = nullptr) {
  if constexpr (KernelConfig<T>::kFwdMaxF >= 4) {
    if (forward_frames<T>(opt) == 4) return forward_layers_f<T, 4>(ex, seq, begin, end, pb, tw, src, dst, opt, map);
  }
  return forward_layers_f<T, KernelConfig<T>::kFwdF>(ex, seq, begin, end, pb, tw, src, dst, opt, map);
}

// out = butterfly(twiddle) x; out may equal x. Frames must be aligned to their element, the twiddle to 16 bytes.
// With map.x set, x is read through the map instead (x unused; see InputMap).
template <class T, class Exec>
typename Exec::Status forward(Exec& ex, const Problem& pb, const T* tw, const T* x, T* out, const Options& opt,
                              const InputMap& map = InputMap{}) {
  const bool mapped = map.x != nullptr;
  if (!valid_problem(pb) || (mapped && (map.dx != nullptr || !valid_map<T>(map, pb)))) return ex.invalid();
  if (!aligned(tw, 16) || !aligned(x, alignof(T)) || !aligned(out, alignof(T))) return ex.misaligned();
  if (pb.frame_elements() == 0) return ex.ok();
  if (pb.nblocks == 0) return x == out ? ex.ok() : ex.copy(out, x, pb.frame_elements() * int64_t(sizeof(T)));
  const auto seq = layer_sequence(pb.log_n, pb.nblocks, pb.increasing_stride);
  return forward_layers<T>(ex, seq, 0, int(seq.size()), pb, tw, x, out, opt, mapped ? &map : nullptr);
}

template <class T, int F, class Exec>
typename Exec::Status backward_chunk(Exec& ex, const ChunkDesc& c, int threads, const Problem& pb, const T* tw,
                                     const T* x, const T* gin, T* gx, T* dtw, const InputMap* map) {
  BackwardParams<T> p{};
  p.c = c;
  p.lay = make_tile_layout(pb.log_n, c.log_m, kBwdRBits, F, threads, int(sizeof(T)), pb.batch, pb.nstacks);
  p.tw = tw;
  p.x = x;
  p.gin = gin;
  p.gx = gx;
  p.dtw = dtw;
  p.tw_stack_stride = pb.stack_twiddles();
  if (map != nullptr) p.in = *map;  // x and gx are nullptr then: the vector path only moves gin
  p.vector_io = use_vector_io(c, int(sizeof(T)), aligned(x, kVectorBytes) && aligned(gin, kVectorBytes) &&
                                                     aligned(gx, kVectorBytes));
  const int64_t smem = backward_smem_bytes(p.lay, c, int(sizeof(T)));
  const int per_sm = ex.template backward_blocks_per_sm<T, kBwdR, F>(p.lay.tpb, smem);
  p.nsplit = backward_split(p.lay, ex.sm_count(), per_sm);
  p.nitems = pb.nstacks * p.lay.nO * p.nsplit;
  return ex.template backward<T, kBwdR, F>(launch_grid(p.nitems, ex.max_grid()), p.lay.tpb, smem, p);
}

// d_x (when not nullptr) and d_twiddle (fully overwritten; zeroed on the stream first) from grad = dL/d out.
// grad may not alias d_x; workspace holds backward_workspace_elems elements. Alignment as for forward. With
// map.x set, x is read and the input's gradient written (to map.dx, when not nullptr) through the map; x and dx
// are unused then and must be nullptr, and the workspace is sized as for no d_x (the gradient between chunks
// cannot pass through map.dx).
template <class T, class Exec>
typename Exec::Status backward(Exec& ex, const Problem& pb, const T* grad, const T* tw, const T* x, T* dtw, T* dx,
                               T* workspace, int64_t workspace_elems, const Options& opt,
                               const InputMap& map = InputMap{}) {
  const bool mapped = map.x != nullptr;
  if (!valid_problem(pb) || (mapped && (x != nullptr || dx != nullptr || !valid_map<T>(map, pb)))) {
    return ex.invalid();
  }
  if (!aligned(tw, 16) || !aligned(x, alignof(T)) || !aligned(grad, alignof(T)) || !aligned(dx, alignof(T)) ||
      !aligned(workspace, alignof(T)))
    return ex.misaligned();
  const int64_t frame_bytes = pb.frame_elements() * int64_t(sizeof(T));
  if (pb.nblocks == 0) return dx == nullptr || frame_bytes == 0 ? ex.ok() : ex.copy(dx, grad, frame_bytes);
  const BackwardPlan plan = backward_plan<T>(pb, opt, ex.smem_limit());
  if (plan.chunks.empty() || workspace_elems < backward_workspace_elems<T>(plan, pb, dx != nullptr))
    return ex.invalid();
  auto st = ex.zero(dtw, pb.nstacks * pb.stack_twiddles() * int64_t(sizeof(T)));
  if (ex.failed(st) || frame_bytes == 0) return st;

  const auto seq = layer_sequence(pb.log_n, pb.nblocks, pb.increasing_stride);
  const int C = int(plan.chunks.size());
  std::vector<int> start(C + 1, 0);
  for (int c = 0; c < C; ++c) start[c + 1] = start[c] + plan.chunks[c].nlayers;
  std::vector<const T*> input(C, x);
  for (int c = 1; c < C; ++c) {
    T* dst = workspace + (c - 1) * pb.frame_elements();
    st = forward_layers<T>(ex, seq, start[c - 1], start[c], pb, tw, input[c - 1], dst, opt,
                           c == 1 && mapped ? &map : nullptr);
    if (ex.failed(st)) return st;
    input[c] = dst;
  }
  // The gradient flows from chunk to chunk through d_x, or without it through the workspace's last frame set.
  T* between = dx != nullptr ? dx : workspace + (C - 1) * pb.frame_elements();
  for (int c = C - 1; c >= 0; --c) {
    const T* gin = c == C - 1 ? grad : between;
    T* gx = c == 0 ? dx : between;
    const ChunkDesc& chunk = plan.chunks[c];
    const InputMap* m = c == 0 && mapped ? &map : nullptr;
    if constexpr (KernelConfig<T>::kBwdMaxF >= 4) {
      if (plan.F == 4) st = backward_chunk<T, 4>(ex, chunk, plan.threads, pb, tw, input[c], gin, gx, dtw, m);
    }
    if constexpr (KernelConfig<T>::kBwdMaxF >= 2) {
      if (plan.F == 2) st = backward_chunk<T, 2>(ex, chunk, plan.threads, pb, tw, input[c], gin, gx, dtw, m);
    }
    if (plan.F == 1) st = backward_chunk<T, 1>(ex, chunk, plan.threads, pb, tw, input[c], gin, gx, dtw, m);
    if (ex.failed(st)) return st;
  }
  return ex.ok();
}

}  // namespace cuda
}  // namespace kfront
