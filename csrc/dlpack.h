// The DLPack ABI structs (v0.8 legacy layout and the v1.0 versioned one), declared here so the build needs
// no extra header.
#pragma once
#include <cstdint>

namespace gc::dl {

enum DeviceType : int32_t { kCPU = 1, kCUDA = 2 };
enum TypeCode : uint8_t { kInt = 0, kUInt = 1, kFloat = 2, kBfloat = 4, kBool = 6 };

struct Device {
    int32_t device_type;
    int32_t device_id;
};
struct DataType {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
};
struct Tensor {
    void* data;
    Device device;
    int32_t ndim;
    DataType dtype;
    int64_t* shape;
    int64_t* strides;
    uint64_t byte_offset;
};
struct ManagedTensor {
    Tensor dl_tensor;
    void* manager_ctx;
    void (*deleter)(ManagedTensor* self);
};

// DLPack >= 1.0: capsule name "dltensor_versioned"; the version leads so consumers can check the ABI.
struct PackVersion {
    uint32_t major;
    uint32_t minor;
};
constexpr uint64_t kFlagReadOnly = 1ull << 0;
constexpr uint64_t kFlagIsCopied = 1ull << 1;
struct ManagedTensorVersioned {
    PackVersion version;
    void* manager_ctx;
    void (*deleter)(ManagedTensorVersioned* self);
    uint64_t flags;
    Tensor dl_tensor;
};

}  // namespace gc::dl
