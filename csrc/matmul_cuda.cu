// CUDA matmul variants, numbered and selectable at run time (set_matmul_variant):
//   0: naive, one thread per output element (the reference every other variant is tested against)
//   1: shared-memory tiles (64x64x16) with 4x4 register blocking per thread
// Operands are read through (row, column) strides, so transposed views cost no copy.
// Row tiles go on gridDim.x (limit 2^31-1) and column tiles on gridDim.y, capped at 65535 and looped over,
// so no (M, N) below 2^31 exceeds a grid limit (row tiles on y failed for M > ~4M rows).
// Batched products ((..., M, K) @ (..., K, N)) put the batch on blockIdx.z (launched in chunks of
// 65535); each block finds its matrices through MatmulBatch (stride 0 over broadcast batch dims).
// Compiled, not yet run on a GPU (the grid layout, the batch and the current-stream launches).
#include <algorithm>
#include <atomic>
#include <type_traits>
#include "cuda_common.h"
#include "kernels.h"

namespace gc::cuda {

std::atomic<int> g_matmul_variant{1};

void set_matmul_variant(int v) {
    GC_CHECK(v == 0 || v == 1, "matmul variant must be 0 (naive) or 1 (tiled)");
    g_matmul_variant = v;
}
int matmul_variant() { return g_matmul_variant; }

namespace {

struct Operand {
    int64_t rs, cs;  // element strides between rows and between columns
};

template <class T>
__global__ void matmul_naive(const T* A, Operand a, const T* B, Operand b, T* C, int M, int N, int K,
                             MatmulBatch batch, int64_t z0) {
    const int64_t z = z0 + blockIdx.z;
    int64_t oa, ob;
    batch.offsets(z, oa, ob);
    A += oa;
    B += ob;
    C += z * M * N;
    // Rows from (blockIdx.x, threadIdx.y); columns from (blockIdx.y, threadIdx.x), so a warp writes a row run.
    int64_t row = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
    if (row >= M) return;
    for (int64_t col = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; col < N; col += int64_t(gridDim.y) * blockDim.x) {
        T acc = T(0);
        for (int k = 0; k < K; ++k) acc += A[row * a.rs + k * a.cs] * B[k * b.rs + col * b.cs];
        C[row * N + col] = acc;
    }
}

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;  // 256 threads, each a 4x4 micro-tile

template <class T>
__global__ void __launch_bounds__(256) matmul_tiled(const T* A, Operand a, const T* B, Operand b, T* C, int M, int N,
                                                    int K, MatmulBatch batch, int64_t z0) {
    {
        const int64_t z = z0 + blockIdx.z;
        int64_t oa, ob;
        batch.offsets(z, oa, ob);
        A += oa;
        B += ob;
        C += z * M * N;
    }
    __shared__ T As[BK][BM + 1];  // A tile stored k-major so a thread's 4 rows are one broadcast-free read
    __shared__ T Bs[BK][BN + 1];
    const int tx = threadIdx.x % (BN / TN), ty = threadIdx.x / (BN / TN);
    const int row0 = blockIdx.x * BM;
    // The loop bound is the same for the whole block, so the __syncthreads inside stay uniform.
    for (int col_tile = blockIdx.y; col_tile * BN < N; col_tile += gridDim.y) {  // body not re-indented
    const int col0 = col_tile * BN;
    T acc[TM][TN] = {};
    for (int k0 = 0; k0 < K; k0 += BK) {
        // 256 threads load the 64x16 A tile and the 16x64 B tile, 4 elements each, bounds-checked.
        for (int i = threadIdx.x; i < BM * BK; i += blockDim.x) {
            int r = i / BK, k = i % BK;
            int gr = row0 + r, gk = k0 + k;
            As[k][r] = (gr < M && gk < K) ? A[gr * a.rs + gk * a.cs] : T(0);
        }
        for (int i = threadIdx.x; i < BK * BN; i += blockDim.x) {
            int k = i / BN, c = i % BN;
            int gk = k0 + k, gc = col0 + c;
            Bs[k][c] = (gk < K && gc < N) ? B[gk * b.rs + gc * b.cs] : T(0);
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            T ra[TM], rb[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) ra[i] = As[k][ty * TM + i];
#pragma unroll
            for (int j = 0; j < TN; ++j) rb[j] = Bs[k][tx * TN + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        int r = row0 + ty * TM + i;
        if (r >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            int c = col0 + tx * TN + j;
            if (c < N) C[int64_t(r) * N + c] = acc[i][j];
        }
    }
    }  // col_tile
}

template <class T>
__global__ void fill_zero(T* p, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        p[i] = T(0);
}

}  // namespace

void matmul(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    check_matmul_args(a, b, out);
    const int nd = a.ndim;
    GC_CHECK(a.shape[nd - 2] < (1LL << 31) && b.shape[nd - 1] < (1LL << 31) && a.shape[nd - 1] < (1LL << 31),
             "matmul: dimensions must be below 2^31");
    const int M = int(a.shape[nd - 2]), K = int(a.shape[nd - 1]), N = int(b.shape[nd - 1]);
    const MatmulBatch batch(a, b);
    if (M == 0 || N == 0 || batch.count == 0) return;
    Operand oa{a.strides[nd - 2], a.strides[nd - 1]}, ob{b.strides[nd - 2], b.strides[nd - 1]};
    constexpr int64_t kMaxGridZ = 65535;
    dispatch_float(a.dtype, "matmul", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (K == 0) {
            const int64_t n = batch.count * M * N;
            fill_zero<T><<<grid_for(n), kThreads, 0, stream()>>>(out.ptr<T>(), n);
            return;
        }
        for (int64_t z0 = 0; z0 < batch.count; z0 += kMaxGridZ) {
            const unsigned nz = unsigned(std::min<int64_t>(kMaxGridZ, batch.count - z0));
            if (g_matmul_variant == 0) {
                // grid x: 16-row tiles, grid y: 16-column tiles (capped; the kernel loops over the rest).
                dim3 block(16, 16);
                dim3 grid(unsigned((int64_t(M) + 15) / 16), unsigned(std::min<int64_t>((int64_t(N) + 15) / 16, 65535)),
                          nz);
                matmul_naive<T><<<grid, block, 0, stream()>>>(a.ptr<T>(), oa, b.ptr<T>(), ob, out.ptr<T>(), M, N, K,
                                                              batch, z0);
            } else {
                const int64_t row_tiles = (int64_t(M) + BM - 1) / BM, col_tiles = (int64_t(N) + BN - 1) / BN;
                dim3 grid(unsigned(row_tiles), unsigned(std::min<int64_t>(col_tiles, 65535)), nz);
                matmul_tiled<T><<<grid, 256, 0, stream()>>>(a.ptr<T>(), oa, b.ptr<T>(), ob, out.ptr<T>(), M, N, K,
                                                            batch, z0);
            }
        }
    });
    GC_LAUNCH_CHECK("matmul kernel");
}

}  // namespace gc::cuda
