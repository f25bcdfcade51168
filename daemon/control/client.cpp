#include "control/client.hpp"

#include <portd/net.hpp>

#include <sys/un.h>

#include <cerrno>

namespace portd::control {

namespace {

using local_stream = net::local::stream_protocol;

// A status of thousands of services is far below this; it only stops a runaway peer.
constexpr std::size_t kMaxReply = 64 * 1024 * 1024;

CallError classify_connect_error(const boost::system::error_code& ec) {
    if (ec == boost::system::errc::no_such_file_or_directory ||
        ec == boost::system::errc::connection_refused) {
        return CallError::not_running;
    }
    if (ec == boost::system::errc::permission_denied ||
        ec == boost::system::errc::operation_not_permitted) {
        return CallError::permission_denied;
    }
    return CallError::failed;
}

std::string describe(std::chrono::milliseconds timeout) {
    const auto whole = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    if (whole == timeout) {
        return std::to_string(whole.count()) + " s";
    }
    return std::to_string(timeout.count()) + " ms";
}

}  // namespace

std::chrono::milliseconds default_timeout(Command command) {
    constexpr std::chrono::milliseconds kReload{120'000};
    constexpr std::chrono::milliseconds kOther{15'000};
    return command == Command::reload ? kReload : kOther;
}

Exchange exchange(const std::filesystem::path& socket_path, std::string_view request_bytes,
                  std::chrono::milliseconds timeout) {
    Exchange result;
    const auto& path = socket_path.native();
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
        result.error = CallError::failed;
        result.detail = "control socket path '" + path + "' is empty or too long";
        return result;
    }
    net::io_context io;
    local_stream::socket socket(io);
    bool done = false;
    socket.async_connect(local_stream::endpoint(path), [&](const boost::system::error_code& ec) {
        if (ec) {
            result.error = classify_connect_error(ec);
            result.detail = ec.message();
            done = true;
            return;
        }
        net::async_write(
            socket, net::buffer(request_bytes), [&](const boost::system::error_code&, std::size_t) {
                // A write error is not the end: portd may have answered and closed already.
                boost::system::error_code ignored;
                socket.shutdown(local_stream::socket::shutdown_send, ignored);
                net::async_read(
                    socket, net::dynamic_buffer(result.bytes, kMaxReply),
                    [&](const boost::system::error_code& read_ec, std::size_t) {
                        done = true;
                        // A reset after the reply: portd closed before reading
                        // all of a request it refused. The reply is whole.
                        if (read_ec == net::error::eof ||
                            (read_ec == net::error::connection_reset && !result.bytes.empty())) {
                            return;
                        }
                        result.error = CallError::failed;
                        result.detail = read_ec ? "connection to portd lost: " + read_ec.message()
                                                : "portd's reply is larger than " +
                                                      std::to_string(kMaxReply) + " bytes";
                    });
            });
    });
    io.run_for(timeout);
    if (!done) {
        result.error = CallError::failed;
        result.detail = "no reply within " + describe(timeout);
    }
    return result;
}

CallResult call(const std::filesystem::path& socket_path, const Request& request,
                std::chrono::milliseconds timeout) {
    CallResult result;
    auto raw = exchange(socket_path, encode_request(request), timeout);
    if (raw.error != CallError::none) {
        result.error = raw.error;
        result.detail = std::move(raw.detail);
        return result;
    }
    auto decoded = decode_reply(raw.bytes);
    if (!decoded) {
        result.error = CallError::failed;
        result.detail = std::move(decoded.error);
        return result;
    }
    result.reply = std::move(*decoded.value);
    return result;
}

}  // namespace portd::control
