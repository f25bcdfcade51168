// The process title `ps` shows: "portd: web" for the worker serving `web`, as nginx and
// postfix name theirs, so an operator can tell the processes apart.
#pragma once

#include <string_view>

namespace portd::sys {

/// Call once at the start of main(): moves the environment out of the way so the whole argv
/// and environ area can hold a title.
void proctitle_init(int argc, char** argv);

/// Sets the title (truncated to the space argv had) and the thread name (15 characters).
void proctitle_set(std::string_view title);

}  // namespace portd::sys
