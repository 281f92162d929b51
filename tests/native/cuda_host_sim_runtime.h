// The host simulation's definitions of what allocator_cuda.cu provides to the other .cu files (device
// blocks from malloc, so AddressSanitizer sees every overrun; the device error record). Include once,
// after the simulated .cu files.
#pragma once
#include <cstdlib>
#include "cuda_common.h"

namespace gc::cuda {
DeviceBlock::~DeviceBlock() {
    if (external_release) external_release(external_ctx);
    else std::free(ptr);
}

std::shared_ptr<DeviceBlock> device_alloc(size_t bytes) {
    auto b = std::make_shared<DeviceBlock>();
    b->ptr = std::malloc(std::max<size_t>(bytes, 1));
    std::memset(b->ptr, 0xA5, std::max<size_t>(bytes, 1));  // garbage, as fresh device memory would be
    b->bytes = b->valid_bytes = bytes;
    return b;
}

DeviceError* device_error_slot() {
    static DeviceError slot{};
    return &slot;
}

void raise_pending_errors() {
    DeviceError* e = device_error_slot();
    if (e->kind == 0) return;
    const DeviceError seen = *e;
    *e = DeviceError{};
    throw std::out_of_range("gradcore: target " + std::to_string(seen.value) + " out of range for " +
                            std::to_string(seen.classes) + " classes (row " + std::to_string(seen.row) + ")");
}
}  // namespace gc::cuda
