// Helpers shared by the sys tests: a transport that records what a JournaldSink sends, and a
// datagram socket that stands in for systemd's notify or journal socket.
#pragma once

#include "sys/journald_sink.hpp"
#include "temp_dir.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace portd::sys::test {

/// Every record a sink sent, in order.
struct Captured {
    std::vector<JournalFields> records;

    JournalTransport transport() {
        return [this](const JournalFields& fields) {
            records.push_back(fields);
            return 0;
        };
    }
};

/// The values of `name` in one record (a field may legally repeat, so a test can see that it
/// did not).
inline std::vector<std::string> values(const JournalFields& record, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& field : record) {
        if (field.rfind(name + "=", 0) == 0) {
            out.push_back(field.substr(name.size() + 1));
        }
    }
    return out;
}

inline std::optional<std::string> value(const JournalFields& record, const std::string& name) {
    auto all = values(record, name);
    if (all.size() != 1) {
        return std::nullopt;
    }
    return all.front();
}

/// An AF_UNIX datagram socket bound at `path`, removed again on destruction.
class DatagramSocket {
public:
    explicit DatagramSocket(std::string path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        }
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (path_.size() >= sizeof addr.sun_path) {
            throw std::runtime_error("socket path too long: " + path_);
        }
        std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
        ::unlink(path_.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("bind " + path_ + ": " + std::strerror(errno));
        }
        // A test that expects a datagram must not hang when none comes.
        timeval timeout{2, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    ~DatagramSocket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    DatagramSocket(const DatagramSocket&) = delete;
    DatagramSocket& operator=(const DatagramSocket&) = delete;

    const std::string& path() const { return path_; }

    /// The next datagram, or nullopt after the timeout.
    std::optional<std::string> receive(int timeout_ms = 2000) {
        timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        std::string buffer(256 * 1024, '\0');
        const auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
        if (n < 0) {
            return std::nullopt;
        }
        buffer.resize(static_cast<std::size_t>(n));
        return buffer;
    }

private:
    std::string path_;
    int fd_ = -1;
};

using TempDir = portd::testing::TempDir;

}  // namespace portd::sys::test
