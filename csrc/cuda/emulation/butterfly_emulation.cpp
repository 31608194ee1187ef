// Host emulation of the CUDA butterfly kernels, for testing them on a machine without a GPU.
//
// The kernel bodies (butterfly_device.cuh) and the launch sequence (butterfly_launch.h) are compiled
// unchanged with a host C++20 compiler. Each CUDA block runs as one std::thread per CUDA thread meeting at
// a std::barrier, so a missing __syncthreads shows up as a data race (under -fsanitize=thread) or as a
// wrong result; shared memory starts filled with 0xFF bytes (a NaN in every float type), so a read of
// shared memory nobody wrote shows up in the output. Blocks run one after another.
//
// Built as a shared library for ctypes (tests/test_cuda_emulation.py) or, with -DKF_EMU_MAIN, as a
// self-checking program for sanitizer builds. Not part of the extension.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../butterfly_launch.h"

namespace kfront {
namespace cuda {
namespace {

struct HostCtx {
  int tid;
  int64_t bid, grid;
  std::barrier<>* bar;
  unsigned char* shared;

  int thread() const { return tid; }
  int64_t block() const { return bid; }
  int64_t nblocks() const { return grid; }
  void sync() const { bar->arrive_and_wait(); }
  template <class T>
  T* smem() const { return reinterpret_cast<T*>(shared); }
  template <class R>
  void atomic_add(R* p, R v) const { std::atomic_ref<R>(*p).fetch_add(v); }
  template <class R>
  void atomic_add(Complex<R>* p, Complex<R> v) const {
    atomic_add(&p->re, v.re);
    atomic_add(&p->im, v.im);
  }
};

// Emulated device limits and knobs (0: default).
struct EmuConfig {
  int sm_count = 2;
  int64_t smem_optin = 227 * 1024;  // Hopper's opt-in maximum
  int64_t static_smem = 0;          // static shared memory of the kernels, taken from the opt-in
  int64_t max_grid = 3;             // small, so the kernels' loops over tiles and work items run
};

enum EmuStatus : int { kOk = 0, kInvalid = 1, kMisaligned = 2, kTooMuchSmem = 3, kBadLaunch = 4 };

// stats[0]: launches, stats[1]: launches moving frames in 16-byte vectors.
struct HostExec {
  using Status = int;
  EmuConfig cfg;
  int64_t launches = 0, vector_launches = 0;

  static Status ok() { return kOk; }
  static Status invalid() { return kInvalid; }
  static Status misaligned() { return kMisaligned; }
  static bool failed(Status s) { return s != kOk; }
  int sm_count() const { return cfg.sm_count; }
  int64_t smem_limit() const { return cfg.smem_optin - cfg.static_smem; }
  int64_t max_grid() const { return cfg.max_grid; }
  Status zero(void* p, int64_t bytes) {
    if (bytes > 0) std::memset(p, 0, size_t(bytes));
    return kOk;
  }
  Status copy(void* dst, const void* src, int64_t bytes) {
    std::memcpy(dst, src, size_t(bytes));
    return kOk;
  }

  template <class Body>
  Status run_grid(int64_t grid, int threads, int64_t smem, int max_threads, bool vector_io, Body body) {
    if (smem > smem_limit()) return kTooMuchSmem;
    if (grid < 1 || grid > cfg.max_grid || threads < 1 || threads > max_threads) return kBadLaunch;
    ++launches;
    vector_launches += vector_io;
    std::vector<unsigned char> shared;
    for (int64_t b = 0; b < grid; ++b) {
      shared.assign(size_t(smem), 0xFF);
      std::barrier<> bar(threads);
      std::vector<std::thread> pool;
      pool.reserve(threads);
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          HostCtx ctx{t, b, grid, &bar, shared.data()};
          body(ctx);
        });
      }
      for (auto& th : pool) th.join();
    }
    return kOk;
  }

  template <class T, int R, int F>
  Status forward(int64_t grid, int threads, int64_t smem, const ForwardParams<T>& p) {
    return run_grid(grid, threads, smem, forward_max_threads(F), p.vector_io,
                    [&](HostCtx& ctx) { forward_body<T, R, F>(p, ctx); });
  }
  template <class T, int R, int F>
  Status backward(int64_t grid, int threads, int64_t smem, const BackwardParams<T>& p) {
    return run_grid(grid, threads, smem, kWideMaxThreads, p.vector_io,
                    [&](HostCtx& ctx) { backward_body<T, R, F>(p, ctx); });
  }
  template <class T, int R, int F>
  int backward_blocks_per_sm(int, int64_t) const { return 1; }
};

// knobs: max_window_log2, bw_smem_bytes, fwd_threads, bwd_threads, sm_count, smem_optin, max_grid,
// fwd_frames, bwd_frames, static_smem
constexpr int kNumKnobs = 10;
void read_knobs(const int64_t* k, Options* opt, EmuConfig* cfg) {
  if (!k) return;
  opt->max_window_log2 = int(k[0]);
  opt->bw_smem_bytes = k[1];
  opt->fwd_threads = int(k[2]);
  opt->bwd_threads = int(k[3]);
  if (k[4] > 0) cfg->sm_count = int(k[4]);
  if (k[5] > 0) cfg->smem_optin = k[5];
  if (k[6] > 0) cfg->max_grid = k[6];
  opt->fwd_frames = int(k[7]);
  opt->bwd_frames = int(k[8]);
  cfg->static_smem = k[9];
}

template <class Fn>
int dispatch(int dtype, Fn fn) {
  switch (dtype) {
    case 0: return fn(float{});
    case 1: return fn(double{});
    case 2: return fn(Complex<float>{});
    case 3: return fn(Complex<double>{});
  }
  return kInvalid;
}

Problem make_problem(int64_t batch, int64_t nstacks, int log_n, int nblocks, int increasing) {
  Problem pb;
  pb.batch = batch;
  pb.nstacks = nstacks;
  pb.log_n = log_n;
  pb.nblocks = nblocks;
  pb.increasing_stride = increasing != 0;
  return pb;
}

// Shared-memory wavefronts of one warp-wide access: threads are served in groups covering 128 bytes
// (32 x 4 B, 16 x 8 B, 8 x 16 B); a group needs as many wavefronts as the most distinct words any of
// the 32 banks holds.
int wavefronts(const std::vector<int64_t>& elem_index, int elem_bytes) {
  const int group = 128 / elem_bytes;
  int total = 0;
  for (size_t g0 = 0; g0 < elem_index.size(); g0 += group) {
    std::vector<std::vector<int64_t>> bank(32);
    for (size_t t = g0; t < std::min(elem_index.size(), g0 + group); ++t) {
      for (int w = 0; w < elem_bytes / 4; ++w) {
        const int64_t word = elem_index[t] * (elem_bytes / 4) + w;
        auto& b = bank[word % 32];
        if (std::find(b.begin(), b.end(), word) == b.end()) b.push_back(word);
      }
    }
    int worst = 1;
    for (auto& b : bank) worst = std::max(worst, int(b.size()));
    total += worst;
  }
  return total;
}

double conflict_factor(const std::vector<int64_t>& idx, int elem_bytes) {
  const int ideal = (int(idx.size()) * elem_bytes + 127) / 128;
  return double(wavefronts(idx, elem_bytes)) / ideal;
}

// Worst ratio of wavefronts to the conflict-free minimum over the phase loads of every chunk's first warp.
template <class T, int R>
double phase_conflicts(const std::vector<ChunkDesc>& chunks, const TileLayout& lay, int F) {
  double worst = 1.0;
  for (const ChunkDesc& c : chunks) {
    const int warp = std::min(32, lay.tpb);
    for (int ph = 0; ph < c.nphases; ++ph) {
      for (int e = 0; e < lay.reff; ++e) {
        std::vector<int64_t> idx;
        for (int tid = 0; tid < warp; ++tid) {
          const int slot = tid / lay.tpi, lt = tid % lay.tpi;
          int lp[R];
          phase_positions<R>(c.phases[ph], c.log_m, lt, lp);
          idx.push_back(int64_t(slot * F) * lay.mpad + pad_index(lp[e], lay.pad_shift));
        }
        worst = std::max(worst, conflict_factor(idx, int(sizeof(T))));
      }
    }
  }
  return worst;
}

// The same for the staging's shared-memory accesses (the first warp, every staged element or vector element).
template <class T>
double stage_conflicts(const ChunkDesc& c, const TileLayout& lay, int F, bool vector_io) {
  const int V = vector_io ? kVec<T> : 1, warp = std::min(32, lay.tpb), per_thread = lay.reff * F / V;
  double worst = 1.0;
  for (int k = 0; k < per_thread; ++k) {
    for (int e = 0; e < V; ++e) {
      std::vector<int64_t> idx;
      for (int tid = 0; tid < warp; ++tid) {
        const StagePos p = (F == 1 ? stage_pos<1> : F == 2 ? stage_pos<2> : stage_pos<4>)(
            (tid + k * lay.tpb) * V, lay, c.a, c.log_m, 0, 0, 0, int64_t(1) << c.log_n);
        idx.push_back(p.shared + e);
      }
      worst = std::max(worst, conflict_factor(idx, int(sizeof(T))));
    }
  }
  return worst;
}

}  // namespace
}  // namespace cuda
}  // namespace kfront

using namespace kfront::cuda;

extern "C" {

// x, out: (batch, nstacks, n); stats (may be null): launches, vector launches. length > 0: x is the op's own
// (batch, nstacks, length) rows, real values for a complex dtype when real, read through an InputMap with the
// input permutation perm (may be null).
int kf_emu_forward(int dtype, const void* tw, const void* x, void* out, int64_t batch, int64_t nstacks, int log_n,
                   int nblocks, int increasing, const int64_t* knobs, int64_t* stats, int64_t length, int real,
                   const int64_t* perm) {
  Options opt;
  HostExec ex;
  read_knobs(knobs, &opt, &ex.cfg);
  const kfront::Problem pb = make_problem(batch, nstacks, log_n, nblocks, increasing);
  const InputMap map{length > 0 ? x : nullptr, nullptr, perm, length, real};
  const int st = dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    return forward<T>(ex, pb, static_cast<const T*>(tw), length > 0 ? nullptr : static_cast<const T*>(x),
                      static_cast<T*>(out), opt, map);
  });
  if (stats) {
    stats[0] = ex.launches;
    stats[1] = ex.vector_launches;
  }
  return st;
}

// dx == nullptr: without the input's gradient. length, real, perm as in kf_emu_forward; dx then has x's shape.
int kf_emu_backward(int dtype, const void* grad, const void* tw, const void* x, void* dtw, void* dx, int64_t batch,
                    int64_t nstacks, int log_n, int nblocks, int increasing, const int64_t* knobs, int64_t* stats,
                    int64_t length, int real, const int64_t* perm) {
  Options opt;
  HostExec ex;
  read_knobs(knobs, &opt, &ex.cfg);
  const kfront::Problem pb = make_problem(batch, nstacks, log_n, nblocks, increasing);
  if (!valid_problem(pb)) return kInvalid;
  const bool mapped = length > 0;
  const InputMap map{mapped ? x : nullptr, mapped ? dx : nullptr, perm, length, real};
  const int st = dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> ws;
    if (pb.nblocks > 0) {
      const BackwardPlan plan = backward_plan<T>(pb, opt, ex.smem_limit());
      ws.resize(size_t(backward_workspace_elems<T>(plan, pb, dx != nullptr && !mapped)));
    }
    return backward<T>(ex, pb, static_cast<const T*>(grad), static_cast<const T*>(tw),
                       mapped ? nullptr : static_cast<const T*>(x), static_cast<T*>(dtw),
                       mapped ? nullptr : static_cast<T*>(dx), ws.data(), int64_t(ws.size()), opt, map);
  });
  if (stats) {
    stats[0] = ex.launches;
    stats[1] = ex.vector_launches;
  }
  return st;
}

// A one-line description of the plan for aligned frames: forward launches and backward chunks, F, windows,
// threads, shared memory, grids, whether frames move in vectors, and the worst bank-conflict factors of the
// phase loads and of the staging (1 = conflict-free).
int kf_emu_describe(int dtype, int64_t batch, int64_t nstacks, int log_n, int nblocks, int increasing,
                    const int64_t* knobs, char* buf, int buflen) {
  Options opt;
  HostExec ex;
  read_knobs(knobs, &opt, &ex.cfg);
  const kfront::Problem pb = make_problem(batch, nstacks, log_n, nblocks, increasing);
  if (!valid_problem(pb) || nblocks < 1) return kInvalid;
  return dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    const int Ff = forward_frames<T>(opt);
    const int eb = int(sizeof(T));
    const int64_t limit = ex.smem_limit();
    const auto seq = layer_sequence(log_n, nblocks, increasing != 0);
    const int Wf = forward_log_m(log_n, opt, Ff, eb, limit);
    const auto fwd = plan_chunks(seq, 0, int(seq.size()), log_n, Wf, kFwdRBits, pad_shift_for(eb),
                                 [](const ChunkDesc&) { return true; });
    const int tf = std::min(forward_threads(opt), forward_max_threads(Ff));
    const TileLayout lf = make_tile_layout(log_n, Wf, kFwdRBits, Ff, tf, eb, batch, nstacks);
    const BackwardPlan bp = backward_plan<T>(pb, opt, limit);
    if (fwd.empty() || bp.chunks.empty()) return int(kInvalid);
    const TileLayout lb = make_tile_layout(log_n, bp.log_m, kBwdRBits, bp.F, bp.threads, eb, batch, nstacks);
    int64_t bw_smem = 0, bw_grid = 0;
    int bw_phases = 0;
    for (const auto& c : bp.chunks) {
      bw_smem = std::max(bw_smem, backward_smem_bytes(lb, c, eb));
      bw_phases += c.nphases;
      const int64_t items = pb.nstacks * lb.nO * backward_split(lb, ex.sm_count(), 1);
      bw_grid = std::max(bw_grid, launch_grid(items, ex.max_grid()));
    }
    int fw_phases = 0;
    for (const auto& c : fwd) fw_phases += c.nphases;
    const bool fv = use_vector_io(fwd[0], eb, true), bv = use_vector_io(bp.chunks[0], eb, true);
    const double cf = phase_conflicts<T, kFwdR>(fwd, lf, Ff);
    const double cb = phase_conflicts<T, kBwdR>(bp.chunks, lb, bp.F);
    const double sf = stage_conflicts<T>(fwd[0], lf, Ff, fv);
    std::snprintf(buf, size_t(buflen),
                  "fwd_launches=%zu fwd_F=%d fwd_log_m=%d fwd_phases=%d fwd_threads=%d fwd_smem=%lld fwd_grid=%lld "
                  "fwd_vector_io=%d fwd_conflict=%.2f fwd_stage_conflict=%.2f bwd_chunks=%zu bwd_F=%d "
                  "bwd_log_m=%d bwd_phases=%d bwd_threads=%d bwd_smem=%lld bwd_grid=%lld bwd_vector_io=%d "
                  "bwd_conflict=%.2f",
                  fwd.size(), Ff, Wf, fw_phases, lf.tpb, (long long)forward_smem_bytes(lf, eb),
                  (long long)launch_grid(lf.ntiles, ex.max_grid()), int(fv), cf, sf, bp.chunks.size(), bp.F,
                  bp.log_m, bw_phases, lb.tpb, (long long)bw_smem, (long long)bw_grid, int(bv), cb);
    return int(kOk);
  });
}

}  // extern "C"

#ifdef KF_EMU_MAIN
// Self-check for sanitizer builds: random problems through the emulated kernels against a direct
// double-precision evaluation of the definition (forward, d_x and d_twiddle).
namespace {

using cd = std::complex<double>;

template <class T> cd to_cd(const T& v) { return cd(double(v), 0.0); }
template <class R> cd to_cd(const Complex<R>& v) { return cd(double(v.re), double(v.im)); }
template <class T> void from_cd(cd v, T* o) { *o = T(v.real()); }
template <class R> void from_cd(cd v, Complex<R>* o) { *o = {R(v.real()), R(v.imag())}; }

// y = B x for one frame, every layer's input kept in acts (for the backward).
void naive_forward(const std::vector<cd>& tw, std::vector<cd> y, int log_n, int nblocks, bool inc, int64_t s,
                   std::vector<std::vector<cd>>* acts, std::vector<cd>* out) {
  const int64_t n = int64_t(1) << log_n, half = n / 2;
  const auto seq = layer_sequence(log_n, nblocks, inc);
  for (const auto& L : seq) {
    if (acts) acts->push_back(y);
    const int64_t st = int64_t(1) << L.bit;
    for (int64_t i = 0; i < half; ++i) {
      const int64_t p = 2 * (i - i % st) + i % st;
      const cd* t = &tw[size_t(s * nblocks * log_n * half * 4 + L.tw_offset + 4 * i)];
      const cd a = y[p], b = y[p + st];
      y[p] = t[0] * a + t[1] * b;
      y[p + st] = t[2] * a + t[3] * b;
    }
  }
  *out = y;
}

// One random problem through the emulated kernels against the naive evaluation. length > 0: x is the op's own
// rows of that length (real values when real) read through an InputMap, permuted first when permute.
template <class T>
double check(int dtype, int64_t batch, int64_t S, int log_n, int nblocks, bool inc, const int64_t* knobs,
             std::mt19937& rng, int64_t length, bool real, bool permute) {
  using R = typename RealOf<T>::type;
  const int64_t n = int64_t(1) << log_n, twn = S * nblocks * log_n * (n / 2) * 4, xn = batch * S * n;
  const bool mapped = length > 0;
  const int64_t L = mapped ? length : n, xl = batch * S * L;
  std::normal_distribution<double> nd(0.0, 0.7);
  const bool cplx = dtype >= 2;
  auto draw = [&](std::vector<T>* v, std::vector<cd>* d, int64_t count) {
    v->resize(size_t(count));
    d->resize(size_t(count));
    for (int64_t i = 0; i < count; ++i) {
      const cd val(nd(rng), cplx ? nd(rng) : 0.0);
      from_cd(val, &(*v)[size_t(i)]);
      (*d)[size_t(i)] = to_cd((*v)[size_t(i)]);
    }
  };
  std::vector<T> tw, xt, gr;
  std::vector<cd> twd, xop, grd;
  draw(&tw, &twd, twn);
  draw(&xt, &xop, xl);
  draw(&gr, &grd, xn);
  std::vector<R> xr(real ? size_t(xl) : 0);  // a real input: the real parts of the draw
  for (size_t i = 0; i < xr.size(); ++i) {
    xr[i] = R(xop[i].real());
    xop[i] = cd(double(xr[i]), 0.0);
  }
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) perm[size_t(p)] = p;
  if (permute) std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<cd> xd(static_cast<size_t>(xn));  // the frames the product sees: rows padded, then permuted
  for (int64_t row = 0; row < batch * S; ++row) {
    for (int64_t p = 0; p < n; ++p) {
      const int64_t q = perm[size_t(p)];
      xd[size_t(row * n + p)] = q < L ? xop[size_t(row * L + q)] : cd(0.0, 0.0);
    }
  }
  const void* x = real ? static_cast<const void*>(xr.data()) : static_cast<const void*>(xt.data());
  std::vector<T> out(static_cast<size_t>(xn)), dtw(static_cast<size_t>(twn)), dxt(real ? 0 : size_t(xl));
  std::vector<R> dxr(real ? size_t(xl) : 0);
  void* dx = real ? static_cast<void*>(dxr.data()) : static_cast<void*>(dxt.data());
  const int64_t* pp = permute ? perm.data() : nullptr;
  if (kf_emu_forward(dtype, tw.data(), x, out.data(), batch, S, log_n, nblocks, inc, knobs, nullptr, length, real,
                     pp) != 0 ||
      kf_emu_backward(dtype, gr.data(), tw.data(), x, dtw.data(), dx, batch, S, log_n, nblocks, inc, knobs, nullptr,
                      length, real, pp) != 0) {
    return 1e30;
  }
  std::vector<cd> dtw_ref(static_cast<size_t>(twn));
  double err = 0, ref = 0, errg = 0, refg = 0, errt = 0, reft = 0;
  const auto seq = layer_sequence(log_n, nblocks, inc);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < S; ++s) {
      const int64_t row = b * S + s, off = row * n;
      std::vector<cd> y(xd.begin() + off, xd.begin() + off + n), o;
      std::vector<std::vector<cd>> acts;
      naive_forward(twd, y, log_n, nblocks, inc, s, &acts, &o);
      for (int64_t i = 0; i < n; ++i) {
        err += std::norm(to_cd(out[size_t(off + i)]) - o[size_t(i)]);
        ref += std::norm(o[size_t(i)]);
      }
      std::vector<cd> g(grd.begin() + off, grd.begin() + off + n);
      const int64_t half = n / 2;
      for (int li = int(seq.size()) - 1; li >= 0; --li) {
        const int64_t st = int64_t(1) << seq[li].bit;
        const std::vector<cd>& a = acts[size_t(li)];
        for (int64_t i = 0; i < half; ++i) {
          const int64_t p = 2 * (i - i % st) + i % st;
          const int64_t t0 = s * nblocks * log_n * half * 4 + seq[li].tw_offset + 4 * i;
          const cd* t = &twd[size_t(t0)];
          const cd g0 = g[p], g1 = g[p + st];
          dtw_ref[size_t(t0)] += g0 * std::conj(a[p]);
          dtw_ref[size_t(t0 + 1)] += g0 * std::conj(a[p + st]);
          dtw_ref[size_t(t0 + 2)] += g1 * std::conj(a[p]);
          dtw_ref[size_t(t0 + 3)] += g1 * std::conj(a[p + st]);
          g[p] = std::conj(t[0]) * g0 + std::conj(t[2]) * g1;
          g[p + st] = std::conj(t[1]) * g0 + std::conj(t[3]) * g1;
        }
      }
      for (int64_t p = 0; p < n; ++p) {  // position p's gradient belongs to value perm[p] of the row, if any
        const int64_t q = perm[size_t(p)];
        if (q >= L) continue;
        const cd want = real ? cd(g[size_t(p)].real(), 0.0) : g[size_t(p)];
        const cd got = real ? cd(double(dxr[size_t(row * L + q)]), 0.0) : to_cd(dxt[size_t(row * L + q)]);
        errg += std::norm(got - want);
        refg += std::norm(want);
      }
    }
  }
  for (int64_t i = 0; i < twn; ++i) {
    errt += std::norm(to_cd(dtw[size_t(i)]) - dtw_ref[size_t(i)]);
    reft += std::norm(dtw_ref[size_t(i)]);
  }
  auto rel = [](double e, double r) { return r > 0 ? std::sqrt(e / r) : std::sqrt(e); };
  const double worst = std::max({rel(err, ref), rel(errg, refg), rel(errt, reft)});
  return std::isnan(worst) ? 1e30 : worst;
}

}  // namespace

int main() {
  std::mt19937 rng(1234);
  struct Case {
    int dtype;
    int64_t batch, S;
    int log_n, nblocks;
    bool inc;
    int64_t knobs[kNumKnobs];
    int64_t length = 0;  // > 0: the op's own rows of this length, through an InputMap
    bool real = false, permute = false;
  };
  const Case cases[] = {
      {0, 3, 1, 1, 1, true, {0, 0, 0, 0, 0, 0, 0}},
      {2, 5, 2, 4, 2, false, {0, 0, 0, 0, 0, 0, 0}},
      {2, 3, 1, 7, 3, true, {0, 0, 64, 64, 0, 0, 0}},
      {0, 4, 2, 6, 2, true, {3, 0, 32, 32, 0, 0, 0}},             // chunked forward and backward (W = 3)
      {2, 2, 1, 8, 2, false, {0, 6 * 1024, 64, 64, 0, 0, 0}},     // backward split by the smem budget
      {1, 2, 1, 5, 1, true, {0, 0, 16, 16, 0, 0, 0}},
      {3, 2, 1, 5, 2, false, {2, 0, 16, 16, 0, 0, 0}},
      {2, 5, 1, 6, 2, true, {0, 0, 32, 32, 0, 0, 0, 4, 4}},   // four frames per thread
      {0, 9, 1, 4, 1, false, {3, 0, 8, 8, 0, 0, 2, 4, 4}},
      {2, 3, 2, 6, 1, true, {0, 0, 32, 32, 0, 0, 0}, 50, true, true},  // real, short, permuted rows
      {0, 4, 1, 6, 2, false, {3, 0, 32, 32, 0, 0, 0}, 41, false, true},  // the same through chunked plans
      {3, 2, 1, 5, 1, true, {0, 3000, 16, 16, 0, 0, 0}, 32, true, false},  // real, backward in two chunks
  };
  int failures = 0;
  for (const Case& c : cases) {
    double e = 0;
    switch (c.dtype) {
      case 0: e = check<float>(c.dtype, c.batch, c.S, c.log_n, c.nblocks, c.inc, c.knobs, rng, c.length, c.real,
                               c.permute); break;
      case 1: e = check<double>(c.dtype, c.batch, c.S, c.log_n, c.nblocks, c.inc, c.knobs, rng, c.length, c.real,
                                c.permute); break;
      case 2: e = check<Complex<float>>(c.dtype, c.batch, c.S, c.log_n, c.nblocks, c.inc, c.knobs, rng, c.length,
                                        c.real, c.permute); break;
      case 3: e = check<Complex<double>>(c.dtype, c.batch, c.S, c.log_n, c.nblocks, c.inc, c.knobs, rng, c.length,
                                         c.real, c.permute); break;
    }
    const double tol = (c.dtype == 1 || c.dtype == 3) ? 1e-12 : 1e-5;
    const bool ok = e <= tol;
    failures += !ok;
    std::printf("dtype=%d batch=%lld S=%lld log_n=%d nblocks=%d inc=%d length=%lld real=%d permute=%d rel_err=%.3g "
                "%s\n", c.dtype, (long long)c.batch, (long long)c.S, c.log_n, c.nblocks, int(c.inc),
                (long long)c.length, int(c.real), int(c.permute), e, ok ? "ok" : "FAIL");
  }
  std::printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
#endif  // KF_EMU_MAIN
