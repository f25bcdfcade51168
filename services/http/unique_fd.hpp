// The descriptor owner the modules share, under this module's namespace.
#pragma once

#include "common/unique_fd.hpp"

namespace portd::http {

using UniqueFd = common::UniqueFd;

}  // namespace portd::http
