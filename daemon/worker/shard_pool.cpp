#include "worker/shard_pool.hpp"

#include <spdlog/spdlog.h>

namespace portd::worker {

ShardPool::ShardPool(unsigned shards) {
    for (unsigned i = 0; i < (shards == 0 ? 1 : shards); ++i) {
        // Concurrency hint 1: each io_context is run by exactly one thread, so Asio can skip
        // the locking it otherwise does on every handler.
        contexts_.push_back(std::make_unique<net::io_context>(1));
        guards_.push_back(net::make_work_guard(*contexts_.back()));
    }
}

ShardPool::~ShardPool() {
    stop();
}

void ShardPool::start() {
    for (auto& context : contexts_) {
        threads_.emplace_back([&ctx = *context] {
            for (;;) {
                try {
                    ctx.run();
                    return;
                } catch (const std::exception& e) {
                    // A handler threw: that connection is lost, the shard keeps serving.
                    spdlog::error("unhandled exception in a connection handler: {}", e.what());
                }
            }
        });
    }
}

void ShardPool::stop() {
    guards_.clear();
    for (auto& context : contexts_) {
        context->stop();
    }
    for (auto& thread : threads_) {
        if (thread.joinable()) {
            thread.join();
        }
    }
    threads_.clear();
}

}  // namespace portd::worker
