// Types and constants shared by the CUDA butterfly kernels, their planning and launch code and the host
// emulation: plain C++17, no CUDA or torch headers. The vocabulary is explained in README.md beside this file.
#pragma once

#include <cstdint>

#include "../butterfly_problem.h"

namespace kfront {
namespace cuda {

// Interleaved (re, im), the memory layout of torch.complex64 / complex128. Arithmetic: butterfly_device.cuh.
template <class R>
struct alignas(2 * sizeof(R)) Complex {
  R re, im;
};

// ---- constants ----------------------------------------------------------------------------------------------
// A phase gives each thread R = 2^r elements of an instance, those differing in r "owned" position bits, and
// applies up to r layers to them in registers: r = 3 in the forward, 2 in the backward (which also keeps every
// layer's input of the phase in registers).
constexpr int kFwdRBits = 3, kBwdRBits = 2;
constexpr int kFwdR = 1 << kFwdRBits, kBwdR = 1 << kBwdRBits;
// Largest instance (sub-block held in shared memory) as log2 of its positions, and the default: 4096
// positions forward (all of n <= 4096 in one launch), 1024 backward (its accumulators take more room).
constexpr int kFwdMaxLogM = 12, kBwdMaxLogM = 10;
constexpr int kMaxLaunchLayers = 48;  // layers per launch; longer sequences are split into more launches
// Threads per block: the default, the forward's maximum (one instance of 2^12 positions, 8 per thread), and
// the launch bound of the kernels that need more than 128 registers per thread (the backward, and the forward
// with 4 frames per thread): 65536 registers / 256 threads leaves each its maximum of 255.
constexpr int kDefaultThreads = 256;
constexpr int kFwdMaxThreads = (1 << kFwdMaxLogM) >> kFwdRBits;
constexpr int kWideMaxThreads = 256;
// Dynamic shared memory a block gets without opting in, and the forward's cap, which keeps two forward blocks
// (plus the 1 KB per block the hardware reserves) on one Hopper SM.
constexpr int64_t kSmemWithoutOptIn = 48 * 1024;
constexpr int64_t kFwdSmemCap = 100 * 1024;
// Bytes of one vector access between global memory and registers (float4).
constexpr int kVectorBytes = 16;

static_assert(kBwdRBits <= kFwdRBits && kBwdMaxLogM <= kFwdMaxLogM, "the descriptors are sized by the forward");

// ---- descriptors of one launch ("chunk": consecutive layers whose bits fit one window) -----------------------
struct LayerDesc {
  int64_t tw_offset;  // element offset of twiddle[0, block, layer, 0, 0, 0]
  int32_t bit;        // log2 stride relative to the window start a
  int32_t jbit;       // index of `bit` among the owning phase's owned bits
};

struct PhaseDesc {
  int32_t first_layer;  // index into ChunkDesc::layers
  int32_t nlayers;      // 1 .. r
  int32_t nowned;       // min(r, log_m): the same for every phase of a chunk
  int32_t owned_mask;   // window-relative bits owned by a thread; the others come from its thread index
  int32_t owned[kFwdRBits];   // ascending; element e of a thread sets bit owned[j] iff bit j of e is set
  int8_t tpos[kFwdMaxLogM];   // bit k of the thread's index within its instance sets position bit tpos[k]
};

struct ChunkDesc {
  int32_t log_n;
  int32_t a, log_m;  // the window: position bits [a, a + log_m); an instance has m = 2^log_m positions
  int32_t nlayers, nphases;
  LayerDesc layers[kMaxLaunchLayers];
  PhaseDesc phases[kMaxLaunchLayers];
};

// How a thread block of one chunk maps onto the data (see make_tile_layout in butterfly_plan.h).
struct TileLayout {
  int32_t m, mpad, pad_shift;  // instance size, padded size in shared memory, log2(elements per 128 B)
  int32_t reff;                // elements per thread per instance: min(R, m)
  int32_t tpi, tpb;            // threads per instance, threads per block
  int32_t G, Go, Gb, F;        // slots per block = Go sub-blocks x Gb frame groups; F frames per thread
  int32_t log_go;
  int64_t nO, nB, ntiles;      // sub-block groups per frame, frame groups, tiles = nstacks * nO * nB
  int64_t batch, nstacks;
};

// The op's own x, when it is not whole frames of T: rows of `length` <= n values (a frame's positions past them
// read as zero), real values for a complex T (imaginary parts zero; the gradient keeps the real part), and an
// input permutation (position p of a frame holds value perm[p] of its zero-padded row). The first chunk reads its
// input through it and the backward's first chunk writes d_x through it, element by element in the staging, so
// none of the three costs a pass over the frames of its own. x == nullptr: no map, the frames are whole.
struct InputMap {
  const void* x;         // (batch, nstacks, length) of T, or of T's real type when real
  void* dx;              // the gradient in x's shape and type; nullptr: not written
  const int64_t* perm;   // (n,), checked to be a permutation; nullptr: the identity
  int64_t length;        // 1 .. n
  int32_t real;
};

template <class T>
struct ForwardParams {
  ChunkDesc c;
  TileLayout lay;
  const T* tw;
  const T* x;   // may equal out: every block reads its instances before writing them
  T* out;
  int64_t tw_stack_stride;  // nblocks * log_n * n/2 * 4
  bool vector_io;           // frames move between global and shared memory in 16-byte accesses
  InputMap in;              // in.x: the chunk's input is read through it instead of x
};

template <class T>
struct BackwardParams {
  ChunkDesc c;
  TileLayout lay;
  const T* tw;
  const T* x;     // the chunk's input
  const T* gin;   // gradient of the chunk's output; may equal gx
  T* gx;          // gradient of the chunk's input; nullptr: not written
  T* dtw;         // twiddle gradient, accumulated with one atomic per entry per work item
  int64_t tw_stack_stride;
  int64_t nsplit;  // work items sharing one (stack, sub-block group); each loops over nB / nsplit frame groups
  int64_t nitems;  // work items: nstacks * nO * nsplit; blocks loop over them
  bool vector_io;
  InputMap in;     // in.x: the chunk's input is read through it instead of x, its gradient written to in.dx, not gx
};

// Tuning and testing knobs; zeros pick the defaults.
struct Options {
  int max_window_log2 = 0;    // cap on log_m (forward default kFwdMaxLogM, backward kBwdMaxLogM)
  int64_t bw_smem_bytes = 0;  // backward shared-memory budget per block (default: all the device allows)
  int fwd_threads = 0;        // minimum threads per block (default kDefaultThreads)
  int bwd_threads = 0;        // threads per block of the backward (default kDefaultThreads)
  int fwd_frames = 0;         // frames per thread of the forward: 4 or the dtype's default (2; 1 for complex128)
  int bwd_frames = 0;         // frames per thread of the backward: 1, 2 or 4 (default: chosen by the planner)
};

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

}  // namespace cuda
}  // namespace kfront
