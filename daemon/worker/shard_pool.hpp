// N io_contexts, one thread each (Asio's io_context_pool). Each connection lives on one shard,
// so its handlers never run concurrently and need no strand.
#pragma once

#include <portd/net.hpp>

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace portd::worker {

class ShardPool {
public:
    explicit ShardPool(unsigned shards);
    ~ShardPool();
    ShardPool(const ShardPool&) = delete;
    ShardPool& operator=(const ShardPool&) = delete;

    /// Starts one thread per shard; they run until stop().
    void start();
    net::io_context& shard(std::size_t index) { return *contexts_.at(index); }
    std::size_t size() const { return contexts_.size(); }
    /// Stops every io_context and joins the threads. Pending handlers are destroyed with their
    /// io_context, which releases the connections they hold.
    void stop();

private:
    using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;
    std::vector<std::unique_ptr<net::io_context>> contexts_;
    std::vector<WorkGuard> guards_;
    std::vector<std::thread> threads_;
};

}  // namespace portd::worker
