// Runs csrc/index_cuda.cu on the host (tests/native/cuda_host_sim.h): gather, scatter (set with distinct
// targets, add through atomics), where with broadcast operands, against the CPU twins (csrc/index_cpu.cpp,
// linked in) over ranks 0-4, every dim, index shapes smaller than their operands, permuted strides, and a
// 1-SM device whose grid-stride loops go round. Built and run by tests/test_index_cuda_sim.py.
#define GC_WITH_CUDA 1
#include <map>
#include "cuda_host_sim.h"
#include "index_cuda.sim.cpp"  // csrc/index_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

std::vector<int> random_perm(size_t n) {
    std::vector<int> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = int(i);
    if (rng() % 2) std::shuffle(p.begin(), p.end(), rng);
    return p;
}

std::string tag(const char* what, const std::vector<int64_t>& s, const std::vector<int64_t>& i, int dim, int dev) {
    std::string t = std::string(what) + " (";
    for (auto e : s) t += std::to_string(e) + ",";
    t += ") index (";
    for (auto e : i) t += std::to_string(e) + ",";
    return t + ") dim " + std::to_string(dim) + " dev" + std::to_string(dev);
}

// An index of shape `is` into extent `extent` along `dim`; distinct along each line when `distinct`.
std::vector<int64_t> make_index(const std::vector<int64_t>& is, int dim, int64_t extent, bool distinct) {
    std::vector<int64_t> idx(size_t(numel(is)));
    std::map<std::vector<int64_t>, std::vector<int64_t>> lines;
    for (int64_t l = 0; l < int64_t(idx.size()); ++l) {
        if (!distinct) {
            idx[l] = randint(0, extent - 1);
            continue;
        }
        std::vector<int64_t> key(is.size());
        int64_t r = l;
        for (int d = int(is.size()) - 1; d >= 0; --d) {
            key[d] = d == dim ? 0 : r % is[d];
            r /= is[d];
        }
        auto& line = lines[key];
        if (line.empty()) {
            for (int64_t k = 0; k < extent; ++k) line.push_back(k);
            std::shuffle(line.begin(), line.end(), rng);
        }
        idx[l] = line.back();
        line.pop_back();
    }
    return idx;
}

template <class T>
void check(const std::vector<int64_t>& xs, int dim, int dev) {
    const int nd = int(xs.size());
    std::vector<int64_t> is = xs;
    for (int d = 0; d < nd; ++d) is[d] = d == dim ? randint(1, xs[d]) : randint(std::min<int64_t>(1, xs[d]), xs[d]);
    const std::string t = tag("index", xs, is, dim, dev) + " " + gc::dtype_name(dtype_of<T>());
    const int64_t extent = nd == 0 ? 1 : xs[dim];
    gcsim::device = dev;
    // gather from x (permuted strides) into out of the index's shape
    {
        std::vector<T> x = random_vec<T>(numel(xs));
        const auto xv = strided(x, xs, random_perm(xs.size()));
        std::vector<int64_t> idx = make_index(is, dim, extent, false);
        std::vector<T> want(numel(is));
        gc::cpu::gather(xv, dim, view(idx, is), view(want, is));
        auto [got] = run_both_orders(t + " gather", [&] {
            std::vector<T> out(numel(is), T(7));
            gc::cuda::gather(xv, dim, view(idx, is), view(out, is));
            return std::make_tuple(out);
        });
        expect_equal(t + " gather", got, want);
    }
    // scatter src (as large as the operand) into out of x's shape, set and add
    for (bool acc : {false, true}) {
        std::vector<T> src = random_vec<T>(numel(xs)), base = random_vec<T>(numel(xs));
        std::vector<int64_t> idx = make_index(is, dim, extent, !acc);
        std::vector<T> want = base;
        gc::cpu::scatter(view(src, xs), dim, view(idx, is), view(want, xs), acc);
        auto once = [&] {
            std::vector<T> out = base;
            gc::cuda::scatter(view(src, xs), dim, view(idx, is), view(out, xs), acc);
            return std::make_tuple(out);
        };
        const std::string w = t + (acc ? " scatter_add" : " scatter");
        if (acc && std::is_floating_point_v<T>) {  // float atomics sum in any order
            expect_close(w, std::get<0>(once()), want, tol_of<T>());
        } else {
            auto [got] = run_both_orders(w, once);
            expect_equal(w, got, want);
        }
    }
}

template <class T>
void check_where(const std::vector<int64_t>& os, int dev) {
    auto bshape = [&] {  // a shape that broadcasts to os: size-1 dims, leading dims dropped
        std::vector<int64_t> s = os;
        for (auto& e : s)
            if (rng() % 3 == 0) e = 1;
        const size_t drop = size_t(rng() % (s.size() + 1));
        return std::vector<int64_t>(s.begin() + (rng() % 2 ? drop : 0), s.end());
    };
    const auto cs = bshape(), as = bshape(), bs = bshape();
    std::vector<uint8_t> craw(numel(cs));
    for (auto& e : craw) e = uint8_t(rng() & 1);
    std::vector<T> a = random_vec<T>(numel(as)), b = random_vec<T>(numel(bs)), want(numel(os));
    gc::ArrayView cv = view(craw, cs);
    cv.dtype = gc::DType::Bool;
    gc::cpu::where(cv, view(a, as), view(b, bs), view(want, os));
    gcsim::device = dev;
    auto [got] = run_both_orders("where", [&] {
        std::vector<T> out(numel(os), T(5));
        gc::cuda::where(cv, view(a, as), view(b, bs), view(out, os));
        return std::make_tuple(out);
    });
    expect_equal(tag("where", os, cs, -1, dev), got, want);
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 60;
    long cases = 0;
    check<float>({}, 0, 0);  // 0-d
    check<int64_t>({9000}, 0, 1);  // the 1-SM grid loops
    check<double>({50, 200}, 1, 1);
    check<float>({3, 1, 4}, 1, 0);
    cases += 4;
    for (int i = 0; i < n_random; ++i, ++cases) {
        std::vector<int64_t> s(size_t(randint(1, 4)));
        for (auto& e : s) e = randint(1, 6);
        const int dim = int(rng() % s.size()), dev = i % 2;
        check<float>(s, dim, dev);
        check<double>(s, dim, 1 - dev);
        check<int64_t>(s, dim, dev);
        check<int32_t>(s, dim, 1 - dev);
        check_where<float>(s, dev);
        check_where<int64_t>(s, 1 - dev);
    }
    return finish("index", cases);
}
