// Host-side planning of the CUDA butterfly kernels: which layers run in which launch (chunks), how a block's
// threads map onto the data (TileLayout), how much shared memory that takes and how many blocks to launch.
// Plain C++17, no CUDA or torch headers: the same code plans the real launches and the host emulation that
// tests the kernels without a GPU. README.md beside this file explains the vocabulary (window, instance,
// phase, slot) and the shared-memory layout.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "butterfly_types.h"

namespace kfront {
namespace cuda {

// The largest power of 2 <= v (v >= 1).
inline int floor_pow2(int v) {
  int p = 1;
  while (2 * p <= v) p *= 2;
  return p;
}

// The smallest r with 2^r >= v (v >= 1).
inline int ceil_log2(int64_t v) {
  int r = 0;
  while ((int64_t(1) << r) < v) ++r;
  return r;
}

inline int popcount32(uint32_t v) {
  int c = 0;
  for (; v; v &= v - 1) ++c;
  return c;
}

// Threads per block: a power of 2 (slots and sub-blocks are counted in powers of 2).
inline int forward_threads(const Options& opt) {
  return opt.fwd_threads > 0 ? floor_pow2(std::min(opt.fwd_threads, kFwdMaxThreads)) : kDefaultThreads;
}

inline int backward_threads(const Options& opt) {
  return opt.bwd_threads > 0 ? floor_pow2(std::min(opt.bwd_threads, kWideMaxThreads)) : kDefaultThreads;
}

// The forward's thread cap for F frames per thread (its launch bound).
constexpr int forward_max_threads(int F) { return F >= 4 ? kWideMaxThreads : kFwdMaxThreads; }

// log2 of the number of elements of `elem_bytes` in 128 bytes: one padding element is inserted after every
// that many elements in shared memory.
inline int pad_shift_for(int elem_bytes) { return elem_bytes >= 16 ? 3 : elem_bytes >= 8 ? 4 : 5; }

struct SeqLayer {
  int bit;
  int64_t tw_offset;
};

// All nblocks * log_n layers in the order they are applied.
inline std::vector<SeqLayer> layer_sequence(int log_n, int nblocks, bool increasing_stride) {
  std::vector<SeqLayer> seq;
  const int64_t half = int64_t(1) << (log_n - 1);
  for (int b = 0; b < nblocks; ++b) {
    const bool inc = increasing_stride != bool(b & 1);
    for (int l = 0; l < log_n; ++l) {
      seq.push_back({inc ? l : log_n - 1 - l, (int64_t(b) * log_n + l) * half * 4});
    }
  }
  return seq;
}

// Thread-index bits of a phase: bit b < PB goes to position b if free, else to b + PB (both map to bank bit
// b under the padding); the remaining bits fill the remaining free positions in ascending order.
inline void place_thread_bits(int log_m, int pad_shift, PhaseDesc* ph) {
  uint32_t taken = uint32_t(ph->owned_mask);
  const int nfree = log_m - ph->nowned;
  int k = 0;
  for (int b = 0; b < pad_shift && k < nfree; ++b) {
    int pos = -1;
    if (b < log_m && !(taken >> b & 1)) pos = b;
    else if (b + pad_shift < log_m && !(taken >> (b + pad_shift) & 1)) pos = b + pad_shift;
    if (pos < 0) break;
    ph->tpos[k++] = int8_t(pos);
    taken |= 1u << pos;
  }
  for (int b = 0; b < log_m && k < nfree; ++b) {
    if (!(taken >> b & 1)) {
      ph->tpos[k++] = int8_t(b);
      taken |= 1u << b;
    }
  }
}

// Layers [begin, end) of `seq` as one chunk with a window of log_m bits and phases of at most `rbits` layers
// and owned bits. Returns false when the layers do not fit one window.
inline bool build_chunk(const std::vector<SeqLayer>& seq, int begin, int end, int log_n, int log_m, int rbits,
                        int pad_shift, ChunkDesc* c) {
  const int count = end - begin;
  if (count < 1 || count > kMaxLaunchLayers || log_m < 1 || log_m > log_n) return false;
  int lo = log_n, hi = -1;
  for (int i = begin; i < end; ++i) {
    lo = std::min(lo, seq[i].bit);
    hi = std::max(hi, seq[i].bit);
  }
  if (hi - lo >= log_m) return false;
  *c = ChunkDesc{};
  c->log_n = log_n;
  c->log_m = log_m;
  c->a = std::min(lo, log_n - log_m);
  c->nlayers = count;
  for (int i = 0; i < count; ++i) {
    c->layers[i].bit = seq[begin + i].bit - c->a;
    c->layers[i].tw_offset = seq[begin + i].tw_offset;
  }
  const int reff = std::min(rbits, log_m);
  int i = 0;
  c->nphases = 0;
  while (i < count) {
    const int start = i;
    uint32_t mask = 0;
    while (i < count && i - start < rbits) {
      const uint32_t next = mask | (1u << c->layers[i].bit);
      if (popcount32(next) > reff) break;
      mask = next;
      ++i;
    }
    // Fill the owned bits up to reff with the unused bits nearest to the used ones, so the owned set stays
    // contiguous (that is what keeps the padded shared-memory accesses free of wide bank conflicts).
    while (popcount32(mask) < reff) {
      int used_lo = 0, used_hi = 0;
      while (!(mask >> used_lo & 1)) ++used_lo;
      for (int b = 0; b < log_m; ++b) if (mask >> b & 1) used_hi = b;
      int pick = -1;
      for (int d = 1; d < log_m && pick < 0; ++d) {
        if (used_hi + d < log_m && !(mask >> (used_hi + d) & 1)) pick = used_hi + d;
        else if (used_lo - d >= 0 && !(mask >> (used_lo - d) & 1)) pick = used_lo - d;
      }
      for (int b = 0; b < log_m && pick < 0; ++b) if (!(mask >> b & 1)) pick = b;
      mask |= 1u << pick;
    }
    PhaseDesc& ph = c->phases[c->nphases++];
    ph.first_layer = start;
    ph.nlayers = i - start;
    ph.nowned = reff;
    ph.owned_mask = int32_t(mask);
    int j = 0;
    for (int b = 0; b < log_m; ++b) if (mask >> b & 1) ph.owned[j++] = b;
    for (int l = start; l < i; ++l) {
      for (int jj = 0; jj < reff; ++jj) if (ph.owned[jj] == c->layers[l].bit) c->layers[l].jbit = jj;
    }
    place_thread_bits(log_m, pad_shift, &ph);
  }
  return true;
}

// The block layout of a chunk with a window of log_m bits: threads per instance, slots, sub-block groups,
// frame groups and tiles.
inline TileLayout make_tile_layout(int log_n, int log_m, int rbits, int F, int min_threads, int elem_bytes,
                                   int64_t batch, int64_t nstacks) {
  TileLayout lay{};
  lay.m = 1 << log_m;
  lay.pad_shift = pad_shift_for(elem_bytes);
  lay.mpad = lay.m + (lay.m >> lay.pad_shift);
  lay.reff = 1 << std::min(rbits, log_m);
  lay.tpi = lay.m / lay.reff;
  lay.tpb = std::max(min_threads, lay.tpi);
  lay.G = lay.tpb / lay.tpi;
  const int64_t nsub = int64_t(1) << (log_n - log_m);
  lay.Go = int32_t(std::min<int64_t>(lay.G, nsub));
  lay.Gb = lay.G / lay.Go;
  lay.log_go = ceil_log2(lay.Go);
  lay.F = F;
  lay.nO = nsub / lay.Go;
  lay.nB = (batch + int64_t(lay.Gb) * F - 1) / (int64_t(lay.Gb) * F);
  lay.ntiles = nstacks * lay.nO * lay.nB;
  lay.batch = batch;
  lay.nstacks = nstacks;
  return lay;
}

inline int64_t forward_smem_bytes(const TileLayout& lay, int elem_bytes) {
  return int64_t(lay.G) * lay.F * lay.mpad * elem_bytes;
}

// Backward: nphases checkpoints (each phase's input) plus the gradient buffer, for G * F instances, and the
// twiddle-gradient accumulators: 4 entries per pair per layer per slot.
inline int64_t backward_smem_bytes(const TileLayout& lay, const ChunkDesc& c, int elem_bytes) {
  return (int64_t(c.nphases + 1) * lay.G * lay.F * lay.mpad + int64_t(4) * c.nlayers * lay.G * (lay.m / 2)) *
         elem_bytes;
}

// Greedy split of seq[begin, end) into chunks of window log_m: each chunk takes layers while their bits fit
// the window, the launch's layer cap allows, and `fits` accepts the chunk. Returns an empty vector when a
// single layer does not fit.
template <class Fits>
std::vector<ChunkDesc> plan_chunks(const std::vector<SeqLayer>& seq, int begin, int end, int log_n, int log_m,
                                   int rbits, int pad_shift, Fits fits) {
  std::vector<ChunkDesc> chunks;
  ChunkDesc c, trial;
  int start = begin;
  while (start < end) {
    if (!build_chunk(seq, start, start + 1, log_n, log_m, rbits, pad_shift, &c) || !fits(c)) return {};
    int stop = start + 1;
    while (stop < end && build_chunk(seq, start, stop + 1, log_n, log_m, rbits, pad_shift, &trial) &&
           fits(trial)) {
      c = trial;
      ++stop;
    }
    chunks.push_back(c);
    start = stop;
  }
  return chunks;
}

// Forward window: the largest log_m <= the cap whose instance buffers fit the forward's shared memory, the
// smaller of kFwdSmemCap and what the device allows a block (smem_limit).
inline int forward_log_m(int log_n, const Options& opt, int F, int elem_bytes, int64_t smem_limit) {
  int log_m = std::min(log_n, opt.max_window_log2 > 0 ? std::min(opt.max_window_log2, kFwdMaxLogM) : kFwdMaxLogM);
  const int threads = std::min(forward_threads(opt), forward_max_threads(F));
  log_m = std::min(log_m, ceil_log2(int64_t(forward_max_threads(F)) << kFwdRBits));  // 2^log_m / R threads at most
  const int64_t cap = std::min(smem_limit, kFwdSmemCap);
  while (log_m > 1 && forward_smem_bytes(make_tile_layout(log_n, log_m, kFwdRBits, F, threads, elem_bytes, 1, 1),
                                         elem_bytes) > cap) {
    --log_m;
  }
  return log_m;
}

struct BackwardPlan {
  std::vector<ChunkDesc> chunks;
  int F = 1, log_m = 1, threads = kDefaultThreads;
};

// Backward chunks for frames-per-thread F: the largest chunks whose shared memory fits the budget.
inline std::vector<ChunkDesc> backward_chunks(const std::vector<SeqLayer>& seq, int log_n, int log_m, int F,
                                              int threads, int elem_bytes, int64_t budget) {
  const TileLayout lay = make_tile_layout(log_n, log_m, kBwdRBits, F, threads, elem_bytes, 1, 1);
  return plan_chunks(seq, 0, int(seq.size()), log_n, log_m, kBwdRBits, lay.pad_shift, [&](const ChunkDesc& c) {
    return backward_smem_bytes(lay, c, elem_bytes) <= budget;
  });
}

// Fewest backward launches first (each extra chunk costs a pass over the data to store its input), then
// more frames per thread (fewer shared-memory updates of the twiddle gradient per frame), up to 2 unless
// Options::bwd_frames asks for a particular F (4 is only ever used on request). A block's shared memory
// scales with threads * R, not with the window, so where even one layer does not fit the budget (small
// devices, complex128) the block shrinks. smem_limit: the dynamic shared memory the device allows a block.
inline BackwardPlan plan_backward(int log_n, int nblocks, bool increasing_stride, const Options& opt, int max_F,
                                  int elem_bytes, int64_t smem_limit) {
  BackwardPlan best;
  const auto seq = layer_sequence(log_n, nblocks, increasing_stride);
  const int64_t budget = opt.bw_smem_bytes > 0 ? std::min(opt.bw_smem_bytes, smem_limit) : smem_limit;
  const int log_m_max = std::min(log_n, opt.max_window_log2 > 0 ? std::min(opt.max_window_log2, kBwdMaxLogM)
                                                                : kBwdMaxLogM);
  const int max_threads = backward_threads(opt);
  const int F_hi = opt.bwd_frames > 0 ? std::min(floor_pow2(opt.bwd_frames), max_F) : std::min(max_F, 2);
  const int F_lo = opt.bwd_frames > 0 ? F_hi : 1;
  for (int threads = max_threads; threads >= std::min(32, max_threads); threads /= 2) {
    BackwardPlan level;
    for (int log_m = log_m_max; log_m >= 1 && level.chunks.empty(); --log_m) {  // smaller only if nothing fits
      for (int F = F_hi; F >= F_lo; F /= 2) {
        auto chunks = backward_chunks(seq, log_n, log_m, F, threads, elem_bytes, budget);
        if (!chunks.empty() && (level.chunks.empty() || chunks.size() < level.chunks.size())) {
          level.chunks = std::move(chunks);
          level.F = F;
          level.log_m = log_m;
          level.threads = threads;
        }
      }
    }
    if (!level.chunks.empty() && (best.chunks.empty() || level.chunks.size() < best.chunks.size())) {
      best = std::move(level);
    }
    // Blocks of 128 threads may trade occupancy for fewer chunks; smaller ones only when nothing else fits.
    if (!best.chunks.empty() && (threads <= 128 || best.chunks.size() == 1)) break;
  }
  return best;
}

// Blocks of a launch: one per work item, at most max_grid (the device's limit, 2^31 - 1; the kernels loop over
// the items their block is given), at least one.
inline int64_t launch_grid(int64_t items, int64_t max_grid) {
  return std::max<int64_t>(1, std::min(items, max_grid));
}

// Work items sharing one (stack, sub-block group) of a backward chunk: enough items to fill the device once
// (sm_count * blocks_per_sm), so that each loops over its share of the frame groups and the twiddle gradient
// costs one global atomic per entry per item.
inline int64_t backward_split(const TileLayout& lay, int64_t sm_count, int64_t blocks_per_sm) {
  const int64_t groups = lay.nstacks * lay.nO;
  const int64_t target = sm_count * std::max<int64_t>(1, blocks_per_sm);
  return std::min(lay.nB, std::max<int64_t>(1, (target + groups - 1) / std::max<int64_t>(1, groups)));
}

// Whether a chunk's frames move between global and shared memory in 16-byte vectors: the window starts at
// bit 0 (a sub-block is contiguous), an instance holds at least one vector, and every frame pointer is aligned.
inline bool use_vector_io(const ChunkDesc& c, int elem_bytes, bool pointers_aligned) {
  return pointers_aligned && c.a == 0 && (int64_t(1) << c.log_m) * elem_bytes >= kVectorBytes &&
         elem_bytes <= kVectorBytes;
}

}  // namespace cuda
}  // namespace kfront
