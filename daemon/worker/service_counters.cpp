#include "worker/service_counters.hpp"

#include <sys/mman.h>

#include <new>

namespace portd::worker {

void CounterTotals::add(const ServiceCounters& c) {
    accepted += c.accepted.load(std::memory_order_relaxed);
    open += c.open.load(std::memory_order_relaxed);
    refused_connections += c.refused_connections.load(std::memory_order_relaxed);
    refused_per_source += c.refused_per_source.load(std::memory_order_relaxed);
    refused_rate += c.refused_rate.load(std::memory_order_relaxed);
    denied += c.denied.load(std::memory_order_relaxed);
    deferred += c.deferred.load(std::memory_order_relaxed);
}

std::shared_ptr<ServiceCounters> make_shared_counters() {
    void* memory = ::mmap(nullptr, sizeof(ServiceCounters), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        throw std::bad_alloc();
    }
    auto* counters = new (memory) ServiceCounters();
    return std::shared_ptr<ServiceCounters>(counters, [](ServiceCounters* c) {
        c->~ServiceCounters();
        ::munmap(c, sizeof(ServiceCounters));
    });
}

}  // namespace portd::worker
