// The life of a worker process, from just after fork() to _exit(): take only its own
// listening sockets, become the service's user, load the module, serve, drain on SIGTERM.
#pragma once

#include "manifest/manifest.hpp"
#include "worker/service_counters.hpp"

#include <memory>
#include <vector>

namespace portd::worker {

/// Exit codes a worker reports to the supervisor.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 78;  // EX_CONFIG: the module or the user is wrong; retrying
                                        // without a new manifest cannot help

struct WorkerStart {
    const manifest::Manifest* manifest = nullptr;
    const manifest::ServiceSpec* service = nullptr;
    std::vector<int> listen_fds;  // this service's listeners only
    int ready_fd = -1;            // write end of the ready pipe: one byte once serving
    std::shared_ptr<ServiceCounters> counters;
};

/// Runs in the child after fork(). Never returns.
[[noreturn]] void worker_main(WorkerStart start);

}  // namespace portd::worker
