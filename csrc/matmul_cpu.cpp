// CPU matmul: a packed, cache-blocked GEMM (BLIS loop order) with a register-blocked micro-kernel.
//
// C (M x N) = A (M x K) @ B (K x N), for each item of a batch of such products. A and B are read through their strides, so transposed
// operands cost nothing extra: packing copies them into the micro-kernel's order anyway.
// Loop nest: jc (NC columns of B) > pc (KC slice of K, B panel packed to stay in L2/L3)
//            > ic (MC rows, A block packed to stay in L2) > jr (NR) > ir (MR) > micro-kernel,
// whose B micro-panel (KC x NR) stays in L1 while MR x NR accumulators live in vector registers.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "gemm_cpu.h"
#include "kernels.h"
#include "parallel.h"

#ifndef GC_GEMM_DIRECT_A
#define GC_GEMM_DIRECT_A 1
#endif
#ifndef GC_GEMM_DIRECT_COL
#define GC_GEMM_DIRECT_COL 1
#endif

namespace gc::cpu {
namespace {

template <class T>
struct Tile {
    static constexpr int kVecBytes = 64;                 // one AVX-512 register (two AVX2 ones)
    static constexpr int W = kVecBytes / sizeof(T);      // lanes per vector
    static constexpr int NV = 2;                         // vectors per micro-tile row
    static constexpr int NR = W * NV;
    static constexpr int MR = 12;                        // 24 accumulators + 2 B vectors + 1 broadcast
    static constexpr int KC = 256;
    static constexpr int MC = 96;                        // MC x KC block of A: 96 KiB fp32, in L2
    static constexpr int NC = 1024;                      // KC x NC panel of B: 1 MiB fp32, in L2
    typedef T Vec __attribute__((vector_size(kVecBytes)));
    // Packed buffers hold whole strips: the blocks must be multiples of the micro-tile.
    static_assert(MC % MR == 0 && NC % NR == 0, "MC and NC must be multiples of MR and NR");
};

template <class T>
using Vec = typename Tile<T>::Vec;

// Read a row- (GC_GEMM_DIRECT_A) or column-major (GC_GEMM_DIRECT_COL) A in place rather than packing it
// (see micro_kernel); compile-time switches for A/B timing.
constexpr bool kGemmDirectA = GC_GEMM_DIRECT_A;
// Split a long K (the weight gradients at a large batch) between threads: see gemm_split_k.
#ifndef GC_GEMM_SPLIT_K
#define GC_GEMM_SPLIT_K 1
#endif
constexpr bool kGemmSplitK = GC_GEMM_SPLIT_K;

template <class T>
inline Vec<T> load(const T* p) {
    Vec<T> v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
template <class T>
inline void store(T* p, Vec<T> v) { std::memcpy(p, &v, sizeof(v)); }

// Stores the first n (< W) lanes of v at p (C + v with `add`): the right edge of C, written in place
// instead of through a side buffer. AVX-512 masks when built for it, else a lane loop.
template <class T>
inline void store_partial(T* p, Vec<T> v, int n, bool add) {
#if defined(__AVX512F__)
    if constexpr (sizeof(T) == 4) {
        const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
        __m512 x = reinterpret_cast<__m512&>(v);
        if (add) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, p));
        _mm512_mask_storeu_ps(p, m, x);
    } else {
        const __mmask8 m = static_cast<__mmask8>((1u << n) - 1);
        __m512d x = reinterpret_cast<__m512d&>(v);
        if (add) x = _mm512_add_pd(x, _mm512_maskz_loadu_pd(m, p));
        _mm512_mask_storeu_pd(p, m, x);
    }
#else
    for (int l = 0; l < n; ++l) p[l] = add ? p[l] + v[l] : v[l];
#endif
}

// acc(R x NV*W) = A(R x kc) @ Bp(kc x NR, packed k-major, first NV vectors used); then C = acc (+ C),
// writing only the first `nc` columns. kDirectA says how A is read: 0 packed (k-major MR-row strips,
// A[k * MR + i]); in place, with no packing pass, 1 row-major (A[i * lda + k]: the activations of
// x @ W.T, whose scalar packing cost as much as the product when N is small) or 2 column-major
// (A[k * lda + i]: g.T in the weight gradient g.T @ x). R is exact (1..MR), so an M that is not a
// multiple of 12 computes no padding rows; NV = 1 serves strips of at most W columns (N = 10, where a
// 12 x 32 tile did 10 useful columns of 32; the last 16 columns of N = 784). With `bias` (the tile's first
// column's entry of a row vector), C = acc + bias (+ C): Linear's bias added in the store, not in a pass.
template <class T, int R, int NV, int kDirectA, bool kFullN = false>
void micro_kernel(int64_t kc, const T* __restrict A, int64_t lda, const T* __restrict Bp, T* C, int64_t ldc,
                  bool accumulate, int nc, const T* bias) {
    constexpr int MR = Tile<T>::MR, W = Tile<T>::W, NR = Tile<T>::NR;
    static_assert(R >= 1 && R <= MR && NV >= 1 && NV <= Tile<T>::NV, "an R x NV tile of the MR x NR one");
    Vec<T> acc[R][NV];
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < NV; ++j) acc[i][j] = Vec<T>{};
    for (int64_t k = 0; k < kc; ++k) {
        Vec<T> b[NV];
        for (int j = 0; j < NV; ++j) b[j] = load(Bp + k * NR + j * W);
        for (int i = 0; i < R; ++i) {
            const T a = kDirectA == 1 ? A[i * lda + k] : kDirectA == 2 ? A[k * lda + i] : A[k * MR + i];
            for (int j = 0; j < NV; ++j) acc[i][j] += a * b[j];
        }
    }
    if (bias) {
        for (int j = 0; j < NV; ++j) {
            const int n = nc - j * W;
            Vec<T> bv{};
            if (kFullN || n >= W) bv = load(bias + j * W);
            else
                for (int l = 0; l < n; ++l) bv[l] = bias[j * W + l];  // no read past the vector's end
            for (int i = 0; i < R; ++i) acc[i][j] += bv;
        }
    }
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < NV; ++j) {
            T* c = C + i * ldc + j * W;
            const int n = nc - j * W;
            if (kFullN || n >= W) store(c, accumulate ? load(c) + acc[i][j] : acc[i][j]);
            else if (n > 0) store_partial(c, acc[i][j], n, accumulate);
        }
}

template <class T>
using MicroKernel = void (*)(int64_t, const T*, int64_t, const T*, T*, int64_t, bool, int, const T*);

// kernels[r - 1] computes r rows: one instantiation per row count, chosen once per strip.
template <class T, int NV, int kDirectA, int... Rs>
constexpr std::array<MicroKernel<T>, sizeof...(Rs)> kernel_table(std::integer_sequence<int, Rs...>) {
    return {&micro_kernel<T, Rs + 1, NV, kDirectA>...};
}
template <class T, int NV, int kDirectA>
inline constexpr auto kKernels = kernel_table<T, NV, kDirectA>(std::make_integer_sequence<int, Tile<T>::MR>{});

// Packs rows [0, mc) x cols [0, kc) of A into MR-row strips, zero-padding the last strip.
// The loop order follows A's unit stride, so each source line is read in order (power-of-two
// leading dimensions would otherwise thrash the cache): rows for row-major A, columns for A.T.
template <class T>
void pack_a(int64_t mc, int64_t kc, const T* A, int64_t rs, int64_t cs, T* out) {
    constexpr int MR = Tile<T>::MR;
    for (int64_t i0 = 0; i0 < mc; i0 += MR) {
        const int64_t rows = std::min<int64_t>(MR, mc - i0);
        T* strip = out + i0 * kc;
        if (rs == 1 && cs != 1) {
            for (int64_t k = 0; k < kc; ++k) {
                const T* src = A + k * cs + i0;
                T* dst = strip + k * MR;
                for (int64_t i = 0; i < rows; ++i) dst[i] = src[i];
                for (int64_t i = rows; i < MR; ++i) dst[i] = T(0);
            }
            continue;
        }
        for (int64_t i = 0; i < rows; ++i) {
            const T* src = A + (i0 + i) * rs;
            for (int64_t k = 0; k < kc; ++k) strip[k * MR + i] = src[k * cs];
        }
        for (int64_t i = rows; i < MR; ++i)
            for (int64_t k = 0; k < kc; ++k) strip[k * MR + i] = T(0);
    }
}

#if defined(__AVX512F__)
// dst[c * ldd + r] = src[r * ld + c] for a 16 x 16 float block: three rounds of in-lane and cross-lane
// shuffles (64 in all) instead of 256 scalar loads and stores. Packs the transposed weight of x @ W.T,
// about a quarter of the first layer's product at batch 64 when done element by element.
inline void transpose16x16(const float* src, int64_t ld, float* dst, int64_t ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld);
    for (int i = 0; i < 16; i += 2) {  // t[i], lane L: r_i[4L], r_i+1[4L], r_i[4L+1], r_i+1[4L+1]; t[i+1]: +2
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {  // r[i + q], lane L: column 4L + q of rows i..i+3
        const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int q = 0; q < 4; ++q) {  // gather lane L of r[q], r[4+q], r[8+q], r[12+q]: column 4L + q
        const __m512 u = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88), v = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd);
        const __m512 w = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
        const __m512 x = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
        _mm512_storeu_ps(dst + q * ldd, _mm512_shuffle_f32x4(u, w, 0x88));
        _mm512_storeu_ps(dst + (4 + q) * ldd, _mm512_shuffle_f32x4(v, x, 0x88));
        _mm512_storeu_ps(dst + (8 + q) * ldd, _mm512_shuffle_f32x4(u, w, 0xdd));
        _mm512_storeu_ps(dst + (12 + q) * ldd, _mm512_shuffle_f32x4(v, x, 0xdd));
    }
}
#endif

// Packs rows [0, kc) x cols [0, nc) of B into NR-column strips, zero-padding the last strip.
// Row-major B is copied row by row; a transposed B (the weight in x @ W.T) is read along its rows.
template <class T>
void pack_b(int64_t kc, int64_t nc, const T* B, int64_t rs, int64_t cs, T* out) {
    constexpr int NR = Tile<T>::NR;
    if (rs == 1 && cs != 1) {
        for (int64_t j0 = 0; j0 < nc; j0 += NR) {
            const int64_t cols = std::min<int64_t>(NR, nc - j0);
            T* strip = out + j0 * kc;
            int64_t j = 0, k_simd = 0;
#if defined(__AVX512F__)
            if constexpr (sizeof(T) == 4) {  // 16 x 16 blocks through registers, the rest below
                k_simd = kc / 16 * 16;
                for (; j + 16 <= cols; j += 16)
                    for (int64_t k = 0; k < k_simd; k += 16)
                        transpose16x16(B + (j0 + j) * cs + k, cs, strip + k * NR + j, NR);
                for (int64_t jj = 0; jj < j; ++jj) {
                    const T* src = B + (j0 + jj) * cs;
                    for (int64_t k = k_simd; k < kc; ++k) strip[k * NR + jj] = src[k];
                }
            }
#endif
            for (; j < cols; ++j) {
                const T* src = B + (j0 + j) * cs;
                for (int64_t k = 0; k < kc; ++k) strip[k * NR + j] = src[k];
            }
            for (int64_t j = cols; j < NR; ++j)
                for (int64_t k = 0; k < kc; ++k) strip[k * NR + j] = T(0);
        }
        return;
    }
    for (int64_t k = 0; k < kc; ++k) {
        const T* src = B + k * rs;
        for (int64_t j0 = 0; j0 < nc; j0 += NR) {
            const int64_t cols = std::min<int64_t>(NR, nc - j0);
            T* dst = out + j0 * kc + k * NR;
            if (cs == 1 && cols == NR) {
                std::memcpy(dst, src + j0, NR * sizeof(T));
            } else {
                for (int64_t j = 0; j < cols; ++j) dst[j] = src[(j0 + j) * cs];
                for (int64_t j = cols; j < NR; ++j) dst[j] = T(0);
            }
        }
    }
}

template <class T>
struct AlignedBuffer {
    T* ptr = nullptr;
    explicit AlignedBuffer(size_t n) {
        size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
        ptr = static_cast<T*>(std::aligned_alloc(64, std::max<size_t>(bytes, 64)));
        if (!ptr) throw std::bad_alloc();
    }
    ~AlignedBuffer() { std::free(ptr); }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
};

// One thread's share: the full GEMM over C's sub-block rows [m0, m1) x cols [n0, n1); adds to C when
// `acc_c` is set. K is cut into equal slices of at most KC (K = 288 as 144 + 144, not 256 + 32).
// With Bpre (all of B packed by pack_b_all; only for n0 == 0), no B panel is packed here.
// A row- or column-major A (a unit stride) is read in place by the micro-kernel instead of packed.
// How gemm_block reads A (micro_kernel's kDirectA): 1 in place when row-major, 2 in place when
// column-major (the weight gradients g.T @ x gained 2-100%), else 0, packed.
inline int a_mode(int64_t rsa, int64_t csa) {
    if (!kGemmDirectA) return 0;
    if (csa == 1) return 1;
    return (GC_GEMM_DIRECT_COL && rsa == 1) ? 2 : 0;
}

// K slices of at most KC, all of one length but the last.
template <class T>
int64_t k_slice(int64_t K) {
    const int64_t slices = (K + Tile<T>::KC - 1) / Tile<T>::KC;
    return (K + slices - 1) / slices;
}

// Packs all of B once, panel (jc, pc) at Bpre + jc * K + pc * round_up(nc, NR): the layout gemm_block reads
// when it is handed a pre-packed B, so threads that split M share one packing instead of each redoing it.
template <class T>
void pack_b_all(int64_t N, int64_t K, const T* B, int64_t rsb, int64_t csb, T* Bpre) {
    constexpr int NR = Tile<T>::NR, NC = Tile<T>::NC;
    const int64_t kc_even = k_slice<T>(K);
    for (int64_t jc = 0; jc < N; jc += NC) {
        const int64_t nc = std::min<int64_t>(NC, N - jc), ncp = (nc + NR - 1) / NR * NR;
        for (int64_t pc = 0; pc < K; pc += kc_even)
            pack_b(std::min(kc_even, K - pc), nc, B + pc * rsb + jc * csb, rsb, csb, Bpre + jc * K + pc * ncp);
    }
}

template <class T>
void gemm_block(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, const T* A, int64_t rsa,
                int64_t csa, const T* B, int64_t rsb, int64_t csb, T* C, int64_t ldc, bool acc_c,
                const T* Bpre = nullptr, const T* bias = nullptr) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR, W = Tile<T>::W, KC = Tile<T>::KC, MC = Tile<T>::MC,
                  NC = Tile<T>::NC;
    thread_local std::unique_ptr<AlignedBuffer<T>> a_buf, b_buf;
    if (!a_buf) a_buf = std::make_unique<AlignedBuffer<T>>(size_t(MC) * KC);
    if (!b_buf) b_buf = std::make_unique<AlignedBuffer<T>>(size_t(KC) * NC);
    T* Ap = a_buf->ptr;
    T* Bp = b_buf->ptr;
    const int direct_a = a_mode(rsa, csa);
    const int64_t lda = direct_a == 1 ? rsa : csa;
    const int64_t kc_even = k_slice<T>(K);
    for (int64_t jc = n0; jc < n1; jc += NC) {
        int64_t nc = std::min<int64_t>(NC, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += kc_even) {
            int64_t kc = std::min<int64_t>(kc_even, K - pc);
            bool accumulate = acc_c || pc > 0;
            const T* panel = Bp;
            if (Bpre) panel = Bpre + jc * K + pc * ((nc + NR - 1) / NR * NR);  // n0 == 0: see pack_b_all
            else pack_b(kc, nc, B + pc * rsb + jc * csb, rsb, csb, Bp);
            for (int64_t ic = m0; ic < m1; ic += MC) {
                int64_t mc = std::min<int64_t>(MC, m1 - ic);
                const T* a_blk = A + ic * rsa + pc * csa;
                if (!direct_a) pack_a(mc, kc, a_blk, rsa, csa, Ap);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
                        T* c = C + (ic + ir) * ldc + jc + jr;
                        const T* bp = panel + jr * kc;
                        const T* bs = bias && pc == 0 ? bias + jc + jr : nullptr;  // in the first K slice
                        // Full tiles call the 12 x NR kernel directly (inlined); the rest go through the table.
                        if (direct_a == 1) {
                            if (mr == MR && nr == NR)
                                micro_kernel<T, MR, 2, 1, true>(kc, a_blk + ir * rsa, lda, bp, c, ldc, accumulate, nr,
                                                                bs);
                            else
                                (nr <= W ? kKernels<T, 1, 1> : kKernels<T, 2, 1>)[mr - 1](
                                    kc, a_blk + ir * rsa, lda, bp, c, ldc, accumulate, nr, bs);
                        } else if (direct_a == 2) {
                            if (mr == MR && nr == NR)
                                micro_kernel<T, MR, 2, 2, true>(kc, a_blk + ir, lda, bp, c, ldc, accumulate, nr, bs);
                            else
                                (nr <= W ? kKernels<T, 1, 2> : kKernels<T, 2, 2>)[mr - 1](
                                    kc, a_blk + ir, lda, bp, c, ldc, accumulate, nr, bs);
                        } else if (mr == MR && nr == NR) {
                            micro_kernel<T, MR, 2, 0, true>(kc, Ap + ir * kc, 0, bp, c, ldc, accumulate, nr, bs);
                        } else {
                            (nr <= W ? kKernels<T, 1, 0> : kKernels<T, 2, 0>)[mr - 1](
                                kc, Ap + ir * kc, 0, bp, c, ldc, accumulate, nr, bs);
                        }
                    }
                }
            }
        }
    }
}

// Matrix-vector shapes: y (L) = Mat (L x K, strides sl, sk) @ v (K, stride sv), unpacked, since a packed
// 12 x 32 micro-tile would be 1/12 (M == 1) or 1/32 (N == 1) useful work. Memory-bound either way.
template <class T>
void gemv(int64_t L, int64_t K, const T* Mat, int64_t sl, int64_t sk, const T* v, int64_t sv, T* y,
          bool threaded, bool acc_y) {
    constexpr int W = Tile<T>::W;
    auto rows = [&](int64_t l0, int64_t l1) {
        if (sk == 1) {  // each output a dot product of a contiguous row: W-lane partial sums
            for (int64_t l = l0; l < l1; ++l) {
                const T* m = Mat + l * sl;
                Vec<T> acc{};
                int64_t k = 0;
                if (sv == 1)
                    for (; k + W <= K; k += W) acc += load(m + k) * load(v + k);
                T sum = T(0);
                for (int i = 0; i < W; ++i) sum += acc[i];
                for (; k < K; ++k) sum += m[k] * v[k * sv];
                y[l] = acc_y ? y[l] + sum : sum;
            }
            return;
        }
        // Otherwise axpy form: y += Mat[:, k] * v[k], unit-stride over l when Mat is column-major.
        if (!acc_y)
            for (int64_t l = l0; l < l1; ++l) y[l] = T(0);
        for (int64_t k = 0; k < K; ++k) {
            const T* col = Mat + k * sk;
            const T vk = v[k * sv];
            if (sl == 1)
                for (int64_t l = l0; l < l1; ++l) y[l] += col[l] * vk;
            else
                for (int64_t l = l0; l < l1; ++l) y[l] += col[l * sl] * vk;
        }
    };
    if (threaded && 2.0 * L * K >= 2e6) parallel_for(L, 64, rows);
    else rows(0, L);
}

// C (M x N) += bias, row by row (the gemv and K == 0 paths of a product with a bias).
template <class T>
void add_bias(int64_t M, int64_t N, const T* bias, T* C) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) C[i * N + j] += bias[j];
}

// The weight gradients g.T @ x at a large batch: M and N small (10-784), K the batch (8192). Splitting
// C along N made every part read all of A again (the whole of g, from memory: 8 parts x 8 MiB for the
// first layer) and pack its own columns of B; here K is split instead: each part computes the whole C
// over its K range into a buffer of its own (part 0 into C itself), and the parts are summed at the end,
// so A and B are each read once. 2 parts per thread, claimed as threads come (a late worker still helps).
template <class T>
void gemm_split_k(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                  int64_t csb, T* C, bool acc_c, int nt, const T* bias) {
    const int64_t chunk = 256;  // K ranges in whole KC-sized slices
    const int parts = static_cast<int>(std::min<int64_t>(int64_t(nt) * 2, K / chunk));
    const size_t mn = size_t(M) * size_t(N);
    thread_local std::unique_ptr<AlignedBuffer<T>> part_buf;
    thread_local size_t part_size = 0;
    const size_t need = mn * size_t(parts - 1);
    if (need > part_size) part_buf = std::make_unique<AlignedBuffer<T>>(part_size = need);
    T* partial = part_buf->ptr;
    const int64_t chunks = (K + chunk - 1) / chunk;
    auto work = [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            const int64_t k0 = std::min(K, chunks * p / parts * chunk);
            const int64_t k1 = std::min(K, chunks * (p + 1) / parts * chunk);
            T* out = p == 0 ? C : partial + size_t(p - 1) * mn;
            if (k1 <= k0) {  // an empty range still owns its buffer: zero it (part 0 keeps C as it is)
                if (p > 0 || !acc_c) std::fill(out, out + mn, T(0));
                if (p == 0 && bias) add_bias(M, N, bias, out);
                continue;
            }
            gemm_block<T>(0, M, 0, N, k1 - k0, A + k0 * csa, rsa, csa, B + k0 * rsb, rsb, csb, out, N,
                          p == 0 && acc_c, nullptr, p == 0 ? bias : nullptr);
        }
    };
    parallel_for(parts, 1, work, parts);  // one range per part
    // C += the other parts, split over threads in element ranges.
    auto reduce = [&](int64_t e0, int64_t e1) {
        constexpr int W = Tile<T>::W;
        int64_t e = e0;
        for (; e + W <= e1; e += W) {
            Vec<T> v = load(C + e);
            for (int q = 0; q + 1 < parts; ++q) v += load(partial + size_t(q) * mn + e);
            store(C + e, v);
        }
        for (; e < e1; ++e)
            for (int q = 0; q + 1 < parts; ++q) C[e] += partial[size_t(q) * mn + e];
    };
    parallel_for(int64_t(mn), 1 << 15, reduce);
}

// One product C (M x N, contiguous, leading dim N) = A @ B (C += A @ B with `acc_c`), split over threads
// when it is large enough.
template <class T>
void gemm_one(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
              int64_t csb, T* C, bool threaded, bool acc_c = false, const T* bias = nullptr) {
    if (N == 1 || M == 1) {
        if (N == 1) gemv<T>(M, K, A, rsa, csa, B, rsb, C, threaded, acc_c);
        else gemv<T>(N, K, B, csb, rsb, A, csa, C, threaded, acc_c);
        if (bias) add_bias(M, N, bias, C);
        return;
    }
    // Split C between threads along its longer side, in whole micro-tiles; small products stay serial.
    const double flops = 2.0 * M * N * K;
    int nt = (!threaded || flops < 2e6) ? 1 : num_threads();
    if (nt > 1 && kGemmSplitK && K >= 4 * std::max(M, N) && K >= 1024)
        return gemm_split_k<T>(M, N, K, A, rsa, csa, B, rsb, csb, C, acc_c, nt, bias);
    bool split_m = M >= N;
    int64_t extent = split_m ? M : N, unit = split_m ? Tile<T>::MR : Tile<T>::NR;
    int64_t units = (extent + unit - 1) / unit;
    nt = static_cast<int>(std::min<int64_t>(nt, units));
    // A large product split along M shares one packed B and is cut into 4 ranges per thread, claimed as
    // threads come: a worker that wakes late, or is preempted, still takes its share. (Along N each range
    // would pack A again, unless A is read in place: row- or column-major.)
    const bool fine = nt > 1 && flops >= 5e7 && (split_m || a_mode(rsa, csa) != 0);
    const T* Bpre = nullptr;
    thread_local std::unique_ptr<AlignedBuffer<T>> pre_buf;
    thread_local size_t pre_size = 0;
    if (fine && split_m) {
        const size_t need = size_t((N + Tile<T>::NR - 1) / Tile<T>::NR * Tile<T>::NR) * K;
        if (need > pre_size) pre_buf = std::make_unique<AlignedBuffer<T>>(pre_size = need);
        pack_b_all(N, K, B, rsb, csb, pre_buf->ptr);
        Bpre = pre_buf->ptr;
    }
    auto work = [&](int64_t u0, int64_t u1) {
        int64_t lo = u0 * unit, hi = std::min(extent, u1 * unit);
        if (split_m) gemm_block<T>(lo, hi, 0, N, K, A, rsa, csa, B, rsb, csb, C, N, acc_c, Bpre, bias);
        else gemm_block<T>(0, M, lo, hi, K, A, rsa, csa, B, rsb, csb, C, N, acc_c, nullptr, bias);
    };
    if (nt <= 1) work(0, units);
    else parallel_for(units, units / nt, work, fine ? 4 : 1);
}

// (..., M, K) @ (..., K, N): batch dims equal (stride 0 where broadcast). A large product is split
// inside; a batch of small ones is split between threads one whole product each, sharing nothing.
template <class T>
void gemm(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    const int nd = a.ndim;
    const int64_t M = a.shape[nd - 2], K = a.shape[nd - 1], N = b.shape[nd - 1];
    const int64_t rsa = a.strides[nd - 2], csa = a.strides[nd - 1], rsb = b.strides[nd - 2], csb = b.strides[nd - 1];
    const MatmulBatch batch(a, b);
    T* C = out.ptr<T>();
    if (K == 0) {
        std::fill(C, C + batch.count * M * N, T(0));
        return;
    }
    if (M == 0 || N == 0 || batch.count == 0) return;
    const T* A = a.ptr<T>();
    const T* B = b.ptr<T>();
    auto product = [&](int64_t i, bool threaded) {
        int64_t oa, ob;
        batch.offsets(i, oa, ob);
        gemm_one<T>(M, N, K, A + oa, rsa, csa, B + ob, rsb, csb, C + i * M * N, threaded);
    };
    const double flops = 2.0 * M * N * K;
    // Threads over the batch when each product is too small to split well and there are enough of them.
    if (batch.count >= num_threads() && flops < 5e7) {
        const int64_t per_thread = std::max<int64_t>(1, static_cast<int64_t>(2e6 / std::max(flops, 1.0)));
        parallel_for(batch.count, per_thread, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) product(i, false);
        });
    } else {
        for (int64_t i = 0; i < batch.count; ++i) product(i, true);
    }
}

}  // namespace

template <class T>
void gemm_strided(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                  int64_t csb, T* C, bool threaded, bool accumulate, const T* bias) {
    if (M == 0 || N == 0) return;
    if (K == 0) {  // the packed loops would leave C unwritten
        if (!accumulate) std::fill(C, C + M * N, T(0));
        if (bias) add_bias(M, N, bias, C);
        return;
    }
    gemm_one<T>(M, N, K, A, rsa, csa, B, rsb, csb, C, threaded, accumulate, bias);
}
template void gemm_strided<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t,
                                  int64_t, float*, bool, bool, const float*);
template void gemm_strided<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, const double*,
                                   int64_t, int64_t, double*, bool, bool, const double*);

void matmul_bias(const ArrayView& a, const ArrayView& b, const ArrayView& bias, const ArrayView& out) {
    check_matmul_args(a, b, out);
    GC_CHECK(a.ndim == 2, "matmul_bias: operands must be 2-d");
    const int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1];
    GC_CHECK(bias.ndim == 1 && bias.shape[0] == N, "matmul_bias: bias must have shape (N,)");
    check_same_dtype(a, bias, "matmul_bias");
    dispatch_float(a.dtype, "matmul_bias", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const T* bp = bias.ptr<T>();
        std::vector<T> packed;  // a strided bias (a view) is gathered into a contiguous row once
        if (N > 1 && bias.strides[0] != 1) {
            packed.resize(size_t(N));
            for (int64_t j = 0; j < N; ++j) packed[size_t(j)] = bp[j * bias.strides[0]];
            bp = packed.data();
        }
        gemm_strided<T>(M, N, K, a.ptr<T>(), a.strides[0], a.strides[1], b.ptr<T>(), b.strides[0], b.strides[1],
                        out.ptr<T>(), true, false, bp);
    });
}

void matmul(const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    check_matmul_args(a, b, out);
    dispatch_float(a.dtype, "matmul", [&](auto* tag) { gemm<std::remove_pointer_t<decltype(tag)>>(a, b, out); });
}

}  // namespace gc::cpu
