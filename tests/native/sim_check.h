// Shared helpers of the simulated-kernel checks (*_cuda_sim.cpp): contiguous views over host vectors,
// random data, exact and tolerant comparisons that print the first mismatch, and a run of the simulated
// CUDA entry point under two thread orders (index order and shuffled) whose outputs must agree bit for bit:
// a kernel racing between barriers, or reading memory it never wrote, shows up as a difference.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>
#include "common.h"

namespace simcheck {
inline long failures = 0;
inline std::mt19937_64 rng(12345);

template <class T>
gc::DType dtype_of() {
    if (std::is_same_v<T, float>) return gc::DType::Float32;
    if (std::is_same_v<T, double>) return gc::DType::Float64;
    if (std::is_same_v<T, int32_t>) return gc::DType::Int32;
    if (std::is_same_v<T, int64_t>) return gc::DType::Int64;
    return gc::DType::Bool;  // bool, or uint8_t standing in for it (std::vector<bool> has no data())
}

template <class T>
gc::ArrayView view(std::vector<T>& v, std::vector<int64_t> shape) {
    gc::ArrayView a;
    a.data = v.data();
    a.dtype = dtype_of<T>();
    a.ndim = int(shape.size());
    int64_t s = 1;
    for (int d = a.ndim - 1; d >= 0; --d) {
        a.shape[d] = shape[d];
        a.strides[d] = s;
        s *= shape[d];
    }
    return a;
}

// `shape` stored in the memory order `perm` (perm[0] outermost), so its strides are permuted.
template <class T>
gc::ArrayView strided(std::vector<T>& buf, const std::vector<int64_t>& shape, const std::vector<int>& perm) {
    gc::ArrayView a = view(buf, shape);
    int64_t s = 1;
    for (int i = int(perm.size()) - 1; i >= 0; --i) {
        a.strides[perm[i]] = s;
        s *= shape[perm[i]];
    }
    return a;
}

inline int64_t numel(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (auto e : s) n *= e;
    return n;
}

inline int64_t randint(int64_t lo, int64_t hi) {  // inclusive
    return lo + int64_t(rng() % uint64_t(hi - lo + 1));
}

// Normal values, with a few ties, infinities and NaNs when `specials`.
template <class T>
std::vector<T> random_vec(int64_t n, bool specials = false) {
    std::normal_distribution<double> nd;
    std::vector<T> v(size_t(std::max<int64_t>(n, 0)));
    for (auto& e : v) {
        const int r = int(rng() % 50);
        if (std::is_floating_point_v<T> && specials && r == 0) e = T(NAN);
        else if (std::is_floating_point_v<T> && specials && r == 1) e = T(-INFINITY);
        else if (specials && r < 8) e = T(1);
        else if (std::is_floating_point_v<T>) e = T(nd(rng));
        else if (std::is_same_v<T, bool> || std::is_same_v<T, uint8_t>) e = T(rng() & 1);  // uint8_t: bool storage
        else e = T(int64_t(rng() % 200) - 100);
    }
    return v;
}

template <class T>
bool same_bits(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (a != a && b != b) return true;
    }
    return std::memcmp(&a, &b, sizeof(T)) == 0 || a == b;  // +0 and -0 count as one
}

template <class T>
void expect_equal(const std::string& what, const std::vector<T>& got, const std::vector<T>& want) {
    if (got.size() != want.size()) {
        failures++;
        std::printf("FAIL %s: size %zu, want %zu\n", what.c_str(), got.size(), want.size());
        return;
    }
    for (size_t i = 0; i < got.size(); ++i)
        if (!same_bits(got[i], want[i])) {
            failures++;
            std::printf("FAIL %s: index %zu got %.17g want %.17g\n", what.c_str(), i, double(got[i]),
                        double(want[i]));
            return;
        }
}

template <class T>
void expect_close(const std::string& what, const std::vector<T>& got, const std::vector<T>& want, double tol) {
    if (got.size() != want.size()) {
        failures++;
        std::printf("FAIL %s: size %zu, want %zu\n", what.c_str(), got.size(), want.size());
        return;
    }
    for (size_t i = 0; i < got.size(); ++i) {
        const double g = double(got[i]), w = double(want[i]);
        if (std::isnan(g) && std::isnan(w)) continue;
        if (g == w) continue;  // equal infinities
        if (!(std::fabs(g - w) <= tol * (1.0 + std::fabs(w)))) {
            failures++;
            std::printf("FAIL %s: index %zu got %.17g want %.17g (tol %.3g)\n", what.c_str(), i, g, w, tol);
            return;
        }
    }
}

template <class T>
double tol_of() {
    return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}

template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Runs fn (which writes its outputs from scratch and returns them as a tuple of vectors) in index order
// and then shuffled: the outputs must agree byte for byte, or the kernels race. Returns the first run's.
template <class F>
auto run_both_orders(const std::string& what, F&& fn) {
    gcsim::order = 0;
    auto first = fn();
    gcsim::order = 2;
    gcsim::shuffle_seed++;
    auto second = fn();
    gcsim::order = 0;
    bool same = true;
    std::apply([&](auto&... a) { std::apply([&](auto&... b) { same = (same_bytes(a, b) && ...); }, second); },
               first);
    if (!same) {
        failures++;
        std::printf("FAIL %s: the result depends on the order threads run in (a race)\n", what.c_str());
    }
    return first;
}

// Prints the simulator's protocol errors and the summary line; the process's exit status.
inline int finish(const char* name, long cases) {
    for (const auto& e : gcsim::errors) std::printf("FAIL %s\n", e.c_str());
    failures += long(gcsim::errors.size());
    std::printf("%s: %zu __shared__ variables watched\n", name, gcsim::shared_regions().size());
    std::printf("%s: %ld cases, %ld launches, %ld failures\n", name, cases, gcsim::launches, failures);
    return failures ? 1 : 0;
}
}  // namespace simcheck
