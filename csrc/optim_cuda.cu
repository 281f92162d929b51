// CUDA fused optimizers: one launch updates up to kMaxTensors parameter tensors (the 6 tensors of the
// seed MLP in one launch); each block finds its tensor from a prefix table of block counts.
// Compiled, not yet run on a GPU (launches on the current stream).
#include <cmath>
#include <type_traits>
#include "cuda_common.h"
#include "kernels.h"

namespace gc::cuda {
namespace {

constexpr int kMaxTensors = 48;  // keeps the argument struct well under the 4 KiB parameter limit
constexpr int kChunk = 4096;     // elements per block

template <class T>
struct TensorTable {
    int count;
    T* p[kMaxTensors];
    const T* g[kMaxTensors];
    T* b1[kMaxTensors];
    T* b2[kMaxTensors];
    int64_t n[kMaxTensors];
    int block_start[kMaxTensors + 1];
};

template <class T>
__device__ int find_tensor(const TensorTable<T>& t, int block) {
    int i = 0;
    while (i + 1 < t.count && t.block_start[i + 1] <= block) ++i;
    return i;
}

template <class T>
__global__ void adam_multi(TensorTable<T> t, T lr, T beta1, T beta2, T eps, T wd, T bc1, T bc2, bool decoupled) {
    int i = find_tensor(t, blockIdx.x);
    int64_t begin = int64_t(blockIdx.x - t.block_start[i]) * kChunk;
    int64_t end = min(begin + kChunk, t.n[i]);
    T* p = t.p[i];
    const T* g = t.g[i];
    T* m = t.b1[i];
    T* v = t.b2[i];
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x)
        adam_update<T>(p[j], g[j], m[j], v[j], lr, beta1, beta2, eps, wd, bc1, bc2, decoupled);
}

template <class T>
__global__ void sgd_multi(TensorTable<T> t, T lr, T momentum, T wd, T dampening, bool nesterov, bool first) {
    int i = find_tensor(t, blockIdx.x);
    int64_t begin = int64_t(blockIdx.x - t.block_start[i]) * kChunk;
    int64_t end = min(begin + kChunk, t.n[i]);
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x)
        sgd_update<T>(t.p[i][j], t.g[i][j], t.b1[i][j], lr, momentum, dampening, wd, nesterov, first);
}

// Groups the tensors of one dtype into tables of kMaxTensors and launches once per table.
template <class T, class Launch>
void for_each_table(const OptimLists& lists, bool two_bufs, Launch&& launch) {
    TensorTable<T> table{};
    auto flush = [&] {
        if (table.count == 0) return;
        launch(table, table.block_start[table.count]);
        table = TensorTable<T>{};
    };
    for (size_t k = 0; k < lists.params.size(); ++k) {
        int64_t n = lists.params[k].numel();
        if (n == 0) continue;
        int c = table.count;
        table.p[c] = lists.params[k].ptr<T>();
        table.g[c] = lists.grads[k].ptr<T>();
        table.b1[c] = lists.bufs1[k].ptr<T>();
        table.b2[c] = two_bufs ? lists.bufs2[k].ptr<T>() : nullptr;
        table.n[c] = n;
        table.block_start[c + 1] = table.block_start[c] + int((n + kChunk - 1) / kChunk);
        table.count++;
        if (table.count == kMaxTensors) flush();
    }
    flush();
}

template <class F>
void by_dtype(const OptimLists& lists, const char* name, F&& f) {
    // Split mixed-precision parameter lists so every launch sees one dtype.
    for (DType dt : {DType::Float32, DType::Float64}) {
        OptimLists sub;
        for (size_t k = 0; k < lists.params.size(); ++k) {
            if (lists.params[k].dtype != dt) continue;
            sub.params.push_back(lists.params[k]);
            sub.grads.push_back(lists.grads[k]);
            sub.bufs1.push_back(lists.bufs1[k]);
            if (!lists.bufs2.empty()) sub.bufs2.push_back(lists.bufs2[k]);
        }
        if (!sub.params.empty()) dispatch_float(dt, name, [&](auto* tag) { f(tag, sub); });
    }
    for (auto& p : lists.params) dispatch_float(p.dtype, name, [](auto*) {});  // rejects int parameters
}

}  // namespace

void adam_step(const OptimLists& lists, double lr, double beta1, double beta2, double eps, double weight_decay,
               int64_t step, bool decoupled) {
    check_optim_lists(lists, true);
    GC_CHECK(step >= 1, "adam: step count must be >= 1");
    const double bc1 = 1.0 - std::pow(beta1, double(step)), bc2 = 1.0 - std::pow(beta2, double(step));
    by_dtype(lists, "adam", [&](auto* tag, const OptimLists& sub) {
        using T = std::remove_pointer_t<decltype(tag)>;
        for_each_table<T>(sub, true, [&](const TensorTable<T>& t, int blocks) {
            adam_multi<T><<<blocks, kThreads, 0, stream()>>>(t, T(lr), T(beta1), T(beta2), T(eps), T(weight_decay), T(bc1), T(bc2),
                                                decoupled);
            GC_LAUNCH_CHECK("adam kernel");
        });
    });
}

void sgd_step(const OptimLists& lists, double lr, double momentum, double weight_decay, double dampening,
              bool nesterov, bool first) {
    check_optim_lists(lists, false);
    by_dtype(lists, "sgd", [&](auto* tag, const OptimLists& sub) {
        using T = std::remove_pointer_t<decltype(tag)>;
        for_each_table<T>(sub, false, [&](const TensorTable<T>& t, int blocks) {
            sgd_multi<T><<<blocks, kThreads, 0, stream()>>>(t, T(lr), T(momentum), T(weight_decay), T(dampening), nesterov,
                                               first);
            GC_LAUNCH_CHECK("sgd kernel");
        });
    });
}

}  // namespace gc::cuda
