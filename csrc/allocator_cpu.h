// Host buffer cache for large tensors (see allocator_cpu.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gc::cpu {

// Blocks at least this large go through the cache; smaller ones glibc reuses well. (At 32 MiB, the
// MLP step at batch 8192 page-faulted its 4-8 MiB activations in every step: glibc trimmed its heap.)
constexpr size_t kHostCacheMinBytes = size_t(1) << 20;

void* host_alloc(size_t bytes, size_t* actual);
void host_free(void* p, size_t bytes);
void host_empty_cache();
std::vector<std::pair<std::string, int64_t>> host_memory_stats();

}  // namespace gc::cpu
