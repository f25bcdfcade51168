#include "http/poller.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace portd::http {

#if BOOST_ASIO_VERSION == 101800

// Asio 1.18's reactor runs an operation's perform() when its descriptor reports readiness, and
// once at the start ("speculatively") unless the last perform() said the descriptor was
// exhausted. A perform() that takes the set's events itself means no epoll_ctl(2) to re-arm the
// set after each batch, which async_wait() would cost. These are implementation details of
// Asio, so they are used only with the version they were read in; the public async_wait below
// serves any other.
class Poller::CollectOp : public net::detail::reactor_op {
public:
    CollectOp(Poller& poller, net::io_context& context)
        : reactor_op(boost::system::error_code(), &CollectOp::perform, &CollectOp::complete),
          poller_(poller),
          reactor_(net::use_service<net::detail::reactor>(context)) {
        reactor_.init_task();
        if (const int err = reactor_.register_descriptor(poller_.epoll_fd_, data_); err != 0) {
            throw std::system_error(err, std::generic_category(), "watching an epoll set");
        }
    }
    ~CollectOp() { close(); }
    CollectOp(const CollectOp&) = delete;
    CollectOp& operator=(const CollectOp&) = delete;

    void start() {
        reactor_.start_op(net::detail::reactor::read_op, poller_.epoll_fd_, data_, this, false,
                          true);
    }

    /// Out of the reactor: a pending run of this operation completes without running (Asio
    /// destroys it when the io_context goes, which for this object does nothing).
    void close() {
        if (data_ != nullptr) {
            reactor_.deregister_descriptor(poller_.epoll_fd_, data_, true);
            reactor_.cleanup_descriptor_data(data_);
            data_ = nullptr;
        }
    }

private:
    static status perform(reactor_op* base) {
        auto& self = *static_cast<CollectOp*>(base);
        const int n = self.poller_.collect();
        if (n == 0) {
            return not_done;
        }
        // Fewer than a full batch: the set is empty now, and only a new event makes it
        // readable again (the reactor then runs perform() anew).
        return n < kBatch ? done_and_exhausted : done;
    }

    static void complete(void* owner, net::detail::operation* base,
                         const boost::system::error_code& /*ec*/, std::size_t /*bytes*/) {
        if (owner == nullptr) {
            return;  // the io_context is being destroyed: the Poller owns this object
        }
        auto& self = *static_cast<CollectOp*>(base);
        if (self.ec_ || self.poller_.shut_down_) {
            return;  // deregistered
        }
        self.poller_.dispatch();
    }

    Poller& poller_;
    net::detail::reactor& reactor_;
    net::detail::reactor::per_descriptor_data data_ = nullptr;
};

#else

class Poller::CollectOp {
public:
    CollectOp(Poller& poller, net::io_context& context)
        : poller_(poller), descriptor_(context, ::dup(poller.epoll_fd_)) {}
    ~CollectOp() { close(); }

    void start() {
        descriptor_.async_wait(net::posix::stream_descriptor::wait_read,
                               [this](const boost::system::error_code& ec) {
                                   if (ec || poller_.shut_down_) {
                                       return;
                                   }
                                   if (poller_.collect() > 0) {
                                       poller_.dispatch();
                                   } else {
                                       start();
                                   }
                               });
    }
    void close() {
        boost::system::error_code ignored;
        descriptor_.close(ignored);
    }

private:
    Poller& poller_;
    net::posix::stream_descriptor descriptor_;
};

#endif

net::execution_context::id Poller::id;

Poller::Poller(net::io_context& context)
    : net::execution_context::service(context),
      executor_(context.get_executor()),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    }
    try {
        op_ = std::make_unique<CollectOp>(*this, context);
    } catch (...) {
        ::close(epoll_fd_);
        throw;
    }
    arm();
}

Poller::~Poller() {
    op_.reset();
    if (epoll_fd_ >= 0) {
        ::close(epoll_fd_);
    }
}

Poller& Poller::of(const net::any_io_executor& executor) {
    // portd's shards are io_contexts (the SDK's promise for a connection's executor).
    const auto* shard = executor.target<net::io_context::executor_type>();
    if (shard == nullptr) {
        throw std::logic_error("Poller: the executor is not an io_context's");
    }
    return net::use_service<Poller>(shard->context());
}

int Poller::add(int fd, Watcher& watcher) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    event.data.ptr = &watcher;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
        return errno;
    }
    watchers_.push_back(watcher);
    return 0;
}

int Poller::watch_output(int fd, Watcher& watcher) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.ptr = &watcher;
    // A modification looks at the socket's state anew: room there already is reported at once.
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0 ? 0 : errno;
}

void Poller::forget(Watcher& watcher) {
    watcher.unlink();
    for (int i = next_; i < collected_; ++i) {
        if (events_[static_cast<std::size_t>(i)].data.ptr == &watcher) {
            events_[static_cast<std::size_t>(i)].data.ptr = nullptr;
        }
    }
}

std::size_t Poller::size() const {
    return watchers_.size();
}

void Poller::shutdown() {
    // The io_context is going away and no handler runs any more. Watchers whose owners are kept
    // alive only by this set (an idle connection, a suspended coroutine) are told to let go;
    // each unlinks itself as it goes.
    shut_down_ = true;
    if (op_) {
        op_->close();
    }
    collected_ = next_ = 0;
    while (!watchers_.empty()) {
        auto& watcher = watchers_.front();
        watchers_.pop_front();
        watcher.abandoned();
    }
}

void Poller::arm() {
    if (!shut_down_) {
        op_->start();
    }
}

int Poller::collect() {
    int n = 0;
    do {
        n = ::epoll_wait(epoll_fd_, events_.data(), kBatch, 0);
    } while (n < 0 && errno == EINTR);
    collected_ = n < 0 ? 0 : n;
    next_ = 0;
    return collected_;
}

void Poller::dispatch() {
    // A watcher's handler may close other sockets of this batch (forget() then clears their
    // entries) or its own; next_ marks how far the batch has been handed over.
    while (next_ < collected_) {
        const auto& event = events_[static_cast<std::size_t>(next_++)];
        if (auto* watcher = static_cast<Watcher*>(event.data.ptr)) {
            watcher->ready(event.events);
        }
    }
    collected_ = next_ = 0;
    arm();
}

}  // namespace portd::http
