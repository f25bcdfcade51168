// One session's data connection (RFC 959 §3.2/§3.3): a passive listener in the configured port
// range (PASV/EPSV) or an active target (PORT/EPRT), and the byte-moving loops of RETR, STOR and
// the listings. Bound to the control socket's executor, so it never runs concurrently with its
// session.
#pragma once

#include "ftp/address.hpp"
#include "ftp/rate_limiter.hpp"

#include <portd/net.hpp>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace portd::ftp {

/// How a transfer ended: bytes moved, and the first network or file error (if any).
struct TransferResult {
    std::uint64_t bytes = 0;
    boost::system::error_code network;
    int file_error = 0;  // errno of a failed read(2)/write(2) on the file
    bool ok() const { return !network && file_error == 0; }
};

class DataChannel {
public:
    using Progress = std::function<void(std::size_t)>;

    /// `peer` and `local` are the control connection's addresses: the only address a data
    /// connection may come from or go to, and the address passive listeners bind to.
    DataChannel(net::any_io_executor executor, Address peer, Address local);

    /// PASV/EPSV: listens on a free port in [low, high] (0, 0: any) and returns it.
    boost::system::error_code listen(std::uint16_t low, std::uint16_t high, std::uint16_t& port);
    /// PORT/EPRT: the next transfer connects to `target`.
    void set_active(const tcp::endpoint& target);
    /// PASV, EPSV, PORT or EPRT came and no transfer has used it yet.
    bool prepared() const { return passive_ || target_.has_value(); }
    bool passive() const { return passive_; }
    bool connected() const { return socket_.is_open(); }

    /// Accepts (only from the control peer's address) or connects. The session's watchdog
    /// bounds the wait by closing the channel.
    net::awaitable<boost::system::error_code> open();

    /// Takes `socket` as the data connection, as open() would have made it: for tests that
    /// need a connection a real peer cannot give (one that never fills, say).
    void adopt(tcp::socket socket);

    /// Closes the listener and the connection and forgets PASV/PORT; pending operations end.
    void close();

    /// RETR, TYPE I: sendfile(2) of [offset, offset + count) straight to the socket.
    net::awaitable<TransferResult> send_file(int fd, off_t offset, std::uint64_t count,
                                             RateLimiter& limiter, Progress progress);
    /// RETR, TYPE A: read, LF → CR LF, write.
    net::awaitable<TransferResult> send_file_ascii(int fd, off_t offset, RateLimiter& limiter,
                                                   Progress progress);
    /// STOR/APPE: socket → file until EOF, with CR LF → LF when `ascii`.
    net::awaitable<TransferResult> receive_file(int fd, bool ascii, RateLimiter& limiter,
                                                Progress progress);
    /// Listings: writes `bytes` as they are.
    net::awaitable<boost::system::error_code> send(std::string_view bytes);

private:
    net::awaitable<void> pause(std::chrono::milliseconds delay);

    net::any_io_executor executor_;
    Address peer_;
    Address local_;
    tcp::acceptor acceptor_;
    tcp::socket socket_;
    net::steady_timer throttle_;
    bool passive_ = false;
    std::optional<tcp::endpoint> target_;
};

}  // namespace portd::ftp
