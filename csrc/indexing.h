// The one place strides are interpreted: broadcast strides, dimension collapsing, offsets.
#pragma once
#include "common.h"

namespace gc {

// Strides of `v` seen through the output shape `out`: missing leading dims and size-1 dims get stride 0.
inline void broadcast_strides(const ArrayView& v, const ArrayView& out, int64_t* strides) {
    int lead = out.ndim - v.ndim;
    GC_CHECK(lead >= 0, "cannot broadcast to fewer dims");
    for (int d = 0; d < out.ndim; ++d) {
        int s = d - lead;
        if (s < 0 || v.shape[s] == 1) {
            strides[d] = 0;
        } else {
            GC_CHECK(v.shape[s] == out.shape[d], "shapes are not broadcastable");
            strides[d] = v.strides[s];
        }
    }
}

// N operands iterated over one shape. collapse() merges adjacent dims that are contiguous in
// every operand, so a contiguous or simply-broadcast loop becomes 1-d or 2-d.
template <int N>
struct StridedLoop {
    int ndim = 0;
    int64_t shape[kMaxDims] = {};
    int64_t strides[N][kMaxDims] = {};

    void collapse() {
        // drop size-1 dims
        int w = 0;
        for (int d = 0; d < ndim; ++d) {
            if (shape[d] == 1) continue;
            shape[w] = shape[d];
            for (int k = 0; k < N; ++k) strides[k][w] = strides[k][d];
            ++w;
        }
        ndim = w;
        if (ndim == 0) {  // a scalar loop is a 1-d loop of one element
            ndim = 1;
            shape[0] = 1;
            for (int k = 0; k < N; ++k) strides[k][0] = 0;
            return;
        }
        w = 0;
        for (int d = 1; d < ndim; ++d) {
            bool mergeable = true;
            for (int k = 0; k < N; ++k)
                if (strides[k][w] != strides[k][d] * shape[d]) mergeable = false;
            if (mergeable) {
                shape[w] *= shape[d];
                for (int k = 0; k < N; ++k) strides[k][w] = strides[k][d];
            } else {
                ++w;
                shape[w] = shape[d];
                for (int k = 0; k < N; ++k) strides[k][w] = strides[k][d];
            }
        }
        ndim = w + 1;
    }

    int64_t numel() const {
        int64_t n = 1;
        for (int d = 0; d < ndim; ++d) n *= shape[d];
        return n;
    }

    // Element offset of operand k for a linear index over the loop shape (used per thread on the GPU).
    GC_HD int64_t offset(int k, int64_t linear) const {
        int64_t off = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            int64_t i = linear % shape[d];
            linear /= shape[d];
            off += i * strides[k][d];
        }
        return off;
    }

    // Calls row(offsets[N], inner_len, inner_strides[N]) for every innermost row in [row_begin, row_end).
    // Host only: the CPU kernels run a tight inner loop per row.
    template <typename Row>
    void for_each_row(int64_t row_begin, int64_t row_end, Row&& row) const {
        int64_t inner = shape[ndim - 1];
        int64_t inner_strides[N];
        for (int k = 0; k < N; ++k) inner_strides[k] = strides[k][ndim - 1];
        int64_t offs[N];
        for (int64_t r = row_begin; r < row_end; ++r) {
            for (int k = 0; k < N; ++k) offs[k] = offset(k, r * inner);
            row(offs, inner, inner_strides);
        }
    }
    int64_t rows() const { return shape[ndim - 1] ? numel() / shape[ndim - 1] : 0; }  // 0-size: no rows
};

// Builds the loop for an output and its inputs broadcast to it.
template <int N>
StridedLoop<N> make_loop(const ArrayView& out, const ArrayView* const* inputs) {
    StridedLoop<N> loop;
    loop.ndim = out.ndim;
    for (int d = 0; d < out.ndim; ++d) {
        loop.shape[d] = out.shape[d];
        loop.strides[0][d] = out.strides[d];
    }
    for (int k = 1; k < N; ++k) broadcast_strides(*inputs[k - 1], out, loop.strides[k]);
    loop.collapse();
    return loop;
}

}  // namespace gc
