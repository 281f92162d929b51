// CUDA batch-norm launches: few channels with many values take the split path (slices of each channel
// reduced by many blocks, merged per channel, then elementwise kernels); otherwise one block per channel
// walks its N*S values. Block reductions through warp shuffles, sums in double (the CPU twin's). The
// kernels live in batchnorm_cuda.cuh. Compiled and host-simulated, not yet run on a GPU.
#include <algorithm>
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

// Slices per channel for the split path: about 512 blocks (every SM several times over), slices of at
// least 4096 values, at most 64; 1 (one block per channel) when the channels alone fill the GPU, or
// when the array is too large for the elementwise kernels' 32-bit indices.
int split_count(const ArrayView& x) {
    const int64_t c = x.shape[1], count = x.shape[0] * x.shape[2];
    if (c == 0 || x.numel() >= (int64_t(1) << 31)) return 1;
    const int64_t want = (512 + c - 1) / c, by_size = count / 4096;
    return int(std::max<int64_t>(1, std::min<int64_t>({want, by_size, 64})));
}

Elementwise elementwise_of(const ArrayView& x) {
    Elementwise e;
    e.s = FastDivmod(x.shape[2]);
    e.c = FastDivmod(x.shape[1]);
    e.total = int32_t(x.numel());
    return e;
}

int elementwise_grid(const ArrayView& x) { return int(std::min<int64_t>((x.numel() + 255) / 256, 4096)); }

int channel_grid(int64_t c) { return int((c + 255) / 256); }

}  // namespace

void batchnorm_fwd_train(const ArrayView& x, const ArrayView& weight, const ArrayView& bias, const ArrayView& out,
                         const ArrayView& save_mean, const ArrayView& save_var, double eps) {
    check_batchnorm("batch_norm", x, {&out}, {&weight, &bias, &save_mean, &save_var});
    const Channel ch = channel_of(x, "batch_norm");
    if (x.shape[1] == 0) return;
    const int64_t c = x.shape[1];
    const int splits = split_count(x);
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (splits == 1) {
            bn_fwd_train<T><<<int(c), kChannelThreads, 0, stream()>>>(x.ptr<T>(), weight.ptr<T>(), bias.ptr<T>(),
                                                                     out.ptr<T>(), save_mean.ptr<T>(),
                                                                     save_var.ptr<T>(), ch, eps);
            GC_LAUNCH_CHECK("batch_norm kernel");
            return;
        }
        const Split sp = make_split(ch.count, splits);
        auto scratch = device_alloc(sizeof(double) * 2 * size_t(c) * size_t(splits) + sizeof(T) * size_t(c));
        double* pmean = static_cast<double*>(scratch->ptr);
        double* pm2 = pmean + c * splits;
        T* scale = reinterpret_cast<T*>(pm2 + c * splits);
        bn_partial_stats<T><<<dim3(unsigned(c), unsigned(splits)), kChannelThreads, 0, stream()>>>(x.ptr<T>(), pmean,
                                                                                                   pm2, ch, sp);
        GC_LAUNCH_CHECK("batch_norm kernel (partial statistics)");
        bn_finalize_stats<T><<<channel_grid(c), 256, 0, stream()>>>(pmean, pm2, weight.ptr<T>(), save_mean.ptr<T>(),
                                                                     save_var.ptr<T>(), scale, c, ch, sp, eps);
        GC_LAUNCH_CHECK("batch_norm kernel (statistics)");
        bn_apply<T><<<elementwise_grid(x), 256, 0, stream()>>>(x.ptr<T>(), save_mean.ptr<T>(), scale, bias.ptr<T>(),
                                                                out.ptr<T>(), elementwise_of(x));
        GC_LAUNCH_CHECK("batch_norm kernel (normalize)");
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
    const int64_t c = x.shape[1];
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (x.numel() >= (int64_t(1) << 31)) {  // beyond the elementwise kernels' 32-bit indices
            bn_fwd_eval<T><<<int(c), kChannelThreads, 0, stream()>>>(x.ptr<T>(), weight.ptr<T>(), bias.ptr<T>(),
                                                                    running_mean.ptr<T>(), running_var.ptr<T>(),
                                                                    out.ptr<T>(), ch, eps);
            GC_LAUNCH_CHECK("batch_norm eval kernel");
            return;
        }
        auto scratch = device_alloc(sizeof(T) * size_t(c));
        T* scale = static_cast<T*>(scratch->ptr);
        bn_eval_scale<T><<<channel_grid(c), 256, 0, stream()>>>(weight.ptr<T>(), running_var.ptr<T>(), scale, c, eps);
        GC_LAUNCH_CHECK("batch_norm eval kernel (scale)");
        bn_apply<T><<<elementwise_grid(x), 256, 0, stream()>>>(x.ptr<T>(), running_mean.ptr<T>(), scale,
                                                                bias.ptr<T>(), out.ptr<T>(), elementwise_of(x));
        GC_LAUNCH_CHECK("batch_norm eval kernel");
    });
}

void batchnorm_bwd(const ArrayView& g, const ArrayView& x, const ArrayView& weight, const ArrayView& save_mean,
                   const ArrayView& save_var, const ArrayView& gx, const ArrayView& gw, const ArrayView& gb,
                   double eps) {
    check_batchnorm("batch_norm backward", x, {&g, &gx}, {&weight, &save_mean, &save_var, &gw, &gb});
    const Channel ch = channel_of(x, "batch_norm backward");
    if (x.shape[1] == 0) return;
    const int64_t c = x.shape[1];
    const int splits = split_count(x);
    dispatch_float(x.dtype, "batch_norm", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (splits == 1) {
            bn_bwd<T><<<int(c), kChannelThreads, 0, stream()>>>(g.ptr<T>(), x.ptr<T>(), weight.ptr<T>(),
                                                               save_mean.ptr<T>(), save_var.ptr<T>(), gx.ptr<T>(),
                                                               gw.ptr<T>(), gb.ptr<T>(), ch, eps);
            GC_LAUNCH_CHECK("batch_norm backward kernel");
            return;
        }
        const Split sp = make_split(ch.count, splits);
        auto scratch = device_alloc(sizeof(double) * 2 * size_t(c) * size_t(splits) + sizeof(T) * 3 * size_t(c));
        double* psg = static_cast<double*>(scratch->ptr);
        double* psgx = psg + c * splits;
        T* coef = reinterpret_cast<T*>(psgx + c * splits);
        bn_partial_grad<T><<<dim3(unsigned(c), unsigned(splits)), kChannelThreads, 0, stream()>>>(
            g.ptr<T>(), x.ptr<T>(), save_mean.ptr<T>(), psg, psgx, ch, sp);
        GC_LAUNCH_CHECK("batch_norm backward kernel (partial sums)");
        bn_finalize_grad<T><<<channel_grid(c), 256, 0, stream()>>>(psg, psgx, weight.ptr<T>(), save_var.ptr<T>(),
                                                                    gw.ptr<T>(), gb.ptr<T>(), coef, c, ch, sp, eps);
        GC_LAUNCH_CHECK("batch_norm backward kernel (sums)");
        bn_grad_input<T><<<elementwise_grid(x), 256, 0, stream()>>>(g.ptr<T>(), x.ptr<T>(), save_mean.ptr<T>(), coef,
                                                                     gx.ptr<T>(), c, elementwise_of(x));
        GC_LAUNCH_CHECK("batch_norm backward kernel (input gradient)");
    });
}

}  // namespace gc::cuda
