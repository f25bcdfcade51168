#include "ftp/session.hpp"

#include "ftp/command_table.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "ftp/service.hpp"
#include "ftp/xferlog.hpp"

#include <netinet/in.h>

#include <spdlog/logger.h>

namespace portd::ftp {

namespace {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// While a transfer runs the watchdog looks every second; idle, it sleeps to the deadline.
constexpr auto kTransferTick = std::chrono::seconds(1);

}  // namespace

Session::Session(std::shared_ptr<ServiceState> service, Connection connection)
    : service_(std::move(service)),
      socket_(std::move(connection.socket)),
      peer_(connection.peer),
      local_(connection.local),
      lease_(std::move(connection.lease)),
      data_(socket_.get_executor(), connection.peer.address(), connection.local.address()),
      written_(socket_.get_executor()),
      transfer_done_(socket_.get_executor()),
      watchdog_timer_(socket_.get_executor()),
      sleep_timer_(socket_.get_executor()) {
    state_.mlst_facts = kAllFacts;
}

Session::~Session() {
    service_->remove(this, normalize(peer_.address()));
}

void Session::start() {
    error_code ignored;
    // Clients send ABOR with the Telnet Synch as TCP urgent data (ftplib sends the whole
    // "ABOR\r\n" with MSG_OOB); inline, the urgent byte stays in the stream where the line
    // splitter sees it, instead of being lost.
    socket_.set_option(net::socket_base::out_of_band_inline(true), ignored);
    idle_deadline_ = Clock::now() + service_->config().idle_timeout;
    auto self = shared_from_this();
    net::co_spawn(executor(), run(self), net::detached);
    net::co_spawn(executor(), watchdog(self), net::detached);
}

void Session::drain() {
    draining_ = true;
    if (!busy_ && !transfer_active_ && !closed_) {
        net::co_spawn(executor(), goodbye(shared_from_this(), 421, "Server shutting down."),
                      net::detached);
    }
}

void Session::stop() {
    close();
}

void Session::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    error_code ignored;
    data_.close();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    watchdog_timer_.cancel();
    sleep_timer_.cancel();
    written_.notify();
    transfer_done_.notify();
    lease_.release();
}

net::awaitable<void> Session::goodbye(std::shared_ptr<Session> self, int code, std::string text) {
    co_await self->close_after_reply(code, text);
}

net::awaitable<void> Session::close_after_reply(int code, std::string_view text) {
    co_await reply(code, text);
    close();
}

net::awaitable<void> Session::reply(int code, std::string_view text) {
    co_await send_raw(format_reply(code, text));
}

net::awaitable<void> Session::send_raw(std::string bytes) {
    if (closed_) {
        co_return;
    }
    outbox_ += bytes;
    if (writing_) {
        // Another coroutine is writing; it takes our bytes too. Wait until all is out so that
        // a client that does not read cannot make the outbox grow.
        for (int guard = 0; writing_ && !closed_ && guard < 1'000'000; ++guard) {
            co_await written_.wait();
        }
        co_return;
    }
    co_await write_out();
}

net::awaitable<void> Session::write_out() {
    writing_ = true;
    std::string out;
    while (!outbox_.empty() && !closed_) {
        out.clear();
        out.swap(outbox_);
        write_deadline_ = Clock::now() + service_->config().idle_timeout;
        error_code ec;
        co_await net::async_write(socket_, net::buffer(out),
                                  net::redirect_error(net::use_awaitable, ec));
        if (ec) {
            close();
        }
    }
    writing_ = false;
    written_.notify();
}

net::awaitable<void> Session::sleep(std::chrono::milliseconds delay) {
    sleep_timer_.expires_after(delay);
    error_code ignored;
    co_await sleep_timer_.async_wait(net::redirect_error(net::use_awaitable, ignored));
}

net::awaitable<std::optional<Line>> Session::read_line() {
    for (;;) {
        if (auto line = splitter_.next()) {
            co_return line;
        }
        error_code ec;
        const auto n = co_await socket_.async_read_some(
            net::buffer(read_buffer_), net::redirect_error(net::use_awaitable, ec));
        if (ec || closed_) {
            co_return std::nullopt;
        }
        splitter_.feed(std::string_view(read_buffer_.data(), n));
    }
}

net::awaitable<void> Session::run(std::shared_ptr<Session> self) {
    try {
        co_await reply(220, service_->config().banner);
        while (!closed_) {
            busy_ = false;
            if (draining_ && !transfer_active_) {
                co_await close_after_reply(421, "Server shutting down.");
                break;
            }
            auto line = co_await read_line();
            if (!line || closed_) {
                break;
            }
            busy_ = true;
            co_await handle(std::move(*line));
            idle_deadline_ = Clock::now() + service_->config().idle_timeout;
        }
    } catch (const std::exception& e) {
        service_->log().warn("ftp session {}: {}", peer_.address().to_string(), e.what());
    }
    close();
    // Let the transfer coroutine finish its cleanup (it holds its own reference).
    (void)self;
}

net::awaitable<void> Session::handle(Line line) {
    if (line.too_long) {
        co_await reply(500, "Command line too long.");
        co_return;
    }
    auto command = parse_command(line.text);
    switch (command.kind) {
        case LineKind::empty:
            co_await reply(500, "Empty command.");
            co_return;
        case LineKind::bad_verb:
            co_await reply(500, "Syntax error, command unrecognized.");
            co_return;
        case LineKind::http_request:
            service_->log().info("ftp session {}: HTTP request on the FTP port, closing",
                                 peer_.address().to_string());
            co_await close_after_reply(421, "This is an FTP server; HTTP requests are refused.");
            co_return;
        case LineKind::command:
            break;
    }
    const auto* spec = service_->commands().find(command.verb);
    if (spec != nullptr && !spec->during_transfer) {
        co_await wait_transfer();  // commands queue behind a running transfer
    }
    if (closed_) {
        co_return;
    }
    if (command.verb != "RNTO") {
        state_.rename_from.clear();  // RNTO must come right after RNFR
    }
    const bool keeps_rest = command.verb == "REST" || (spec != nullptr && spec->during_transfer);
    if (auto refusal = check_gate(spec, command, state_.logged_in(), state_.permissions())) {
        co_await reply(refusal->code, refusal->text);
    } else {
        co_await spec->handler(*this, std::move(command.argument));
    }
    if (!keeps_rest) {
        state_.rest_offset = 0;  // REST applies to the next command only
    }
}

net::awaitable<void> Session::watchdog(std::shared_ptr<Session> self) {
    while (!closed_) {
        const auto now = Clock::now();
        if (writing_ && now >= write_deadline_) {
            // The client stopped reading replies; nothing more can be said to it.
            service_->log().info("ftp session {}: replies not read for the idle timeout, closing",
                                 peer_.address().to_string());
            close();
            break;
        }
        if (transfer_active_) {
            if (now >= data_deadline_) {
                service_->log().info("ftp session {}: data connection timed out",
                                     peer_.address().to_string());
                data_.close();  // the transfer ends with 425/426
                data_deadline_ = Clock::time_point::max();
            }
            watchdog_timer_.expires_after(kTransferTick);
        } else if (!busy_ && now >= idle_deadline_) {
            // Said from its own coroutine: if the client does not read even this, the watchdog
            // is still here to close at the write deadline.
            idle_deadline_ = Clock::time_point::max();
            net::co_spawn(executor(), goodbye(self, 421, "Timeout."), net::detached);
            watchdog_timer_.expires_after(kTransferTick);
        } else {
            watchdog_timer_.expires_at(busy_ || writing_ ? now + kTransferTick : idle_deadline_);
        }
        error_code ignored;
        co_await watchdog_timer_.async_wait(net::redirect_error(net::use_awaitable, ignored));
    }
    (void)self;
}

void Session::start_transfer(std::string opening, TransferBody body) {
    transfer_active_ = true;
    state_.transferred = 0;
    data_deadline_ = Clock::now() + service_->config().data_timeout;
    watchdog_timer_.cancel();  // re-arm at the data deadline's pace
    net::co_spawn(executor(), transfer(shared_from_this(), std::move(opening), std::move(body)),
                  net::detached);
}

net::awaitable<void> Session::transfer(std::shared_ptr<Session> self, std::string opening,
                                       TransferBody body) {
    TransferOutcome outcome;
    try {
        bool opened = false;
        if (data_.passive()) {
            co_await reply(150, opening);
            opened = !co_await data_.open();
        } else {
            opened = !co_await data_.open();
            if (opened) {
                co_await reply(150, opening);
            }
        }
        if (!opened) {
            outcome = {425, "Failed to establish data connection."};
        } else {
            outcome = co_await body(data_);
        }
    } catch (const std::exception& e) {
        service_->log().warn("ftp session {}: transfer: {}", peer_.address().to_string(), e.what());
        outcome = {451, "Local error in processing."};
    }
    data_.close();
    co_await reply(outcome.code, outcome.text);
    transfer_active_ = false;
    idle_deadline_ = Clock::now() + service_->config().idle_timeout;
    transfer_done_.notify();
    watchdog_timer_.cancel();
    if (draining_ && !busy_ && !closed_) {
        co_await close_after_reply(421, "Server shutting down.");
    }
    (void)self;
}

net::awaitable<void> Session::wait_transfer() {
    // Bounded by the data timeout: the watchdog closes a stalled data connection.
    while (transfer_active_ && !closed_) {
        co_await transfer_done_.wait();
    }
}

void Session::abort_transfer() {
    data_.close();
}

void Session::data_progress(std::size_t bytes) {
    state_.transferred += bytes;
    data_deadline_ = Clock::now() + service_->config().data_timeout;
}

void Session::log_transfer(TransferRecord record) {
    record.remote_host = normalize(peer_.address()).to_string();
    record.anonymous = state_.account && state_.account->anonymous;
    record.user = !state_.account             ? std::string("-")
                  : state_.account->anonymous ? state_.anonymous_id
                                              : state_.account->name;
    service_->transfer_line(xferlog_line(record), peer_, local_);
}

void Session::log_login(std::string_view user, bool ok, std::string_view anonymous_password) {
    service_->login_line(login_line(std::time(nullptr), normalize(peer_.address()).to_string(),
                                    user, ok, anonymous_password),
                         ok, peer_, local_);
}

}  // namespace portd::ftp
