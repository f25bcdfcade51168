#include "control/session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>

namespace portd::control {

namespace {

// Beyond this the client is not a confused portctl: reset it.
constexpr std::size_t kMaxDiscarded = 1024 * 1024;

std::string describe(std::chrono::milliseconds timeout) {
    if (timeout.count() % 1000 == 0) {
        return std::to_string(timeout.count() / 1000) + " s";
    }
    return std::to_string(timeout.count()) + " ms";
}

}  // namespace

Session::Session(local_stream::socket socket, std::shared_ptr<const AsyncHandler> handler,
                 std::chrono::milliseconds io_timeout)
    : socket_(std::move(socket)),
      deadline_(socket_.get_executor()),
      handler_(std::move(handler)),
      io_timeout_(io_timeout) {}

void Session::start() {
    arm_deadline();
    read_more();
}

void Session::close() {
    state_ = State::closed;
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(local_stream::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

// One deadline covers the whole read, another the whole write: a client that trickles bytes
// cannot keep the session alive. While the handler works there is none (a reload takes time).
void Session::arm_deadline() {
    deadline_.expires_after(io_timeout_);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        // A wait that had already completed when the deadline was moved is not cancelled.
        if (ec == net::error::operation_aborted ||
            self->deadline_.expiry() > net::steady_timer::clock_type::now()) {
            return;
        }
        if (self->state_ == State::reading) {
            boost::system::error_code ignored;
            self->socket_.cancel(ignored);
            self->send(Reply::failure("no request received within " + describe(self->io_timeout_)));
        } else if (self->state_ == State::writing) {
            self->close();
        }
    });
}

void Session::read_more() {
    socket_.async_read_some(
        net::buffer(chunk_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
            self->on_read(ec, bytes);
        });
}

void Session::on_read(const boost::system::error_code& ec, std::size_t bytes) {
    if (state_ != State::reading) {
        return;  // the deadline fired and cancelled this read
    }
    const bool eof = ec == net::error::eof;
    client_done_ = eof;
    if (ec && !eof) {
        close();
        return;
    }
    received_.append(chunk_.data(), bytes);
    const auto scan = scan_request_line(received_, eof);
    switch (scan.status) {
        case LineStatus::incomplete:
            read_more();
            return;
        case LineStatus::too_long:
            send(Reply::failure("request line longer than " + std::to_string(kMaxRequestLine) +
                                " bytes"));
            return;
        case LineStatus::complete:
            break;
    }
    auto decoded = decode_request(scan.line);
    if (!decoded) {
        spdlog::debug("control socket: refused request: {}", decoded.error);
        send(Reply::failure(decoded.error));
        return;
    }
    dispatch(*decoded.value);
}

void Session::dispatch(const Request& request) {
    state_ = State::handling;
    deadline_.cancel();
    auto replied = std::make_shared<std::atomic_flag>();
    // Posted, never called inline: a handler that responds at once must not re-enter send()
    // from inside itself, and one on another thread must not touch the socket.
    Respond respond = [self = shared_from_this(), replied](Reply reply) {
        if (replied->test_and_set()) {
            return;
        }
        net::post(self->socket_.get_executor(),
                  [self, reply = std::move(reply)] { self->send(reply); });
    };
    try {
        (*handler_)(request, respond);
    } catch (const std::exception& e) {
        spdlog::error("control socket: '{}' failed: {}", command_name(request.command), e.what());
        respond(Reply::failure(std::string("internal error: ") + e.what()));
    } catch (...) {
        respond(Reply::failure("internal error"));
    }
}

void Session::send(const Reply& reply) {
    if (state_ == State::writing || state_ == State::closed) {
        return;
    }
    state_ = State::writing;
    reply_bytes_ = encode_reply(reply);
    arm_deadline();
    net::async_write(socket_, net::buffer(reply_bytes_),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                         if (ec || self->client_done_) {
                             self->close();
                             return;
                         }
                         boost::system::error_code ignored;
                         self->socket_.shutdown(local_stream::socket::shutdown_send, ignored);
                         self->discard_input();
                     });
}

// Closing with unread input makes the kernel reset the connection, and the client's read then
// ends in ECONNRESET instead of EOF. So after refusing a request that was still arriving (too
// long, say), read and drop the rest until the client half-closes, within the write deadline
// and a byte budget.
void Session::discard_input() {
    socket_.async_read_some(
        net::buffer(chunk_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
            self->discarded_ += bytes;
            if (ec || self->state_ != State::writing || self->discarded_ > kMaxDiscarded) {
                self->close();
                return;
            }
            self->discard_input();
        });
}

}  // namespace portd::control
