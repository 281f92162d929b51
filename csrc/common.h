// Shared vocabulary of the native core: dtypes, array views and error checks.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(__CUDACC__)
#define GC_HD __host__ __device__ __forceinline__
#else
#define GC_HD __attribute__((always_inline)) inline  // inlined so loops over functors vectorize
#endif

namespace gc {

constexpr int kMaxDims = 8;

// Float16 / BFloat16 are storage types (half.h): kernels other than cast see them only through the
// float32 twins the bindings make (bindings.cpp / bindings_cuda.cpp).
enum class DType : int { Float32 = 0, Float64 = 1, Int32 = 2, Int64 = 3, Bool = 4, Float16 = 5, BFloat16 = 6 };

inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::Int32: return "int32";
        case DType::Int64: return "int64";
        case DType::Bool: return "bool";
        case DType::Float16: return "float16";
        case DType::BFloat16: return "bfloat16";
    }
    return "unknown";
}

// Errors thrown here surface in Python as ValueError (shape/dtype) or IndexError (targets);
// pybind11 translates std::invalid_argument and std::out_of_range for us.
#define GC_CHECK(cond, msg)                                                          \
    do {                                                                             \
        if (!(cond)) throw std::invalid_argument(std::string("gradcore: ") + (msg)); \
    } while (0)

// A non-owning description of an n-d array: pointer, dtype, shape and strides in elements.
// It is the one currency every kernel on every device takes.
struct ArrayView {
    void* data = nullptr;
    DType dtype = DType::Float32;
    int ndim = 0;
    int64_t shape[kMaxDims] = {};
    int64_t strides[kMaxDims] = {};

    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < ndim; ++i) n *= shape[i];
        return n;
    }
    bool is_contiguous() const {
        if (numel() == 0) return true;  // an empty array's strides are arbitrary (NumPy gives zeros)
        int64_t expected = 1;
        for (int i = ndim - 1; i >= 0; --i) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }
    template <typename T>
    T* ptr() const { return static_cast<T*>(data); }
};

// Calls f with a typed zero pointer for the floating dtype of v (the kernels' common case).
template <typename F>
void dispatch_float(DType t, const char* op, F&& f) {
    if (t == DType::Float32) f(static_cast<float*>(nullptr));
    else if (t == DType::Float64) f(static_cast<double*>(nullptr));
    else throw std::invalid_argument(std::string("gradcore: ") + op + " needs float32 or float64, got " + dtype_name(t));
}

template <typename F>
void dispatch_any(DType t, F&& f) {
    switch (t) {
        case DType::Float32: f(static_cast<float*>(nullptr)); break;
        case DType::Float64: f(static_cast<double*>(nullptr)); break;
        case DType::Int32: f(static_cast<int32_t*>(nullptr)); break;
        case DType::Int64: f(static_cast<int64_t*>(nullptr)); break;
        case DType::Bool: f(static_cast<bool*>(nullptr)); break;
        case DType::Float16:
        case DType::BFloat16:
            throw std::invalid_argument(std::string("gradcore: internal error: a ") + dtype_name(t) +
                                        " array reached a kernel without its float32 twin");
    }
}

}  // namespace gc
