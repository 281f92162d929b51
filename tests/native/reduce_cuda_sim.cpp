// Runs csrc/reduce_cuda.cu on the host (tests/native/cuda_host_sim.h): sum / max / min / prod over any
// axes of strided (permuted) inputs, argmax / argmin and cumsum along the last axis, through the host code's
// choice of kernel (warp per output, block per output, thread per output, split partials + finish, the
// empty fill), compared with the CPU twins (csrc/reduce_cpu.cpp, linked in) on a 132-SM and a 1-SM device,
// each run twice in different thread orders. Built and run by tests/test_reduce_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "reduce_cuda.sim.cpp"  // csrc/reduce_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

std::string shape_tag(const char* what, const std::vector<int64_t>& s, const std::vector<int64_t>& o, int dev) {
    std::string t = std::string(what) + " (";
    for (auto e : s) t += std::to_string(e) + ",";
    t += ") -> (";
    for (auto e : o) t += std::to_string(e) + ",";
    return t + ") dev" + std::to_string(dev);
}

enum Kind { kSum, kMax, kMin, kProd };

template <class T, class O>
void check_reduce(Kind kind, const std::vector<int64_t>& shape, const std::vector<int>& perm, unsigned reduce_mask,
                  int dev) {
    std::vector<int64_t> oshape = shape;
    for (size_t d = 0; d < shape.size(); ++d)
        if (reduce_mask >> d & 1u) oshape[d] = 1;
    const char* names[] = {"sum", "max", "min", "prod"};
    const std::string t = shape_tag(names[kind], shape, oshape, dev) + " " + gc::dtype_name(dtype_of<T>()) + "->" +
                          gc::dtype_name(dtype_of<O>());
    std::vector<T> xb = random_vec<T>(numel(shape), kind == kMax || kind == kMin);
    if (kind == kProd)  // products of a few hundred values stay finite (and inside int32)
        for (auto& e : xb) e = T(std::is_floating_point_v<T> ? 1.0 + 0.01 * double(int64_t(rng() % 21) - 10)
                                                              : double(int64_t(rng() % 8 == 0 ? -1 : 1)));
    const gc::ArrayView x = strided(xb, shape, perm);
    auto call = [&](auto ns_tag, std::vector<O>& out) {
        const gc::ArrayView o = view(out, oshape);
        using NS = decltype(ns_tag);
        if (kind == kSum) NS::sum(x, o);
        else if (kind == kMax) NS::max(x, o);
        else if (kind == kMin) NS::min(x, o);
        else NS::prod(x, o);
    };
    struct Cpu {
        static void sum(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cpu::reduce_sum(a, b); }
        static void max(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cpu::reduce_max(a, b); }
        static void min(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cpu::reduce_min(a, b); }
        static void prod(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cpu::reduce_prod(a, b); }
    };
    struct Cuda {
        static void sum(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cuda::reduce_sum(a, b); }
        static void max(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cuda::reduce_max(a, b); }
        static void min(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cuda::reduce_min(a, b); }
        static void prod(const gc::ArrayView& a, const gc::ArrayView& b) { gc::cuda::reduce_prod(a, b); }
    };
    std::vector<O> want(numel(oshape));
    call(Cpu{}, want);
    gcsim::device = dev;
    auto [got] = run_both_orders(t, [&] {
        std::vector<O> out(numel(oshape), O(77));
        call(Cuda{}, out);
        return std::make_tuple(out);
    });
    if (std::is_floating_point_v<O> && (kind == kSum || kind == kProd))
        expect_close(t, got, want, kind == kProd ? 1e-5 : tol_of<O>() * 0.01);  // order differs; double accumulators
    else
        expect_equal(t, got, want);
}

template <class T>
void check_lastdim(const std::vector<int64_t>& shape, int dev) {
    const int64_t cols = shape.back(), rows = numel(shape) / std::max<int64_t>(cols, 1);
    std::vector<int64_t> oshape(shape.begin(), shape.end() - 1);
    const std::string t = shape_tag("arg/cumsum", shape, oshape, dev) + " " + gc::dtype_name(dtype_of<T>());
    std::vector<T> x = random_vec<T>(numel(shape), true);
    using S = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;  // cumsum's output
    std::vector<int64_t> amax(rows), amin(rows);
    std::vector<S> cs(numel(shape));
    gc::cpu::argmax_lastdim(view(x, shape), view(amax, oshape));
    gc::cpu::argmin_lastdim(view(x, shape), view(amin, oshape));
    gc::cpu::cumsum_lastdim(view(x, shape), view(cs, shape));
    gcsim::device = dev;
    auto [gmax, gmin, gcs] = run_both_orders(t, [&] {
        std::vector<int64_t> a(rows, -5), b(rows, -5);
        std::vector<S> c(numel(shape), S(99));
        gc::cuda::argmax_lastdim(view(x, shape), view(a, oshape));
        gc::cuda::argmin_lastdim(view(x, shape), view(b, oshape));
        gc::cuda::cumsum_lastdim(view(x, shape), view(c, shape));
        return std::make_tuple(a, b, c);
    });
    expect_equal(t + " argmax", gmax, amax);
    expect_equal(t + " argmin", gmin, amin);
    expect_equal(t + " cumsum", gcs, cs);
}

template <class T, class O = T>
void check_all_kinds(const std::vector<int64_t>& shape, const std::vector<int>& perm, unsigned mask, int dev) {
    check_reduce<T, O>(kSum, shape, perm, mask, dev);
    if constexpr (std::is_same_v<T, O>) {
        check_reduce<T, T>(kMax, shape, perm, mask, dev);
        check_reduce<T, T>(kMin, shape, perm, mask, dev);
        check_reduce<T, T>(kProd, shape, perm, mask, dev);
    }
}

void check_shape(const std::vector<int64_t>& shape, unsigned mask, int dev) {
    std::vector<int> perm(shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int(i);
    if (rng() % 2) std::shuffle(perm.begin(), perm.end(), rng);
    check_all_kinds<float>(shape, perm, mask, dev);
    check_all_kinds<double>(shape, perm, mask, 1 - dev);
    check_reduce<float, double>(kSum, shape, perm, mask, dev);
    check_all_kinds<int32_t, int64_t>(shape, perm, mask, 1 - dev);
    check_all_kinds<int64_t>(shape, perm, mask, dev);
    check_reduce<int32_t, int32_t>(kMax, shape, perm, mask, dev);
    check_reduce<uint8_t, uint8_t>(kMax, shape, perm, mask, 1 - dev);  // bool
    check_reduce<uint8_t, uint8_t>(kMin, shape, perm, mask, dev);
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 100;
    long cases = 0;
    struct Fixed {
        std::vector<int64_t> shape;
        unsigned mask;
    };
    const std::vector<Fixed> fixed = {
        {{7}, 1},                   // full reduction, a warp
        {{5000}, 1},                // block per output
        {{3, 4700}, 2},             // block per output, three rows
        {{70001}, 1},               // split partials + finish (3 splits)
        {{2, 66000}, 2},            // split partials, two outputs
        {{3, 1200}, 1},             // outputs contiguous in x: thread per output
        {{4, 300, 5}, 1},           // thread per output with an inner reduced... outer axis only
        {{600, 3}, 2},              // 600 outputs: warps loop on the 1-SM device
        {{2, 3, 4, 5}, 0b1010},     // two reduced axes apart
        {{2, 0, 3}, 0b100},         // empty input, non-empty output: the fill
        {{0, 3}, 1},
        {{1, 1, 1}, 0b111},
        {{6, 1, 5}, 0b010},         // a size-1 axis "reduced": nothing reduced
    };
    for (size_t i = 0; i < fixed.size(); ++i, ++cases) {
        for (int dev : {0, 1}) {
            std::vector<int> perm(fixed[i].shape.size());
            for (size_t k = 0; k < perm.size(); ++k) perm[k] = int(k);
            const bool nonempty = numel(fixed[i].shape) > 0;
            check_reduce<float, float>(kSum, fixed[i].shape, perm, fixed[i].mask, dev);
            check_reduce<double, double>(kSum, fixed[i].shape, perm, fixed[i].mask, dev);
            check_reduce<int64_t, int64_t>(kSum, fixed[i].shape, perm, fixed[i].mask, dev);
            if (nonempty) {
                check_reduce<float, float>(kMax, fixed[i].shape, perm, fixed[i].mask, dev);
                check_reduce<double, double>(kMin, fixed[i].shape, perm, fixed[i].mask, dev);
                check_reduce<int32_t, int32_t>(kMax, fixed[i].shape, perm, fixed[i].mask, dev);
            }
            check_reduce<double, double>(kProd, fixed[i].shape, perm, fixed[i].mask, dev);
        }
    }
    for (int i = 0; i < n_random; ++i, ++cases) {
        std::vector<int64_t> shape(size_t(randint(1, 4)));
        for (auto& s : shape) s = rng() % 10 == 0 ? 1 : randint(1, 9);
        unsigned mask = unsigned(rng()) & ((1u << shape.size()) - 1);
        if (mask == 0) mask = 1u << (rng() % shape.size());
        check_shape(shape, mask, int(i % 2));
    }
    for (int i = 0; i < n_random / 2; ++i, ++cases) {
        std::vector<int64_t> shape(size_t(randint(1, 3)));
        for (auto& s : shape) s = randint(1, 7);
        shape.back() = rng() % 4 == 0 ? randint(33, 300) : randint(1, 40);
        check_lastdim<float>(shape, i % 2);
        check_lastdim<double>(shape, 1 - i % 2);
        check_lastdim<int32_t>(shape, i % 2);
        check_lastdim<int64_t>(shape, 1 - i % 2);
    }
    return finish("reduce", cases);
}
