// Runs csrc/optim_cuda.cu on the host (tests/native/cuda_host_sim.h): the multi-tensor Adam and SGD
// launches (tensor tables of up to 48 entries, 4096-element chunks per block, the by-dtype split, empty
// tensors skipped) against the CPU twins (csrc/optim_cpu.cpp, linked in) over lists of mixed sizes and
// dtypes, long enough to need several tables. Built and run by tests/test_optim_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "optim_cuda.sim.cpp"  // csrc/optim_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

// One parameter's four buffers in both dtypes (only the one of its dtype used).
struct Param {
    bool f64;
    int64_t n;
    std::vector<float> f[4];
    std::vector<double> d[4];
};

void fill_lists(std::vector<Param>& ps, gc::OptimLists& l, bool two) {
    for (auto& p : ps) {
        auto add = [&](auto& b) {
            l.params.push_back(view(b[0], {p.n}));
            l.grads.push_back(view(b[1], {p.n}));
            l.bufs1.push_back(view(b[2], {p.n}));
            if (two) l.bufs2.push_back(view(b[3], {p.n}));
        };
        if (p.f64) add(p.d);
        else add(p.f);
    }
}

std::vector<Param> make_params(int count, int64_t max_n) {
    std::vector<Param> ps(static_cast<size_t>(count));
    for (auto& p : ps) {
        p.f64 = rng() % 3 == 0;
        p.n = rng() % 8 == 0 ? 0 : randint(1, max_n);
        for (int k = 0; k < 4; ++k) {
            p.f[k] = random_vec<float>(p.n);
            p.d[k] = random_vec<double>(p.n);
        }
        for (auto& e : p.f[3]) e = std::fabs(e);  // Adam's second moment is non-negative
        for (auto& e : p.d[3]) e = std::fabs(e);
    }
    return ps;
}

void compare(const std::string& t, const std::vector<Param>& got, const std::vector<Param>& want, int bufs) {
    for (size_t i = 0; i < got.size(); ++i)
        for (int k = 0; k < bufs; ++k) {
            if (k == 1) continue;  // the gradient is read only
            const std::string w = t + " param " + std::to_string(i) + " buffer " + std::to_string(k);
            if (got[i].f64) expect_close(w, got[i].d[k], want[i].d[k], 1e-14);
            else expect_close(w, got[i].f[k], want[i].f[k], 1e-6);
        }
}

void check(int count, int64_t max_n, int dev) {
    const std::string t = std::to_string(count) + " tensors up to " + std::to_string(max_n) + " dev" +
                          std::to_string(dev);
    gcsim::device = dev;
    const auto base = make_params(count, max_n);
    for (bool decoupled : {false, true}) {
        auto cpu = base, cuda = base;
        gc::OptimLists lc, lg;
        fill_lists(cpu, lc, true);
        fill_lists(cuda, lg, true);
        gc::cpu::adam_step(lc, 1e-2, 0.9, 0.999, 1e-8, 0.01, 3, decoupled);
        gc::cuda::adam_step(lg, 1e-2, 0.9, 0.999, 1e-8, 0.01, 3, decoupled);
        compare("adam " + t, cuda, cpu, 4);
    }
    for (int variant = 0; variant < 3; ++variant) {
        auto cpu = base, cuda = base;
        gc::OptimLists lc, lg;
        fill_lists(cpu, lc, false);
        fill_lists(cuda, lg, false);
        const bool nesterov = variant == 1, first = variant == 2;
        gc::cpu::sgd_step(lc, 0.1, 0.9, 1e-3, variant == 0 ? 0.1 : 0.0, nesterov, first);
        gc::cuda::sgd_step(lg, 0.1, 0.9, 1e-3, variant == 0 ? 0.1 : 0.0, nesterov, first);
        compare("sgd " + t, cuda, cpu, 3);
    }
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 10;
    long cases = 0;
    check(1, 5, 0);
    check(3, 9000, 1);   // several chunks per tensor, a partial last chunk
    check(60, 40, 0);    // more tensors than one table holds
    check(100, 300, 1);  // two flushes per dtype
    cases += 4;
    for (int i = 0; i < n_random; ++i, ++cases) check(int(randint(1, 70)), randint(1, 5000), i % 2);
    return finish("optim", cases);
}
