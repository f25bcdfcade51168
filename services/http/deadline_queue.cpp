#include "http/deadline_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace portd::http {

net::execution_context::id DeadlineQueue::id;

DeadlineQueue::DeadlineQueue(net::io_context& context)
    : net::execution_context::service(context), executor_(context.get_executor()) {}

DeadlineQueue::~DeadlineQueue() = default;  // shutdown() has emptied lanes_

DeadlineQueue& DeadlineQueue::of(const net::any_io_executor& executor) {
    // portd's shards are io_contexts (the SDK's promise for a connection's socket).
    const auto* shard = executor.target<net::io_context::executor_type>();
    if (shard == nullptr) {
        throw std::logic_error("DeadlineQueue: the executor is not an io_context's");
    }
    return net::use_service<DeadlineQueue>(shard->context());
}

void DeadlineQueue::shutdown() {
    // The io_context is going away: its pending handlers are destroyed without running, and
    // nothing is scheduled from now on. The timers go now, while the timer service they belong
    // to still exists: services are destroyed newest first, and that one came after this.
    shut_down_ = true;
    for (auto& lane : lanes_) {
        lane->entries.clear();
    }
    lanes_.clear();
}

std::size_t DeadlineQueue::size() const {
    std::size_t n = 0;
    for (const auto& lane : lanes_) {
        n += lane->entries.size();
    }
    return n;
}

DeadlineQueue::Lane& DeadlineQueue::lane(std::chrono::milliseconds duration) {
    for (auto& lane : lanes_) {
        if (lane->duration == duration) {
            return *lane;
        }
    }
    return *lanes_.emplace_back(std::make_unique<Lane>(executor_, duration));
}

void DeadlineQueue::schedule(Entry& entry, std::chrono::milliseconds from_now) {
    entry.unlink();
    if (shut_down_) {
        return;
    }
    from_now = std::max(from_now, std::chrono::milliseconds::zero());
    auto& target = lane(from_now);
    entry.at_ = Clock::now() + from_now;
    target.entries.push_back(entry);
    if (!target.armed) {
        arm(target);
    }
}

void DeadlineQueue::arm(Lane& lane) {
    // The head's deadline: it is the earliest in the lane. When the head moves to the tail in
    // the meantime, the timer fires early, finds nothing due, and is armed for the new head.
    lane.armed = true;
    lane.timer.expires_at(lane.entries.front().at_);
    lane.timer.async_wait([this, &lane](const boost::system::error_code& ec) {
        lane.armed = false;
        if (ec != net::error::operation_aborted && !shut_down_) {
            fire(lane);
        }
    });
}

void DeadlineQueue::fire(Lane& lane) {
    const auto now = Clock::now();
    while (!lane.entries.empty() && lane.entries.front().at_ <= now) {
        auto& entry = lane.entries.front();
        lane.entries.pop_front();
        entry.expired();  // may schedule the entry (or others) again, in this lane or another
    }
    if (!lane.entries.empty() && !lane.armed) {
        arm(lane);
    }
}

}  // namespace portd::http
