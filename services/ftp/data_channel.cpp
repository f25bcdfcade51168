#include "ftp/data_channel.hpp"

#include "ftp/ascii.hpp"

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <vector>

namespace portd::ftp {

namespace {

using boost::system::error_code;

constexpr std::size_t kSendfileChunk = 4U << 20;    // per sendfile(2) call
constexpr std::size_t kReceiveBuffer = 256U << 10;  // STOR reads into buffers this large
constexpr std::size_t kAsciiChunk = 64U << 10;
// Connections from other addresses are dropped; a few of them must not block the client.
constexpr int kMaxForeignConnections = 16;

error_code system_error(int err) {
    return error_code(err, boost::system::system_category());
}

// write(2) until all of `data` is in the file.
int write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const auto n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return 0;
}

}  // namespace

DataChannel::DataChannel(net::any_io_executor executor, Address peer, Address local)
    : executor_(executor),
      peer_(normalize(peer)),
      local_(normalize(local)),
      acceptor_(executor),
      socket_(executor),
      throttle_(executor) {}

error_code DataChannel::listen(std::uint16_t low, std::uint16_t high, std::uint16_t& port) {
    close();
    const tcp::endpoint bind_to(local_, 0);
    error_code ec;
    const unsigned span = low == 0 ? 1U : static_cast<unsigned>(high - low) + 1U;
    // Start at a random port so that concurrent sessions do not all probe the same ones.
    const unsigned start = span > 1 ? std::random_device{}() % span : 0U;
    for (unsigned i = 0; i < span; ++i) {
        const auto candidate = low == 0 ? 0 : static_cast<std::uint16_t>(low + (start + i) % span);
        acceptor_.open(bind_to.protocol(), ec);
        if (ec) {
            return ec;
        }
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        acceptor_.bind(tcp::endpoint(local_, candidate), ec);
        if (!ec) {
            acceptor_.listen(4, ec);
        }
        if (!ec) {
            port = acceptor_.local_endpoint(ec).port();
            passive_ = !ec;
            return ec;
        }
        error_code ignored;
        acceptor_.close(ignored);
        if (ec != net::error::address_in_use) {
            return ec;
        }
    }
    return net::error::address_in_use;
}

void DataChannel::set_active(const tcp::endpoint& target) {
    close();
    target_ = target;
}

net::awaitable<error_code> DataChannel::open() {
    error_code ec;
    if (passive_) {
        for (int attempt = 0; attempt < kMaxForeignConnections; ++attempt) {
            tcp::socket candidate(executor_);
            co_await acceptor_.async_accept(candidate, net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                co_return ec;
            }
            const auto remote = candidate.remote_endpoint(ec);
            if (!ec && normalize(remote.address()) == peer_) {
                socket_ = std::move(candidate);
                error_code ignored;
                acceptor_.close(ignored);  // one connection per PASV, as RFC 959 has it
                co_return error_code{};
            }
            // Someone else raced to the advertised port (a data-connection theft attempt).
            error_code ignored;
            candidate.close(ignored);
        }
        co_return net::error::connection_refused;
    }
    if (!target_) {
        co_return net::error::not_connected;
    }
    socket_.open(target_->protocol(), ec);
    if (!ec) {
        // Leave from the address the client reached us on, so the client sees one peer.
        socket_.bind(tcp::endpoint(local_, 0), ec);
    }
    if (!ec) {
        co_await socket_.async_connect(*target_, net::redirect_error(net::use_awaitable, ec));
    }
    co_return ec;
}

void DataChannel::adopt(tcp::socket socket) {
    close();
    socket_ = std::move(socket);
}

void DataChannel::close() {
    error_code ignored;
    acceptor_.close(ignored);
    socket_.close(ignored);
    throttle_.cancel();
    passive_ = false;
    target_.reset();
}

net::awaitable<void> DataChannel::pause(std::chrono::milliseconds delay) {
    if (delay.count() <= 0) {
        co_return;
    }
    throttle_.expires_after(delay);
    error_code ignored;
    co_await throttle_.async_wait(net::redirect_error(net::use_awaitable, ignored));
}

net::awaitable<TransferResult> DataChannel::send_file(int fd, off_t offset, std::uint64_t count,
                                                      RateLimiter& limiter, Progress progress) {
    TransferResult result;
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) {
        result.network = ec;
        co_return result;
    }
    // Bounded: each round moves bytes or waits for the socket, and the watchdog closes the
    // socket when no byte moved for data_timeout.
    while (result.bytes < count && socket_.is_open()) {
        const auto want =
            std::min<std::uint64_t>(count - result.bytes, limiter.chunk(kSendfileChunk));
        const auto n =
            ::sendfile(socket_.native_handle(), fd, &offset, static_cast<std::size_t>(want));
        if (n > 0) {
            result.bytes += static_cast<std::uint64_t>(n);
            progress(static_cast<std::size_t>(n));
            if (const auto delay = limiter.account(static_cast<std::uint64_t>(n));
                delay.count() > 0) {
                co_await pause(delay);  // only a limited session pays for a coroutine frame
            } else if (static_cast<std::uint64_t>(n) == want) {
                // The socket took a whole chunk and may take more at once: a client that reads
                // as fast as the kernel sends never makes sendfile wait. Let the shard's other
                // sessions have a turn before the next, or they wait for the whole file.
                co_await net::post(executor_, net::use_awaitable);
            }
            continue;
        }
        if (n == 0) {
            break;  // the file shrank under us: send what there was
        }
        if (errno == EAGAIN || errno == EINTR) {
            co_await socket_.async_wait(tcp::socket::wait_write,
                                        net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                result.network = ec;
                break;
            }
            continue;
        }
        if (errno == EIO || errno == ENOMEM || errno == EOVERFLOW) {
            result.file_error = errno;
        } else {
            result.network = system_error(errno);
        }
        break;
    }
    if (result.bytes < count && result.ok() && !socket_.is_open()) {
        result.network = net::error::operation_aborted;
    }
    co_return result;
}

net::awaitable<TransferResult> DataChannel::send_file_ascii(int fd, off_t offset,
                                                            RateLimiter& limiter,
                                                            Progress progress) {
    TransferResult result;
    std::vector<char> buffer(kAsciiChunk);
    std::string converted;
    bool last_was_cr = false;
    for (;;) {
        const auto n = ::pread(fd, buffer.data(), buffer.size(), offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            result.file_error = errno;
            break;
        }
        if (n == 0) {
            break;
        }
        offset += n;
        converted.clear();
        to_network_ascii(std::string_view(buffer.data(), static_cast<std::size_t>(n)), converted,
                         last_was_cr);
        error_code ec;
        const auto written = co_await net::async_write(socket_, net::buffer(converted),
                                                       net::redirect_error(net::use_awaitable, ec));
        result.bytes += written;
        progress(written);
        if (ec) {
            result.network = ec;
            break;
        }
        if (const auto delay = limiter.account(written); delay.count() > 0) {
            co_await pause(delay);
        }
    }
    co_return result;
}

net::awaitable<TransferResult> DataChannel::receive_file(int fd, bool ascii, RateLimiter& limiter,
                                                         Progress progress) {
    TransferResult result;
    std::vector<char> buffer(limiter.chunk(kReceiveBuffer));
    std::string converted;
    bool pending_cr = false;
    for (;;) {
        error_code ec;
        const auto n = co_await socket_.async_read_some(
            net::buffer(buffer), net::redirect_error(net::use_awaitable, ec));
        if (n > 0) {
            result.bytes += n;
            progress(n);
            int err = 0;
            if (ascii) {
                converted.clear();
                to_local_ascii(std::string_view(buffer.data(), n), converted, pending_cr);
                err = write_all(fd, converted.data(), converted.size());
            } else {
                err = write_all(fd, buffer.data(), n);
            }
            if (err != 0) {
                result.file_error = err;
                break;
            }
        }
        if (ec == net::error::eof) {
            break;
        }
        if (ec) {
            result.network = ec;
            break;
        }
        if (const auto delay = limiter.account(n); delay.count() > 0) {
            co_await pause(delay);
        }
    }
    if (ascii && result.ok() && pending_cr) {
        converted.clear();
        finish_local_ascii(converted, pending_cr);
        result.file_error = write_all(fd, converted.data(), converted.size());
    }
    co_return result;
}

net::awaitable<error_code> DataChannel::send(std::string_view bytes) {
    error_code ec;
    co_await net::async_write(socket_, net::buffer(bytes.data(), bytes.size()),
                              net::redirect_error(net::use_awaitable, ec));
    co_return ec;
}

}  // namespace portd::ftp
