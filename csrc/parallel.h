// Splitting CPU work over threads: a small pool whose caller never waits for a thread that has not started.
#pragma once
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
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
        return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#endif
    }();
    return n;
}

namespace detail {

// Why not `#pragma omp parallel`: its closing barrier waits for every team thread, including one the OS
// has not scheduled yet. On a loaded 2-core machine that wait was a whole time slice per region
// (measured: an MLP step at batch 8192 took 1.0 s on 2 threads vs 0.47 s on 1). Here the ranges of a
// call are claimed from an atomic counter by whoever is running: the caller claims ranges too, and
// only waits for ranges another thread has actually claimed. A thread that wakes late finds nothing
// left and goes back to waiting.
class Pool {
public:
    static Pool& get() {
        static const bool registered = [] {
            pthread_atfork(nullptr, nullptr, [] { instance() = nullptr; });  // a child has no workers
            return true;
        }();
        (void)registered;
        Pool*& p = instance();
        if (!p) p = new Pool(num_threads() - 1);  // never deleted: workers may outlive static destructors
        return *p;
    }

    // Runs fn(begin, end) over `parts` equal ranges of [0, n).
    template <class Fn>
    void run(int64_t n, int parts, Fn& fn) {
        Job job;
        job.n = n;
        job.parts = parts;
        job.ctx = &fn;
        job.call = [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); };
        std::lock_guard<std::mutex> one_at_a_time(run_mutex_);  // two Python threads share the pool
        publish(&job);
        work_on(job);
        // Wait for ranges other threads still run: spin a short while (a balanced split ends within
        // microseconds of the caller's own share), then sleep until the last range's thread wakes us.
        // The old wait called sched_yield in a loop after 4k pauses: twice OpenMP's system time.
        auto all_done = [&] { return job.done.load() >= parts; };
        if (!all_done() && !spin_until(all_done, kCallerSpinNs)) {
            std::unique_lock<std::mutex> lock(done_mutex_);
            job.waiting.store(true);  // seq_cst, paired with work_on(): it sees the flag or we see done
            done_cv_.wait(lock, all_done);
        }
        current_.store(nullptr);
        // A worker that loaded the job pointer just before it was cleared may still read job.next.
        while (claimers_.load() > 0) std::this_thread::yield();
        if (job.error) std::rethrow_exception(job.error);
    }

    // True on a thread running a range: a nested parallel_for then runs serially.
    static bool& inside() {
        thread_local bool flag = false;
        return flag;
    }

private:
    struct Job {
        int64_t n = 0;
        int parts = 0;
        void* ctx = nullptr;
        void (*call)(void*, int64_t, int64_t) = nullptr;
        std::atomic<int> next{0};  // the next range to claim
        std::atomic<int> done{0};  // ranges finished
        std::atomic<bool> waiting{false};  // the caller sleeps on done_cv_
        std::exception_ptr error;
        std::mutex error_mutex;
    };

    static Pool*& instance() {
        static Pool* p = nullptr;
        return p;
    }

    explicit Pool(int workers) {
        for (int i = 0; i < workers; ++i) std::thread([this] { loop(); }).detach();
    }

    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    // Spin budgets in time, not in pause counts: one pause is ~26 ns on this Zen 5 but 5-40 ns elsewhere.
    // A worker stays awake ~0.5 ms after a range (a training step issues its next parallel call within
    // microseconds); the caller waits ~50 us for the others' ranges before it sleeps.
    static constexpr int64_t kWorkerSpinNs = 500000, kCallerSpinNs = 50000;

    // Pauses until ready() or until budget_ns have passed (checked every 64 pauses); returns ready().
    template <class Ready>
    static bool spin_until(Ready&& ready, int64_t budget_ns) {
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            for (int i = 0; i < 64; ++i) {
                if (ready()) return true;
                pause();
            }
            if (std::chrono::steady_clock::now() - start > std::chrono::nanoseconds(budget_ns)) return ready();
        }
    }

    void publish(Job* job) {
        current_.store(job);
        generation_.fetch_add(1);  // seq_cst here and on sleeping_: no wake-up is lost between the two
        if (sleeping_.load() > 0) {
            std::lock_guard<std::mutex> lock(sleep_mutex_);
            wake_.notify_all();
        }
    }

    // Claims and runs ranges until none is left. A range counts as done even when it threw; the thread
    // that finishes the last one wakes a sleeping caller.
    void work_on(Job& job) {
        bool& in = inside();
        in = true;
        for (;;) {
            int i = job.next.fetch_add(1, std::memory_order_acq_rel);
            if (i >= job.parts) break;
            int64_t b = job.n * i / job.parts, e = job.n * (i + 1) / job.parts;
            try {
                if (b < e) job.call(job.ctx, b, e);
            } catch (...) {
                std::lock_guard<std::mutex> lock(job.error_mutex);
                if (!job.error) job.error = std::current_exception();
            }
            if (job.done.fetch_add(1) + 1 == job.parts && job.waiting.load()) {
                std::lock_guard<std::mutex> lock(done_mutex_);
                done_cv_.notify_all();
            }
        }
        in = false;
    }

    void loop() {
        uint64_t seen = generation_.load(std::memory_order_acquire);
        for (;;) {
            // Spin a while (a training step issues the next parallel call within microseconds), then sleep.
            auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
            if (!spin_until(published, kWorkerSpinNs)) {
                std::unique_lock<std::mutex> lock(sleep_mutex_);
                sleeping_.fetch_add(1);
                wake_.wait(lock, [&] { return generation_.load() != seen; });
                sleeping_.fetch_sub(1);
            }
            seen = generation_.load(std::memory_order_acquire);
            // The job may already be finished and gone: claim through it only while the caller still
            // publishes it, and the caller waits for every range claimed before it unpublishes.
            // Register as a claimer first, then read the job: run() clears the pointer and then waits
            // for claimers to leave before its Job (on its stack) goes away.
            claimers_.fetch_add(1);
            if (Job* job = current_.load()) work_on(*job);
            claimers_.fetch_sub(1);
        }
    }

    std::mutex run_mutex_, sleep_mutex_, done_mutex_;
    std::condition_variable wake_, done_cv_;
    std::atomic<Job*> current_{nullptr};
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> sleeping_{0};
    std::atomic<int> claimers_{0};
};

}  // namespace detail

// Calls fn(begin, end) on disjoint ranges covering [0, n). Work below `min_per_thread` items
// per thread stays on the calling thread, since waking a thread costs microseconds. A call made from
// inside a range runs serially. `parts_per_thread` > 1 cuts the work finer than one range per thread,
// claimed dynamically: a thread that starts late (woken from sleep, or preempted) then takes a share
// of what is left instead of leaving the caller to do its whole range alone.
template <class Fn>
void parallel_for(int64_t n, int64_t min_per_thread, Fn&& fn, int parts_per_thread = 1) {
    int nt = static_cast<int>(std::min<int64_t>(num_threads(), n / std::max<int64_t>(min_per_thread, 1)));
    if (nt <= 1 || detail::Pool::inside()) {
        if (n > 0) fn(int64_t(0), n);
        return;
    }
    const int parts = static_cast<int>(std::min<int64_t>(n, int64_t(nt) * std::max(parts_per_thread, 1)));
    detail::Pool::get().run(n, parts, fn);
}

}  // namespace gc
