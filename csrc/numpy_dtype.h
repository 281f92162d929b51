// NumPy dtype <-> gradcore DType for the binding files of both devices.
#pragma once
#include <pybind11/numpy.h>
#include <string>
#include "common.h"

namespace gc {

// bfloat16 is NumPy's through ml_dtypes (the package JAX uses): a 2-byte 'V'-kind dtype named "bfloat16".
inline pybind11::dtype bfloat16_numpy_dtype() {
    return pybind11::dtype::from_args(pybind11::module_::import("ml_dtypes").attr("bfloat16"));
}

inline DType dtype_from_numpy(const pybind11::dtype& dt) {
    const char kind = dt.kind();
    const auto size = dt.itemsize();
    if (kind == 'f' && size == 4) return DType::Float32;
    if (kind == 'f' && size == 8) return DType::Float64;
    if (kind == 'i' && size == 4) return DType::Int32;
    if (kind == 'i' && size == 8) return DType::Int64;
    if (kind == 'b' && size == 1) return DType::Bool;
    if (kind == 'f' && size == 2) return DType::Float16;
    if (kind == 'V' && size == 2 && std::string(pybind11::str(dt.attr("name"))) == "bfloat16") return DType::BFloat16;
    throw pybind11::type_error("gradcore: unsupported dtype " + std::string(pybind11::str(dt)) +
                               " (float32, float64, float16, bfloat16, int32, int64 and bool are supported)");
}

inline pybind11::dtype numpy_dtype(DType t) {
    if (t == DType::BFloat16) return bfloat16_numpy_dtype();
    return t == DType::Bool ? pybind11::dtype("?") : pybind11::dtype(dtype_name(t));
}

}  // namespace gc
