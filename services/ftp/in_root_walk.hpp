// openat2(2) with RESOLVE_IN_ROOT, done by hand for where the kernel call is missing (before
// Linux 5.6) or a sandbox's system call filter refuses it (older container runtimes).
//
// The path is walked one component at a time from the root with O_NOFOLLOW. A symlink is read
// and its target walked in its place: an absolute target from the root, ".." never above it,
// as the kernel does. The directories walked are held open on a stack and ".." pops it, so the
// kernel's ".." is never used: a directory renamed away mid-walk cannot lead outside.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace portd::ftp {

/// Like openat2(root, path, {flags | O_CLOEXEC, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS}):
/// a descriptor, or -1 with errno set. O_NOFOLLOW in `flags` leaves a symlink in the last
/// component unfollowed (with O_PATH, the link itself is opened), as for openat2.
int open_in_root_walk(int root, std::string_view path, int flags, mode_t mode);

}  // namespace portd::ftp
