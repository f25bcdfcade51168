// `portd` without --check: the supervisor's main loop (signals, systemd, control socket).
#pragma once

#include "cli/options.hpp"

namespace portd::supervisor {

/// Returns the process exit code.
int run(const cli::Options& options);

}  // namespace portd::supervisor
