// Runs csrc/softmax_ce_cuda.cu on the host (tests/native/cuda_host_sim.h): fused softmax cross-entropy
// (count of kept rows, one block per row with warp-shuffle max/sum merges, the loss reduction and the
// device error record for a bad target) against the CPU twin (csrc/softmax_ce_cpu.cpp, linked in), for
// every reduction, int32 and int64 targets, ignore_index, class counts on each side of the block-size
// thresholds, batches past the 1024 threads of the count, each run in two thread orders. Built and run by
// tests/test_softmax_ce_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "softmax_ce_cuda.sim.cpp"  // csrc/softmax_ce_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

template <class T, class Idx>
void check(int64_t n, int64_t c, int reduction, int64_t ignore_index, int dev) {
    const std::string t = "softmax_ce " + std::string(gc::dtype_name(dtype_of<T>())) + " targets " +
                          gc::dtype_name(dtype_of<Idx>()) + " n" + std::to_string(n) + " c" + std::to_string(c) +
                          " reduction " + std::to_string(reduction) + " dev" + std::to_string(dev);
    std::vector<T> x = random_vec<T>(n * c);
    for (auto& e : x) e *= T(3);
    std::vector<Idx> tg(n);
    for (auto& e : tg) e = Idx(rng() % 5 == 0 || ignore_index == 0 ? ignore_index : randint(0, c - 1));
    const std::vector<int64_t> ls = reduction == gc::kCeNone ? std::vector<int64_t>{n} : std::vector<int64_t>{};
    std::vector<T> loss_cpu(numel(ls)), d_cpu(n * c);
    gc::cpu::softmax_ce(view(x, {n, c}), view(tg, {n}), view(loss_cpu, ls), view(d_cpu, {n, c}), ignore_index,
                        reduction);
    gcsim::device = dev;
    try {
        auto [loss, d] = run_both_orders(t, [&] {
            std::vector<T> loss(numel(ls), T(-3)), d(n * c, T(-3));
            gc::cuda::softmax_ce(view(x, {n, c}), view(tg, {n}), view(loss, ls), view(d, {n, c}), ignore_index,
                                 reduction);
            gc::cuda::raise_pending_errors();
            return std::make_tuple(loss, d);
        });
        expect_close(t + " loss", loss, loss_cpu, tol_of<T>());
        expect_close(t + " dlogits", d, d_cpu, tol_of<T>());
    } catch (const std::exception& e) {
        failures++;
        std::printf("FAIL %s: threw %s\n", t.c_str(), e.what());
    }
}

// A target out of range: the CPU twin throws at once, the CUDA one records it for the next sync.
template <class T, class Idx>
void check_bad_target(int64_t n, int64_t c, int64_t bad_row, int64_t bad_value) {
    std::vector<T> x = random_vec<T>(n * c), loss(1), d(n * c);
    std::vector<Idx> tg(n, Idx(0));
    tg[bad_row] = Idx(bad_value);
    bool threw = false;
    try {
        gc::cuda::softmax_ce(view(x, {n, c}), view(tg, {n}), view(loss, {}), view(d, {n, c}), -100, gc::kCeMean);
        gc::cuda::raise_pending_errors();
    } catch (const std::out_of_range& e) {
        threw = std::string(e.what()).find("row " + std::to_string(bad_row)) != std::string::npos &&
                std::string(e.what()).find("target " + std::to_string(bad_value)) != std::string::npos;
        if (!threw) std::printf("wrong message: %s\n", e.what());
    }
    if (!threw) {
        failures++;
        std::printf("FAIL softmax_ce bad target %ld at row %ld of %ld: no error naming them\n", long(bad_value),
                    long(bad_row), long(n));
    }
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 40;
    long cases = 0;
    const int64_t classes[] = {1, 2, 10, 31, 64, 255, 256, 700, 1024, 1500};
    for (int64_t c : classes)
        for (int reduction : {0, 1, 2}) {
            const int64_t n = randint(1, 5);
            check<float, int64_t>(n, c, reduction, -100, int(cases % 2));
            check<double, int32_t>(n, c, reduction, 1, int(cases % 2));
            ++cases;
        }
    for (int reduction : {0, 1, 2}) {  // a batch whose every row is ignored (an empty one is rejected by both)
        check<double, int64_t>(3, 4, reduction, 0, 1);
        cases += 1;
    }
    for (int i = 0; i < n_random; ++i, ++cases) {  // batches past the 1024 threads of the count and mean
        const int64_t n = rng() % 4 == 0 ? randint(1025, 2100) : randint(1, 40), c = randint(1, 40);
        check<float, int32_t>(n, c, int(rng() % 3), rng() % 2 ? -100 : 2, int(i % 2));
    }
    check_bad_target<float, int64_t>(5, 3, 2, 3);
    check_bad_target<double, int32_t>(40, 7, 39, -1);
    check_bad_target<float, int64_t>(1300, 2, 1100, 9);
    cases += 3;
    return finish("softmax_ce", cases);
}
