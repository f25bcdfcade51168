// Opens a clean request path beneath a root directory, with the kernel enforcing the jail:
// openat2(2) RESOLVE_BENEATH refuses ".." and symlinks that leave the root, and magic links,
// without the check-then-open race of realpath() and a prefix test. Where openat2 is missing or
// filtered, the same resolution is walked by hand (common/confined_open.hpp).
#pragma once

#include "common/confined_open.hpp"
#include "http/unique_fd.hpp"

#include <sys/stat.h>

#include <memory>
#include <string_view>

namespace portd::http {

/// An open file that a response and the open-file cache may hold at once: the descriptor is
/// closed when the last of them lets go.
using SharedFd = std::shared_ptr<const UniqueFd>;

struct OpenedFile {
    int status = 0;  // 0, or the status to answer (404, 403, 500, ...)
    SharedFd fd;
    struct stat st {};
};

using common::Resolver;

/// Opens `path` (a clean path from parse_target; "/" is the root itself) read-only beneath
/// `root_fd`. Only regular files and directories are served; anything else is 403.
OpenedFile open_beneath(int root_fd, std::string_view path, Resolver resolver = Resolver::kernel);

/// `path` without its leading and trailing slashes, as open_beneath resolves it.
std::string_view relative_path(std::string_view path);

/// The nginx-style errno → status table.
int status_from_errno(int error);

}  // namespace portd::http
