#include "common/confined_open.hpp"

#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace portd::common {

namespace {

// The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int kMaxLinks = 40;
// Directories held open at once: a client that built a tree this deep must not make one open
// take the process's descriptors from everyone else.
constexpr std::size_t kMaxDepth = 256;

// Set once openat2 has said ENOSYS: this kernel has none, and every open walks from then on.
std::atomic<bool> openat2_missing{false};

int call_openat2(int root, std::string_view path, int flags, mode_t mode, Scope scope) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags) | O_CLOEXEC;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve =
        (scope == Scope::beneath ? RESOLVE_BENEATH : RESOLVE_IN_ROOT) | RESOLVE_NO_MAGICLINKS;
    const std::string terminated(path.empty() ? std::string_view(".") : path);
    for (int attempt = 0; attempt < 16; ++attempt) {
        // EAGAIN: a concurrent rename raced a ".." in the lookup; the kernel asks to retry.
        const long fd = ::syscall(SYS_openat2, root, terminated.c_str(), &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN) {
            return static_cast<int>(fd);
        }
    }
    return -1;
}

/// Puts the components of `path` in front of `pending`, in order; "" and "." are dropped.
void push_front_components(std::string_view path, std::deque<std::string>& pending) {
    std::vector<std::string> parts;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto part = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        if (!part.empty() && part != ".") {
            parts.emplace_back(part);
        }
    }
    pending.insert(pending.begin(), parts.begin(), parts.end());
}

/// The target of the symlink `name` in `dir` ("" names `dir` itself, an O_PATH link).
bool read_link(int dir, const char* name, std::string& target) {
    char buffer[4096];
    const auto n = ::readlinkat(dir, name, buffer, sizeof buffer);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof buffer) {
        if (n >= 0) {
            errno = ENAMETOOLONG;
        }
        return false;
    }
    target.assign(buffer, static_cast<std::size_t>(n));
    return true;
}

}  // namespace

int open_confined(int root, std::string_view path, int flags, mode_t mode, Scope scope,
                  Resolver resolver) {
    if (resolver == Resolver::kernel && !openat2_missing.load(std::memory_order_relaxed)) {
        const int fd = call_openat2(root, path, flags, mode, scope);
        if (fd >= 0) {
            return fd;
        }
        if (errno == ENOSYS) {
            openat2_missing.store(true, std::memory_order_relaxed);
        } else if (errno != EPERM) {
            return -1;
        }
        // EPERM: a system call filter that does not know openat2, or an open the file system
        // forbids, which the walk then refuses the same way. Asked again on every call.
    }
    return open_confined_walk(root, path, flags, mode, scope);
}

int open_confined_walk(int root, std::string_view path, int flags, mode_t mode, Scope scope) {
    const bool follow_last = (flags & O_NOFOLLOW) == 0;
    const bool beneath = scope == Scope::beneath;
    if (beneath && !path.empty() && path.front() == '/') {
        errno = EXDEV;
        return -1;
    }
    std::vector<UniqueFd> walked;  // walked[0] is the root; back() the current directory
    walked.emplace_back(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!walked.back()) {
        return -1;
    }
    std::deque<std::string> pending;
    push_front_components(path, pending);
    int links = 0;
    // A symlink met on the way: its target replaces it, from the root when absolute.
    const auto follow = [&](const std::string& target) {
        if (++links > kMaxLinks) {
            errno = ELOOP;
            return false;
        }
        if (!target.empty() && target.front() == '/') {
            if (beneath) {
                errno = EXDEV;
                return false;
            }
            walked.resize(1);
        }
        push_front_components(target, pending);
        return true;
    };
    while (!pending.empty()) {
        const std::string name = std::move(pending.front());
        pending.pop_front();
        if (name == "..") {
            if (walked.size() > 1) {
                walked.pop_back();
            } else if (beneath) {
                errno = EXDEV;
                return -1;
            }
            continue;
        }
        const int dir = walked.back().get();
        if (!pending.empty()) {
            // On the way: a directory, or a symlink to follow.
            UniqueFd next(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            struct stat st {};
            if (!next || ::fstat(next.get(), &st) != 0) {
                return -1;
            }
            if (S_ISLNK(st.st_mode)) {
                std::string target;
                if (!read_link(next.get(), "", target) || !follow(target)) {
                    return -1;
                }
                continue;
            }
            if (!S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                return -1;
            }
            if (walked.size() > kMaxDepth) {
                errno = ENAMETOOLONG;
                return -1;
            }
            walked.push_back(std::move(next));
            continue;
        }
        // The last component. O_NOFOLLOW always: a symlink here is followed by this walk, not
        // by the kernel. It shows as a descriptor of the link with O_PATH, else as ELOOP (or
        // ENOTDIR when a directory was asked for).
        const int fd = ::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
        if (!follow_last) {
            return fd;
        }
        std::string target;
        if (fd >= 0) {
            struct stat st {};
            if ((flags & O_PATH) == 0 || ::fstat(fd, &st) != 0 || !S_ISLNK(st.st_mode)) {
                return fd;
            }
            const UniqueFd link(fd);
            if (!read_link(link.get(), "", target)) {
                return -1;
            }
        } else {
            const int error = errno;
            if ((error != ELOOP && error != ENOTDIR) || !read_link(dir, name.c_str(), target)) {
                errno = error;  // not a symlink after all: the open's own answer
                return -1;
            }
        }
        if (!follow(target)) {
            return -1;
        }
    }
    // Nothing left to walk: the path named the root, or ended in "..". "." is not a component
    // push_front_components keeps, so it is opened here directly.
    return ::openat(walked.back().get(), ".", flags | O_CLOEXEC, mode);
}

}  // namespace portd::common
