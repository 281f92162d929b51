// gradcore._C.cuda: the device array type and the CUDA kernel table (same names as gradcore._C.cpu).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include "cuda_common.h"
#include "dlpack.h"
#include "kernels.h"
#include "rownorm.h"
#include "numpy_dtype.h"

namespace py = pybind11;

namespace gc {
namespace cuda {
void set_matmul_variant(int v);
int matmul_variant();
}  // namespace cuda

namespace {
using cuda::CudaArray;

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
    std::vector<int64_t> s(shape.size());
    int64_t n = 1;
    for (int d = int(shape.size()) - 1; d >= 0; --d) {
        s[d] = n;
        n *= shape[d];
    }
    return s;
}

CudaArray contiguous_copy(const CudaArray& a) {
    if (a.is_contiguous()) return a;
    CudaArray out = CudaArray::empty(a.shape, a.dtype);
    cuda::unary<Copy>(a.view(), out.view());
    return out;
}

py::array to_numpy(const CudaArray& a) {
    CudaArray c = contiguous_copy(a);
    py::array out(numpy_dtype(a.dtype), a.shape);
    if (a.numel())
        GC_CUDA_CHECK(cudaMemcpy(out.mutable_data(), c.data(), a.numel() * cuda::itemsize(a.dtype),
                                 cudaMemcpyDeviceToHost));
    return out;
}

CudaArray from_numpy(const py::array& src) {
    py::array a = py::array::ensure(src, py::array::c_style);
    std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
    CudaArray out = CudaArray::empty(shape, dtype_from_numpy(a.dtype()));
    if (out.numel())
        GC_CUDA_CHECK(cudaMemcpy(out.data(), a.data(), out.numel() * cuda::itemsize(out.dtype), cudaMemcpyHostToDevice));
    return out;
}

// ---- DLPack export: the capsule owns a copy of the CudaArray (keeping its block alive).
struct ExportCtx {
    CudaArray array;
    std::vector<int64_t> shape, strides;
};

void export_deleter(dl::ManagedTensor* self) {
    delete static_cast<ExportCtx*>(self->manager_ctx);
    delete self;
}

py::capsule to_dlpack(const CudaArray& a) {
    auto* ctx = new ExportCtx{a, a.shape, a.strides};
    auto* m = new dl::ManagedTensor{};
    int device = 0;
    GC_CUDA_CHECK(cudaGetDevice(&device));
    m->dl_tensor.data = a.data();
    m->dl_tensor.device = {dl::kCUDA, device};
    m->dl_tensor.ndim = int32_t(a.shape.size());
    bool is_float = a.dtype == DType::Float32 || a.dtype == DType::Float64;
    m->dl_tensor.dtype = {uint8_t(is_float ? dl::kFloat : dl::kInt), uint8_t(8 * cuda::itemsize(a.dtype)), 1};
    m->dl_tensor.shape = ctx->shape.data();
    m->dl_tensor.strides = ctx->strides.data();
    m->dl_tensor.byte_offset = 0;
    m->manager_ctx = ctx;
    m->deleter = export_deleter;
    return py::capsule(m, "dltensor", [](PyObject* cap) {
        // Only an unconsumed capsule still owns the tensor; a consumer renames it "used_dltensor".
        if (PyCapsule_IsValid(cap, "dltensor")) {
            auto* mt = static_cast<dl::ManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
            if (mt && mt->deleter) mt->deleter(mt);
        } else {
            PyErr_Clear();
        }
    });
}

// ---- DLPack import: the block releases the producer's tensor instead of returning to our cache.
CudaArray from_dlpack(const py::object& obj) {
    py::capsule cap = obj.attr("__dlpack__")(py::arg("stream") = 1);
    auto* m = static_cast<dl::ManagedTensor*>(PyCapsule_GetPointer(cap.ptr(), "dltensor"));
    if (!m) throw py::error_already_set();
    const dl::Tensor& t = m->dl_tensor;
    if (t.device.device_type != dl::kCUDA) throw py::type_error("from_dlpack: the tensor is not on a CUDA device");
    if (t.dtype.lanes != 1) throw py::type_error("from_dlpack: vector dtypes are not supported");
    DType dt;
    if (t.dtype.code == dl::kFloat && t.dtype.bits == 32) dt = DType::Float32;
    else if (t.dtype.code == dl::kFloat && t.dtype.bits == 64) dt = DType::Float64;
    else if (t.dtype.code == dl::kInt && t.dtype.bits == 32) dt = DType::Int32;
    else if (t.dtype.code == dl::kInt && t.dtype.bits == 64) dt = DType::Int64;
    else throw py::type_error("from_dlpack: unsupported dtype (gradcore holds float32/64 and int32/64)");
    CudaArray a;
    a.dtype = dt;
    a.shape.assign(t.shape, t.shape + t.ndim);
    a.strides = t.strides ? std::vector<int64_t>(t.strides, t.strides + t.ndim) : contiguous_strides(a.shape);
    a.block = std::make_shared<cuda::DeviceBlock>();
    a.block->ptr = static_cast<char*>(t.data) + t.byte_offset;
    a.block->external_ctx = m;
    a.block->external_release = [](void* ctx) {
        auto* mt = static_cast<dl::ManagedTensor*>(ctx);
        if (mt->deleter) mt->deleter(mt);
    };
    PyCapsule_SetName(cap.ptr(), "used_dltensor");
    return a;
}

py::dict cuda_array_interface(const CudaArray& a) {
    static const char* typestr[] = {"<f4", "<f8", "<i4", "<i8", "|b1"};
    py::dict d;
    py::list strides;
    for (auto s : a.strides) strides.append(s * int64_t(cuda::itemsize(a.dtype)));
    d["shape"] = py::tuple(py::cast(a.shape));
    d["typestr"] = typestr[int(a.dtype)];
    d["data"] = py::make_tuple(reinterpret_cast<uintptr_t>(a.data()), false);
    d["strides"] = py::tuple(strides);
    d["version"] = 3;
    d["stream"] = 1;  // gradcore launches on the legacy default stream
    return d;
}

OptimLists to_lists(const py::list& p, const py::list& g, const py::list& b1, const py::list& b2) {
    OptimLists t;
    auto fill = [](const py::list& src, std::vector<ArrayView>& dst) {
        for (auto item : src) dst.push_back(item.cast<const CudaArray&>().view());
    };
    fill(p, t.params);
    fill(g, t.grads);
    fill(b1, t.bufs1);
    fill(b2, t.bufs2);
    return t;
}

}  // namespace

void register_cuda(py::module_& m) {
    // Device out-of-memory surfaces as gradcore._C.cuda.OutOfMemoryError, a MemoryError.
    py::register_exception<cuda::OutOfMemory>(m, "OutOfMemoryError", PyExc_MemoryError);

    py::class_<CudaArray>(m, "Array", "A strided n-d array in device memory (gradcore's CUDA storage)")
        .def_static("empty", [](const std::vector<int64_t>& shape, const py::dtype& dt) {
            return CudaArray::empty(shape, dtype_from_numpy(dt));
        })
        .def_static("zeros", [](const std::vector<int64_t>& shape, const py::dtype& dt) {
            CudaArray a = CudaArray::empty(shape, dtype_from_numpy(dt));
            GC_CUDA_CHECK(cudaMemset(a.data(), 0, std::max<int64_t>(a.numel(), 1) * cuda::itemsize(a.dtype)));
            return a;
        })
        .def_static("from_numpy", &from_numpy)
        .def_static("from_dlpack", &from_dlpack)
        .def("numpy", &to_numpy)
        .def_property_readonly("shape", [](const CudaArray& a) { return py::tuple(py::cast(a.shape)); })
        .def_property_readonly("strides", [](const CudaArray& a) { return py::tuple(py::cast(a.strides)); })
        .def_property_readonly("offset", [](const CudaArray& a) { return a.offset; })
        .def_property_readonly("ndim", [](const CudaArray& a) { return a.shape.size(); })
        .def_property_readonly("dtype", [](const CudaArray& a) { return numpy_dtype(a.dtype); })
        .def_property_readonly("data_ptr", [](const CudaArray& a) { return reinterpret_cast<uintptr_t>(a.data()); })
        .def("is_contiguous", &CudaArray::is_contiguous)
        .def("as_strided",
             [](const CudaArray& a, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                int64_t offset) {
                 GC_CHECK(shape.size() == strides.size(), "as_strided: shape and strides differ in length");
                 CudaArray v = a;
                 v.shape = shape;
                 v.strides = strides;
                 v.offset = offset;
                 return v;
             })
        .def_property_readonly("__cuda_array_interface__", &cuda_array_interface)
        .def("__dlpack__", [](const CudaArray& a, py::object /*stream*/, py::kwargs) { return to_dlpack(a); },
             py::arg("stream") = py::none())
        .def("__dlpack_device__", [](const CudaArray&) {
            int device = 0;
            GC_CUDA_CHECK(cudaGetDevice(&device));
            return py::make_tuple(int(dl::kCUDA), device);
        });

    using A = const CudaArray&;
#define GC_BIND_UNARY(name, Op) m.def("unary_" #name, [](A x, A out) { cuda::unary<Op>(x.view(), out.view()); });
#define GC_BIND_BINARY(name, Op) \
    m.def("binary_" #name, [](A a, A b, A out) { cuda::binary<Op>(a.view(), b.view(), out.view()); });
    GC_UNARY_OPS(GC_BIND_UNARY)
    GC_BINARY_OPS(GC_BIND_BINARY)
    GC_BITWISE_UNARY_OPS(GC_BIND_UNARY)
    GC_BITWISE_BINARY_OPS(GC_BIND_BINARY)
#define GC_BIND_COMPARE(name, Op) \
    m.def("compare_" #name, [](A a, A b, A out) { cuda::compare<Op>(a.view(), b.view(), out.view()); });
    GC_COMPARE_OPS(GC_BIND_COMPARE)
    m.def("cast", [](A x, A out) { cuda::cast(x.view(), out.view()); });
    m.def("sum", [](A x, A out) { cuda::reduce_sum(x.view(), out.view()); });
    m.def("max", [](A x, A out) { cuda::reduce_max(x.view(), out.view()); });
    m.def("argmax", [](A x, A out) { cuda::argmax_lastdim(x.view(), out.view()); });
    m.def("min", [](A x, A out) { cuda::reduce_min(x.view(), out.view()); });
    m.def("prod", [](A x, A out) { cuda::reduce_prod(x.view(), out.view()); });
    m.def("argmin", [](A x, A out) { cuda::argmin_lastdim(x.view(), out.view()); });
    m.def("cumsum", [](A x, A out) { cuda::cumsum_lastdim(x.view(), out.view()); });
    m.def("matmul", [](A a, A b, A out) { cuda::matmul(a.view(), b.view(), out.view()); });
    m.def("softmax_ce", [](A logits, A targets, A loss, A dlogits) {
        cuda::softmax_ce(logits.view(), targets.view(), loss.view(), dlogits.view());
    });
    m.def("adam_step", [](const py::list& p, const py::list& g, const py::list& m1, const py::list& v, double lr,
                          double b1, double b2, double eps, double wd, int64_t step, bool decoupled) {
        cuda::adam_step(to_lists(p, g, m1, v), lr, b1, b2, eps, wd, step, decoupled);
    });
    m.def("sgd_step", [](const py::list& p, const py::list& g, const py::list& buf, double lr, double momentum,
                         double wd, double dampening, bool nesterov, bool first) {
        cuda::sgd_step(to_lists(p, g, buf, py::list()), lr, momentum, wd, dampening, nesterov, first);
    });
    m.def("layernorm_fwd", [](A x, A out, A rstd, double eps) {
        cuda::layernorm_fwd(x.view(), out.view(), rstd.view(), eps);
    });
    m.def("layernorm_bwd", [](A g, A xhat, A rstd, A dx) {
        cuda::layernorm_bwd(g.view(), xhat.view(), rstd.view(), dx.view());
    });
    m.def("log_softmax_fwd", [](A x, A out) { cuda::log_softmax_fwd(x.view(), out.view()); });
    m.def("log_softmax_bwd", [](A g, A out, A dx) { cuda::log_softmax_bwd(g.view(), out.view(), dx.view()); });
    m.def("gather", [](A x, int64_t dim, A index, A out) { cuda::gather(x.view(), dim, index.view(), out.view()); });
    m.def("scatter", [](A src, int64_t dim, A index, A out, bool accumulate) {
        cuda::scatter(src.view(), dim, index.view(), out.view(), accumulate);
    });
    m.def("where", [](A cond, A a, A b, A out) { cuda::where(cond.view(), a.view(), b.view(), out.view()); });

    m.def("device_count", [] {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            cudaGetLastError();  // no driver or no device: report zero, not an error
            return 0;
        }
        return n;
    });
    m.def("synchronize", [] { GC_CUDA_CHECK(cudaDeviceSynchronize()); });
    m.def("memory_stats", [] { return cuda::memory_stats(); });
    m.def("empty_cache", [] { cuda::empty_cache(); });
    m.def("set_matmul_variant", &cuda::set_matmul_variant, "0: naive reference, 1: tiled (default)");
    m.def("matmul_variant", &cuda::matmul_variant);
}

}  // namespace gc
