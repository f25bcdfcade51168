// Opening a path confined to a directory, the way openat2(2) does with RESOLVE_BENEATH or
// RESOLVE_IN_ROOT, and the same resolution walked by hand where openat2 is missing (before
// Linux 5.6) or a sandbox's system call filter refuses it (older container runtimes).
//
// The walk goes one component at a time from the root with O_NOFOLLOW. A symlink is read and
// its target walked in its place. The directories walked are held open on a stack and ".."
// pops it, so the kernel's ".." is never used: a directory renamed away mid-walk cannot lead
// outside. The two scopes differ only where a path would leave the root:
//   beneath  (HTTP)  an absolute symlink, or ".." above the root, is refused with EXDEV;
//   in_root  (FTP)   the root is "/": an absolute target starts from it, ".." stops at it.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace portd::common {

enum class Scope { beneath, in_root };

enum class Resolver {
    kernel,  // openat2(2); the walk where the kernel lacks it or a filter refuses it
    walk,    // the walk always (tests, and kernels known to lack openat2)
};

/// Like openat2(root, path, {flags | O_CLOEXEC, mode, scope | RESOLVE_NO_MAGICLINKS}): a
/// descriptor, or -1 with errno set. O_NOFOLLOW in `flags` leaves a symlink in the last
/// component unfollowed (with O_PATH, the link itself is opened), as for openat2.
int open_confined(int root, std::string_view path, int flags, mode_t mode, Scope scope,
                  Resolver resolver = Resolver::kernel);

/// The walk alone, whatever the kernel has.
int open_confined_walk(int root, std::string_view path, int flags, mode_t mode, Scope scope);

}  // namespace portd::common
