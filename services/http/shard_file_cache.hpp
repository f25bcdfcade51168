// The open-file cache of one shard, as an Asio service of the shard's io_context. The inotify
// descriptor (the process's, shared by every shard) is in the shard's Poller, and another
// shard that reads a change away first posts this one a look, so that a change closes the kept
// descriptors at once rather than at the shard's next request: a deleted file's space goes back
// to the file system when its last descriptor is closed, and an idle shard would otherwise
// hold it.
#pragma once

#include "http/open_file_cache.hpp"
#include "http/poller.hpp"

#include <portd/net.hpp>

#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace portd::http {

class ShardFileCache : public net::execution_context::service, private Poller::Watcher {
public:
    static net::execution_context::id id;

    explicit ShardFileCache(net::io_context& context);
    ~ShardFileCache() override;

    /// The cache of the shard `executor` belongs to. Made on first use with `capacity` entries,
    /// or fewer: at most a sixteenth of the process's descriptor limit, so that with a low
    /// limit the connections keep the descriptors they need.
    /// `log` is told when inotify cannot be had: a warning the first time, then at debug level.
    static OpenFileCache& of(const net::any_io_executor& executor, std::size_t capacity,
                             const std::shared_ptr<spdlog::logger>& log);

private:
    void ready(std::uint32_t events) noexcept override;
    void abandoned() noexcept override {}
    void shutdown() override;

    Poller& poller_;
    std::shared_ptr<DirectoryWatches> watches_;  // the process's, once the cache is made
    std::uint64_t subscription_ = 0;
    std::optional<OpenFileCache> cache_;
    bool warned_ = false;
};

}  // namespace portd::http
