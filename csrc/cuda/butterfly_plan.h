// Host-side planning of the CUDA butterfly kernels: which layers run in which launch, how the threads of a
// block map onto the data, and how much shared memory that takes. Plain C++17, no CUDA or torch headers:
// the same code plans the real launches and the host emulation that tests the kernels without a GPU.
//
// Vocabulary (n = 2^log_n, twiddle (nstacks, nblocks, log_n, n/2, 2, 2), x (batch, nstacks, n)):
// - layer: one butterfly factor; layer l of block b has log2 stride ("bit") l when block b runs with
//   increasing strides, log_n - 1 - l otherwise. It pairs positions p and p + 2^bit.
// - window [a, a + W): a launch ("chunk") applies consecutive layers whose bits all lie in one window of
//   W bits. Those layers only mix positions that agree outside the window, so a frame splits into n / m
//   independent sub-blocks of m = 2^W elements: p = hi * 2^(a+W) + j * 2^a + lo, j in [0, m), with the
//   sub-block index o = hi * 2^a + lo. For n <= 2^Wmax there is one sub-block (a = 0, W = log_n) and all
//   nblocks * log_n layers run in one launch.
// - instance: one sub-block of one (batch, stack) frame, held in shared memory while its layers run.
// - phase: up to r consecutive layers of a chunk touching at most r distinct bits. For a phase each thread
//   holds R = 2^r elements of an instance in registers, the ones whose positions differ only in the phase's
//   r "owned" bits, so the phase's layers need no communication; between phases the elements go back to
//   shared memory and the next phase reads them with its own owned bits (one __syncthreads per phase).
//
// Launch geometry of one chunk (see make_geometry):
// - TPI = m / R threads per instance ("slot"); G = TPB / TPI slots per block of TPB threads.
// - The G slots of a block cover Go consecutive sub-blocks o (same frame, so global accesses for a fixed j
//   are contiguous when a > 0) times Gb frame groups; each thread also carries F frames (batch indices)
//   in registers, which share the thread's twiddles: a block tile is Gb * F frames x Go sub-blocks.
// - Shared memory per instance: m elements plus one padding element after every 2^PB elements (128 bytes;
//   PB = 5, 4, 3 for 4-, 8-, 16-byte elements), so the bank of position p is (p + (p >> PB)) mod 2^PB in
//   element units. Threads served together (32, 16 or 8 of them) differ in the low PB bits of their index;
//   each phase places thread bit b at position bit b, or at b + PB when the phase owns bit b, so those
//   threads hit 2^PB distinct banks (conflict-free whenever W >= 2 PB; the host emulation test checks it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kfront_cuda {

constexpr int kMaxLaunchLayers = 48;  // layers per launch; longer sequences are split into more launches
constexpr int kMaxOwnedBits = 3;      // r of the forward kernel (R = 8); the backward uses r = 2 (R = 4)
constexpr int kMaxLogN = 30;

struct LayerDesc {
  int64_t tw_offset;  // element offset of twiddle[0, block, layer, 0, 0, 0]
  int32_t bit;        // log2 stride relative to the window start a
  int32_t jbit;       // index of `bit` among the owning phase's owned bits
};

constexpr int kMaxWindow = 12;

struct PhaseDesc {
  int32_t first_layer;  // index into ChunkDesc::layers
  int32_t nlayers;      // 1 .. r
  int32_t nowned;       // min(r, W): the same for every phase of a chunk
  int32_t owned_mask;   // window-relative bits owned by a thread; the others come from its thread index
  int32_t owned[kMaxOwnedBits];  // ascending; element e of a thread sets bit owned[j] iff bit j of e is set
  int8_t tpos[kMaxWindow];       // bit k of the thread's index within its instance sets position bit tpos[k]
};

struct ChunkDesc {
  int32_t log_n, a, W;
  int32_t nlayers, nphases;
  LayerDesc layers[kMaxLaunchLayers];
  PhaseDesc phases[kMaxLaunchLayers];
};

struct Geometry {
  int32_t m, mpad, pad_shift;  // instance size, padded size in shared memory, log2(elements per 128 B)
  int32_t reff;                // elements per thread per instance: min(R, m)
  int32_t tpi, tpb;            // threads per instance, threads per block
  int32_t G, Go, Gb, F;        // slots per block = Go sub-blocks x Gb frame groups; F frames per thread
  int32_t log_go;
  int64_t nO, nB, ntiles;      // sub-block groups per frame, frame groups, tiles = nstacks * nO * nB
  int64_t batch, nstacks;
};

template <class T>
struct ForwardParams {
  ChunkDesc c;
  Geometry g;
  const T* tw;
  const T* x;   // may equal out: every block reads its instances before writing them
  T* out;
  int64_t tw_stack_stride;  // nblocks * log_n * n/2 * 4
};

template <class T>
struct BackwardParams {
  ChunkDesc c;
  Geometry g;
  const T* tw;
  const T* x;     // the chunk's input
  const T* gin;   // gradient of the chunk's output; may equal gx
  T* gx;          // gradient of the chunk's input
  T* dtw;         // twiddle gradient, accumulated with one atomic per entry per block
  int64_t tw_stack_stride;
  int64_t nsplit;  // blocks sharing one (stack, sub-block group); each loops over nB / nsplit frame groups
};

// Tuning and testing knobs; zeros pick the defaults.
struct Options {
  int max_window_log2 = 0;    // cap on W (forward default 12, backward 10)
  int64_t bw_smem_bytes = 0;  // backward shared-memory budget per block (default: the device's opt-in max)
  int fwd_threads = 0;        // minimum threads per block (default 256)
  int bwd_threads = 0;        // threads per block of the backward (default 256)
  int fwd_frames = 0;         // frames per thread of the forward: 4 or the dtype's default (2; 1 for complex128)
  int bwd_frames = 0;         // frames per thread of the backward: 1, 2 or 4 (default: chosen by the planner)
};

constexpr int kFwdRBits = 3, kBwdRBits = 2;
constexpr int kDefaultFwdWindow = 12, kDefaultBwdWindow = 10;
// Launch bounds of the kernels: a forward block has at most 2^12 / 8 = 512 threads (256 with F = 4, whose
// registers need the larger per-thread budget), a backward block 256.
constexpr int kMaxFwdWindow = kMaxWindow, kMaxBwdWindow = 10;
constexpr int kMaxFwdThreads = 512, kMaxBwdThreads = 256;
constexpr int kMaxFwdThreadsF4 = 256;
constexpr int kDefaultThreads = 256;
constexpr int64_t kFwdSmemCap = 100 * 1024;  // keeps >= 2 forward blocks per SM on Hopper

// Threads per block: a power of 2 (slots and sub-blocks are counted in powers of 2).
inline int floor_pow2(int v) {
  int p = 1;
  while (2 * p <= v) p *= 2;
  return p;
}

inline int forward_threads(const Options& opt) {
  return opt.fwd_threads > 0 ? floor_pow2(std::min(opt.fwd_threads, kMaxFwdThreads)) : kDefaultThreads;
}

inline int backward_threads(const Options& opt) {
  return opt.bwd_threads > 0 ? floor_pow2(std::min(opt.bwd_threads, kMaxBwdThreads)) : kDefaultThreads;
}

inline int log2_exact(int64_t v) {
  int r = 0;
  while ((int64_t(1) << r) < v) ++r;
  return r;
}

inline int popcount32(uint32_t v) {
  int c = 0;
  for (; v; v &= v - 1) ++c;
  return c;
}

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
inline void place_thread_bits(int W, int pad_shift, PhaseDesc* ph) {
  uint32_t taken = uint32_t(ph->owned_mask);
  const int nfree = W - ph->nowned;
  int k = 0;
  for (int b = 0; b < pad_shift && k < nfree; ++b) {
    int pos = -1;
    if (b < W && !(taken >> b & 1)) pos = b;
    else if (b + pad_shift < W && !(taken >> (b + pad_shift) & 1)) pos = b + pad_shift;
    if (pos < 0) break;
    ph->tpos[k++] = int8_t(pos);
    taken |= 1u << pos;
  }
  for (int b = 0; b < W && k < nfree; ++b) {
    if (!(taken >> b & 1)) {
      ph->tpos[k++] = int8_t(b);
      taken |= 1u << b;
    }
  }
}

// Layers [begin, end) of `seq` as one chunk with a window of W bits and phases of at most `rbits` layers and
// owned bits. Returns false when the layers do not fit one window.
inline bool build_chunk(const std::vector<SeqLayer>& seq, int begin, int end, int log_n, int W, int rbits,
                        int pad_shift, ChunkDesc* c) {
  const int count = end - begin;
  if (count < 1 || count > kMaxLaunchLayers || W < 1 || W > log_n) return false;
  int lo = log_n, hi = -1;
  for (int i = begin; i < end; ++i) {
    lo = std::min(lo, seq[i].bit);
    hi = std::max(hi, seq[i].bit);
  }
  if (hi - lo >= W) return false;
  *c = ChunkDesc{};
  c->log_n = log_n;
  c->W = W;
  c->a = std::min(lo, log_n - W);
  c->nlayers = count;
  for (int i = 0; i < count; ++i) {
    c->layers[i].bit = seq[begin + i].bit - c->a;
    c->layers[i].tw_offset = seq[begin + i].tw_offset;
  }
  const int reff = std::min(rbits, W);
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
      for (int b = 0; b < W; ++b) if (mask >> b & 1) used_hi = b;
      int pick = -1;
      for (int d = 1; d < W && pick < 0; ++d) {
        if (used_hi + d < W && !(mask >> (used_hi + d) & 1)) pick = used_hi + d;
        else if (used_lo - d >= 0 && !(mask >> (used_lo - d) & 1)) pick = used_lo - d;
      }
      for (int b = 0; b < W && pick < 0; ++b) if (!(mask >> b & 1)) pick = b;
      mask |= 1u << pick;
    }
    PhaseDesc& ph = c->phases[c->nphases++];
    ph.first_layer = start;
    ph.nlayers = i - start;
    ph.nowned = reff;
    ph.owned_mask = int32_t(mask);
    int j = 0;
    for (int b = 0; b < W; ++b) if (mask >> b & 1) ph.owned[j++] = b;
    for (int l = start; l < i; ++l) {
      for (int jj = 0; jj < reff; ++jj) if (ph.owned[jj] == c->layers[l].bit) c->layers[l].jbit = jj;
    }
    place_thread_bits(W, pad_shift, &ph);
  }
  return true;
}

inline Geometry make_geometry(int log_n, int W, int rbits, int F, int min_threads, int elem_bytes,
                              int64_t batch, int64_t nstacks) {
  Geometry g{};
  g.m = 1 << W;
  g.pad_shift = pad_shift_for(elem_bytes);
  g.mpad = g.m + (g.m >> g.pad_shift);
  g.reff = 1 << std::min(rbits, W);
  g.tpi = g.m / g.reff;
  g.tpb = std::max(min_threads, g.tpi);
  g.G = g.tpb / g.tpi;
  const int64_t nsub = int64_t(1) << (log_n - W);
  g.Go = int32_t(std::min<int64_t>(g.G, nsub));
  g.Gb = g.G / g.Go;
  g.log_go = log2_exact(g.Go);
  g.F = F;
  g.nO = nsub / g.Go;
  g.nB = (batch + int64_t(g.Gb) * F - 1) / (int64_t(g.Gb) * F);
  g.ntiles = nstacks * g.nO * g.nB;
  g.batch = batch;
  g.nstacks = nstacks;
  return g;
}

inline int64_t forward_smem_bytes(const Geometry& g, int elem_bytes) {
  return int64_t(g.G) * g.F * g.mpad * elem_bytes;
}

// Backward: nphases checkpoints (each phase's input) plus the gradient buffer, for G * F instances, and the
// twiddle-gradient accumulators: 4 entries per pair per layer per slot.
inline int64_t backward_smem_bytes(const Geometry& g, const ChunkDesc& c, int elem_bytes) {
  return (int64_t(c.nphases + 1) * g.G * g.F * g.mpad + int64_t(4) * c.nlayers * g.G * (g.m / 2)) * elem_bytes;
}

// Greedy split of seq[begin, end) into chunks of window W: each chunk takes layers while their bits fit the
// window, the launch's layer cap allows, and `fits` accepts the chunk. Returns an empty vector when a
// single layer does not fit.
template <class Fits>
std::vector<ChunkDesc> plan_chunks(const std::vector<SeqLayer>& seq, int begin, int end, int log_n, int W,
                                   int rbits, int pad_shift, Fits fits) {
  std::vector<ChunkDesc> chunks;
  ChunkDesc c, trial;
  int start = begin;
  while (start < end) {
    if (!build_chunk(seq, start, start + 1, log_n, W, rbits, pad_shift, &c) || !fits(c)) return {};
    int stop = start + 1;
    while (stop < end && build_chunk(seq, start, stop + 1, log_n, W, rbits, pad_shift, &trial) && fits(trial)) {
      c = trial;
      ++stop;
    }
    chunks.push_back(c);
    start = stop;
  }
  return chunks;
}

// Forward window: the largest W <= the cap whose instance buffers fit the forward shared-memory cap.
inline int forward_window(int log_n, const Options& opt, int F, int elem_bytes, int64_t smem_optin) {
  int W = std::min(log_n, opt.max_window_log2 > 0 ? std::min(opt.max_window_log2, kMaxFwdWindow)
                                                   : kDefaultFwdWindow);
  if (F >= 4) W = std::min(W, log2_exact(int64_t(kMaxFwdThreadsF4) << kFwdRBits));  // 2^W / 8 threads at most
  const int threads = std::min(forward_threads(opt), F >= 4 ? kMaxFwdThreadsF4 : kMaxFwdThreads);
  const int64_t cap = std::min(smem_optin, kFwdSmemCap);
  while (W > 1 && forward_smem_bytes(make_geometry(log_n, W, kFwdRBits, F, threads, elem_bytes, 1, 1),
                                     elem_bytes) > cap) {
    --W;
  }
  return W;
}

struct BackwardPlan {
  std::vector<ChunkDesc> chunks;
  int F = 1, W = 1, threads = kDefaultThreads;
};

// Backward chunks for frames-per-thread F: the largest chunks whose shared memory fits the budget.
inline std::vector<ChunkDesc> backward_chunks(const std::vector<SeqLayer>& seq, int log_n, int W, int F,
                                              int threads, int elem_bytes, int64_t budget) {
  const Geometry g = make_geometry(log_n, W, kBwdRBits, F, threads, elem_bytes, 1, 1);
  return plan_chunks(seq, 0, int(seq.size()), log_n, W, kBwdRBits, g.pad_shift, [&](const ChunkDesc& c) {
    return backward_smem_bytes(g, c, elem_bytes) <= budget;
  });
}

// Fewest backward launches first (each extra chunk costs a pass over the data to store its input), then
// more frames per thread (fewer shared-memory updates of the twiddle gradient per frame), up to 2 unless
// Options::bwd_frames asks for a particular F (4 is only ever used on request). A block's shared
// memory scales with threads * R, not with the window, so where even one layer does not fit the budget
// (small devices, complex128) the block shrinks.
inline BackwardPlan plan_backward(int log_n, int nblocks, bool increasing_stride, const Options& opt,
                                  int max_F, int elem_bytes, int64_t smem_optin) {
  BackwardPlan best;
  const auto seq = layer_sequence(log_n, nblocks, increasing_stride);
  const int64_t budget = opt.bw_smem_bytes > 0 ? std::min(opt.bw_smem_bytes, smem_optin) : smem_optin;
  const int W_max = std::min(log_n, opt.max_window_log2 > 0 ? std::min(opt.max_window_log2, kMaxBwdWindow)
                                                            : kDefaultBwdWindow);
  const int max_threads = backward_threads(opt);
  const int F_hi = opt.bwd_frames > 0 ? std::min(floor_pow2(opt.bwd_frames), max_F) : std::min(max_F, 2);
  const int F_lo = opt.bwd_frames > 0 ? F_hi : 1;
  for (int threads = max_threads; threads >= std::min(32, max_threads); threads /= 2) {
    BackwardPlan level;
    for (int W = W_max; W >= 1 && level.chunks.empty(); --W) {  // a smaller window only if nothing fits
      for (int F = F_hi; F >= F_lo; F /= 2) {
        auto chunks = backward_chunks(seq, log_n, W, F, threads, elem_bytes, budget);
        if (!chunks.empty() && (level.chunks.empty() || chunks.size() < level.chunks.size())) {
          level.chunks = std::move(chunks);
          level.F = F;
          level.W = W;
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

}  // namespace kfront_cuda
