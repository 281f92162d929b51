// NumPy dtype <-> gradcore DType for the binding files of both devices.
#pragma once
#include <pybind11/numpy.h>
#include <string>
#include "common.h"

namespace gc {

inline DType dtype_from_numpy(const pybind11::dtype& dt) {
    const char kind = dt.kind();
    const auto size = dt.itemsize();
    if (kind == 'f' && size == 4) return DType::Float32;
    if (kind == 'f' && size == 8) return DType::Float64;
    if (kind == 'i' && size == 4) return DType::Int32;
    if (kind == 'i' && size == 8) return DType::Int64;
    if (kind == 'b' && size == 1) return DType::Bool;
    throw pybind11::type_error("gradcore: unsupported dtype " + std::string(pybind11::str(dt)) +
                               " (float32, float64, int32, int64 and bool are supported)");
}

inline pybind11::dtype numpy_dtype(DType t) {
    return t == DType::Bool ? pybind11::dtype("?") : pybind11::dtype(dtype_name(t));
}

}  // namespace gc
