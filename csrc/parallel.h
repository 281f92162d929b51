// Splitting CPU work over threads (OpenMP when the build has it, serial otherwise).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace gc {

// Thread count: GRADCORE_NUM_THREADS, else OpenMP's default (the core count).
inline int num_threads() {
    static int n = [] {
        if (const char* env = std::getenv("GRADCORE_NUM_THREADS")) return std::max(1, std::atoi(env));
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
    }();
    return n;
}

// Calls fn(begin, end) on disjoint ranges covering [0, n). Work below `min_per_thread` items
// per thread stays on the calling thread, since waking a thread costs microseconds.
template <class Fn>
void parallel_for(int64_t n, int64_t min_per_thread, Fn&& fn) {
    int nt = static_cast<int>(std::min<int64_t>(num_threads(), n / std::max<int64_t>(min_per_thread, 1)));
    if (nt <= 1) {
        if (n > 0) fn(int64_t(0), n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        int64_t begin = n * t / nt, end = n * (t + 1) / nt;
        if (begin < end) fn(begin, end);
    }
#else
    fn(int64_t(0), n);
#endif
}

}  // namespace gc
