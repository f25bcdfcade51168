// The shared scratch directory, under the name the FTP tests use.
#pragma once

#include "../support/temp_dir.hpp"

namespace portd::ftp::testing {

using TempTree = portd::testing::TempDir;

}  // namespace portd::ftp::testing
