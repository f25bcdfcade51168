// How many connections each shard of a service holds, and which shard a new one should live on.
//
// Every shard accepts from the same kernel queue, and whichever thread wakes first takes a
// burst: 50 connections opened at once could end up 38 on one shard and 12 on the other. The 38
// then wait behind each other for one thread while the other idles, and since a connection
// never moves once it is served, the split lasts as long as they do (a keep-alive client's
// whole session). So a shard that accepts a connection while it holds clearly more than
// another passes it on to the least loaded shard (ServiceHost::on_accept).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace portd::worker {

class ShardLoads {
public:
    explicit ShardLoads(std::size_t shards);

    /// A connection now lives on `shard` / one of its connections closed (any thread).
    void opened(std::size_t shard) { slots_[shard].open.fetch_add(1, std::memory_order_relaxed); }
    void closed(std::size_t shard) { slots_[shard].open.fetch_sub(1, std::memory_order_relaxed); }
    std::int64_t open(std::size_t shard) const {
        return slots_[shard].open.load(std::memory_order_relaxed);
    }

    /// The shard a connection accepted on `accepted_on` should live on: that one, unless it
    /// holds more than the least loaded shard plus some slack (two connections, and a sixteenth
    /// of the least loaded one's), in which case the least loaded. The slack keeps a passing
    /// difference of one or two, as connections come and go, from costing a hop between
    /// threads.
    std::size_t place(std::size_t accepted_on) const;

    std::size_t size() const { return size_; }

private:
    struct alignas(64) Slot {  // one cache line each: shards write mostly their own
        std::atomic<std::int64_t> open{0};
    };
    std::unique_ptr<Slot[]> slots_;
    std::size_t size_;
};

}  // namespace portd::worker
