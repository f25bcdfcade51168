#include "control/socket_file.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace portd::control {

namespace fs = std::filesystem;

namespace {

constexpr mode_t kDirectoryMode = 0755;

[[noreturn]] void throw_errno(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

void make_parent_directories(const fs::path& socket_path) {
    const fs::path parent = socket_path.parent_path();
    if (parent.empty()) {
        return;
    }
    struct stat info {};
    if (::stat(parent.c_str(), &info) == 0) {
        if (!S_ISDIR(info.st_mode)) {
            throw_errno(ENOTDIR, "'" + parent.native() + "' is not a directory");
        }
        return;
    }
    if (const int error = errno; error != ENOENT) {
        throw_errno(error, "cannot look at '" + parent.native() + "'");
    }
    make_parent_directories(parent);
    // mkdir() applies the umask; chmod() does not, so the mode is exactly 0755.
    if (::mkdir(parent.c_str(), kDirectoryMode) != 0) {
        if (const int error = errno; error != EEXIST) {
            throw_errno(error, "cannot create directory '" + parent.native() + "'");
        }
    }
    ::chmod(parent.c_str(), kDirectoryMode);
}

SocketState probe_socket(const fs::path& path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        const int error = errno;
        if (error == ENOENT) {
            return SocketState::absent;
        }
        throw_errno(error, "cannot look at '" + path.native() + "'");
    }
    if (!S_ISSOCK(info.st_mode)) {
        return SocketState::not_a_socket;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof address.sun_path) {
        throw_errno(ENAMETOOLONG, "'" + path.native() + "' is too long for a unix socket");
    }
    std::memcpy(address.sun_path, path.c_str(), path.native().size());
    const Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        const int error = errno;
        throw_errno(error, "cannot create a unix socket");
    }
    // Non-blocking: a live server whose backlog is full answers EAGAIN instead of hanging us.
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        return SocketState::live;
    }
    switch (const int error = errno; error) {
        case EAGAIN:
        case EINPROGRESS:
            return SocketState::live;
        case ECONNREFUSED:
            return SocketState::stale;
        case ENOENT:
            return SocketState::absent;  // removed between lstat() and connect()
        default:
            throw_errno(error, "cannot connect to '" + path.native() + "'");
    }
}

}  // namespace portd::control
