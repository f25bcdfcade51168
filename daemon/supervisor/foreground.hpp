// Serves a manifest in this process: every service's ServiceHost on its own threads, until
// SIGTERM or SIGINT. The supervisor with a worker process per service replaces this; the hosts
// do not change.
#pragma once

#include "cli/options.hpp"

namespace portd::supervisor {

/// Returns the process exit code.
int serve(const cli::Options& options);

}  // namespace portd::supervisor
