// Runs csrc/pool_cuda.cu on the host (tests/native/cuda_host_sim.h): its host entry points pick the grid
// as on a GPU and launch the unchanged kernels, whose outputs are compared with the CPU twins
// (csrc/pool_cpu.cpp, linked in) over many shapes, strides, paddings, dilations, ceil_mode, count_include_pad
// and divisor_override, with a 132-SM device and a 1-SM one (grid-stride loops go round), under
// AddressSanitizer + UBSan. Built and run by tests/test_pool_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "pool_cuda.sim.cpp"  // csrc/pool_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

struct PoolCase {
    int64_t N, C, H, W;
    gc::Pool2dParams p;
    bool ceil_mode;
};

// torch's output size (pooling_output_shape): the last window must start inside the input or left padding.
int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t d, bool ceil_mode) {
    const int64_t span = in + 2 * pad - d * (k - 1) - 1;
    int64_t o = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
    if (span < 0) return 0;
    if (ceil_mode && (o - 1) * s >= in + pad) --o;
    return o;
}

std::string tag(const PoolCase& c, int64_t oh, int64_t ow, int dev, const char* t) {
    char b[200];
    std::snprintf(b, sizeof b, "%s N%ld C%ld %ldx%ld -> %ldx%ld k%ldx%ld s%ld,%ld p%ld,%ld d%ld,%ld ceil%d cip%d div%ld dev%d",
                  t, long(c.N), long(c.C), long(c.H), long(c.W), long(oh), long(ow), long(c.p.kh), long(c.p.kw),
                  long(c.p.sh), long(c.p.sw), long(c.p.ph), long(c.p.pw), long(c.p.dh), long(c.p.dw), int(c.ceil_mode),
                  int(c.p.count_include_pad), long(c.p.divisor), dev);
    return b;
}

template <class T>
void check_max(const PoolCase& c, int dev) {
    const auto& p = c.p;
    const int64_t oh = out_size(c.H, p.kh, p.sh, p.ph, p.dh, c.ceil_mode);
    const int64_t ow = out_size(c.W, p.kw, p.sw, p.pw, p.dw, c.ceil_mode);
    if (oh <= 0 || ow <= 0) return;
    const std::string t = tag(c, oh, ow, dev, sizeof(T) == 4 ? "max f32" : "max f64");
    std::vector<int64_t> xs{c.N, c.C, c.H, c.W}, ys{c.N, c.C, oh, ow};
    auto x = random_vec<T>(numel(xs), true), gy = random_vec<T>(numel(ys));
    std::vector<T> y_cpu(numel(ys)), gx_cpu(numel(xs));
    std::vector<int64_t> i_cpu(numel(ys));
    gc::cpu::max_pool2d_fwd(view(x, xs), view(y_cpu, ys), view(i_cpu, ys), p);
    gc::cpu::max_pool2d_bwd(view(gy, ys), view(i_cpu, ys), view(gx_cpu, xs), p);
    gcsim::device = dev;
    auto [y, idx, gx] = run_both_orders(t, [&] {
        std::vector<T> y(numel(ys), T(NAN)), gx(numel(xs), T(NAN));
        std::vector<int64_t> idx(numel(ys), -7);
        gc::cuda::max_pool2d_fwd(view(x, xs), view(y, ys), view(idx, ys), p);
        gc::cuda::max_pool2d_bwd(view(gy, ys), view(i_cpu, ys), view(gx, xs), p);
        return std::make_tuple(y, idx, gx);
    });
    expect_equal(t + " forward", y, y_cpu);
    expect_equal(t + " indices", idx, i_cpu);
    expect_equal(t + " backward", gx, gx_cpu);
}

template <class T>
void check_avg(PoolCase c, int dev) {
    auto& p = c.p;
    p.dh = p.dw = 1;  // avg_pool2d has no dilation
    const int64_t oh = out_size(c.H, p.kh, p.sh, p.ph, 1, c.ceil_mode);
    const int64_t ow = out_size(c.W, p.kw, p.sw, p.pw, 1, c.ceil_mode);
    if (oh <= 0 || ow <= 0) return;
    const std::string t = tag(c, oh, ow, dev, sizeof(T) == 4 ? "avg f32" : "avg f64");
    std::vector<int64_t> xs{c.N, c.C, c.H, c.W}, ys{c.N, c.C, oh, ow};
    auto x = random_vec<T>(numel(xs)), gy = random_vec<T>(numel(ys));
    std::vector<T> y_cpu(numel(ys)), gx_cpu(numel(xs));
    gc::cpu::avg_pool2d_fwd(view(x, xs), view(y_cpu, ys), p);
    gc::cpu::avg_pool2d_bwd(view(gy, ys), view(gx_cpu, xs), p);
    gcsim::device = dev;
    auto [y, gx] = run_both_orders(t, [&] {
        std::vector<T> y(numel(ys), T(NAN)), gx(numel(xs), T(NAN));
        gc::cuda::avg_pool2d_fwd(view(x, xs), view(y, ys), p);
        gc::cuda::avg_pool2d_bwd(view(gy, ys), view(gx, xs), p);
        return std::make_tuple(y, gx);
    });
    expect_equal(t + " forward", y, y_cpu);
    expect_close(t + " backward", gx, gx_cpu, tol_of<T>());  // the CPU multiplies by 1/divisor, CUDA divides
}

PoolCase make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
              int64_t pw, int64_t dh, int64_t dw, bool ceil_mode, bool cip = true, int64_t divisor = 0) {
    PoolCase c{N, C, H, W, {}, ceil_mode};
    c.p = gc::pool_params({kh, kw, sh, sw, ph, pw, dh, dw}, cip, divisor);
    return c;
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 200;
    std::vector<PoolCase> cases = {
        make(2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false),     // the common 2x2/2
        make(1, 2, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, true),      // ceil_mode: a last window hanging over the edge
        make(1, 1, 5, 5, 3, 3, 1, 1, 1, 1, 2, 2, false),     // dilation with padding
        make(2, 2, 6, 5, 4, 2, 3, 1, 2, 1, 1, 2, true, false),
        make(1, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, false),     // 1x1
        make(1, 1, 10, 3, 5, 3, 4, 5, 2, 1, 1, 1, true, true, 3),
        make(0, 3, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1, false),     // empty batch
        make(3, 5, 41, 37, 3, 3, 2, 2, 1, 1, 1, 1, true),    // > 8192 outputs: the 1-SM grid loops
        make(2, 4, 64, 60, 2, 2, 1, 1, 1, 1, 1, 1, false, false),
    };
    for (int i = 0; i < n_random; ++i) {
        const int64_t kh = randint(1, 4), kw = randint(1, 4);
        cases.push_back(make(randint(1, 2), randint(1, 3), randint(1, 12), randint(1, 12), kh, kw, randint(1, 3),
                             randint(1, 3), randint(0, kh / 2), randint(0, kw / 2), randint(1, 3), randint(1, 3),
                             rng() & 1, rng() & 1, rng() % 4 == 0 ? randint(1, 5) : 0));
    }
    for (size_t i = 0; i < cases.size(); ++i) {
        const int dev = i % 3 == 1 ? 1 : 0;
        check_max<float>(cases[i], dev);
        check_max<double>(cases[i], 1 - dev);
        check_avg<float>(cases[i], dev);
        check_avg<double>(cases[i], 1 - dev);
    }
    return finish("pool", long(cases.size()));
}
