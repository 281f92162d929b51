// Gather/scatter geometry shared by the CPU and CUDA index kernels: one element's offsets, written once.
#pragma once
#include <string>
#include "common.h"

namespace gc {

// Iterates over the index's shape. Operand "a" is walked in step with the index (gather: out,
// scatter: src); operand "b" is addressed through the index along `dim` (gather: x, scatter: out).
struct IndexGeom {
    int ndim = 0;
    int dim = 0;
    int64_t dim_size = 0;  // b's extent along dim: valid index values are [0, dim_size)
    int64_t shape[kMaxDims] = {};
    int64_t sa[kMaxDims] = {}, si[kMaxDims] = {}, sb[kMaxDims] = {};

    int64_t numel() const {
        int64_t n = 1;
        for (int d = 0; d < ndim; ++d) n *= shape[d];
        return n;
    }

    // Offsets of element `linear` in a and b; false when its index value is out of range.
    GC_HD bool offsets(int64_t linear, const int64_t* index, int64_t& off_a, int64_t& off_b) const {
        int64_t oa = 0, oi = 0, ob = 0, coord_dim = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            int64_t c = linear % shape[d];
            linear /= shape[d];
            oa += c * sa[d];
            oi += c * si[d];
            if (d != dim) ob += c * sb[d];
        }
        coord_dim = index[oi];
        if (coord_dim < 0 || coord_dim >= dim_size) return false;
        off_a = oa;
        off_b = ob + coord_dim * sb[dim];
        return true;
    }
    GC_HD int64_t index_offset(int64_t linear) const {
        int64_t oi = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            oi += (linear % shape[d]) * si[d];
            linear /= shape[d];
        }
        return oi;
    }
};

inline void check_where_args(const ArrayView& cond, const ArrayView& a, const ArrayView& b, const ArrayView& out) {
    GC_CHECK(cond.dtype == DType::Bool, std::string("where: condition must be bool, got ") + dtype_name(cond.dtype));
    GC_CHECK(a.dtype == out.dtype && b.dtype == out.dtype, "where: both branches must have the output's dtype");
}

// Validates shapes as torch.gather / torch.scatter_add do and builds the geometry.
inline IndexGeom make_index_geom(const ArrayView& a, const ArrayView& index, const ArrayView& b, int64_t dim,
                                 const char* op) {
    GC_CHECK(index.dtype == DType::Int64, std::string(op) + ": index must be int64, got " + dtype_name(index.dtype));
    GC_CHECK(a.dtype == b.dtype, std::string(op) + ": source and destination dtypes differ");
    GC_CHECK(a.ndim == index.ndim && b.ndim == index.ndim,
             std::string(op) + ": input, index and output must have the same number of dims");
    const int nd = index.ndim == 0 ? 1 : index.ndim;
    GC_CHECK(dim >= 0 && dim < nd, std::string(op) + ": dim out of range");
    IndexGeom g;
    g.ndim = index.ndim;
    g.dim = int(dim);
    g.dim_size = index.ndim == 0 ? 1 : b.shape[dim];
    for (int d = 0; d < index.ndim; ++d) {
        GC_CHECK(a.shape[d] >= index.shape[d], std::string(op) + ": index is larger than its operand");
        GC_CHECK(d == dim || b.shape[d] >= index.shape[d],
                 std::string(op) + ": index is larger than the indexed tensor outside dim");
        g.shape[d] = index.shape[d];
        g.sa[d] = a.strides[d];
        g.si[d] = index.strides[d];
        g.sb[d] = b.strides[d];
    }
    return g;
}

}  // namespace gc
