// CUDA float16/bfloat16 matmul on tensor cores (WMMA 16x16x16, float accumulation, sm_80+), rounded once
// to the half type. The "matmul" binding sends half operands here instead of through float32 twins; the CPU
// twin of "matmul" computes the same product in float32 and rounds once.
// Tiles: a 128-thread block (4 warps, 2x2) computes 64x64 of C; each warp 32x32 as 2x2 fragments; K goes in
// steps of 32 through shared memory. Operands are read through (row, column) strides and bounds-checked
// into shared memory (zero padding), so transposed views and ragged edges need no copy; the batch goes on
// blockIdx.z as in matmul_cuda.cu (stride 0 over broadcast batch dims through MatmulBatch).
// Compiled, not yet run on a GPU.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>
#include <algorithm>
#include "cuda_common.h"
#include "half.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

namespace wmma = nvcuda::wmma;

constexpr int kBM = 64, kBN = 64, kBK = 32, kWarps = 4;
constexpr int kLdA = kBK + 8, kLdB = kBN + 8, kLdC = kBN + 4;  // padded rows (multiples of 8 / 4 for WMMA)

struct Strides2 {
    int64_t rs, cs;
};

// Storage type -> the CUDA type WMMA reads (same 16-bit layout).
template <class H>
struct WmmaType;
template <>
struct WmmaType<Half> {
    using type = __half;
};
template <>
struct WmmaType<BFloat16> {
    using type = __nv_bfloat16;
};

template <class H>
__global__ void __launch_bounds__(kWarps * 32)
    matmul_wmma(const uint16_t* A, Strides2 sa, const uint16_t* B, Strides2 sb, H* C, int M, int N, int K,
                MatmulBatch batch, int64_t z0) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using CT = typename WmmaType<H>::type;
    __shared__ __align__(32) uint16_t As[kBM * kLdA];
    __shared__ __align__(32) uint16_t Bs[kBK * kLdB];
    __shared__ __align__(32) float Cs[kBM * kLdC];

    const int64_t z = z0 + blockIdx.z;
    int64_t oa, ob;
    batch.offsets(z, oa, ob);
    A += oa;
    B += ob;
    C += z * int64_t(M) * N;
    const int row0 = blockIdx.x * kBM;
    const int warp = threadIdx.x / 32, wr = warp / 2, wc = warp % 2;

    for (int64_t col_tile = blockIdx.y; col_tile * kBN < N; col_tile += gridDim.y) {
        const int col0 = int(col_tile * kBN);
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

        for (int k0 = 0; k0 < K; k0 += kBK) {
            // Global -> shared, zero outside the matrices (16 elements of each tile per thread).
            for (int e = threadIdx.x; e < kBM * kBK; e += blockDim.x) {
                const int r = e / kBK, k = e % kBK, gr = row0 + r, gk = k0 + k;
                As[r * kLdA + k] = (gr < M && gk < K) ? A[gr * sa.rs + gk * sa.cs] : uint16_t(0);
            }
            for (int e = threadIdx.x; e < kBK * kBN; e += blockDim.x) {
                const int k = e / kBN, c = e % kBN, gk = k0 + k, gc_ = col0 + c;
                Bs[k * kLdB + c] = (gk < K && gc_ < N) ? B[gk * sb.rs + gc_ * sb.cs] : uint16_t(0);
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < kBK; kk += 16) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, CT, wmma::row_major> fa[2];
                wmma::fragment<wmma::matrix_b, 16, 16, 16, CT, wmma::row_major> fb[2];
#pragma unroll
                for (int i = 0; i < 2; ++i)
                    wmma::load_matrix_sync(fa[i], reinterpret_cast<const CT*>(As + (wr * 32 + i * 16) * kLdA + kk), kLdA);
#pragma unroll
                for (int j = 0; j < 2; ++j)
                    wmma::load_matrix_sync(fb[j], reinterpret_cast<const CT*>(Bs + kk * kLdB + wc * 32 + j * 16), kLdB);
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
            }
            __syncthreads();  // the next tile overwrites As/Bs
        }
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j)
                wmma::store_matrix_sync(Cs + (wr * 32 + i * 16) * kLdC + wc * 32 + j * 16, acc[i][j], kLdC,
                                        wmma::mem_row_major);
        __syncthreads();
        // Shared -> C, one rounding from the float accumulator to the half type.
        for (int e = threadIdx.x; e < kBM * kBN; e += blockDim.x) {
            const int r = e / kBN, c = e % kBN, gr = row0 + r, gc_ = col0 + c;
            if (gr < M && gc_ < N) C[int64_t(gr) * N + gc_] = from_float<H>(Cs[r * kLdC + c]);
        }
        __syncthreads();  // Cs is reused by the next column tile
    }
#endif
}

template <class H>
__global__ void fill_zero_half(H* p, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        p[i] = H{0};
}

template <class H>
void launch(const ArrayView& a, const ArrayView& b, const ArrayView& out, int M, int N, int K,
            const MatmulBatch& batch) {
    const int nd = a.ndim;
    Strides2 sa{a.strides[nd - 2], a.strides[nd - 1]}, sb{b.strides[nd - 2], b.strides[nd - 1]};
    if (K == 0) {
        const int64_t n = batch.count * M * N;
        fill_zero_half<H><<<grid_for(n), kThreads, 0, stream()>>>(out.ptr<H>(), n);
        return;
    }
    constexpr int64_t kMaxGridZ = 65535;
    for (int64_t z0 = 0; z0 < batch.count; z0 += kMaxGridZ) {
        const unsigned nz = unsigned(std::min<int64_t>(kMaxGridZ, batch.count - z0));
        const int64_t row_tiles = (int64_t(M) + kBM - 1) / kBM, col_tiles = (int64_t(N) + kBN - 1) / kBN;
        dim3 grid(unsigned(row_tiles), unsigned(std::min<int64_t>(col_tiles, 65535)), nz);
        matmul_wmma<H><<<grid, kWarps * 32, 0, stream()>>>(a.ptr<uint16_t>(), sa, b.ptr<uint16_t>(), sb,
                                                            out.ptr<H>(), M, N, K, batch, z0);
    }
}

}  // namespace

void matmul_half(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    check_matmul_args(a, b, out);
    GC_CHECK(a.dtype == DType::Float16 || a.dtype == DType::BFloat16, "matmul_half: float16 or bfloat16 operands");
    int device = 0, major = 0;
    GC_CUDA_CHECK(cudaGetDevice(&device));
    GC_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    GC_CHECK(major >= 8, "matmul: float16/bfloat16 tensor-core matmul needs compute capability 8.0 or newer");
    const int nd = a.ndim;
    GC_CHECK(a.shape[nd - 2] < (1LL << 31) && b.shape[nd - 1] < (1LL << 31) && a.shape[nd - 1] < (1LL << 31),
             "matmul: dimensions must be below 2^31");
    const int M = int(a.shape[nd - 2]), K = int(a.shape[nd - 1]), N = int(b.shape[nd - 1]);
    const MatmulBatch batch(a, b);
    if (M == 0 || N == 0 || batch.count == 0) return;
    if (a.dtype == DType::Float16) launch<Half>(a, b, out, M, N, K, batch);
    else launch<BFloat16>(a, b, out, M, N, K, batch);
    GC_LAUNCH_CHECK("matmul (tensor cores) kernel");
}

}  // namespace gc::cuda
