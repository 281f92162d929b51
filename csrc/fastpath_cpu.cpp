// The one-call eager path of the commonest elementwise ops on plain CPU tensors (issue 15's host cost).
//
// `a + b` on two small CPU tensors that need no graph spends most of its time in Python frames,
// NumPy's empty and pybind11's argument casting, not in the kernel. gradcore._C.cpu.fast_<op>(a, b)
// (and fast_<op>(x) for the unary ops) does the whole op in one C call: it reads the Tensor slots
// directly, checks that the case is the plain one, allocates the output with NumPy's own allocator,
// runs the same kernel the `binary_<op>` binding runs and builds the result Tensor. Anything else
// (grad needed, autocast or anomaly mode on, another device, mixed dtypes or shapes, half types, large
// outputs, a kernel error) returns None and Python takes its ordinary path, which records the graph
// and raises the proper errors: the fast path never changes a result or an error, it only skips work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <Python.h>
#include <structmember.h>
#include "allocator_cpu.h"
#include "functors.h"
#include "kernels.h"

namespace py = pybind11;

namespace gc {
namespace {

using BinaryFn = void (*)(const ArrayView&, const ArrayView&, const ArrayView&);
using UnaryFn = void (*)(const ArrayView&, const ArrayView&);

// Where the Tensor's slots live (byte offsets into the object), read once from its member descriptors
// by register_fast_path; the fast path is off (every call returns None) until then.
struct TensorLayout {
    PyTypeObject* type = nullptr;
    Py_ssize_t data = 0, device = 0, requires_grad = 0, grad = 0, ctx = 0, vc = 0, base = 0, hooks = 0,
               retains_grad = 0;
    PyObject* autograd_dict = nullptr;  // gradcore.autograd's globals: _autocast_hook, _anomaly_scopes
    PyObject* key_autocast = nullptr;
    PyObject* key_anomaly = nullptr;
};
TensorLayout L;

inline PyObject*& slot(PyObject* o, Py_ssize_t offset) {
    return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(o) + offset);
}

Py_ssize_t slot_offset(PyTypeObject* type, const char* name) {
    py::object d = py::reinterpret_steal<py::object>(PyObject_GetAttrString(reinterpret_cast<PyObject*>(type), name));
    if (!d) throw py::error_already_set();
    if (Py_TYPE(d.ptr()) != &PyMemberDescr_Type)
        throw py::type_error(std::string("register_fast_path: Tensor.") + name + " is not a __slots__ member");
    PyMemberDef* member = reinterpret_cast<PyMemberDescrObject*>(d.ptr())->d_member;
    if (member->type != T_OBJECT_EX)
        throw py::type_error(std::string("register_fast_path: Tensor.") + name + " is not an object slot");
    return member->offset;
}

void register_fast_path(py::object tensor_type, py::module_ autograd) {
    auto* type = reinterpret_cast<PyTypeObject*>(tensor_type.ptr());
    if (!PyType_Check(tensor_type.ptr())) throw py::type_error("register_fast_path: expected the Tensor class");
    TensorLayout l;
    l.data = slot_offset(type, "_data");
    l.device = slot_offset(type, "device");
    l.requires_grad = slot_offset(type, "_requires_grad");
    l.grad = slot_offset(type, "_grad");
    l.ctx = slot_offset(type, "_ctx");
    l.vc = slot_offset(type, "_vc");
    l.base = slot_offset(type, "_base");
    l.hooks = slot_offset(type, "_hooks");
    l.retains_grad = slot_offset(type, "_retains_grad");
    l.autograd_dict = autograd.attr("__dict__").ptr();
    Py_INCREF(l.autograd_dict);
    l.key_autocast = PyUnicode_InternFromString("_autocast_hook");
    l.key_anomaly = PyUnicode_InternFromString("_anomaly_scopes");
    Py_INCREF(type);
    l.type = type;
    L = l;  // the old references (a second registration) are kept alive: they are few and tiny
}

// NumPy's builtin type numbers on this platform (LP64: int64 is NPY_LONG; NPY_LONGLONG is int64 too).
bool dtype_of(int type_num, DType* out) {  // the item sizes: see item_size
    switch (type_num) {
        case 0: *out = DType::Bool; return true;       // NPY_BOOL
        case 5: *out = DType::Int32; return true;      // NPY_INT
        case 7:                                        // NPY_LONG
        case 9: *out = DType::Int64; return true;      // NPY_LONGLONG
        case 11: *out = DType::Float32; return true;   // NPY_FLOAT
        case 12: *out = DType::Float64; return true;   // NPY_DOUBLE
        default: return false;                          // half types, unsigned, ...: the ordinary path
    }
}

int64_t item_size(DType t) {
    return t == DType::Bool ? 1 : (t == DType::Int32 || t == DType::Float32) ? 4 : 8;
}

bool is_cpu(PyObject* device) {
    return device != nullptr && PyUnicode_Check(device) && PyUnicode_CompareWithASCIIString(device, "cpu") == 0;
}

// Neither autocast nor anomaly mode is on (each one changes what an op does, so it takes the Python path).
bool plain_mode() {
    PyObject* hook = PyDict_GetItemWithError(L.autograd_dict, L.key_autocast);
    if (hook != Py_None) return false;
    PyObject* scopes = PyDict_GetItemWithError(L.autograd_dict, L.key_anomaly);
    if (scopes == nullptr || !PyLong_CheckExact(scopes)) return false;
    int overflow = 0;
    return PyLong_AsLongAndOverflow(scopes, &overflow) == 0 && overflow == 0;
}

// The ndarray storage of a plain CPU tensor that needs no graph, or nullptr.
PyObject* plain_storage(PyObject* t, const py::detail::npy_api& api) {
    if (!PyObject_TypeCheck(t, L.type)) return nullptr;
    if (slot(t, L.requires_grad) != Py_False || !is_cpu(slot(t, L.device))) return nullptr;
    PyObject* data = slot(t, L.data);
    return data != nullptr && Py_TYPE(data) == api.PyArray_Type_ ? data : nullptr;
}

bool view_of(PyObject* array, ArrayView* v) {
    auto* p = py::detail::array_proxy(array);
    auto* d = py::detail::array_descriptor_proxy(p->descr);
    if (d->byteorder == '>' || !dtype_of(d->type_num, &v->dtype) || p->nd > kMaxDims) return false;
    const int64_t size = item_size(v->dtype);
    v->ndim = p->nd;
    v->data = p->data;
    for (int i = 0; i < p->nd; ++i) {
        if (p->strides[i] % size != 0) return false;
        v->shape[i] = p->dimensions[i];
        v->strides[i] = p->strides[i] / size;
    }
    return true;
}

// A fresh C-contiguous output shaped like v (NumPy's allocator, as np.empty), or nullptr when it is
// large enough to belong to the host cache (the Python path allocates those).
PyObject* new_output(const ArrayView& v, int type_num, const py::detail::npy_api& api, ArrayView* out) {
    size_t bytes = size_t(item_size(v.dtype));
    for (int i = 0; i < v.ndim; ++i) bytes *= size_t(v.shape[i]);
    if (bytes >= cpu::kHostCacheMinBytes) return nullptr;
    PyObject* descr = api.PyArray_DescrFromType_(type_num);  // a new reference, stolen below
    if (descr == nullptr) return nullptr;
    PyObject* array = api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, v.ndim,
                                                reinterpret_cast<const Py_intptr_t*>(v.shape), nullptr,
                                                nullptr, 0, nullptr);
    if (array == nullptr) {
        PyErr_Clear();
        return nullptr;
    }
    *out = v;
    out->data = py::detail::array_proxy(array)->data;
    int64_t stride = 1;
    for (int i = v.ndim - 1; i >= 0; --i) {
        out->strides[i] = stride;
        stride *= v.shape[i];
    }
    return array;
}

// The result Tensor around `array` (the body of Tensor._wrap; keep the three in step).
PyObject* wrap(PyObject* array, PyObject* device) {
    PyObject* t = L.type->tp_alloc(L.type, 0);
    if (t == nullptr) {
        Py_DECREF(array);
        return nullptr;
    }
    slot(t, L.data) = array;  // the reference is handed over
    Py_INCREF(device);
    slot(t, L.device) = device;
    for (Py_ssize_t off : {L.grad, L.ctx, L.vc, L.base, L.hooks}) {
        Py_INCREF(Py_None);
        slot(t, off) = Py_None;
    }
    Py_INCREF(Py_False);
    slot(t, L.requires_grad) = Py_False;
    Py_INCREF(Py_False);
    slot(t, L.retains_grad) = Py_False;
    return t;
}

// Which dtypes an entry takes natively; the others take the Python path (which promotes or raises).
enum Kinds { kAny, kNoBool, kFloat };

bool takes(Kinds kinds, DType t) {
    if (kinds == kFloat) return t == DType::Float32 || t == DType::Float64;
    return kinds == kAny || t != DType::Bool;
}

struct BinaryEntry {
    BinaryFn fn;
    Kinds kinds;
};

PyObject* fast_binary(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "fast binary op: expected 2 arguments");
        return nullptr;
    }
    if (L.type == nullptr) Py_RETURN_NONE;
    const auto& api = py::detail::npy_api::get();
    PyObject* da = plain_storage(args[0], api);
    PyObject* db = da ? plain_storage(args[1], api) : nullptr;
    if (db == nullptr || !plain_mode()) {
        if (PyErr_Occurred()) return nullptr;
        Py_RETURN_NONE;
    }
    ArrayView va, vb, vo;
    if (!view_of(da, &va) || !view_of(db, &vb) || va.dtype != vb.dtype || va.ndim != vb.ndim) Py_RETURN_NONE;
    for (int i = 0; i < va.ndim; ++i)
        if (va.shape[i] != vb.shape[i]) Py_RETURN_NONE;  // broadcasting: the Python path
    const auto* entry = static_cast<const BinaryEntry*>(PyCapsule_GetPointer(self, nullptr));
    if (entry == nullptr) return nullptr;
    if (!takes(entry->kinds, va.dtype)) Py_RETURN_NONE;
    const int type_num = py::detail::array_descriptor_proxy(py::detail::array_proxy(da)->descr)->type_num;
    PyObject* out = new_output(va, type_num, api, &vo);
    if (out == nullptr) Py_RETURN_NONE;
    try {
        entry->fn(va, vb, vo);
    } catch (...) {  // the Python path raises the same error, translated and with its context
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return wrap(out, slot(args[0], L.device));
}

struct UnaryEntry {
    UnaryFn fn;
    Kinds kinds;
};

PyObject* fast_unary(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "fast unary op: expected 1 argument");
        return nullptr;
    }
    if (L.type == nullptr) Py_RETURN_NONE;
    const auto& api = py::detail::npy_api::get();
    PyObject* dx = plain_storage(args[0], api);
    if (dx == nullptr || !plain_mode()) {
        if (PyErr_Occurred()) return nullptr;
        Py_RETURN_NONE;
    }
    ArrayView vx, vo;
    if (!view_of(dx, &vx)) Py_RETURN_NONE;
    const auto* entry = static_cast<const UnaryEntry*>(PyCapsule_GetPointer(self, nullptr));
    if (entry == nullptr) return nullptr;
    if (!takes(entry->kinds, vx.dtype)) Py_RETURN_NONE;
    const int type_num = py::detail::array_descriptor_proxy(py::detail::array_proxy(dx)->descr)->type_num;
    PyObject* out = new_output(vx, type_num, api, &vo);
    if (out == nullptr) Py_RETURN_NONE;
    try {
        entry->fn(vx, vo);
    } catch (...) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return wrap(out, slot(args[0], L.device));
}

PyMethodDef binary_def = {"fast_binary", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_binary)),
                          METH_FASTCALL, "fast_<op>(a, b): the result Tensor, or None for the ordinary path"};
PyMethodDef unary_def = {"fast_unary", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_unary)),
                         METH_FASTCALL, "fast_<op>(x): the result Tensor, or None for the ordinary path"};

// A METH_FASTCALL function whose `self` is a capsule holding the op's entry (static, never freed).
template <class Entry>
void add_function(py::module_& m, const char* name, PyMethodDef* def, const Entry* entry) {
    py::capsule cap(static_cast<const void*>(entry));
    PyObject* fn = PyCFunction_NewEx(def, cap.ptr(), nullptr);
    if (fn == nullptr) throw py::error_already_set();
    m.attr(name) = py::reinterpret_steal<py::object>(fn);
}

}  // namespace

void register_cpu_fast_path(py::module_& m) {
    m.def("register_fast_path", &register_fast_path,
          "tells the fast path the Tensor class (its slot layout) and gradcore.autograd (its mode flags)");
    // The kinds mirror Tensor's Python fast paths: a + b and a * b of any same dtype go straight to the
    // kernel; a - b only for floats (bool - bool raises there); -x refuses bool; exp promotes integers.
    static const BinaryEntry add{&cpu::binary<Add>, kAny}, sub{&cpu::binary<Sub>, kFloat},
        mul{&cpu::binary<Mul>, kAny};
    add_function(m, "fast_add", &binary_def, &add);
    add_function(m, "fast_sub", &binary_def, &sub);
    add_function(m, "fast_mul", &binary_def, &mul);
    static const UnaryEntry neg{&cpu::unary<Neg>, kNoBool}, exp{&cpu::unary<Exp>, kFloat},
        relu{&cpu::unary<Relu>, kAny};
    add_function(m, "fast_neg", &unary_def, &neg);
    add_function(m, "fast_exp", &unary_def, &exp);
    add_function(m, "fast_relu", &unary_def, &relu);
}

}  // namespace gc
