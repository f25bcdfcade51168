// A service's counters, in memory the supervisor shares with the worker process, so that
// `portctl status` reads them without asking the worker anything.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace portd::worker {

// Lock-free atomics are address-free, so they work across processes in shared memory.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

struct ServiceCounters {
    std::atomic<std::uint64_t> accepted{0};             // connections handed to the module
    std::atomic<std::uint64_t> open{0};                 // of those, still open
    std::atomic<std::uint64_t> refused_connections{0};  // over limits.connections
    std::atomic<std::uint64_t> refused_per_source{0};   // over limits.per_source
    std::atomic<std::uint64_t> refused_rate{0};         // over limits.rate
    std::atomic<std::uint64_t> denied{0};               // by allow/deny
    std::atomic<std::uint64_t> deferred{0};             // times accepting paused for a limit
};

/// Plain sums of ServiceCounters: what a service's exited workers counted, plus the live ones.
struct CounterTotals {
    std::uint64_t accepted = 0;
    std::uint64_t open = 0;
    std::uint64_t refused_connections = 0;
    std::uint64_t refused_per_source = 0;
    std::uint64_t refused_rate = 0;
    std::uint64_t denied = 0;
    std::uint64_t deferred = 0;

    void add(const ServiceCounters& c);
    std::uint64_t refused() const {
        return refused_connections + refused_per_source + refused_rate + denied;
    }
};

/// Counters in an anonymous MAP_SHARED mapping: made before fork, seen by both processes.
std::shared_ptr<ServiceCounters> make_shared_counters();

}  // namespace portd::worker
