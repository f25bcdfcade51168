#include "worker/service_counters.hpp"

#include <sys/mman.h>

#include <new>

namespace portd::worker {

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
