#include "http/path_resolver.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace portd::http {

namespace {

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

int openat2_beneath(int root_fd, const char* relative) {
    open_how how{};
    how.flags = kOpenFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, root_fd, relative, &how, sizeof how));
}

/// For kernels without openat2 (before 5.6) or where a sandbox filters it: walk one component
/// at a time and refuse every symlink. Stricter than the kernel path, never looser.
int open_without_openat2(int root_fd, const std::string& relative) {
    UniqueFd dir(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    if (!dir) {
        return -1;
    }
    std::size_t pos = 0;
    while (true) {
        const auto slash = relative.find('/', pos);
        const auto name = relative.substr(pos, slash - pos);
        if (name == "..") {
            errno = EXDEV;
            return -1;
        }
        if (slash == std::string::npos) {
            return ::openat(dir.get(), name.c_str(), kOpenFlags | O_NOFOLLOW);
        }
        const int next =
            ::openat(dir.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW);
        if (next < 0) {
            struct stat st {};
            if (errno == ENOTDIR &&
                ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode)) {
                errno = ELOOP;  // a symlinked directory: refused, not missing
            }
            return -1;
        }
        dir.reset(next);
        pos = slash + 1;
    }
}

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

OpenedFile open_beneath(int root_fd, std::string_view path, Resolver resolver) {
    OpenedFile out;
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    const std::string relative = path.empty() ? std::string(".") : std::string(path);
    int fd = -1;
    if (resolver == Resolver::kernel) {
        fd = openat2_beneath(root_fd, relative.c_str());
    }
    if (resolver == Resolver::walk || (fd < 0 && (errno == ENOSYS || errno == EPERM))) {
        fd = open_without_openat2(root_fd, relative);
    }
    if (fd < 0) {
        out.status = status_from_errno(errno);
        return out;
    }
    out.fd.reset(fd);
    if (::fstat(fd, &out.st) != 0) {
        out.status = 500;
        out.fd.reset();
        return out;
    }
    if (!S_ISREG(out.st.st_mode) && !S_ISDIR(out.st.st_mode)) {
        out.status = 403;
        out.fd.reset();
    }
    return out;
}

}  // namespace portd::http
