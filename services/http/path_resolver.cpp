#include "http/path_resolver.hpp"

#include "common/confined_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace portd::http {

namespace {

constexpr int kOpenFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY;

}  // namespace

int status_from_errno(int error) {
    switch (error) {
        case ENOENT:
        case ENOTDIR:
        case ENAMETOOLONG:
            return 404;
        case EACCES:
        case EPERM:
        case EXDEV:  // RESOLVE_BENEATH: the path (through a symlink) leaves the root
        case ELOOP:  // too many symlinks, or a symlink where none may be
            return 403;
        case EMFILE:
        case ENFILE:
            return 503;
        default:
            return 500;
    }
}

std::string_view relative_path(std::string_view path) {
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    return path;
}

OpenedFile open_beneath(int root_fd, std::string_view path, Resolver resolver) {
    OpenedFile out;
    UniqueFd fd(common::open_confined(root_fd, relative_path(path), kOpenFlags, 0,
                                      common::Scope::beneath, resolver));
    if (!fd) {
        out.status = status_from_errno(errno);
        return out;
    }
    if (::fstat(fd.get(), &out.st) != 0) {
        out.status = 500;
        return out;
    }
    if (!S_ISREG(out.st.st_mode) && !S_ISDIR(out.st.st_mode)) {
        out.status = 403;
        return out;
    }
    out.fd = std::make_shared<const UniqueFd>(std::move(fd));
    return out;
}

}  // namespace portd::http
