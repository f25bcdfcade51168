#include "control/server.hpp"

#include "control/socket_file.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

namespace portd::control {

namespace fs = std::filesystem;

namespace {

constexpr mode_t kSocketMode = 0600;
constexpr std::chrono::milliseconds kAcceptRetry{100};

std::shared_ptr<const AsyncHandler> make_async(ControlServer::Handler handler) {
    return std::make_shared<const AsyncHandler>(
        [handler = std::move(handler)](const Request& request, const Respond& respond) {
            respond(handler(request));
        });
}

void set_cloexec(int fd) {
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

// The umask applies to the file bind() creates: with 0177 it is 0600 from its first instant,
// so no one can connect in a window before a chmod().
class UmaskGuard {
public:
    explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;
    ~UmaskGuard() { ::umask(old_); }

private:
    mode_t old_;
};

void clear_path(const fs::path& path) {
    switch (probe_socket(path)) {
        case SocketState::absent:
            return;
        case SocketState::live:
            throw std::runtime_error("another portd is running (control socket " + path.native() +
                                     " answers)");
        case SocketState::not_a_socket:
            throw std::runtime_error("control socket path " + path.native() +
                                     " exists and is not a socket: remove it or set "
                                     "portd.control_socket to another path");
        case SocketState::stale:
            spdlog::info("removing stale control socket {}", path.native());
            std::error_code ec;
            fs::remove(path, ec);
            if (ec) {
                throw std::runtime_error("cannot remove stale control socket " + path.native() +
                                         ": " + ec.message());
            }
            return;
    }
}

}  // namespace

ControlServer::ControlServer(net::io_context& io, fs::path socket_path, Handler handler)
    : acceptor_(io),
      retry_timer_(io),
      socket_path_(std::move(socket_path)),
      handler_(make_async(std::move(handler))) {}

ControlServer::ControlServer(net::io_context& io, fs::path socket_path, AsyncHandler handler)
    : acceptor_(io),
      retry_timer_(io),
      socket_path_(std::move(socket_path)),
      handler_(std::make_shared<const AsyncHandler>(std::move(handler))) {}

ControlServer::~ControlServer() {
    stop();
    alive_.reset();
}

void ControlServer::start() {
    if (started_) {
        throw std::logic_error("ControlServer::start() called twice");
    }
    const auto& text = socket_path_.native();
    if (text.empty() || text.size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error("control socket path '" + text + "' is empty or longer than " +
                                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
    }
    try {
        make_parent_directories(socket_path_);
        clear_path(socket_path_);
    } catch (const std::system_error& e) {
        throw std::runtime_error(std::string("control socket: ") + e.what());
    }

    const local_stream::endpoint endpoint(text);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
        set_cloexec(acceptor_.native_handle());
        const UmaskGuard umask(0777 & ~kSocketMode);
        acceptor_.bind(endpoint, ec);
    }
    if (ec) {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        throw std::runtime_error("cannot bind control socket " + text + ": " + ec.message());
    }
    started_ = true;
    struct stat info {};
    if (::stat(text.c_str(), &info) == 0) {
        file_device_ = info.st_dev;
        file_inode_ = info.st_ino;
    }
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        stop();
        throw std::runtime_error("cannot listen on control socket " + text + ": " + ec.message());
    }
    accept_next();
}

void ControlServer::stop() {
    if (!started_ || stopped_) {
        return;
    }
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    for (const auto& weak : sessions_) {
        if (auto session = weak.lock()) {
            session->close();
        }
    }
    sessions_.clear();
    struct stat info {};
    if (::lstat(socket_path_.c_str(), &info) == 0 && info.st_dev == file_device_ &&
        info.st_ino == file_inode_) {
        ::unlink(socket_path_.c_str());
    }
}

void ControlServer::accept_next() {
    acceptor_.async_accept([this, alive = std::weak_ptr<void>(alive_)](
                               const boost::system::error_code& ec, local_stream::socket socket) {
        // A completion queued before the server was destroyed must not touch it.
        if (alive.expired() || stopped_ || ec == net::error::operation_aborted) {
            return;
        }
        if (ec) {
            // Out of descriptors, most likely: accepting again at once would spin.
            spdlog::warn("control socket: accept failed: {}; retrying in {} ms", ec.message(),
                         kAcceptRetry.count());
            retry_timer_.expires_after(kAcceptRetry);
            retry_timer_.async_wait([this, alive](const boost::system::error_code& wait_ec) {
                if (!wait_ec && !alive.expired() && !stopped_) {
                    accept_next();
                }
            });
            return;
        }
        set_cloexec(socket.native_handle());
        std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
        auto session = std::make_shared<Session>(std::move(socket), handler_, io_timeout_);
        sessions_.push_back(session);
        session->start();
        accept_next();
    });
}

}  // namespace portd::control
