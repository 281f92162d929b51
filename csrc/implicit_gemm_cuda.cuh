// A block-tiled GEMM whose operands are index maps ("implicit GEMM"): the caller's problem type says how
// to fetch A[m, k], B[k, n] and where C[m, n] goes, so convolutions run as GEMMs without an im2col buffer.
// Same scheme as matmul_cuda.cu's tiled variant: BK = 16 slices of A and B staged in shared memory, 256
// threads, 16 accumulators per thread. Plain CUDA C++ with no runtime calls, so
// tests/native/conv_cuda_sim.cpp runs it on the host. Compiled, not yet run on a GPU.
#pragma once
#include <cstdint>
#include "common.h"

namespace gc::cuda::igemm {

constexpr int kBlockThreads = 256;  // 16 x 16 threads
constexpr int BK = 16;

// BM x BN outputs per block. Thread (tx, ty) = (tid % 16, tid / 16) owns the TM x TN block of rows
// tx * TM + i and columns ty * TN + j, so it reads its TM values of A and TN values of B per k with 16-byte
// shared-memory loads (two to four instructions for 16 multiply-adds instead of eight): a warp's A reads
// are 16 contiguous runs (conflict-free per quarter warp), its B reads two broadcast runs. Every shape has
// 16 accumulators per thread.
template <int BM_, int BN_>
struct Tile {
    static constexpr int BM = BM_, BN = BN_, TM = BM_ / 16, TN = BN_ / 16;
    static_assert(TM * TN == 16 && kBlockThreads % BM_ == 0 && kBlockThreads % BN_ == 0, "unsupported tile");
};

// How the 256 threads walk one operand's (ROWS x BK) slice when fetching it from global memory; a
// problem picks, per operand, the walk whose adjacent threads read adjacent addresses:
//   Rows: adjacent threads take adjacent rows at one k; each thread keeps one row and ROWS/16 k's, so it
//         decodes k once per element (the gather operands, contiguous along m).
//   Ks:   adjacent threads take adjacent k's of one row; each thread keeps one k and ROWS/16 rows, so it
//         decodes k once per slice (operands contiguous along k: weights, and backward-weight's both).
enum class Walk { Rows, Ks };

template <int ROWS, Walk W>
struct Walker {
    static constexpr int kPer = ROWS * BK / kBlockThreads;  // elements per thread per slice
    static constexpr int kRows = W == Walk::Rows ? 1 : kPer;  // distinct rows per thread
    static __device__ __forceinline__ int row(int tid, int j) {
        return W == Walk::Rows ? tid % ROWS : tid / BK + 16 * j;
    }
    static __device__ __forceinline__ int kk(int tid, int j) {
        return W == Walk::Rows ? tid / ROWS + (kBlockThreads / ROWS) * j : tid % BK;
    }
};

// dst = src[0, N) with the widest loads (16, 8 or 4 bytes) that N * sizeof(T) allows; src must be aligned
// to that width (the shared tiles are 16-byte aligned and their rows a multiple of 16 bytes long).
template <class T, int N>
__device__ __forceinline__ void load_run(T (&dst)[N], const T* src) {
    constexpr int kBytes = (N * sizeof(T)) % 16 == 0 ? 16 : (N * sizeof(T)) % 8 == 0 ? 8 : int(sizeof(T));
    constexpr int kPer = kBytes / int(sizeof(T));
    struct alignas(kBytes) Chunk {
        T v[kPer];
    };
    // The host simulation (tests/native/conv_cuda_sim.cpp) checks what a GPU would fault on.
#ifdef GC_IGEMM_CHECK_ALIGNMENT
    if (reinterpret_cast<uintptr_t>(src) % kBytes != 0) __builtin_trap();
#endif
#pragma unroll
    for (int i = 0; i < N; i += kPer) {
        const Chunk c = *reinterpret_cast<const Chunk*>(src + i);
#pragma unroll
        for (int q = 0; q < kPer; ++q) dst[i + q] = c.v[q];
    }
}

// The problem P (a small struct passed by value) provides, for one group's GEMM of M x N over K:
//   using T; static constexpr Walk kWalkA, kWalkB; int M, N, K;
//   RowA a_row(int group, int m);  KA a_k(int k);  T a_at(const RowA&, const KA&);   (A[m, k])
//   ColB b_col(int group, int n);  KB b_k(int k);  T b_at(const ColB&, const KB&);   (B[k, n])
//   void store(int group, int split, int m, int n, T v);                             (C[m, n] = v)
// a_at / b_at are called only for m < M, n < N and k inside the block's K range; a_row / b_col may be
// called with an out-of-range index clamped to 0 (their result is then unused).
// Grid: x = row tiles, y = column tiles (capped at 65535, looped over), z = group * splits + split
// (offset by z0 when launched in chunks of 65535). Split s sums k in [s * k_chunk, (s + 1) * k_chunk).
// The sum over k runs in a fixed order, so results are deterministic.
// Indices inside one group's GEMM are int32: the host checks M, N, K < 2^31 - 1024 before choosing this.
template <class P, class TileT>
__global__ void __launch_bounds__(kBlockThreads) implicit_gemm(const P p, int splits, int k_chunk, int64_t z0) {
    using T = typename P::T;
    constexpr int BM = TileT::BM, BN = TileT::BN, TM = TileT::TM, TN = TileT::TN;
    using WA = Walker<BM, P::kWalkA>;
    using WB = Walker<BN, P::kWalkB>;
    // Rows padded by 16 bytes: a row stays a whole number of 16-byte chunks, and rows start in different banks.
    constexpr int PAD = 16 / int(sizeof(T));
    static_assert((BM + PAD) * sizeof(T) % 16 == 0 && (BN + PAD) * sizeof(T) % 16 == 0,
                  "tile rows must be whole 16-byte runs");
    __shared__ __align__(16) T As[BK][BM + PAD];
    __shared__ __align__(16) T Bs[BK][BN + PAD];

    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t z = z0 + blockIdx.z;
    const int group = int(z / splits), split = int(z % splits);
    const int k_begin = split * k_chunk;
    const int k_end = int(min(int64_t(p.K), int64_t(k_begin) + k_chunk));
    const int m0 = int(blockIdx.x) * BM;

    typename P::RowA ra[WA::kRows];
    bool va[WA::kRows];
#pragma unroll
    for (int r = 0; r < WA::kRows; ++r) {
        const int m = m0 + WA::row(tid, r);
        va[r] = m < p.M;
        ra[r] = p.a_row(group, va[r] ? m : 0);
    }

    // The loop bound is the same for the whole block, so the __syncthreads inside stay uniform.
    for (int n_tile = blockIdx.y; n_tile < (p.N + BN - 1) / BN; n_tile += gridDim.y) {
        const int n0 = n_tile * BN;
        typename P::ColB cb[WB::kRows];
        bool vb[WB::kRows];
#pragma unroll
        for (int r = 0; r < WB::kRows; ++r) {
            const int n = n0 + WB::row(tid, r);
            vb[r] = n < p.N;
            cb[r] = p.b_col(group, vb[r] ? n : 0);
        }
        T acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

        // The next slice is fetched into registers while this one is multiplied from shared memory, so the
        // global loads' latency hides behind the arithmetic.
        T pa[WA::kPer], pb[WB::kPer];
        auto fetch = [&](int k0) {
            if constexpr (P::kWalkA == Walk::Rows) {
#pragma unroll
                for (int j = 0; j < WA::kPer; ++j) {
                    const int k = k0 + WA::kk(tid, j);
                    pa[j] = (va[0] && k < k_end) ? p.a_at(ra[0], p.a_k(k)) : T(0);
                }
            } else {
                const int k = k0 + WA::kk(tid, 0);
                const bool kin = k < k_end;
                const auto ka = p.a_k(kin ? k : k0);
#pragma unroll
                for (int j = 0; j < WA::kPer; ++j) pa[j] = (kin && va[j]) ? p.a_at(ra[j], ka) : T(0);
            }
            if constexpr (P::kWalkB == Walk::Rows) {
#pragma unroll
                for (int j = 0; j < WB::kPer; ++j) {
                    const int k = k0 + WB::kk(tid, j);
                    pb[j] = (vb[0] && k < k_end) ? p.b_at(cb[0], p.b_k(k)) : T(0);
                }
            } else {
                const int k = k0 + WB::kk(tid, 0);
                const bool kin = k < k_end;
                const auto kb = p.b_k(kin ? k : k0);
#pragma unroll
                for (int j = 0; j < WB::kPer; ++j) pb[j] = (kin && vb[j]) ? p.b_at(cb[j], kb) : T(0);
            }
        };
        if (k_begin < k_end) fetch(k_begin);
        for (int k0 = k_begin; k0 < k_end; k0 += BK) {
#pragma unroll
            for (int j = 0; j < WA::kPer; ++j) As[WA::kk(tid, j)][WA::row(tid, j)] = pa[j];
#pragma unroll
            for (int j = 0; j < WB::kPer; ++j) Bs[WB::kk(tid, j)][WB::row(tid, j)] = pb[j];
            __syncthreads();
            if (k0 + BK < k_end) fetch(k0 + BK);
#pragma unroll
            for (int k = 0; k < BK; ++k) {
                T a[TM], b[TN];
                load_run(a, &As[k][tx * TM]);
                load_run(b, &Bs[k][ty * TN]);
#pragma unroll
                for (int i = 0; i < TM; ++i)
#pragma unroll
                    for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
            }
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int m = m0 + tx * TM + i;
            if (m >= p.M) continue;
#pragma unroll
            for (int j = 0; j < TN; ++j) {
                const int n = n0 + ty * TN + j;
                if (n < p.N) p.store(group, split, m, n, acc[i][j]);
            }
        }
    }
}

// The largest per-group GEMM extent the int32 indexing above takes (headroom for m0 + BM and k0 + BK).
constexpr int64_t kMaxExtent = (int64_t(1) << 31) - 1024;

}  // namespace gc::cuda::igemm
