// Runs the CUDA batch-norm kernels (csrc/batchnorm_cuda.cuh) on the host, unchanged: each simulated thread
// is a ucontext coroutine, __syncthreads() a barrier over the block, __shfl_down_sync a lane exchange with a
// barrier over the warp, __shared__ a static shared by the block's threads. Checks the training forward,
// running-stat update, eval forward and backward of both paths (one block per channel; slices merged per
// channel, then elementwise kernels) against plain double loops over shapes whose per-channel counts are
// below, at and above the block size, with S == 1 ((N, C) input) and long rows, and more slices than values.
// Built and run by tests/test_batchnorm_cuda_sim.py.
#include <ucontext.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

struct SimDim3 {
    unsigned x = 1, y = 1, z = 1;
};
static SimDim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __shared__ static
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
void __syncthreads();
template <class T>
T __shfl_down_sync(unsigned mask, T v, int offset);

#include "batchnorm_cuda.cuh"

namespace sim {
constexpr size_t kStack = 64 * 1024;
ucontext_t scheduler;
std::vector<ucontext_t> ctx;
std::vector<char> stacks;
std::vector<char> finished;
int current = 0;
const std::function<void()>* body = nullptr;
long deadlocks = 0;

struct Barrier {
    unsigned arrived = 0, generation = 0;
};
Barrier block_barrier;
std::vector<Barrier> warp_barriers;
std::vector<double> lanes;  // one shuffle slot per thread
std::vector<unsigned> order;  // the threads' resumption order, reshuffled every sweep (races show up)
std::mt19937 schedule(1);

void entry() {
    (*body)();
    finished[current] = 1;
}

void yield() { swapcontext(&ctx[current], &scheduler); }

// Every one of `count` threads must arrive before any leaves; the last arrival opens the next generation.
void wait(Barrier& b, unsigned count) {
    const unsigned g = b.generation;
    if (++b.arrived == count) {
        b.arrived = 0;
        ++b.generation;
        return;
    }
    while (b.generation == g) yield();
}

// Runs kernel body f over grid.x * grid_y blocks of `threads` threads, one block at a time.
void launch(unsigned grid, unsigned threads, const std::function<void()>& f, unsigned grid_y = 1) {
    gridDim = {grid, grid_y, 1};
    blockDim = {threads, 1, 1};
    body = &f;
    ctx.resize(threads);
    stacks.resize(threads * kStack);
    lanes.assign(threads, 0.0);
    for (unsigned block = 0; block < grid * grid_y; ++block) {
        blockIdx = {block % grid, block / grid, 0};
        block_barrier = Barrier{};
        warp_barriers.assign((threads + 31) / 32, Barrier{});
        finished.assign(threads, 0);
        for (unsigned t = 0; t < threads; ++t) {
            getcontext(&ctx[t]);
            ctx[t].uc_stack.ss_sp = stacks.data() + t * kStack;
            ctx[t].uc_stack.ss_size = kStack;
            ctx[t].uc_link = &scheduler;
            makecontext(&ctx[t], entry, 0);
        }
        order.resize(threads);
        for (unsigned t = 0; t < threads; ++t) order[t] = t;
        for (long sweep = 0;; ++sweep) {
            unsigned done = 0;
            std::shuffle(order.begin(), order.end(), schedule);
            for (unsigned t : order) {
                if (finished[t]) {
                    ++done;
                    continue;
                }
                current = int(t);
                threadIdx = {t, 0, 0};
                swapcontext(&scheduler, &ctx[t]);
            }
            if (done == threads) break;
            if (sweep > 100000) {  // threads wait at a barrier that others never reach (divergent sync)
                ++deadlocks;
                break;
            }
        }
    }
}
}  // namespace sim

void __syncthreads() { sim::wait(sim::block_barrier, blockDim.x); }

template <class T>
T __shfl_down_sync(unsigned, T v, int offset) {
    const unsigned t = threadIdx.x, warp = t / 32, lane = t % 32;
    const unsigned width = std::min(32u, blockDim.x - warp * 32);
    sim::lanes[t] = double(v);
    sim::wait(sim::warp_barriers[warp], width);  // every lane has written
    const T out = lane + offset < width ? T(sim::lanes[t + offset]) : v;
    sim::wait(sim::warp_barriers[warp], width);  // every lane has read before the next exchange
    return out;
}

using namespace gc::cuda::bn;

struct Shape {
    int64_t n, c, s;
};

// The split path of batchnorm_cuda.cu with `splits` slices per channel and a small elementwise grid (so the
// grid-stride loops wrap): the same outputs as the per-channel kernels.
template <class T>
void run_split(const Shape& sh, int splits, const std::vector<T>& x, const std::vector<T>& g, const std::vector<T>& w,
               const std::vector<T>& b, const std::vector<T>& rm, const std::vector<T>& rv, double eps,
               const Channel& ch, std::vector<T>& out, std::vector<T>& mean, std::vector<T>& var,
               std::vector<T>& eval, std::vector<T>& gx, std::vector<T>& gw, std::vector<T>& gb) {
    const Split sp = make_split(ch.count, splits);
    const int64_t c = sh.c;
    std::vector<double> p1(c * sp.splits), p2(c * sp.splits);
    std::vector<T> scale(c), coef(3 * c);
    Elementwise e;
    e.s = gc::FastDivmod(sh.s);
    e.c = gc::FastDivmod(sh.c);
    e.total = int32_t(sh.n * sh.c * sh.s);
    const unsigned cgrid = unsigned((c + 255) / 256), egrid = 3;
    sim::launch(unsigned(c), kChannelThreads, [&] { bn_partial_stats<T>(x.data(), p1.data(), p2.data(), ch, sp); },
                unsigned(sp.splits));
    sim::launch(cgrid, 256, [&] {
        bn_finalize_stats<T>(p1.data(), p2.data(), w.data(), mean.data(), var.data(), scale.data(), c, ch, sp, eps);
    });
    sim::launch(egrid, 256, [&] { bn_apply<T>(x.data(), mean.data(), scale.data(), b.data(), out.data(), e); });
    sim::launch(cgrid, 256, [&] { bn_eval_scale<T>(w.data(), rv.data(), scale.data(), c, eps); });
    sim::launch(egrid, 256, [&] { bn_apply<T>(x.data(), rm.data(), scale.data(), b.data(), eval.data(), e); });
    sim::launch(unsigned(c), kChannelThreads,
                [&] { bn_partial_grad<T>(g.data(), x.data(), mean.data(), p1.data(), p2.data(), ch, sp); },
                unsigned(sp.splits));
    sim::launch(cgrid, 256, [&] {
        bn_finalize_grad<T>(p1.data(), p2.data(), w.data(), var.data(), gw.data(), gb.data(), coef.data(), c, ch, sp,
                            eps);
    });
    sim::launch(egrid, 256,
                [&] { bn_grad_input<T>(g.data(), x.data(), mean.data(), coef.data(), gx.data(), c, e); });
}

template <class T>
int check(const Shape& sh, int splits, std::mt19937& rng, double tol) {
    const int64_t total = sh.n * sh.c * sh.s, count = sh.n * sh.s;
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<T> x(total), g(total), w(sh.c), b(sh.c), rm(sh.c), rv(sh.c);
    for (auto& v : x) v = T(3.0 + 2.0 * normal(rng));
    for (auto& v : g) v = T(normal(rng));
    for (int64_t k = 0; k < sh.c; ++k) {
        w[k] = T(normal(rng));
        b[k] = T(normal(rng));
        rm[k] = T(normal(rng));
        rv[k] = T(1.0 + std::fabs(normal(rng)));
    }
    const double eps = 1e-5, momentum = 0.1;
    Channel ch;
    ch.s = gc::FastDivmod(sh.s);
    ch.row = sh.c * sh.s;
    ch.count = int32_t(count);
    std::vector<T> out(total), mean(sh.c), var(sh.c), eval(total), gx(total), gw(sh.c), gb(sh.c);
    std::vector<T> rm2 = rm, rv2 = rv;
    const unsigned grid = unsigned(sh.c);
    if (splits > 0) {
        run_split<T>(sh, splits, x, g, w, b, rm, rv, eps, ch, out, mean, var, eval, gx, gw, gb);
    } else {
        sim::launch(grid, kChannelThreads, [&] {
            bn_fwd_train<T>(x.data(), w.data(), b.data(), out.data(), mean.data(), var.data(), ch, eps);
        });
        sim::launch(grid, kChannelThreads, [&] {
            bn_fwd_eval<T>(x.data(), w.data(), b.data(), rm.data(), rv.data(), eval.data(), ch, eps);
        });
        sim::launch(grid, kChannelThreads, [&] {
            bn_bwd<T>(g.data(), x.data(), w.data(), mean.data(), var.data(), gx.data(), gw.data(), gb.data(), ch,
                      eps);
        });
    }
    sim::launch(unsigned((sh.c + 255) / 256), 256, [&] {
        bn_update_running<T>(mean.data(), var.data(), rm2.data(), rv2.data(), sh.c, momentum,
                             double(count) / double(count - 1));
    });
    int bad = 0;
    auto expect = [&](const char* what, double got, double want, int64_t at) {
        if (std::fabs(got - want) > tol * (1.0 + std::fabs(want))) {
            if (bad++ < 5)
                std::printf("MISMATCH %s n=%ld c=%ld s=%ld splits=%d at %ld: got %.9g want %.9g\n", what, long(sh.n),
                            long(sh.c), long(sh.s), splits, long(at), got, want);
        }
    };
    for (int64_t k = 0; k < sh.c; ++k) {
        auto at = [&](int64_t i, int64_t j) { return (i * sh.c + k) * sh.s + j; };
        double s1 = 0, s2 = 0, sg = 0, sgx = 0;
        for (int64_t i = 0; i < sh.n; ++i)
            for (int64_t j = 0; j < sh.s; ++j) s1 += double(x[at(i, j)]);
        const double m = s1 / double(count);
        for (int64_t i = 0; i < sh.n; ++i)
            for (int64_t j = 0; j < sh.s; ++j) s2 += (double(x[at(i, j)]) - m) * (double(x[at(i, j)]) - m);
        const double v = s2 / double(count), invstd = 1.0 / std::sqrt(v + eps);
        const double einv = 1.0 / std::sqrt(double(rv[k]) + eps);
        for (int64_t i = 0; i < sh.n; ++i)
            for (int64_t j = 0; j < sh.s; ++j) {
                const double xh = (double(x[at(i, j)]) - m) * invstd;
                sg += double(g[at(i, j)]);
                sgx += double(g[at(i, j)]) * xh;
                expect("forward", double(out[at(i, j)]), xh * double(w[k]) + double(b[k]), at(i, j));
                expect("eval", double(eval[at(i, j)]),
                       (double(x[at(i, j)]) - double(rm[k])) * einv * double(w[k]) + double(b[k]), at(i, j));
            }
        for (int64_t i = 0; i < sh.n; ++i)
            for (int64_t j = 0; j < sh.s; ++j) {
                const double xh = (double(x[at(i, j)]) - m) * invstd;
                const double want = double(w[k]) * invstd * (double(g[at(i, j)]) - sg / count - xh * sgx / count);
                expect("grad_input", double(gx[at(i, j)]), want, at(i, j));
            }
        expect("mean", double(mean[k]), m, k);
        expect("var", double(var[k]), v, k);
        expect("grad_weight", double(gw[k]), sgx, k);
        expect("grad_bias", double(gb[k]), sg, k);
        expect("running_mean", double(rm2[k]), 0.9 * double(rm[k]) + 0.1 * m, k);
        expect("running_var", double(rv2[k]), 0.9 * double(rv[k]) + 0.1 * v * count / (count - 1), k);
    }
    return bad;
}

int main() {
    std::mt19937 rng(7);
    const Shape shapes[] = {{2, 3, 1}, {7, 5, 1}, {600, 2, 1}, {3, 2, 171}, {2, 3, 512}, {4, 2, 300}, {1, 2, 1025}};
    int bad = 0;
    for (const Shape& sh : shapes) {
        for (int splits : {0, 5}) {  // 0: one block per channel; 5: the split path (empty slices when N*S < 5)
            bad += check<double>(sh, splits, rng, 1e-10);
            bad += check<float>(sh, splits, rng, 2e-4);
        }
    }
    std::printf("deadlocks %ld, mismatches %d\n", sim::deadlocks, bad);
    return (bad || sim::deadlocks) ? 1 : 0;
}
