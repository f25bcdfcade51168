#include "http/shard_file_cache.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace portd::http {

net::execution_context::id ShardFileCache::id;

ShardFileCache::ShardFileCache(net::io_context& context)
    : net::execution_context::service(context), poller_(net::use_service<Poller>(context)) {}

ShardFileCache::~ShardFileCache() = default;

OpenFileCache& ShardFileCache::of(const net::any_io_executor& executor, std::size_t capacity,
                                  const std::shared_ptr<spdlog::logger>& log) {
    // portd's shards are io_contexts (the SDK's promise for a connection's executor).
    const auto* shard = executor.target<net::io_context::executor_type>();
    if (shard == nullptr) {
        throw std::logic_error("ShardFileCache: the executor is not an io_context's");
    }
    auto& self = net::use_service<ShardFileCache>(shard->context());
    if (!self.cache_) {
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
            capacity = std::min<std::size_t>(capacity, limit.rlim_cur / 16);
        }
        self.watches_ = DirectoryWatches::of_process();
        auto& cache = self.cache_.emplace(capacity, self.watches_);
        // Told on whichever shard's thread read a change away: this shard looks on its own.
        self.subscription_ = self.watches_->subscribe([&self, shard = *shard] {
            try {
                net::post(shard, [&self] {
                    if (self.cache_) {
                        self.cache_->look();
                    }
                });
            } catch (const std::bad_alloc&) {
                // The look at this shard's next request still sees the change.
            }
        });
        cache.on_watching = [&self](int fd) {
            // The process's one inotify descriptor, in every shard's poller (edge-triggered:
            // each new event reaches each shard). Not watched (a full epoll set, no memory):
            // the per-request look still sees every change, and a deleted file's descriptor
            // waits for the next request.
            self.poller_.add(fd, self);
        };
        cache.on_unavailable = [&self, log](const char* call, int error) {
            const auto level = self.warned_ ? spdlog::level::debug : spdlog::level::warn;
            self.warned_ = true;
            log->log(level,
                     "open-file cache: {}: {}; files are opened at every request until inotify "
                     "can be had (tried again every 5 s; see fs.inotify.max_user_instances and "
                     "max_user_watches)",
                     call, std::strerror(error));
        };
    }
    return *self.cache_;
}

void ShardFileCache::ready(std::uint32_t) noexcept {
    if (cache_) {
        cache_->look();
    }
}

void ShardFileCache::shutdown() {
    // The inotify descriptor stays open while other shards use it; nothing of it is
    // dispatched here any more, and no other shard posts here any more.
    poller_.forget(*this);
    if (watches_) {
        watches_->unsubscribe(subscription_);
    }
    cache_.reset();
    watches_.reset();
}

}  // namespace portd::http
