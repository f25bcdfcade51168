// The shared scratch directory, under this folder's tests' namespace.
#pragma once

#include "../support/temp_dir.hpp"

namespace portd::control::testing {

using TempDir = portd::testing::TempDir;

}  // namespace portd::control::testing
