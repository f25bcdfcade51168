#include "ftp/xferlog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace portd::ftp {

namespace {

std::string ctime_utc(std::time_t when) {
    std::tm tm{};
    ::gmtime_r(&when, &tm);
    char out[64];
    std::strftime(out, sizeof out, "%a %b %e %H:%M:%S %Y", &tm);
    return out;
}

// Spaces would shift every later field of the line; xferlog readers expect underscores.
std::string field(std::string_view text) {
    std::string out(text.empty() ? std::string_view("-") : text);
    for (auto& c : out) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            c = '_';
        }
    }
    return out;
}

}  // namespace

std::string xferlog_line(const TransferRecord& r) {
    return ctime_utc(r.finished) + " " + std::to_string(r.seconds) + " " + field(r.remote_host) +
           " " + std::to_string(r.bytes) + " " + field(r.path) + " " + (r.binary ? "b" : "a") +
           " _ " + (r.incoming ? "i" : "o") + " " + (r.anonymous ? "a" : "r") + " " +
           field(r.user) + " ftp 0 * " + (r.complete ? "c" : "i");
}

std::string login_line(std::time_t when, std::string_view remote_host, std::string_view user,
                       bool ok) {
    return ctime_utc(when) + " [pid " + std::to_string(::getpid()) + "] " +
           (ok ? "OK LOGIN" : "FAIL LOGIN") + ": Client \"" + field(remote_host) + "\", \"" +
           field(user) + "\"";
}

XferlogFile::~XferlogFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

int XferlogFile::open(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd_ >= 0 ? 0 : errno;
}

void XferlogFile::write_line(std::string line) {
    line += '\n';
    const std::lock_guard lock(mutex_);
    if (fd_ >= 0) {
        // A short write to a local file is a full disk; the line is lost, the service goes on.
        (void)!::write(fd_, line.data(), line.size());
    }
}

}  // namespace portd::ftp
