// The timeouts of every connection on one shard, with one timer per distinct duration instead
// of a timer (and a waiting coroutine) per connection.
//
// A connection's timeouts come from a handful of durations (header, keep-alive, send, linger),
// and a deadline is always "now + duration". Within one duration, deadlines are therefore in
// the order they were set: a FIFO list per duration is already sorted, and moving a connection
// to the tail of a list is O(1). Each list (a lane) keeps one steady_timer armed for its head,
// and only while the lane is not empty, so an idle shard wakes for nothing.
//
// An Asio service of the shard's io_context: everything here runs on that shard's one thread,
// so nothing is locked. An entry unlinks itself when destroyed.
#pragma once

#include <portd/net.hpp>

#include <boost/intrusive/list.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace portd::http {

class DeadlineQueue : public net::execution_context::service {
public:
    using Clock = std::chrono::steady_clock;
    using Hook = boost::intrusive::list_base_hook<
        boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

    /// Something with a deadline: derive from it and say what happens when the deadline passes.
    class Entry : public Hook {
    public:
        Entry() = default;
        virtual ~Entry() = default;  // the hook unlinks
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;
        /// Runs on the shard when the deadline has passed; the entry is unlinked by then.
        virtual void expired() = 0;
        bool scheduled() const { return is_linked(); }
        Clock::time_point at() const { return at_; }

    private:
        friend class DeadlineQueue;
        Clock::time_point at_{};
    };

    static net::execution_context::id id;

    explicit DeadlineQueue(net::io_context& context);
    ~DeadlineQueue() override;

    /// The queue of the io_context `executor` runs on (created on first use).
    static DeadlineQueue& of(const net::any_io_executor& executor);

    /// Replaces `entry`'s deadline with now + `from_now`. A zero or negative duration expires
    /// at the next turn of the shard, never inside this call.
    void schedule(Entry& entry, std::chrono::milliseconds from_now);
    /// No deadline any more.
    static void cancel(Entry& entry) { entry.unlink(); }

    /// Entries waiting, over every lane (for tests).
    std::size_t size() const;

private:
    using List = boost::intrusive::list<Entry, boost::intrusive::constant_time_size<false>>;
    struct Lane {
        explicit Lane(net::io_context::executor_type executor, std::chrono::milliseconds d)
            : duration(d), timer(executor) {}
        std::chrono::milliseconds duration;
        List entries;
        net::steady_timer timer;
        bool armed = false;
    };

    void shutdown() override;
    Lane& lane(std::chrono::milliseconds duration);
    void arm(Lane& lane);
    void fire(Lane& lane);

    net::io_context::executor_type executor_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    bool shut_down_ = false;
};

}  // namespace portd::http
