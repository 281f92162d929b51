// A Python scalar turned into a kernel argument for an array of a given dtype (used by the fill bindings).
#pragma once
#include <pybind11/pybind11.h>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include "common.h"

namespace gc {

// (fvalue, ivalue) for the fill kernels: floats read the double, integers the exact int64.
inline std::pair<double, int64_t> scalar_arg(DType dt, const pybind11::object& value) {
    if (dt == DType::Float32 || dt == DType::Float64 || dt == DType::Float16 || dt == DType::BFloat16) return {value.cast<double>(), 0};
    GC_CHECK(!pybind11::isinstance<pybind11::float_>(value),
             std::string("fill: a float value for an integer array (") + dtype_name(dt) + ")");
    int64_t v = value.cast<int64_t>();
    if (dt == DType::Int32 && (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())) {
        // OverflowError, as NumPy raises for np.array(v, np.int32)
        PyErr_SetString(PyExc_OverflowError, ("Python integer " + std::to_string(v) + " out of bounds for int32").c_str());
        throw pybind11::error_already_set();
    }
    return {double(v), v};
}

}  // namespace gc
