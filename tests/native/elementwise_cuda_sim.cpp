// Runs csrc/elementwise_cuda.cu on the host (tests/native/cuda_host_sim.h): unary and binary ops on the
// vectorised contiguous path (16-byte packs, tails shorter than a pack), the scalar contiguous path
// (misaligned views), the strided path (broadcast operands, permuted outputs), comparisons and casts, against
// the CPU twins (csrc/elementwise_cpu.cpp, linked in) on a 132-SM and a 1-SM device, in two thread orders.
// Built and run by tests/test_elementwise_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "elementwise_cuda.sim.cpp"  // csrc/elementwise_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

std::string shape_str(const std::vector<int64_t>& s) {
    std::string t = "(";
    for (auto e : s) t += std::to_string(e) + ",";
    return t + ")";
}

// A shape that broadcasts to `os`: size-1 dims, and maybe fewer leading dims.
std::vector<int64_t> broadcast_shape(const std::vector<int64_t>& os) {
    std::vector<int64_t> s = os;
    for (auto& e : s)
        if (rng() % 3 == 0) e = 1;
    const size_t drop = rng() % 2 ? size_t(rng() % (s.size() + 1)) : 0;
    return std::vector<int64_t>(s.begin() + drop, s.end());
}

// Operands: `shift` elements into their buffers (a shift of 1 defeats the 16-byte vector path).
// bool operands live in uint8_t storage (std::vector<bool> has no data()).
template <class T>
struct Operand {
    using S = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
    std::vector<S> buf;
    gc::ArrayView v;
    Operand(const std::vector<int64_t>& shape, int shift, bool positive = false) {
        buf = random_vec<S>(numel(shape) + shift);
        if (positive)
            for (auto& e : buf) e = S(std::fabs(double(e)) + 1);
        if constexpr (std::is_same_v<T, bool>)
            for (auto& e : buf) e = S(e & 1);
        v = view(buf, shape);
        v.dtype = dtype_of<T>();
        v.data = buf.data() + shift;
    }
};

template <class Op, class T>
void check_binary(const char* name, const std::vector<int64_t>& os, bool broadcast, int shift, bool perm_out,
                  int dev) {
    const auto as = broadcast ? broadcast_shape(os) : os, bs = broadcast ? broadcast_shape(os) : os;
    const std::string t = std::string(name) + " " + gc::dtype_name(dtype_of<T>()) + " " + shape_str(as) + " " +
                          shape_str(bs) + " -> " + shape_str(os) + " shift " + std::to_string(shift) +
                          (perm_out ? " permuted out" : "") + " dev" + std::to_string(dev);
    Operand<T> a(as, shift), b(bs, shift, std::is_integral_v<T>);  // integer division by a positive value
    std::vector<int> perm(os.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int(perm.size() - 1 - i);
    std::vector<int> ident(os.size());
    for (size_t i = 0; i < ident.size(); ++i) ident[i] = int(i);
    std::vector<T> want(numel(os) + shift, T(3));  // the element before a shifted view stays 3 in both
    gc::ArrayView wv = strided(want, os, perm_out ? perm : ident);
    wv.data = want.data() + shift;
    gc::cpu::binary<Op>(a.v, b.v, wv);
    gcsim::device = dev;
    auto [got] = run_both_orders(t, [&] {
        std::vector<T> out(numel(os) + shift, T(3));
        gc::ArrayView ov = strided(out, os, perm_out ? perm : ident);
        ov.data = out.data() + shift;
        gc::cuda::binary<Op>(a.v, b.v, ov);
        return std::make_tuple(out);
    });
    expect_equal(t, got, want);
}

template <class Op, class T>
void check_unary(const char* name, const std::vector<int64_t>& os, int shift, bool perm_in, int dev) {
    const std::string t = std::string(name) + " " + gc::dtype_name(dtype_of<T>()) + " " + shape_str(os) +
                          " shift " + std::to_string(shift) + (perm_in ? " permuted in" : "") + " dev" +
                          std::to_string(dev);
    Operand<T> x(os, shift);
    if (perm_in) {
        std::vector<int> perm(os.size());
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = int(perm.size() - 1 - i);
        void* d = x.v.data;
        x.v = strided(x.buf, os, perm);
        x.v.data = d;
    }
    std::vector<T> want(numel(os));
    gc::cpu::unary<Op>(x.v, view(want, os));
    gcsim::device = dev;
    auto [got] = run_both_orders(t, [&] {
        std::vector<T> out(numel(os), T(3));
        gc::cuda::unary<Op>(x.v, view(out, os));
        return std::make_tuple(out);
    });
    expect_equal(t, got, want);
}

template <class In, class Out>
void check_cast(const std::vector<int64_t>& os, int dev) {
    const std::string t = std::string("cast ") + gc::dtype_name(dtype_of<In>()) + " -> " +
                          gc::dtype_name(dtype_of<Out>()) + " " + shape_str(os);
    Operand<In> x(broadcast_shape(os), 0);
    if (!std::is_same_v<In, bool>)
        for (auto& e : x.buf) e = typename Operand<In>::S(double(e) * 7);
    std::vector<uint8_t> want(numel(os) * sizeof(Out)), got(want.size());
    gc::ArrayView wv = view(want, os), gv = view(got, os);
    wv.dtype = gv.dtype = dtype_of<Out>();
    for (int d = 0; d < wv.ndim; ++d) wv.strides[d] = gv.strides[d];
    gc::cpu::cast(x.v, wv);
    gcsim::device = dev;
    gc::cuda::cast(x.v, gv);
    expect_equal(t, got, want);
}

template <class Op>
void check_compare(const char* name, const std::vector<int64_t>& os, int dev) {
    const auto as = broadcast_shape(os), bs = broadcast_shape(os);
    Operand<float> a(as, 0), b(bs, 0);
    for (auto& e : b.buf)
        if (rng() % 3 == 0) e = a.buf[rng() % a.buf.size()];  // ties
    std::vector<uint8_t> want(numel(os)), got(numel(os), 7);
    gc::ArrayView wv = view(want, os), gv = view(got, os);
    wv.dtype = gv.dtype = gc::DType::Bool;
    gc::cpu::compare<Op>(a.v, b.v, wv);
    gcsim::device = dev;
    gc::cuda::compare<Op>(a.v, b.v, gv);
    expect_equal(std::string(name) + " " + shape_str(as) + " " + shape_str(bs), got, want);
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 40;
    long cases = 0;
    for (int64_t n : {1, 3, 4, 5, 8, 17, 1000, 9001}) {  // pack tails; 9001 loops the 1-SM grid
        for (int shift : {0, 1}) {
            const int dev = n == 9001 ? 1 : int(n % 2);
            check_binary<gc::Add, float>("add", {n}, false, shift, false, dev);
            check_binary<gc::Mul, double>("mul", {n}, false, shift, false, dev);
            check_binary<gc::Div, int32_t>("div", {n}, false, shift, false, dev);
            check_binary<gc::Sub, int64_t>("sub", {n}, false, shift, false, dev);
            check_unary<gc::Exp, float>("exp", {n}, shift, false, dev);
            check_unary<gc::Neg, double>("neg", {n}, shift, false, dev);
            check_unary<gc::Abs, int32_t>("abs", {n}, shift, false, dev);
            ++cases;
        }
    }
    for (int i = 0; i < n_random; ++i, ++cases) {
        std::vector<int64_t> s(size_t(randint(1, 4)));
        for (auto& e : s) e = randint(1, 7);
        const int dev = i % 2;
        check_binary<gc::Add, float>("add", s, true, int(rng() % 2), rng() % 2, dev);
        check_binary<gc::Maximum, double>("maximum", s, true, 0, rng() % 2, 1 - dev);
        check_binary<gc::Pow, float>("pow", s, true, 0, false, dev);
        check_binary<gc::Mul, int64_t>("mul", s, true, int(rng() % 2), rng() % 2, dev);
        check_unary<gc::Relu, float>("relu", s, int(rng() % 2), rng() % 2, dev);
        check_unary<gc::Tanh, double>("tanh", s, 0, rng() % 2, 1 - dev);
        check_compare<gc::Lt>("lt", s, dev);
        check_compare<gc::Eq>("eq", s, 1 - dev);
        check_cast<float, int32_t>(s, dev);
        check_cast<int64_t, double>(s, 1 - dev);
        check_cast<double, bool>(s, dev);
        check_cast<bool, float>(s, 1 - dev);
    }
    return finish("elementwise", cases);
}
