#include "http/connection.hpp"

#include "http/buffer_pool.hpp"
#include "http/http_date.hpp"
#include "http/launch_here.hpp"
#include "http/shard_file_cache.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace portd::http {

namespace {

constexpr std::uint32_t kBufferSize = BufferPool::kBufferSize;
constexpr std::chrono::milliseconds kLinger{2000};
constexpr std::size_t kMaxLingerBytes = 256 * 1024;

/// The Date header changes once a second; format it once a second per thread.
std::string_view current_date() {
    thread_local std::time_t cached_second = 0;
    thread_local std::string cached;
    const auto now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        cached = format_http_date(now);
    }
    return cached;
}

std::string endpoint_address(const tcp::endpoint& endpoint) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
}

}  // namespace

HttpConnection::HttpConnection(std::shared_ptr<ServiceState> state, DescriptorConnection connection,
                               Poller& poller, DeadlineQueue& deadlines) noexcept
    : PolledSocket(poller, connection.fd),
      state_(std::move(state)),
      deadlines_(deadlines),
      peer_(connection.peer),
      local_(connection.local),
      lease_(std::move(connection.lease)) {}

HttpConnection::~HttpConnection() {
    state_->registry.remove(*this);  // when it ended without finish() (its shard went away)
    BufferPool::give(std::move(buffer_));
}

void HttpConnection::ensure_buffer() {
    if (!buffer_) {
        buffer_ = BufferPool::take();
    }
}

std::string HttpConnection::remote() const {
    return endpoint_address(peer_);
}

void HttpConnection::start() {
    // Registered now, on the thread portd hands the connection over on, not when serve() first
    // runs: a drain arriving in between then waits for this connection's request instead of
    // finishing without it.
    if (!state_->registry.add(*this)) {
        close();  // the drain has finished: the worker is going away
        lease_.release();
        return;
    }
    try {
        // portd hands connections over on their shard: this then runs at once.
        net::dispatch(executor(), [self = shared_from_this()] { self->take_first_request(); });
    } catch (...) {
        close();
        state_->registry.remove(*this);
        lease_.release();
        throw;
    }
}

void HttpConnection::take_first_request() {
    set_deadline(state_->config.header_timeout);  // from accept: a silent client is cut off too
    // portd hands the connection over once its first bytes have arrived (the service's clients
    // speak first: TCP_DEFER_ACCEPT), so they are read at once; only a client that has been
    // silent for a second gets here with nothing to read. Such a connection parks until its
    // request arrives, holding no buffer and no coroutine, as one between requests does.
    switch (read_or_park()) {
        case IoResult::ok:
            launch();
            return;
        case IoResult::would_block:
            return;  // parked: wake() carries on
        default:
            finish();  // closed before a request, or could not be watched
            return;
    }
}

void HttpConnection::launch() {
    try {
        launch_here(executor(), serve());
    } catch (const std::exception& e) {  // no memory for the coroutine frame
        state_->log->warn("connection from {}: {}", remote(), e.what());
        finish();
    }
}

void HttpConnection::start_refusal() {
    if (watch() != 0) {
        close();
        lease_.release();
        return;
    }
    net::co_spawn(
        executor(), [self = shared_from_this()] { return self->refuse(); }, net::detached);
}

void HttpConnection::drain() {
    net::post(executor(), [self = shared_from_this()] {
        self->draining_ = true;
        // Anything else (a first request not read yet, a request being read or answered, a
        // lingering close) goes on; serve() answers with `Connection: close` and ends.
        if (self->parked_ && !self->closed_) {
            self->wake(true);  // serve() looks once and closes
        }
    });
}

void HttpConnection::stop() {
    net::post(executor(), [self = shared_from_this()] { self->close(); });
}

void HttpConnection::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    PolledSocket::close();  // a wait in progress ends with `cancelled`: serve() then ends
    DeadlineQueue::cancel(*this);
    if (parked_) {  // nothing else runs for a parked connection: it ends here
        parked_ = false;
        const auto self = std::move(parked_self_);
        leave();
    }
}

void HttpConnection::finish() {
    close();
    leave();
}

void HttpConnection::leave() {
    state_->registry.remove(*this);
    lease_.release();
}

void HttpConnection::set_deadline(std::chrono::milliseconds from_now) {
    timed_out_ = false;  // a new deadline: an expiry before it no longer counts
    deadlines_.schedule(*this, from_now);
}

void HttpConnection::expired() {
    timed_out_ = true;
    if (parked_) {
        wake(true);  // the keep-alive timeout: closes
        return;
    }
    cancel();  // a wait in progress ends with `cancelled`; fill() sees the flag
}

void HttpConnection::input_unclaimed() noexcept {
    if (parked_ && !closed_) {
        wake(false);
    }
}

void HttpConnection::abandon() noexcept {
    parked_ = false;
    parked_self_.reset();  // may destroy this connection: nothing may follow
}

IoResult HttpConnection::read_available() {
    begin_ = end_ = 0;
    ensure_buffer();
    std::size_t n = 0;
    const auto r = try_read(*this, buffer_.get(), kBufferSize, n);
    end_ = static_cast<std::uint32_t>(n);
    return r;
}

IoResult HttpConnection::read_or_park() {
    if (!readable()) {
        // The last read emptied the socket, and nothing has arrived since: input from now on
        // raises an edge that wakes the park. Looking now would only cost a read that finds
        // nothing, as nginx's epoll loop knows too.
        begin_ = end_ = 0;
    } else if (const auto r = read_available(); r != IoResult::would_block) {
        return r;
    }
    if (timed_out_) {
        return IoResult::cancelled;
    }
    if (const int err = watch(); err != 0) {  // ENOMEM, or fs.epoll.max_user_watches reached
        state_->log->warn("connection from {}: cannot watch it: {}", remote(), std::strerror(err));
        return IoResult::error;
    }
    // Nothing yet: wait holding neither the buffer nor serve()'s frame (nginx frees its buffers
    // the same way), only this object, which holds itself until the park ends.
    BufferPool::give(std::move(buffer_));
    parked_ = true;
    parked_self_ = shared_from_this();
    return IoResult::would_block;
}

void HttpConnection::wake(bool interrupted) {
    parked_ = false;
    const auto self = std::move(parked_self_);  // serve() holds the connection from here on
    // The keep-alive timeout passed or the socket was closed: done. Otherwise the next request
    // (or the end of the input) has arrived, or a drain cut the park short: serve() looks.
    if (closed_ || (interrupted && (timed_out_ || !draining_))) {
        finish();
        return;
    }
    launch();
}

net::awaitable<IoResult> HttpConnection::fill() {
    if (timed_out_) {
        co_return IoResult::cancelled;  // expired while no wait was in progress
    }
    if (begin_ == end_) {
        begin_ = end_ = 0;
        ensure_buffer();
    } else if (end_ == kBufferSize) {
        std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    // Read at once; wait only when nothing is there. Written out here: a helper coroutine
    // would cost a frame per read.
    for (;;) {
        std::size_t n = 0;
        const auto r = try_read(*this, buffer_.get() + end_, kBufferSize - end_, n);
        if (r != IoResult::would_block) {
            end_ += static_cast<std::uint32_t>(n);
            co_return r;
        }
        if (const auto w = co_await wait_readable(); w != IoResult::ok) {
            co_return w;
        }
    }
}

net::awaitable<void> HttpConnection::serve() {
    auto self = shared_from_this();
    try {
        const auto& config = state_->config;
        if (served_ == 0) {  // before the first request (its header_timeout runs from accept)
            // Handed over after the drain began (portd posted it just before): the drain's call
            // to drain() missed it, so take the news from the registry.
            if (state_->registry.draining()) {
                draining_ = true;
            }
            // The socket is non-blocking and has TCP_NODELAY already (the SDK's promise).
            ensure_buffer();
        }

        // Looked up once per turn of serve(), not per request (Asio locks its service
        // registry), and not kept in the connection, which stays small while idle.
        auto& files = ShardFileCache::of(executor(), config.open_file_cache, state_->log);
        RequestParser parser(config.limits);
        Request request;
        bool keep_alive = true;
        bool client_closes = false;  // the last request said it is the last (RFC 9112 §9.6)
        bool woken = served_ > 0;    // resumed after parking: already queued behind the others
        while (keep_alive && !closed_) {
            if (served_ > 0 && !woken && (begin_ < end_ || readable())) {
                // One request per turn of the shard, as nginx does: this connection's next
                // request (pipelined, or left in the socket by a read that filled the buffer)
                // waits behind the other connections' ready work, so none of them waits long
                // for a busy one (tail latency). With nothing buffered and the socket drained
                // there is nothing to take a turn for: the connection parks at once.
                co_await net::post(executor(), net::use_awaitable);
                if (closed_) {
                    break;
                }
            }
            woken = false;
            parser.reset();
            idle_ = true;
            if (served_ > 0) {
                set_deadline(config.keepalive_timeout);
            }
            ParseResult result;
            bool have_request = false;
            while (!closed_) {
                if (begin_ < end_) {
                    if (idle_) {
                        idle_ = false;
                        if (served_ > 0) {
                            // The whole head must arrive within the header timeout of its first
                            // byte: a client trickling bytes does not extend it (slowloris).
                            set_deadline(config.header_timeout);
                        }
                    }
                    result = parser.parse(request,
                                          std::string_view(buffer_.get() + begin_, end_ - begin_));
                    begin_ += static_cast<std::uint32_t>(result.consumed);
                    if (result.state != ParseState::need_more) {
                        have_request = true;
                        break;
                    }
                }
                if (idle_ && served_ > 0) {  // between requests, nothing buffered
                    if (draining_) {
                        // Closing now is safe (the client retries), but a next request already
                        // sent (pipelined, or just arrived) is answered. A connection that has
                        // answered nothing yet keeps reading its first request instead: its
                        // client may have sent it before it saw the drain.
                        if (read_available() != IoResult::ok) {
                            break;  // nothing there yet, or the end of the input: close
                        }
                        continue;
                    }
                    const auto r = read_or_park();
                    if (r == IoResult::would_block) {
                        co_return;  // parked: wake() carries on
                    }
                    if (r != IoResult::ok) {
                        break;
                    }
                    continue;
                }
                const auto r = co_await fill();
                if (r != IoResult::ok) {
                    if (timed_out_ && parser.started()) {
                        timed_out_ = false;
                        co_await send_error(408, nullptr);
                    }
                    break;
                }
            }
            if (!have_request) {
                break;
            }
            idle_ = false;
            if (result.state == ParseState::bad) {
                co_await send_error(result.status, parser.started() ? &request : nullptr);
                break;
            }
            ++served_;
            keep_alive = request.is_http11() ? !request.has_token("connection", "close")
                                             : request.has_token("connection", "keep-alive");
            client_closes = !keep_alive;
            if (served_ >= config.max_requests || draining_) {
                keep_alive = false;
            }
            if (request.body != BodyKind::none && !co_await discard_body(request)) {
                break;
            }
            Response response;
            try {
                response = state_->files.respond(request, &files);
            } catch (const std::exception& e) {
                state_->log->error("{} {}: {}", request.method, request.target, e.what());
                response = error_response(500);
            }
            keep_alive = keep_alive && !response.close && !draining_;
            const auto persistence = !keep_alive           ? Persistence::close
                                     : request.is_http11() ? Persistence::keep_alive
                                                           : Persistence::keep_alive_explicit;
            std::uint64_t bytes = 0;
            const auto sent = co_await send(response, request.method == "HEAD", persistence, bytes);
            log(&request, response.status, bytes);
            if (sent == IoResult::eof) {
                // The Content-Length given cannot be kept: closing is the only way to tell the
                // client its copy is short. The operator hears of it, as from nginx.
                state_->log->warn(
                    "{} {}: the file shrank while it was sent; {} of {} body bytes "
                    "went out, connection closed",
                    request.method, request.target, bytes, response.content_length());
            }
            if (sent != IoResult::ok) {
                close();
                break;
            }
        }
        if (!closed_ && !keep_alive) {
            co_await linger_close(false, client_closes);
        }
    } catch (const std::exception& e) {
        state_->log->warn("connection from {}: {}", remote(), e.what());
    } catch (...) {  // launch_here(): nothing may leave the coroutine
        state_->log->warn("connection from {}: unexpected exception", remote());
    }
    finish();
}

net::awaitable<bool> HttpConnection::discard_body(const Request& request) {
    const auto& config = state_->config;
    if (request.is_http11() && request.has_token("expect", "100-continue") && begin_ == end_) {
        set_deadline(config.send_timeout);
        if (co_await write_all(*this, "HTTP/1.1 100 Continue\r\n\r\n", false, [](std::size_t) {}) !=
            IoResult::ok) {
            co_return false;
        }
    }
    ChunkedDecoder chunked(config.limits.max_body, config.limits.max_request_line);
    std::uint64_t remaining = request.content_length;
    // The whole body, which is only dropped, gets one header_timeout: a deadline renewed by
    // every byte would let a client trickling a body hold the connection for ever (slowloris).
    set_deadline(config.header_timeout);
    while (!closed_) {
        const std::string_view available(buffer_.get() + begin_, end_ - begin_);
        if (request.body == BodyKind::length) {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(remaining, available.size()));
            begin_ += static_cast<std::uint32_t>(n);
            remaining -= n;
            if (remaining == 0) {
                co_return true;
            }
        } else {
            const auto r = chunked.feed(available);
            begin_ += static_cast<std::uint32_t>(r.consumed);
            if (r.state == ParseState::good) {
                co_return true;
            }
            if (r.state == ParseState::bad) {
                co_await send_error(r.status, &request);
                co_return false;
            }
        }
        if (co_await fill() != IoResult::ok) {
            if (timed_out_) {
                timed_out_ = false;
                co_await send_error(408, &request);
            }
            co_return false;
        }
    }
    co_return false;
}

net::awaitable<IoResult> HttpConnection::send(const Response& response, bool head_only,
                                              Persistence persistence, std::uint64_t& body_bytes) {
    const auto& config = state_->config;
    auto head = serialize_head(response, current_date(), config.server, persistence);
    set_deadline(config.send_timeout);
    if (persistence == Persistence::close) {
        // The socket is closed (or half-closed) right after this response. Corked, the last
        // bytes wait for that and leave in one segment with the FIN instead of two, as with
        // nginx's tcp_nopush: a packet fewer for every connection that closes.
        const int on = 1;
        ::setsockopt(fd(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    }
    // What reached the socket. Of it, the body's part is what the access log reports, as
    // nginx's $body_bytes_sent: a download cut short shows there as less than the file.
    std::uint64_t sent = 0;
    const std::uint64_t head_size = head.size();
    const auto progress = [this, &sent](std::size_t written) {
        sent += written;
        set_deadline(state_->config.send_timeout);
    };
    // Each piece is first sent without waiting (write_now, send_file_now): most responses
    // leave whole that way, and a coroutine is called only for what meets a full socket.
    const bool has_body = !head_only && !response.body.empty() && response.status != 304;
    std::size_t first = 0;
    // Small in-memory bodies (error pages, listings) leave with the head in one write.
    if (has_body && !response.body.front().from_file) {
        head += response.body.front().text;
        first = 1;
    }
    const std::size_t parts = has_body ? response.body.size() : 0;
    std::string_view rest = head;
    IoResult r = write_now(*this, rest, first < parts, progress);
    if (r == IoResult::would_block) {
        r = co_await write_all(*this, rest, first < parts, progress);
    }
    for (std::size_t i = first; r == IoResult::ok && i < parts; ++i) {
        const auto& part = response.body[i];
        if (part.from_file) {
            auto offset = part.offset;
            auto length = part.length;
            r = send_file_now(*this, response.file->get(), offset, length, progress);
            if (r == IoResult::would_block) {
                r = co_await send_file(*this, response.file->get(), offset, length, progress);
            }
        } else {
            rest = part.text;
            r = write_now(*this, rest, i + 1 < parts, progress);
            if (r == IoResult::would_block) {
                r = co_await write_all(*this, rest, i + 1 < parts, progress);
            }
        }
    }
    body_bytes = sent > head_size ? sent - head_size : 0;
    co_return r;
}

net::awaitable<void> HttpConnection::send_error(int status, const Request* request) {
    auto response = state_->files.error(status, request);
    std::uint64_t bytes = 0;
    const bool head = request != nullptr && request->method == "HEAD";
    const auto sent = co_await send(response, head, Persistence::close, bytes);
    log(request, status, bytes);
    if (sent == IoResult::ok) {
        co_await linger_close(true);
    }
    close();
}

net::awaitable<void> HttpConnection::linger_close(bool after_error, bool client_closes) {
    // Closing a socket with unread input makes the kernel send RST, which can destroy the
    // response still in flight. Half-close, then read and drop what the client still sends,
    // briefly and boundedly (nginx's lingering close). After a clean last response with
    // nothing more from the client, close at once: connection churn then costs no extra
    // round trip. A client that sent `close` itself sends nothing after it (RFC 9112 §9.6),
    // so with nothing left over from it there is not even a look.
    if (closed_) {
        co_return;
    }
    if (!after_error && client_closes && begin_ == end_) {
        close();
        co_return;
    }
    if (!after_error && begin_ == end_) {
        char probe = 0;
        const auto n = ::recv(fd(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
            close();  // nothing unread: a plain close sends FIN, not RST
            co_return;
        }
    }
    ::shutdown(fd(), SHUT_WR);
    timed_out_ = false;
    set_deadline(std::min(kLinger, state_->config.header_timeout));
    std::size_t dropped = 0;
    while (!closed_ && dropped < kMaxLingerBytes) {
        begin_ = end_ = 0;
        if (co_await fill() != IoResult::ok) {
            break;
        }
        dropped += end_;
    }
    close();
}

net::awaitable<void> HttpConnection::refuse() {
    auto self = shared_from_this();
    try {
        ensure_buffer();
        set_deadline(std::min(kLinger, state_->config.send_timeout));
        auto response = state_->files.error(503, nullptr);
        response.add_header("Retry-After", "5");
        std::uint64_t bytes = 0;
        if (co_await send(response, false, Persistence::close, bytes) == IoResult::ok) {
            co_await linger_close(true);
        }
    } catch (const std::exception& e) {
        state_->log->warn("refusing {}: {}", remote(), e.what());
    }
    close();
    lease_.release();
}

void HttpConnection::log(const Request* request, int status, std::uint64_t bytes) {
    if (!state_->access_log.enabled()) {
        return;
    }
    const auto remote_address = remote();
    AccessRecord record;
    record.remote = remote_address;
    record.time = std::time(nullptr);
    record.status = status;
    record.bytes = bytes;
    record.has_request_line = request != nullptr && !request->method.empty();
    if (record.has_request_line) {
        record.method = request->method;
        record.target = request->target;
        record.version_major = request->version_major;
        record.version_minor = request->version_minor;
        record.referer = request->header("referer").value_or("");
        record.user_agent = request->header("user-agent").value_or("");
        if (state_->access_log.to_journal()) {  // the combined line has no Host: no lookup
            record.host = request->header("host").value_or("");
        }
    }
    state_->access_log.write(record, peer_, local_);
}

}  // namespace portd::http
