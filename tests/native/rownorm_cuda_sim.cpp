// Runs csrc/rownorm_cuda.cu on the host (tests/native/cuda_host_sim.h): layer-norm and log-softmax rows,
// forward and backward (one block per row, block_reduce's warp shuffles and reused shared slots) against
// the CPU twins (csrc/rownorm_cpu.cpp, linked in) for row lengths around the warp and block sizes, -inf and
// NaN rows, each run in two thread orders. Built and run by tests/test_rownorm_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "rownorm_cuda.sim.cpp"  // csrc/rownorm_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

template <class T>
void check(int64_t r, int64_t d, bool specials) {
    const std::string t = std::string(gc::dtype_name(dtype_of<T>())) + " rows " + std::to_string(r) + " x " +
                          std::to_string(d) + (specials ? " with inf/nan" : "");
    const std::vector<int64_t> s{r, d}, rs{r};
    std::vector<T> x = random_vec<T>(r * d, specials), g = random_vec<T>(r * d);
    if (specials && r > 1)
        for (int64_t j = 0; j < d; ++j) x[j] = T(-INFINITY);  // an all -inf row
    std::vector<T> y_c(r * d), rstd_c(r), dx_c(r * d), ls_c(r * d), dls_c(r * d);
    gc::cpu::layernorm_fwd(view(x, s), view(y_c, s), view(rstd_c, rs), 1e-5);
    gc::cpu::layernorm_bwd(view(g, s), view(y_c, s), view(rstd_c, rs), view(dx_c, s));
    gc::cpu::log_softmax_fwd(view(x, s), view(ls_c, s));
    gc::cpu::log_softmax_bwd(view(g, s), view(ls_c, s), view(dls_c, s));
    auto [y, rstd, dx, ls, dls] = run_both_orders(t, [&] {
        std::vector<T> y(r * d, T(NAN)), rstd(r, T(NAN)), dx(r * d, T(NAN)), ls(r * d, T(NAN)), dls(r * d, T(NAN));
        gc::cuda::layernorm_fwd(view(x, s), view(y, s), view(rstd, rs), 1e-5);
        gc::cuda::layernorm_bwd(view(g, s), view(y_c, s), view(rstd_c, rs), view(dx, s));
        gc::cuda::log_softmax_fwd(view(x, s), view(ls, s));
        gc::cuda::log_softmax_bwd(view(g, s), view(ls_c, s), view(dls, s));
        return std::make_tuple(y, rstd, dx, ls, dls);
    });
    const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-10;  // sums in another order, float exp
    if (!specials) {
        expect_close(t + " layer_norm", y, y_c, tol);
        expect_close(t + " layer_norm rstd", rstd, rstd_c, tol);
        expect_close(t + " layer_norm backward", dx, dx_c, tol);
    }
    expect_close(t + " log_softmax", ls, ls_c, tol);
    expect_close(t + " log_softmax backward", dls, dls_c, tol);
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 40;
    long cases = 0;
    for (int64_t d : {1, 2, 31, 32, 33, 255, 256, 257, 600}) {
        check<float>(randint(1, 4), d, false);
        check<double>(randint(1, 4), d, false);
        check<float>(3, d, true);
        check<double>(2, d, true);
        cases += 4;
    }
    for (int i = 0; i < n_random; ++i, ++cases) {
        gcsim::device = i % 2;
        check<float>(randint(1, 9), randint(1, 100), false);
        check<double>(randint(1, 9), randint(1, 100), i % 3 == 0);
    }
    return finish("rownorm", cases);
}
