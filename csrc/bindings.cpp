// The Python module gradcore._C: one registration table per device, same names on each.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <memory>
#include "allocator_cpu.h"
#include "batchnorm.h"
#include "conv.h"
#include "gemm_cpu.h"
#include "half.h"
#include "kernels.h"
#include "rownorm.h"
#include "numpy_dtype.h"
#include "parallel.h"
#include "philox.h"
#include "pool.h"
#include "sort.h"
#include "scalar_arg.h"

namespace py = pybind11;

namespace gc {

#ifdef GC_WITH_CUDA
void register_cuda(py::module_& m);  // bindings_cuda.cpp
#endif
void register_cpu_fast_path(py::module_& m);  // fastpath_cpu.cpp

namespace {

ArrayView raw_view(const py::array& a) {
    ArrayView v;
    v.dtype = dtype_from_numpy(a.dtype());
    const auto size = a.itemsize();
    GC_CHECK(a.ndim() <= kMaxDims, "at most 8 dimensions are supported");
    v.ndim = static_cast<int>(a.ndim());
    v.data = const_cast<void*>(a.data());
    for (int d = 0; d < v.ndim; ++d) {
        v.shape[d] = a.shape(d);
        GC_CHECK(a.strides(d) % size == 0, "array strides must be multiples of the item size");
        v.strides[d] = a.strides(d) / size;
    }
    return v;
}

// An operand the kernel writes: a read-only array (a memory-mapped file opened 'r', np.frombuffer of
// bytes, an np.broadcast_to view) would segfault or corrupt shared memory, so it is refused by name.
ArrayView raw_out(const py::array& a, const char* name) {
    if (!a.writeable())
        throw py::value_error(std::string(name) + " is a read-only array; the kernel cannot write into it");
    return raw_view(a);
}

// A kernel operand as the kernel sees it. A float16/bfloat16 array is replaced by a float32 twin (cast in
// when made; cast back into the array, for outputs, when the operand dies at the end of the binding's
// call), so every kernel computes half types in float32 and rounds once: the one place this happens on
// the CPU. Use only as a temporary inside the kernel call's expression, never store the view.
class HostArg {
  public:
    HostArg(const ArrayView& v, bool out) : view_(v) {
        if (!is_half(v.dtype)) return;
        int64_t n = 0;
        ArrayView twin = float32_twin(v, nullptr, &n);
        scratch_.reset(new float[size_t(std::max<int64_t>(n, 1))]);
        twin.data = scratch_.get();
        cpu::cast(without_broadcast(v, v), without_broadcast(twin, v));  // outputs too: scatter accumulates
        half_ = v;
        view_ = twin;
        write_back_ = out;
    }
    ~HostArg() {
        if (!write_back_) return;
        try {
            cpu::cast(without_broadcast(view_, half_), without_broadcast(half_, half_));
        } catch (...) {  // cannot happen for these dtypes; a destructor must not throw
        }
    }
    HostArg(const HostArg&) = delete;
    HostArg& operator=(const HostArg&) = delete;
    operator const ArrayView&() const { return view_; }

  private:
    ArrayView view_, half_;
    std::unique_ptr<float[]> scratch_;
    bool write_back_ = false;
};

HostArg cpu_view(const py::array& a) { return HostArg(raw_view(a), false); }
HostArg cpu_out(const py::array& a, const char* name) { return HostArg(raw_out(a, name), true); }

// Every view is built (and every output checked) before the kernel runs, so a read-only parameter or
// state buffer anywhere in the lists fails the step before any tensor is touched.
// Half-type entries become float32 twins owned by the returned lists, which write them back when they die
// at the end of the binding's call (torch steps half parameters in float32 too, rounding once).
struct HostOptimLists : OptimLists {
    std::vector<std::unique_ptr<HostArg>> keep;
};

HostOptimLists cpu_lists(const py::list& p, const py::list& g, const py::list& b1, const py::list& b2) {
    HostOptimLists t;
    auto fill = [&t](const py::list& src, std::vector<ArrayView>& dst, const char* name) {
        for (auto item : src) {
            auto a = item.cast<py::array>();
            t.keep.push_back(std::make_unique<HostArg>(name ? raw_out(a, name) : raw_view(a), name != nullptr));
            dst.push_back(*t.keep.back());
        }
    };
    fill(p, t.params, "optimizer parameter");
    fill(g, t.grads, nullptr);
    fill(b1, t.bufs1, "optimizer state");
    fill(b2, t.bufs2, "optimizer state");
    return t;
}

// An uninitialised C-contiguous array whose memory comes from the host cache; the capsule that owns
// the block hands it back to the cache when the array and all its views are gone.
py::array cached_empty(const std::vector<int64_t>& shape, const py::dtype& dt) {
    size_t bytes = dt.itemsize();
    for (int64_t s : shape) bytes *= size_t(s);
    struct Block {
        void* ptr;
        size_t bytes;
    };
    auto* block = new Block{nullptr, 0};
    block->ptr = cpu::host_alloc(std::max<size_t>(bytes, 1), &block->bytes);
    py::capsule owner(block, [](void* b) {
        auto* blk = static_cast<Block*>(b);
        cpu::host_free(blk->ptr, blk->bytes);
        delete blk;
    });
    return py::array(dt, shape, block->ptr, owner);
}

void register_cpu(py::module_& m) {
    using A = const py::array&;
#define GC_BIND_UNARY(name, Op) \
    m.def("unary_" #name, [](A x, A out) { cpu::unary<Op>(cpu_view(x), cpu_out(out, "out")); });
#define GC_BIND_BINARY(name, Op) \
    m.def("binary_" #name, [](A a, A b, A out) { cpu::binary<Op>(cpu_view(a), cpu_view(b), cpu_out(out, "out")); });
    GC_UNARY_OPS(GC_BIND_UNARY)
    GC_BINARY_OPS(GC_BIND_BINARY)
    GC_BITWISE_UNARY_OPS(GC_BIND_UNARY)
    GC_BITWISE_BINARY_OPS(GC_BIND_BINARY)
#define GC_BIND_COMPARE(name, Op) \
    m.def("compare_" #name, [](A a, A b, A out) { cpu::compare<Op>(cpu_view(a), cpu_view(b), cpu_out(out, "out")); });
    GC_COMPARE_OPS(GC_BIND_COMPARE)
    m.def("cast", [](A x, A out) { cpu::cast(raw_view(x), raw_out(out, "out")); });  // half types natively
    m.def("sum", [](A x, A out) { cpu::reduce_sum(cpu_view(x), cpu_out(out, "out")); });
    m.def("max", [](A x, A out) { cpu::reduce_max(cpu_view(x), cpu_out(out, "out")); });
    m.def("argmax", [](A x, A out) { cpu::argmax_lastdim(cpu_view(x), cpu_out(out, "out")); });
    m.def("min", [](A x, A out) { cpu::reduce_min(cpu_view(x), cpu_out(out, "out")); });
    m.def("prod", [](A x, A out) { cpu::reduce_prod(cpu_view(x), cpu_out(out, "out")); });
    m.def("argmin", [](A x, A out) { cpu::argmin_lastdim(cpu_view(x), cpu_out(out, "out")); });
    m.def("cumsum", [](A x, A out) { cpu::cumsum_lastdim(cpu_view(x), cpu_out(out, "out")); });
    m.def("matmul", [](A a, A b, A out) { cpu::matmul(cpu_view(a), cpu_view(b), cpu_out(out, "out")); });
    m.def("matmul_bias", [](A a, A b, A bias, A out) {  // Linear's forward: the bias added in the GEMM's store
        cpu::matmul_bias(cpu_view(a), cpu_view(b), cpu_view(bias), cpu_out(out, "out"));
    });
    // conv2d's three kernels; the geometry travels flat: (stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups).
#define GC_BIND_CONV(name, in1, in2, out)                                                                   \
    m.def(#name, [](A in1, A in2, A out, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, \
                    int64_t groups) {                                                                     \
        cpu::name(cpu_view(in1), cpu_view(in2), cpu_out(out, #out), Conv2dParams{sh, sw, ph, pw, dh, dw, groups}); \
    })
    GC_BIND_CONV(conv2d_forward, x, w, y);
    GC_BIND_CONV(conv2d_backward_input, gy, w, gx);
    GC_BIND_CONV(conv2d_backward_weight, x, gy, gw);
#undef GC_BIND_CONV
    m.def(
        "softmax_ce",
        [](A logits, A targets, A loss, A dlogits, int64_t ignore_index, int reduction) {
            cpu::softmax_ce(cpu_view(logits), cpu_view(targets), cpu_out(loss, "loss"), cpu_out(dlogits, "dlogits"),
                            ignore_index, reduction);
        },
        py::arg("logits"), py::arg("targets"), py::arg("loss"), py::arg("dlogits"), py::arg("ignore_index") = -100,
        py::arg("reduction") = 1);
    m.def("adam_step", [](const py::list& p, const py::list& g, const py::list& m1, const py::list& v, double lr,
                          double b1, double b2, double eps, double wd, int64_t step, bool decoupled) {
        cpu::adam_step(cpu_lists(p, g, m1, v), lr, b1, b2, eps, wd, step, decoupled);
    });
    m.def("sgd_step", [](const py::list& p, const py::list& g, const py::list& buf, double lr, double momentum,
                         double wd, double dampening, bool nesterov, bool first) {
        cpu::sgd_step(cpu_lists(p, g, buf, py::list()), lr, momentum, wd, dampening, nesterov, first);
    });
    m.def("layernorm_fwd", [](A x, A out, A rstd, double eps) {
        cpu::layernorm_fwd(cpu_view(x), cpu_out(out, "out"), cpu_out(rstd, "rstd"), eps);
    });
    m.def("layernorm_bwd", [](A g, A xhat, A rstd, A dx) {
        cpu::layernorm_bwd(cpu_view(g), cpu_view(xhat), cpu_view(rstd), cpu_out(dx, "dx"));
    });
    m.def("log_softmax_fwd", [](A x, A out) { cpu::log_softmax_fwd(cpu_view(x), cpu_out(out, "out")); });
    m.def("log_softmax_bwd", [](A g, A out, A dx) { cpu::log_softmax_bwd(cpu_view(g), cpu_view(out), cpu_out(dx, "dx")); });
    m.def("batchnorm_fwd_train", [](A x, A w, A b, A out, A mean, A var, double eps) {
        cpu::batchnorm_fwd_train(cpu_view(x), cpu_view(w), cpu_view(b), cpu_out(out, "out"), cpu_out(mean, "save_mean"),
                                 cpu_out(var, "save_var"), eps);
    });
    m.def("batchnorm_update_running", [](A mean, A var, A rm, A rv, double momentum, int64_t count) {
        cpu::batchnorm_update_running(cpu_view(mean), cpu_view(var), cpu_out(rm, "running_mean"),
                                      cpu_out(rv, "running_var"), momentum, count);
    });
    m.def("batchnorm_fwd_eval", [](A x, A w, A b, A rm, A rv, A out, double eps) {
        cpu::batchnorm_fwd_eval(cpu_view(x), cpu_view(w), cpu_view(b), cpu_view(rm), cpu_view(rv), cpu_out(out, "out"),
                                eps);
    });
    m.def("batchnorm_bwd", [](A g, A x, A w, A mean, A var, A gx, A gw, A gb, double eps) {
        cpu::batchnorm_bwd(cpu_view(g), cpu_view(x), cpu_view(w), cpu_view(mean), cpu_view(var), cpu_out(gx, "grad_input"),
                           cpu_out(gw, "grad_weight"), cpu_out(gb, "grad_bias"), eps);
    });
    m.def("dropout_mask", [](A out, double p, uint64_t seed, uint64_t offset) {
        cpu::dropout_mask(cpu_out(out, "out"), p, seed, offset);
    }, py::arg("out"), py::arg("p"), py::arg("seed"), py::arg("offset"));
    m.def("fill", [](A out, const py::object& value) {
        ArrayView v = raw_out(out, "out");  // fill writes float16/bfloat16 natively
        auto [f, i] = scalar_arg(v.dtype, value);
        cpu::fill(v, f, i);
    }, py::arg("out"), py::arg("value"));
    // The raw generator, so tests can check Random123's known-answer vectors.
    m.def("philox4x32_10", [](const std::array<uint32_t, 4>& ctr, const std::array<uint32_t, 2>& key) {
        Philox4 r = philox4x32_10(Philox4{{ctr[0], ctr[1], ctr[2], ctr[3]}}, key[0], key[1]);
        return std::array<uint32_t, 4>{r.v[0], r.v[1], r.v[2], r.v[3]};
    });
    m.def("gather", [](A x, int64_t dim, A index, A out) {
        cpu::gather(cpu_view(x), dim, cpu_view(index), cpu_out(out, "out"));
    });
    m.def("scatter", [](A src, int64_t dim, A index, A out, bool accumulate) {
        cpu::scatter(cpu_view(src), dim, cpu_view(index), cpu_out(out, "out"), accumulate);
    });
    m.def("where", [](A cond, A a, A b, A out) {
        cpu::where(cpu_view(cond), cpu_view(a), cpu_view(b), cpu_out(out, "out"));
    });
    m.def("cumprod", [](A x, A out) { cpu::cumprod_lastdim(cpu_view(x), cpu_out(out, "out")); });
    m.def("sort_lastdim", [](A x, A values, A indices, bool descending) {
        cpu::sort_lastdim(cpu_view(x), cpu_out(values, "values"), cpu_out(indices, "indices"), descending);
    }, py::arg("x"), py::arg("values"), py::arg("indices"), py::arg("descending"));
    m.def("max_pool2d_fwd", [](A x, A y, A idx, const std::array<int64_t, 8>& k) {
        cpu::max_pool2d_fwd(cpu_view(x), cpu_out(y, "out"), cpu_out(idx, "indices"), pool_params(k));
    }, py::arg("x"), py::arg("out"), py::arg("indices"), py::arg("params"));
    m.def("max_pool2d_bwd", [](A gy, A idx, A gx, const std::array<int64_t, 8>& k) {
        cpu::max_pool2d_bwd(cpu_view(gy), cpu_view(idx), cpu_out(gx, "grad_input"), pool_params(k));
    }, py::arg("grad_output"), py::arg("indices"), py::arg("grad_input"), py::arg("params"));
    m.def("avg_pool2d_fwd", [](A x, A y, const std::array<int64_t, 8>& k, bool count_include_pad, int64_t divisor) {
        cpu::avg_pool2d_fwd(cpu_view(x), cpu_out(y, "out"), pool_params(k, count_include_pad, divisor));
    }, py::arg("x"), py::arg("out"), py::arg("params"), py::arg("count_include_pad"), py::arg("divisor"));
    m.def("avg_pool2d_bwd", [](A gy, A gx, const std::array<int64_t, 8>& k, bool count_include_pad, int64_t divisor) {
        cpu::avg_pool2d_bwd(cpu_view(gy), cpu_out(gx, "grad_input"), pool_params(k, count_include_pad, divisor));
    }, py::arg("grad_output"), py::arg("grad_input"), py::arg("params"), py::arg("count_include_pad"),
       py::arg("divisor"));
    m.def("num_threads", [] { return num_threads(); });
    m.def("cached_empty", &cached_empty, "an uninitialised array from the large-buffer host cache");
    m.attr("cache_min_bytes") = cpu::kHostCacheMinBytes;
    m.def("memory_stats", [] { return cpu::host_memory_stats(); });
    m.def("empty_cache", [] { cpu::host_empty_cache(); });
    register_cpu_fast_path(m);  // fast_add, fast_sub, ...: one call for a plain eager op (fastpath_cpu.cpp)
}

// DLPack capsule lifetime for python/gradcore/_dlpack_abi.py, in C because both hooks run wherever the
// last reference goes, often while an exception is pending (a consumer that rejects a capsule sets its
// error, then drops it; an imported array dies in a frame that is unwinding). A ctypes callback cannot
// run then: its argument conversion sees the pending error, the callback fails and the consumer's error
// is lost (a SystemError). These save the error indicator around the call into Python and restore it.
namespace dlpack_lifetime {
PyObject* release = nullptr;  // _dlpack_abi._release_export: set once, kept for the process's life

void call_release(void* address) {
    if (release == nullptr || !Py_IsInitialized()) return;
    PyGILState_STATE gil = PyGILState_Ensure();  // a consumer may drop the tensor on any thread
    PyObject *type, *value, *trace;
    PyErr_Fetch(&type, &value, &trace);
    PyObject* r = PyObject_CallFunction(release, "K", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(address)));
    if (r == nullptr) PyErr_WriteUnraisable(release);
    Py_XDECREF(r);
    PyErr_Restore(type, value, trace);
    PyGILState_Release(gil);
}

// The managed tensor's deleter (both struct versions pass their own address).
void deleter(void* managed) { call_release(managed); }

// The capsule's destructor: only a capsule nobody consumed still owns its tensor. IsValid and GetPointer
// on a valid name set no error.
void capsule_destructor(PyObject* capsule) {
    for (const char* name : {"dltensor", "dltensor_versioned"}) {
        if (PyCapsule_IsValid(capsule, name)) call_release(PyCapsule_GetPointer(capsule, name));
    }
}
}  // namespace dlpack_lifetime

}  // namespace
}  // namespace gc

PYBIND11_MODULE(_C, m) {
    m.doc() = "gradcore native kernels";
    auto cpu = m.def_submodule("cpu", "CPU kernels");
    gc::register_cpu(cpu);
    m.def("_dlpack_lifetime", [](py::object release) {
        if (gc::dlpack_lifetime::release == nullptr) gc::dlpack_lifetime::release = release.release().ptr();
        return py::make_tuple(reinterpret_cast<uintptr_t>(&gc::dlpack_lifetime::deleter),
                              reinterpret_cast<uintptr_t>(&gc::dlpack_lifetime::capsule_destructor));
    }, "the (deleter, capsule destructor) addresses _dlpack_abi's capsules use, calling release(address)");
#ifdef GC_WITH_CUDA
    auto cuda = m.def_submodule("cuda", "CUDA kernels");
    gc::register_cuda(cuda);
    m.attr("cuda_built") = true;
#else
    m.attr("cuda_built") = false;
#endif
}
