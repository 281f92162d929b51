// CUDA batch-norm launches: one block per channel walks that channel's N*S values (flat index split into
// (n, s) with a FastDivmod), block reductions through warp shuffles, sums in double (the CPU twin's).
// The kernels live in batchnorm_cuda.cuh. Compiled and host-simulated, not yet run on a GPU.
#include <cmath>
#include <type_traits>
#include "batchnorm.h"
#include "cuda_common.h"
#include "batchnorm_cuda.cuh"

namespace gc::cuda {
namespace {

using namespace bn;

Channel channel_of(const ArrayView& x, const char* op) {
    const int64_t n = x.shape[0], c = x.shape[1], s = x.shape[2];
    GC_CHECK(n * s < (int64_t(1) << 31) && s < (int64_t(1) << 31),
             std::string(op) + ": more than 2^31 values per channel");
    GC_CHECK(c < (int64_t(1) << 31), std::string(op) + ": more than 2^31 channels");
    Channel ch;
    ch.s = FastDivmod(s);
    ch.row = c * s;
    ch.count = int32_t(n * s);
    return ch;
}

}  // namespace

void batchnorm_fwd_train(const ArrayView& x, const ArrayView& weight, const ArrayView& bias, const ArrayView& out,
                         const ArrayView& save_mean, const ArrayView& save_var, double eps) {
    check_batchnorm("batch_norm", x, {&out}, {&weight, &bias, &save_mean, &save_var});
    const Channel ch = channel_of(x, "batch_norm");
    if (x.shape[1] == 0) return;
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        bn_fwd_train<T><<<int(x.shape[1]), kChannelThreads, 0, stream()>>>(
            x.ptr<T>(), weight.ptr<T>(), bias.ptr<T>(), out.ptr<T>(), save_mean.ptr<T>(), save_var.ptr<T>(), ch, eps);
        GC_LAUNCH_CHECK("batch_norm kernel");
    });
}

void batchnorm_update_running(const ArrayView& save_mean, const ArrayView& save_var, const ArrayView& running_mean,
                              const ArrayView& running_var, double momentum, int64_t count) {
    check_batchnorm_running(save_mean, save_var, running_mean, running_var, count);
    const int64_t c = save_mean.numel();
    if (c == 0) return;
    const double unbias = count > 1 ? double(count) / double(count - 1) : (count == 1 ? NAN : 1.0);
    dispatch_float(save_mean.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        bn_update_running<T><<<int((c + 255) / 256), 256, 0, stream()>>>(
            save_mean.ptr<T>(), save_var.ptr<T>(), running_mean.ptr<T>(), running_var.ptr<T>(), c, momentum, unbias);
        GC_LAUNCH_CHECK("batch_norm running-stat kernel");
    });
}

void batchnorm_fwd_eval(const ArrayView& x, const ArrayView& weight, const ArrayView& bias,
                        const ArrayView& running_mean, const ArrayView& running_var, const ArrayView& out, double eps) {
    check_batchnorm("batch_norm", x, {&out}, {&weight, &bias, &running_mean, &running_var});
    const Channel ch = channel_of(x, "batch_norm");
    if (x.numel() == 0) return;
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        bn_fwd_eval<T><<<int(x.shape[1]), kChannelThreads, 0, stream()>>>(
            x.ptr<T>(), weight.ptr<T>(), bias.ptr<T>(), running_mean.ptr<T>(), running_var.ptr<T>(), out.ptr<T>(), ch,
            eps);
        GC_LAUNCH_CHECK("batch_norm eval kernel");
    });
}

void batchnorm_bwd(const ArrayView& g, const ArrayView& x, const ArrayView& weight, const ArrayView& save_mean,
                   const ArrayView& save_var, const ArrayView& gx, const ArrayView& gw, const ArrayView& gb,
                   double eps) {
    check_batchnorm("batch_norm backward", x, {&g, &gx}, {&weight, &save_mean, &save_var, &gw, &gb});
    const Channel ch = channel_of(x, "batch_norm backward");
    if (x.shape[1] == 0) return;
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        bn_bwd<T><<<int(x.shape[1]), kChannelThreads, 0, stream()>>>(g.ptr<T>(), x.ptr<T>(), weight.ptr<T>(),
                                                                     save_mean.ptr<T>(), save_var.ptr<T>(), gx.ptr<T>(),
                                                                     gw.ptr<T>(), gb.ptr<T>(), ch, eps);
        GC_LAUNCH_CHECK("batch_norm backward kernel");
    });
}

}  // namespace gc::cuda
