// gradcore._C.cuda: the device array type, streams and events, and the CUDA kernel table (same names as
// gradcore._C.cpu). Compiled, not yet run on a GPU (streams/events, pinned uploads, DLPack protocol, CAI
// stream, bounds-checked as_strided, pending device errors, sync debug).
#include <pybind11/numpy.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include "cuda_common.h"
#include "dlpack.h"
#include "conv.h"
#include "half.h"
#include "kernels.h"
#include "rownorm.h"
#include "batchnorm.h"
#include "numpy_dtype.h"
#include "pool.h"
#include "sort.h"
#include "scalar_arg.h"

namespace py = pybind11;

namespace gc {
namespace cuda {
void set_matmul_variant(int v);
int matmul_variant();
void matmul_half(const ArrayView& a, const ArrayView& b, const ArrayView& out);  // matmul_half_cuda.cu
template <class Op> void unary_half(const ArrayView& x, const ArrayView& out);  // elementwise_half_cuda.cu
template <class Op> void binary_half(const ArrayView& a, const ArrayView& b, const ArrayView& out);
void set_conv_variant(int v);
int conv_variant();
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
    if (is_half(a.dtype)) cuda::cast(a.view(), out.view());  // the copy kernels see only float32 twins
    else cuda::unary<Copy>(a.view(), out.view());
    return out;
}

// Stream handles cross into Python as ints: 0 is the legacy default stream; 1 and 2 are CUDA's own
// cudaStreamLegacy and cudaStreamPerThread, so the same cast serves the DLPack/CAI conventions.
cudaStream_t as_stream(uintptr_t h) { return reinterpret_cast<cudaStream_t>(h); }
uintptr_t stream_handle(cudaStream_t s) { return reinterpret_cast<uintptr_t>(s); }
cudaEvent_t as_event(uintptr_t h) {
    GC_CHECK(h != 0, "CUDA event handle 0 is not an event");
    return reinterpret_cast<cudaEvent_t>(h);
}
// The legacy default stream has two spellings (0 and cudaStreamLegacy); compare streams through this.
cudaStream_t canonical(cudaStream_t s) { return s == nullptr ? cudaStreamLegacy : s; }

// Makes `consumer` wait for the work queued so far on the current stream (no host sync).
void order_before(cudaStream_t consumer) {
    cudaStream_t producer = cuda::stream();
    if (canonical(producer) == canonical(consumer)) return;
    cudaEvent_t ev;
    GC_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    cudaError_t err = cudaEventRecord(ev, producer);
    if (err == cudaSuccess) err = cudaStreamWaitEvent(consumer, ev, 0);
    cudaEventDestroy(ev);  // released once the wait has been satisfied
    cuda::check(err, "ordering the consumer's stream after gradcore's (cudaStreamWaitEvent)");
}

int current_device() {
    int device = 0;
    GC_CUDA_CHECK(cudaGetDevice(&device));
    return device;
}

// ---- Host->device uploads go through a pool of pinned staging buffers, so the copy is truly asynchronous
// and the source may be freed at once. Each buffer carries an event recorded after its copy and is refilled
// only once that event has completed. The host never waits here: when every buffer is still in flight (a
// long queue of kernels ahead of the copies) and the pool is at its cap, the chunk goes as a pageable
// cudaMemcpyAsync, which the driver stages itself.
class PinnedPool {
  public:
    void upload(void* dst, const void* src, size_t bytes) {
        std::lock_guard<std::mutex> lock(mu_);
        cudaStream_t s = cuda::stream();
        for (size_t done = 0; done < bytes;) {
            size_t n = std::min(bytes - done, kChunk);
            char* d = static_cast<char*>(dst) + done;
            const char* from = static_cast<const char*>(src) + done;
            Buf* b = acquire(n);
            if (!b) {
                GC_CUDA_CHECK(cudaMemcpyAsync(d, from, n, cudaMemcpyHostToDevice, s));
            } else {
                std::memcpy(b->ptr, from, n);
                GC_CUDA_CHECK(cudaMemcpyAsync(d, b->ptr, n, cudaMemcpyHostToDevice, s));
                GC_CUDA_CHECK(cudaEventRecord(b->done, s));
            }
            done += n;
        }
    }

  private:
    static constexpr size_t kChunk = size_t(8) << 20, kMinBuf = size_t(64) << 10;
    static constexpr size_t kMaxBufs = 64, kMaxPinnedBytes = size_t(64) << 20;
    struct Buf {
        void* ptr;
        size_t bytes;
        cudaEvent_t done;
    };
    std::mutex mu_;
    std::vector<Buf> bufs_;
    size_t next_ = 0, pinned_bytes_ = 0;

    static bool idle(const Buf& b) {
        cudaError_t e = cudaEventQuery(b.done);
        if (e == cudaErrorNotReady) {
            cudaGetLastError();
            return false;
        }
        cuda::check(e, "cudaEventQuery (pinned staging)");
        return true;
    }

    Buf* acquire(size_t n) {
        // Round robin from the last buffer handed out: copies finish in order, so the next one is usually idle.
        const size_t count = bufs_.size();
        for (size_t k = 0; k < count; ++k) {
            size_t i = (next_ + k) % count;
            if (bufs_[i].bytes >= n && idle(bufs_[i])) {
                next_ = (i + 1) % count;
                return &bufs_[i];
            }
        }
        const size_t size = std::max(n, kMinBuf);
        if (count >= kMaxBufs || pinned_bytes_ + size > kMaxPinnedBytes) return nullptr;
        Buf b{nullptr, size, nullptr};
        if (cudaHostAlloc(&b.ptr, b.bytes, cudaHostAllocDefault) != cudaSuccess) {
            cudaGetLastError();
            return nullptr;
        }
        if (cudaEventCreateWithFlags(&b.done, cudaEventDisableTiming) != cudaSuccess) {
            cudaGetLastError();
            cudaFreeHost(b.ptr);
            return nullptr;
        }
        pinned_bytes_ += size;
        bufs_.push_back(b);
        return &bufs_.back();
    }
};

PinnedPool& pinned_pool() {
    static PinnedPool* r = new PinnedPool();  // never destroyed: outlives interpreter teardown
    return *r;
}

// Device->host: the copy and the sync are on the current stream only; then errors that kernels recorded
// on the device are raised (this is a sync point).
py::array to_numpy(const CudaArray& a) {
    CudaArray c = contiguous_copy(a);
    py::array out(numpy_dtype(a.dtype), a.shape);
    void* host = out.mutable_data();  // taken while the GIL is held
    {
        py::gil_scoped_release nogil;
        if (a.numel())
            GC_CUDA_CHECK(cudaMemcpyAsync(host, c.data(), a.numel() * cuda::itemsize(a.dtype), cudaMemcpyDeviceToHost,
                                          cuda::stream()));
        GC_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
    }
    cuda::raise_pending_errors();
    return out;
}

CudaArray from_numpy(const py::array& src) {
    py::array a = py::array::ensure(src, py::array::c_style);
    if (!a) throw py::error_already_set();
    std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
    CudaArray out = CudaArray::empty(shape, dtype_from_numpy(a.dtype()));
    if (out.numel()) pinned_pool().upload(out.data(), a.data(), out.numel() * cuda::itemsize(out.dtype));
    return out;
}

// Bounds of a strided view in elements: [lo, hi] reachable from offset; false when the view is empty.
bool reach(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t offset, int64_t* lo,
           int64_t* hi) {
    *lo = *hi = offset;
    for (size_t d = 0; d < shape.size(); ++d) {
        GC_CHECK(shape[d] >= 0, "as_strided: negative dimension in shape " + cuda::shape_str(shape));
        if (shape[d] == 0) return false;
    }
    for (size_t d = 0; d < shape.size(); ++d) {
        int64_t ext = 0;
        bool overflow = __builtin_mul_overflow(shape[d] - 1, strides[d], &ext);
        overflow = overflow || __builtin_add_overflow(ext < 0 ? *lo : *hi, ext, ext < 0 ? lo : hi);
        GC_CHECK(!overflow, "as_strided: the view's extent overflows int64");
    }
    return true;
}

CudaArray as_strided(const CudaArray& a, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                     int64_t offset) {
    GC_CHECK(shape.size() == strides.size(), "as_strided: shape and strides differ in length");
    GC_CHECK(shape.size() <= size_t(kMaxDims), "as_strided: at most 8 dimensions are supported");
    const int64_t capacity = int64_t(a.block->valid_bytes / cuda::itemsize(a.dtype));
    int64_t lo = 0, hi = 0;
    bool nonempty = reach(shape, strides, offset, &lo, &hi);
    GC_CHECK(offset >= 0 && lo >= 0 && (nonempty ? hi < capacity : offset <= capacity),
             "as_strided: a view of shape " + cuda::shape_str(shape) + " at offset " + std::to_string(offset) +
                 " reaches elements [" + std::to_string(lo) + ", " + std::to_string(hi) +
                 "] outside its memory block of " + std::to_string(capacity) + " elements");
    CudaArray v = a;
    v.shape = shape;
    v.strides = strides;
    v.offset = offset;
    return v;
}

// ---- DLPack export: the capsule owns a copy of the CudaArray (keeping its block alive).
struct ExportCtx {
    CudaArray array;
    std::vector<int64_t> shape, strides;
};

template <class Managed>
void export_deleter(Managed* self) {
    delete static_cast<ExportCtx*>(self->manager_ctx);
    delete self;
}

template <class Managed>
void capsule_destructor(PyObject* cap, const char* name) {
    // Runs whenever the capsule dies, possibly while an unrelated exception is propagating: the calls
    // below must not clear it, so the error state is saved and restored around them.
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    // Only an unconsumed capsule still owns the tensor; a consumer renames it "used_...".
    if (PyCapsule_IsValid(cap, name)) {
        auto* mt = static_cast<Managed*>(PyCapsule_GetPointer(cap, name));
        if (mt && mt->deleter) mt->deleter(mt);
    }
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

void fill_dl_tensor(dl::Tensor& t, const CudaArray& a, ExportCtx* ctx, int device) {
    t.data = a.data();
    t.device = {dl::kCUDA, device};
    t.ndim = int32_t(a.shape.size());
    bool is_float = a.dtype == DType::Float32 || a.dtype == DType::Float64 || a.dtype == DType::Float16;
    uint8_t code = is_float ? dl::kFloat : (a.dtype == DType::Bool ? dl::kBool : dl::kInt);
    if (a.dtype == DType::BFloat16) code = dl::kBfloat;
    t.dtype = {code, uint8_t(8 * cuda::itemsize(a.dtype)), 1};
    t.shape = ctx->shape.data();
    t.strides = ctx->strides.data();
    t.byte_offset = 0;
}

// The consumer's stream per the array API: None or 1 the legacy default, 2 per-thread default, -1 no
// ordering, another int a cudaStream_t (0 is read as the legacy default, our handle convention).
py::capsule to_dlpack(const CudaArray& a, const py::object& stream, const py::object& max_version,
                      const py::object& dl_device, const py::object& copy) {
    const int device = current_device();
    if (!dl_device.is_none()) {
        auto dev = dl_device.cast<std::pair<int, int>>();
        if (dev.first != int(dl::kCUDA) || dev.second != device)
            throw py::buffer_error("__dlpack__: cannot export to device (" + std::to_string(dev.first) + ", " +
                                   std::to_string(dev.second) + "): this array lives on (" +
                                   std::to_string(int(dl::kCUDA)) + ", " + std::to_string(device) +
                                   ") and gradcore does not copy on export");
    }
    if (!copy.is_none() && copy.cast<bool>())
        throw py::buffer_error("__dlpack__: copy=True is not supported (gradcore exports its memory, never a copy)");
    int64_t consumer = stream.is_none() ? 1 : stream.cast<int64_t>();
    if (consumer != -1) order_before(as_stream(consumer == 0 ? 1 : uintptr_t(consumer)));
    bool versioned = false;
    if (!max_version.is_none()) {
        auto v = max_version.cast<std::pair<int64_t, int64_t>>();
        versioned = v.first >= 1;
    }
    auto* ctx = new ExportCtx{a, a.shape, a.strides};
    if (versioned) {
        auto* m = new dl::ManagedTensorVersioned{};
        m->version = {1, 0};
        m->flags = 0;
        fill_dl_tensor(m->dl_tensor, a, ctx, device);
        m->manager_ctx = ctx;
        m->deleter = export_deleter<dl::ManagedTensorVersioned>;
        return py::capsule(m, "dltensor_versioned", [](PyObject* cap) {
            capsule_destructor<dl::ManagedTensorVersioned>(cap, "dltensor_versioned");
        });
    }
    auto* m = new dl::ManagedTensor{};
    fill_dl_tensor(m->dl_tensor, a, ctx, device);
    m->manager_ctx = ctx;
    m->deleter = export_deleter<dl::ManagedTensor>;
    return py::capsule(m, "dltensor", [](PyObject* cap) { capsule_destructor<dl::ManagedTensor>(cap, "dltensor"); });
}

std::string device_str(int type, int id) {
    return type == int(dl::kCUDA) ? "cuda:" + std::to_string(id)
                                  : "DLPack device type " + std::to_string(type) + " (id " + std::to_string(id) + ")";
}

void check_import_device(int type, int id) {
    if (type != int(dl::kCUDA))
        throw py::type_error("from_dlpack: the tensor is on " + device_str(type, id) + ", not a CUDA device");
    int device = current_device();
    if (id != device)
        throw py::value_error("from_dlpack: the tensor is on cuda:" + std::to_string(id) +
                              " but gradcore works on cuda:" + std::to_string(device) +
                              "; move it to that device first");
}

// ---- DLPack import: the block releases the producer's tensor instead of returning to our cache.
// Accepts an object with __dlpack__ (asked for a versioned capsule first) or a capsule itself.
CudaArray from_dlpack(const py::object& obj) {
    py::object cap_obj;
    if (PyCapsule_CheckExact(obj.ptr())) {
        cap_obj = obj;
    } else {
        if (!py::hasattr(obj, "__dlpack__"))
            throw py::type_error("from_dlpack: " + std::string(py::str(py::type::of(obj).attr("__name__"))) +
                                 " does not implement __dlpack__");
        if (py::hasattr(obj, "__dlpack_device__")) {
            auto dev = obj.attr("__dlpack_device__")().cast<std::pair<int, int>>();
            check_import_device(dev.first, dev.second);
        }
        // The producer orders its work before our current stream (1 stands for the legacy default).
        cudaStream_t ours = cuda::stream();
        uintptr_t consumer = ours == nullptr ? 1 : stream_handle(ours);
        try {
            cap_obj = obj.attr("__dlpack__")(py::arg("stream") = consumer, py::arg("max_version") = py::make_tuple(1, 0));
        } catch (py::error_already_set& e) {
            if (!e.matches(PyExc_TypeError)) throw;  // a pre-1.0 producer without max_version
            cap_obj = obj.attr("__dlpack__")(py::arg("stream") = consumer);
        }
    }
    PyObject* cap = cap_obj.ptr();
    const bool versioned = PyCapsule_IsValid(cap, "dltensor_versioned");
    if (!versioned && !PyCapsule_IsValid(cap, "dltensor"))
        throw py::value_error("from_dlpack: expected an unconsumed DLPack capsule (\"dltensor\" or "
                              "\"dltensor_versioned\")");
    void* managed = PyCapsule_GetPointer(cap, versioned ? "dltensor_versioned" : "dltensor");
    if (!managed) throw py::error_already_set();
    const dl::Tensor* tp;
    if (versioned) {
        auto* mv = static_cast<dl::ManagedTensorVersioned*>(managed);
        if (mv->version.major != 1)
            throw py::buffer_error("from_dlpack: DLPack version " + std::to_string(mv->version.major) +
                                   " is not supported (gradcore reads 1.x)");
        if (mv->flags & dl::kFlagReadOnly)
            throw py::buffer_error("from_dlpack: the tensor is read-only and gradcore tensors are writable");
        tp = &mv->dl_tensor;
    } else {
        tp = &static_cast<dl::ManagedTensor*>(managed)->dl_tensor;
    }
    const dl::Tensor& t = *tp;
    check_import_device(t.device.device_type, t.device.device_id);
    if (t.dtype.lanes != 1) throw py::type_error("from_dlpack: vector dtypes are not supported");
    GC_CHECK(t.ndim >= 0 && t.ndim <= kMaxDims, "from_dlpack: at most 8 dimensions are supported");
    DType dt;
    if (t.dtype.code == dl::kFloat && t.dtype.bits == 32) dt = DType::Float32;
    else if (t.dtype.code == dl::kFloat && t.dtype.bits == 64) dt = DType::Float64;
    else if (t.dtype.code == dl::kInt && t.dtype.bits == 32) dt = DType::Int32;
    else if (t.dtype.code == dl::kInt && t.dtype.bits == 64) dt = DType::Int64;
    else if (t.dtype.code == dl::kBool && t.dtype.bits == 8) dt = DType::Bool;
    else if (t.dtype.code == dl::kFloat && t.dtype.bits == 16) dt = DType::Float16;
    else if (t.dtype.code == dl::kBfloat && t.dtype.bits == 16) dt = DType::BFloat16;
    else throw py::type_error("from_dlpack: unsupported dtype (gradcore holds float16/32/64, bfloat16, int32/64 and bool)");
    CudaArray a;
    a.dtype = dt;
    a.shape.assign(t.shape, t.shape + t.ndim);
    a.strides = t.strides ? std::vector<int64_t>(t.strides, t.strides + t.ndim) : contiguous_strides(a.shape);
    // The block starts at the lowest element the view reaches, so as_strided's bounds check applies.
    int64_t lo = 0, hi = 0;
    const int64_t isz = int64_t(cuda::itemsize(dt));
    bool nonempty = reach(a.shape, a.strides, 0, &lo, &hi);
    char* base = static_cast<char*>(t.data) + t.byte_offset;
    GC_CHECK(reinterpret_cast<uintptr_t>(base) % uintptr_t(isz) == 0,
             "from_dlpack: the data is not aligned to its " + std::string(dtype_name(dt)) + " elements");
    a.block = std::make_shared<cuda::DeviceBlock>();
    a.block->ptr = base + lo * isz;
    a.block->valid_bytes = nonempty ? size_t(hi - lo + 1) * size_t(isz) : 0;
    a.block->bytes = a.block->valid_bytes;
    a.offset = -lo;
    struct Owner {
        void* managed;
        bool versioned;
    };
    a.block->external_ctx = new Owner{managed, versioned};
    a.block->external_release = [](void* ctx) {
        auto* o = static_cast<Owner*>(ctx);
        if (o->versioned) {
            auto* mv = static_cast<dl::ManagedTensorVersioned*>(o->managed);
            if (mv->deleter) mv->deleter(mv);
        } else {
            auto* mt = static_cast<dl::ManagedTensor*>(o->managed);
            if (mt->deleter) mt->deleter(mt);
        }
        delete o;
    };
    PyCapsule_SetName(cap, versioned ? "used_dltensor_versioned" : "used_dltensor");
    return a;
}

py::dict cuda_array_interface(const CudaArray& a) {
    static const char* typestr[] = {"<f4", "<f8", "<i4", "<i8", "|b1", "<f2"};
    if (a.dtype == DType::BFloat16)  // the protocol has no type string for it (torch refuses too)
        throw py::type_error("__cuda_array_interface__: bfloat16 has no typestr; use __dlpack__");
    py::dict d;
    py::list strides;
    for (auto s : a.strides) strides.append(s * int64_t(cuda::itemsize(a.dtype)));
    d["shape"] = py::tuple(py::cast(a.shape));
    d["typestr"] = typestr[int(a.dtype)];
    d["data"] = py::make_tuple(reinterpret_cast<uintptr_t>(a.data()), false);
    d["strides"] = py::tuple(strides);
    d["version"] = 3;
    // CAI v3: the stream our pending work on this array is queued on; the consumer orders itself after it
    // (1: the legacy default stream, as 0 is not allowed in the protocol).
    cudaStream_t s = cuda::stream();
    d["stream"] = s == nullptr ? uintptr_t(1) : stream_handle(s);
    return d;
}

// A kernel operand as the kernel sees it: a float16/bfloat16 array is replaced by a float32 twin (cast in
// when made; cast back into the array, for outputs, when the operand dies at the end of the binding's
// call), so kernels compute half types in float32 and round once: the one place this happens on the
// device. Scratch memory goes back to the caching allocator on the current stream, after the casts and
// the kernel queued there. Use only as a temporary inside the kernel call's expression.
class DevArg {
  public:
    DevArg(const CudaArray& a, bool out) : view_(a.view()) {
        if (!is_half(view_.dtype)) return;
        int64_t n = 0;
        ArrayView twin = float32_twin(view_, nullptr, &n);
        scratch_ = CudaArray::empty({std::max<int64_t>(n, 1)}, DType::Float32);
        twin.data = scratch_.data();
        cuda::cast(without_broadcast(view_, view_), without_broadcast(twin, view_));  // outputs too: scatter adds
        half_ = view_;
        view_ = twin;
        write_back_ = out;
    }
    ~DevArg() {
        if (!write_back_) return;
        try {
            cuda::cast(without_broadcast(view_, half_), without_broadcast(half_, half_));
        } catch (...) {  // a launch failure here is sticky: the next call or sync reports it
        }
    }
    DevArg(const DevArg&) = delete;
    DevArg& operator=(const DevArg&) = delete;
    operator const ArrayView&() const { return view_; }

  private:
    ArrayView view_, half_;
    CudaArray scratch_;
    bool write_back_ = false;
};

DevArg dv(const CudaArray& a) { return DevArg(a, false); }
DevArg dout(const CudaArray& a) { return DevArg(a, true); }

// Half-type entries become float32 twins owned by the returned lists, which write them back (parameters
// and state) when they die at the end of the binding's call.
struct DevOptimLists : OptimLists {
    std::vector<std::unique_ptr<DevArg>> keep;
};

DevOptimLists to_lists(const py::list& p, const py::list& g, const py::list& b1, const py::list& b2) {
    DevOptimLists t;
    auto fill = [&t](const py::list& src, std::vector<ArrayView>& dst, bool out) {
        for (auto item : src) {
            t.keep.push_back(std::make_unique<DevArg>(item.cast<const CudaArray&>(), out));
            dst.push_back(*t.keep.back());
        }
    };
    fill(p, t.params, true);
    fill(g, t.grads, false);
    fill(b1, t.bufs1, true);
    fill(b2, t.bufs2, true);
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
            GC_CUDA_CHECK(cudaMemsetAsync(a.data(), 0, std::max<int64_t>(a.numel(), 1) * cuda::itemsize(a.dtype),
                                          cuda::stream()));
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
        .def("as_strided", &as_strided, py::arg("shape"), py::arg("strides"), py::arg("offset"))
        .def_property_readonly("__cuda_array_interface__", &cuda_array_interface)
        .def("__dlpack__", &to_dlpack, py::kw_only(), py::arg("stream") = py::none(),
             py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
        .def("__dlpack_device__", [](const CudaArray&) { return py::make_tuple(int(dl::kCUDA), current_device()); });

    using A = const CudaArray&;
#define GC_BIND_UNARY(name, Op)              \
    m.def("unary_" #name, [](A x, A out) {   \
        cuda::OpScope scope("unary_" #name); \
        cuda::unary<Op>(dv(x), dout(out));   \
    });
#define GC_BIND_BINARY(name, Op)                       \
    m.def("binary_" #name, [](A a, A b, A out) {       \
        cuda::OpScope scope("binary_" #name);          \
        cuda::binary<Op>(dv(a), dv(b), dout(out));     \
    });
// The float ops: float16/bfloat16 operands go to the native half kernels (one launch, float inside).
#define GC_BIND_UNARY_FLOAT(name, Op)                                                          \
    m.def("unary_" #name, [](A x, A out) {                                                     \
        cuda::OpScope scope("unary_" #name);                                                   \
        if (is_half(x.dtype) && out.dtype == x.dtype) cuda::unary_half<Op>(x.view(), out.view()); \
        else cuda::unary<Op>(dv(x), dout(out));                                                \
    });
#define GC_BIND_BINARY_FLOAT(name, Op)                                                           \
    m.def("binary_" #name, [](A a, A b, A out) {                                                 \
        cuda::OpScope scope("binary_" #name);                                                    \
        if (is_half(out.dtype) && a.dtype == out.dtype && b.dtype == out.dtype)                  \
            cuda::binary_half<Op>(a.view(), b.view(), out.view());                               \
        else cuda::binary<Op>(dv(a), dv(b), dout(out));                                          \
    });
    GC_UNARY_OPS(GC_BIND_UNARY_FLOAT)
    GC_BINARY_OPS(GC_BIND_BINARY_FLOAT)
    GC_BITWISE_UNARY_OPS(GC_BIND_UNARY)
    GC_BITWISE_BINARY_OPS(GC_BIND_BINARY)
#define GC_BIND_COMPARE(name, Op) \
    m.def("compare_" #name, [](A a, A b, A out) { cuda::compare<Op>(dv(a), dv(b), dout(out)); });
    GC_COMPARE_OPS(GC_BIND_COMPARE)
    m.def("cast", [](A x, A out) { cuda::cast(x.view(), out.view()); });
    m.def("sum", [](A x, A out) { cuda::reduce_sum(dv(x), dout(out)); });
    m.def("max", [](A x, A out) { cuda::reduce_max(dv(x), dout(out)); });
    m.def("argmax", [](A x, A out) { cuda::argmax_lastdim(dv(x), dout(out)); });
    m.def("min", [](A x, A out) { cuda::reduce_min(dv(x), dout(out)); });
    m.def("prod", [](A x, A out) { cuda::reduce_prod(dv(x), dout(out)); });
    m.def("argmin", [](A x, A out) { cuda::argmin_lastdim(dv(x), dout(out)); });
    m.def("cumsum", [](A x, A out) { cuda::cumsum_lastdim(dv(x), dout(out)); });
    m.def("matmul", [](A a, A b, A out) {
        // float16/bfloat16 on tensor cores (float accumulation, one rounding); the CPU twin: float32 GEMM
        if (is_half(a.dtype) && b.dtype == a.dtype && out.dtype == a.dtype) cuda::matmul_half(a.view(), b.view(), out.view());
        else cuda::matmul(dv(a), dv(b), dout(out));
    });
    m.def("matmul_bias", [](A a, A b, A bias, A out) {
        // out = a @ b + bias (N,); the CPU twin adds the bias in the GEMM's store, here a broadcast add follows
        cuda::OpScope scope("matmul_bias");
        GC_CHECK(a.shape.size() == 2 && bias.shape.size() == 1 && out.shape.size() == 2 &&
                     bias.shape[0] == out.shape[1],
                 "matmul_bias: expected 2-d operands and a bias of shape (N,)");
        if (is_half(a.dtype) && b.dtype == a.dtype && out.dtype == a.dtype && bias.dtype == a.dtype) {
            cuda::matmul_half(a.view(), b.view(), out.view());
            cuda::binary_half<Add>(out.view(), bias.view(), out.view());
        } else {
            cuda::matmul(dv(a), dv(b), dout(out));
            cuda::binary<Add>(dv(out), dv(bias), dout(out));
        }
    });
    m.def(
        "softmax_ce",
        [](A logits, A targets, A loss, A dlogits, int64_t ignore_index, int reduction) {
            cuda::softmax_ce(dv(logits), dv(targets), dout(loss), dout(dlogits), ignore_index, reduction);
        },
        py::arg("logits"), py::arg("targets"), py::arg("loss"), py::arg("dlogits"), py::arg("ignore_index") = -100,
        py::arg("reduction") = 1);
    m.def("adam_step", [](const py::list& p, const py::list& g, const py::list& m1, const py::list& v, double lr,
                          double b1, double b2, double eps, double wd, int64_t step, bool decoupled) {
        cuda::adam_step(to_lists(p, g, m1, v), lr, b1, b2, eps, wd, step, decoupled);
    });
    m.def("fill", [](A out, const py::object& value) {
        auto [f, i] = scalar_arg(out.dtype, value);
        cuda::fill(out.view(), f, i);
    }, py::arg("out"), py::arg("value"));
    m.def("dropout_mask", [](A out, double p, uint64_t seed, uint64_t offset) {
        cuda::dropout_mask(dout(out), p, seed, offset);
    }, py::arg("out"), py::arg("p"), py::arg("seed"), py::arg("offset"));
    m.def("sgd_step", [](const py::list& p, const py::list& g, const py::list& buf, double lr, double momentum,
                         double wd, double dampening, bool nesterov, bool first) {
        cuda::sgd_step(to_lists(p, g, buf, py::list()), lr, momentum, wd, dampening, nesterov, first);
    });
    m.def("layernorm_fwd", [](A x, A out, A rstd, double eps) {
        cuda::layernorm_fwd(dv(x), dout(out), dout(rstd), eps);
    });
    m.def("layernorm_bwd", [](A g, A xhat, A rstd, A dx) {
        cuda::layernorm_bwd(dv(g), dv(xhat), dv(rstd), dout(dx));
    });
    m.def("log_softmax_fwd", [](A x, A out) { cuda::log_softmax_fwd(dv(x), dout(out)); });
    m.def("log_softmax_bwd", [](A g, A out, A dx) { cuda::log_softmax_bwd(dv(g), dv(out), dout(dx)); });
    m.def("batchnorm_fwd_train", [](A x, A w, A b, A out, A mean, A var, double eps) {
        cuda::batchnorm_fwd_train(dv(x), dv(w), dv(b), dout(out), dout(mean), dout(var), eps);
    });
    m.def("batchnorm_update_running", [](A mean, A var, A rm, A rv, double momentum, int64_t count) {
        cuda::batchnorm_update_running(dv(mean), dv(var), dout(rm), dout(rv), momentum, count);
    });
    m.def("batchnorm_fwd_eval", [](A x, A w, A b, A rm, A rv, A out, double eps) {
        cuda::batchnorm_fwd_eval(dv(x), dv(w), dv(b), dv(rm), dv(rv), dout(out), eps);
    });
    m.def("batchnorm_bwd", [](A g, A x, A w, A mean, A var, A gx, A gw, A gb, double eps) {
        cuda::batchnorm_bwd(dv(g), dv(x), dv(w), dv(mean), dv(var), dout(gx), dout(gw), dout(gb), eps);
    });
    m.def("gather", [](A x, int64_t dim, A index, A out) { cuda::gather(dv(x), dim, dv(index), dout(out)); });
    m.def("scatter", [](A src, int64_t dim, A index, A out, bool accumulate) {
        cuda::scatter(dv(src), dim, dv(index), dout(out), accumulate);
    });
    m.def("where", [](A cond, A a, A b, A out) { cuda::where(dv(cond), dv(a), dv(b), dout(out)); });

    m.def("device_count", [] {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            cudaGetLastError();  // no driver or no device: report zero, not an error
            return 0;
        }
        return n;
    });
    m.def("synchronize", [] {
        {
            py::gil_scoped_release nogil;
            GC_CUDA_CHECK(cudaDeviceSynchronize());
        }
        cuda::raise_pending_errors();
    });
    m.def("raise_pending_errors", [] { cuda::raise_pending_errors(); },
          "raises (IndexError) an input error a kernel recorded on the device, and clears it");
    m.def("set_sync_debug", [](bool on) { cuda::sync_debug_flag() = on; },
          "sync and check after every launch, so a fault names its kernel");
    m.def("sync_debug", [] { return cuda::sync_debug_flag().load(); });
    if (const char* env = std::getenv("GRADCORE_CUDA_SYNC")) cuda::sync_debug_flag() = std::string(env) == "1";

    // ---- 2-d pooling (pool_cuda.cu): the parameters travel as one list (kh, kw, sh, sw, ph, pw, dh, dw).
    m.def("cumprod", [](A x, A out) { cuda::cumprod_lastdim(dv(x), dout(out)); });
    m.def("sort_lastdim", [](A x, A values, A indices, bool descending) {
        cuda::OpScope scope("sort_lastdim");
        cuda::sort_lastdim(dv(x), dout(values), dout(indices), descending);
    }, py::arg("x"), py::arg("values"), py::arg("indices"), py::arg("descending"));
    m.def("max_pool2d_fwd", [](A x, A y, A idx, const std::array<int64_t, 8>& k) {
        cuda::OpScope scope("max_pool2d_fwd");
        cuda::max_pool2d_fwd(x.view(), y.view(), idx.view(), pool_params(k));
    }, py::arg("x"), py::arg("out"), py::arg("indices"), py::arg("params"));
    m.def("max_pool2d_bwd", [](A gy, A idx, A gx, const std::array<int64_t, 8>& k) {
        cuda::OpScope scope("max_pool2d_bwd");
        cuda::max_pool2d_bwd(gy.view(), idx.view(), gx.view(), pool_params(k));
    }, py::arg("grad_output"), py::arg("indices"), py::arg("grad_input"), py::arg("params"));
    m.def("avg_pool2d_fwd", [](A x, A y, const std::array<int64_t, 8>& k, bool count_include_pad, int64_t divisor) {
        cuda::OpScope scope("avg_pool2d_fwd");
        cuda::avg_pool2d_fwd(x.view(), y.view(), pool_params(k, count_include_pad, divisor));
    }, py::arg("x"), py::arg("out"), py::arg("params"), py::arg("count_include_pad"), py::arg("divisor"));
    m.def("avg_pool2d_bwd", [](A gy, A gx, const std::array<int64_t, 8>& k, bool count_include_pad, int64_t divisor) {
        cuda::OpScope scope("avg_pool2d_bwd");
        cuda::avg_pool2d_bwd(gy.view(), gx.view(), pool_params(k, count_include_pad, divisor));
    }, py::arg("grad_output"), py::arg("grad_input"), py::arg("params"), py::arg("count_include_pad"),
       py::arg("divisor"));

    // ---- Streams and events: handles are ints (0: the legacy default stream).
    m.def("stream_create", [] {
        cudaStream_t s;
        GC_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
        return stream_handle(s);
    });
    m.def("stream_destroy", [](uintptr_t h) {
        GC_CHECK(h > 2, "stream_destroy: the default streams cannot be destroyed");
        cudaStream_t s = as_stream(h);
        {
            py::gil_scoped_release nogil;
            GC_CUDA_CHECK(cudaStreamSynchronize(s));  // its cached blocks become idle, safe on any stream
        }
        cuda::stream_destroyed(s);
        if (cuda::current_stream_ref() == s) cuda::current_stream_ref() = nullptr;
        GC_CUDA_CHECK(cudaStreamDestroy(s));
    });
    m.def("stream_synchronize", [](uintptr_t h) {
        {
            py::gil_scoped_release nogil;
            GC_CUDA_CHECK(cudaStreamSynchronize(as_stream(h)));
        }
        cuda::raise_pending_errors();
    });
    m.def("stream_query", [](uintptr_t h) {
        cudaError_t e = cudaStreamQuery(as_stream(h));
        if (e == cudaErrorNotReady) {
            cudaGetLastError();
            return false;
        }
        cuda::check(e, "cudaStreamQuery");
        return true;
    });
    m.def("stream_wait_event", [](uintptr_t stream_h, uintptr_t event_h) {
        GC_CUDA_CHECK(cudaStreamWaitEvent(as_stream(stream_h), as_event(event_h), 0));
    });
    m.def("current_stream", [] { return stream_handle(cuda::stream()); });
    m.def("set_current_stream", [](uintptr_t h) { cuda::current_stream_ref() = as_stream(h); });
    m.def("event_create", [](bool enable_timing) {
        cudaEvent_t e;
        GC_CUDA_CHECK(cudaEventCreateWithFlags(&e, enable_timing ? cudaEventDefault : cudaEventDisableTiming));
        return reinterpret_cast<uintptr_t>(e);
    }, py::arg("enable_timing") = false);
    m.def("event_destroy", [](uintptr_t h) { GC_CUDA_CHECK(cudaEventDestroy(as_event(h))); });
    m.def("event_record", [](uintptr_t event_h, uintptr_t stream_h) {
        GC_CUDA_CHECK(cudaEventRecord(as_event(event_h), as_stream(stream_h)));
    });
    m.def("event_synchronize", [](uintptr_t h) {
        cudaEvent_t e = as_event(h);
        py::gil_scoped_release nogil;
        GC_CUDA_CHECK(cudaEventSynchronize(e));
    });
    m.def("event_query", [](uintptr_t h) {
        cudaError_t e = cudaEventQuery(as_event(h));
        if (e == cudaErrorNotReady) {
            cudaGetLastError();
            return false;
        }
        cuda::check(e, "cudaEventQuery");
        return true;
    });
    m.def("event_elapsed_time", [](uintptr_t start_h, uintptr_t end_h) {
        float ms = 0.f;
        GC_CUDA_CHECK(cudaEventElapsedTime(&ms, as_event(start_h), as_event(end_h)));
        return double(ms);
    });
    m.def("memory_stats", [] { return cuda::memory_stats(); });
    m.def("empty_cache", [] { cuda::empty_cache(); });
    m.def("set_matmul_variant", &cuda::set_matmul_variant, "0: naive reference, 1: tiled (default)");
    m.def("matmul_variant", &cuda::matmul_variant);
    // 2-d convolution (conv_cuda.cu): the same flat arguments as gradcore._C.cpu's twins.
#define GC_BIND_CONV(name, a, b, out)                                                                        \
    m.def(                                                                                                   \
        #name,                                                                                               \
        [](A a, A b, A out, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t g) { \
            cuda::OpScope scope(#name);                                                                      \
            cuda::name(dv(a), dv(b), dout(out), Conv2dParams{sh, sw, ph, pw, dh, dw, g});  /* half: twins */  \
        },                                                                                                   \
        py::arg(#a), py::arg(#b), py::arg(#out), py::arg("stride_h"), py::arg("stride_w"), py::arg("pad_h"),  \
        py::arg("pad_w"), py::arg("dil_h"), py::arg("dil_w"), py::arg("groups"));
    GC_BIND_CONV(conv2d_forward, x, w, y)
    GC_BIND_CONV(conv2d_backward_input, gy, w, gx)
    GC_BIND_CONV(conv2d_backward_weight, x, gy, gw)
#undef GC_BIND_CONV
    m.def("set_conv_variant", &cuda::set_conv_variant, "0: direct reference, 1: implicit GEMM (default)");
    m.def("conv_variant", &cuda::conv_variant);
}

}  // namespace gc
