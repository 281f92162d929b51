// Runs csrc/matmul_cuda.cu on the host (tests/native/cuda_host_sim.h): the naive (16x16 blocks) and tiled
// (64x64 shared tiles, 4x4 per thread) variants through the host code's grid choice, over batched and
// broadcast (stride-0) operands, transposed strides, K = 0, sizes on each side of the tile edges, against
// a plain double loop; the tiled variant's shared tiles are racechecked. Built and run by
// tests/test_matmul_cuda_sim.py.
#define GC_WITH_CUDA 1
#include "cuda_host_sim.h"
#include "matmul_cuda.sim.cpp"  // csrc/matmul_cuda.cu through cu2host.py
#include "cuda_host_sim_runtime.h"
#include "sim_check.h"

using namespace simcheck;

template <class T>
void check(const std::vector<int64_t>& batch, int64_t M, int64_t K, int64_t N, bool ta, bool tb, bool bcast_b) {
    const int nb = int(batch.size());
    std::vector<int64_t> as = batch, bs = batch, os = batch;
    as.insert(as.end(), {M, K});
    bs.insert(bs.end(), {K, N});
    os.insert(os.end(), {M, N});
    const int64_t nbatch = numel(batch), b_items = bcast_b ? 1 : nbatch;
    std::vector<T> a = random_vec<T>(numel(as)), b = random_vec<T>(b_items * K * N);
    std::vector<int> pa(as.size()), pb(bs.size());
    for (size_t i = 0; i < pa.size(); ++i) pa[i] = pb[i] = int(i);
    if (ta) std::swap(pa[nb], pa[nb + 1]);  // a stored as (..., K, M): column stride != 1
    if (tb) std::swap(pb[nb], pb[nb + 1]);
    gc::ArrayView av = strided(a, as, pa);
    std::vector<int64_t> bs_store = bs;
    if (bcast_b)
        for (int d = 0; d < nb; ++d) bs_store[d] = 1;
    gc::ArrayView bv = strided(b, bs_store, pb);
    for (int d = 0; d < nb; ++d) {
        bv.shape[d] = bs[d];
        if (bcast_b) bv.strides[d] = 0;  // the caller's broadcast form
    }
    std::vector<double> want(numel(os), 0.0);
    for (int64_t z = 0; z < nbatch; ++z) {
        int64_t oa = 0, ob = 0, r = z;
        for (int d = nb - 1; d >= 0; --d) {
            oa += (r % batch[d]) * av.strides[d];
            ob += (r % batch[d]) * bv.strides[d];
            r /= batch[d];
        }
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
                double s = 0;
                for (int64_t k = 0; k < K; ++k)
                    s += double(a[oa + i * av.strides[nb] + k * av.strides[nb + 1]]) *
                         double(b[ob + k * bv.strides[nb] + j * bv.strides[nb + 1]]);
                want[(z * M + i) * N + j] = s;
            }
    }
    for (int variant : {0, 1}) {
        gc::cuda::set_matmul_variant(variant);
        std::string t = "matmul v" + std::to_string(variant) + " " + gc::dtype_name(dtype_of<T>()) + " batch " +
                        std::to_string(nbatch) + " " + std::to_string(M) + "x" + std::to_string(K) + " @ " +
                        std::to_string(K) + "x" + std::to_string(N) + (ta ? " a^T" : "") + (tb ? " b^T" : "") +
                        (bcast_b ? " b broadcast" : "");
        auto [got] = run_both_orders(t, [&] {
            std::vector<T> out(numel(os), T(NAN));
            gc::cuda::matmul(av, bv, view(out, os));
            return std::make_tuple(out);
        });
        std::vector<T> wantT(want.begin(), want.end());
        expect_close(t, got, wantT, tol_of<T>() * std::sqrt(double(std::max<int64_t>(K, 1))));
    }
}

int main(int argc, char** argv) {
    const int n_random = argc > 1 ? std::atoi(argv[1]) : 20;
    long cases = 0;
    check<float>({}, 1, 1, 1, false, false, false);
    check<double>({}, 64, 16, 64, false, false, false);      // exactly one tile and one k slice
    check<float>({}, 65, 17, 130, true, false, false);       // one past each edge
    check<double>({2, 3}, 7, 33, 5, false, true, true);      // batched, b broadcast
    check<float>({3}, 5, 0, 4, false, false, false);         // K = 0: zeros
    check<float>({}, 130, 40, 3, true, true, false);
    cases += 6;
    for (int i = 0; i < n_random; ++i, ++cases) {
        std::vector<int64_t> batch(size_t(randint(0, 2)));
        for (auto& e : batch) e = randint(1, 3);
        const int64_t M = rng() % 4 == 0 ? randint(60, 140) : randint(1, 20);
        const int64_t N = rng() % 4 == 0 ? randint(60, 140) : randint(1, 20);
        const int64_t K = randint(1, 40);
        if (i % 2) check<float>(batch, M, K, N, rng() & 1, rng() & 1, !batch.empty() && rng() % 2);
        else check<double>(batch, M, K, N, rng() & 1, rng() & 1, !batch.empty() && rng() % 2);
    }
    return finish("matmul", cases);
}
