// `portd --check`: validate the whole manifest and every module's options, bind nothing.
#pragma once

#include "cli/options.hpp"

#include <iosfwd>

namespace portd::cli {

/// Prints the port table to `out` and every problem to `err`; returns the exit code (0 valid,
/// 1 not).
int run_check(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace portd::cli
