// The inotify instance behind the open-file caches of a process, one for all its shards.
//
// One instance per shard would reach the per-user limit of instances
// (fs.inotify.max_user_instances, 128 by default) at 128 threads across the HTTP services of
// one user, fewer during a reload, when the old workers still run beside the new ones; and a
// directory would cost a watch per shard against max_user_watches. Shared, a directory costs one
// watch, and a process one instance.
//
// Any event empties every cache of the process, through the generation: a cache that finds the
// instance readable calls reset(), which raises the generation before it reads the events away,
// and every cache compares the generation with the one it last saw at each lookup. A cache that
// finds nothing to read because another one read it first therefore finds the generation
// raised. reset() forgets which names are watched too: a directory renamed away keeps its watch
// on its inode, and the name it had must get one of its own again. A cache's entries belong to
// the generation it saw before it looked up their watches; reset() raises it and forgets the
// names under one lock, so a name is forgotten only with a raise that a cache counting on it
// has not seen yet.
//
// The watches are bounded: a site served long enough would otherwise get one for every directory
// ever served from, and each holds its directory's inode in memory. At the bound (allow(): four
// per entry of the largest cache sharing them), every watch is removed and the generation raised,
// as after a change: the caches start afresh, and the directories of the files in use get their
// watches again at their next use. A watch left on a directory renamed away goes then too.
//
// Each shard's poller watches the inotify descriptor too, so that a change empties an idle
// shard's cache at once. The first to look reads the events away, and the pollers that had not
// collected them yet then find nothing: reset() tells each subscriber instead.
//
// Thread-safe: the shards of a process each run on a thread of their own.
#pragma once

#include "http/unique_fd.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace portd::http {

class DirectoryWatches {
public:
    DirectoryWatches() = default;
    DirectoryWatches(const DirectoryWatches&) = delete;
    DirectoryWatches& operator=(const DirectoryWatches&) = delete;

    /// The one the shards of this process share: made on first use, gone with its last holder.
    static std::shared_ptr<DirectoryWatches> of_process();

    /// The inotify descriptor (non-blocking), made on the first call; -1 when it cannot be,
    /// with inotify_init1's errno in `error`. It stays open, and the same, as long as this
    /// object lives.
    int descriptor(int& error);

    /// Raised by every reset(), and when watch() removes every watch at the bound.
    std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

    /// Lets at least `watches` watches be kept at once: each cache sharing this asks for what
    /// its capacity needs, and the largest need is the bound.
    void allow(std::size_t watches);

    /// How many watches are kept now.
    std::size_t size();

    /// Whether a watch is kept under `key`.
    bool watching(const std::string& key);

    /// Watches the directory `path` names (a /proc/self/fd link) under `key`, unless a watch is
    /// there already. 0, or inotify_add_watch's errno (ENOSPC: the per-user limit of watches).
    /// At the bound, removes every watch first and raises the generation.
    int watch(const std::string& key, const char* path);

    /// Raises the generation, then reads away the events, forgets which names are watched, and
    /// calls every subscriber.
    void reset();

    /// `told` is called after each reset, on the resetting thread (under this object's lock:
    /// it must not call back here). For a shard whose cache is not looking: it would otherwise
    /// hold a deleted file, and its space, until its next request. Returns the subscription.
    std::uint64_t subscribe(std::function<void()> told);
    void unsubscribe(std::uint64_t subscription);

private:
    /// Raises the generation, reads the events away and forgets the names; then tells the
    /// subscribers. Under the lock.
    void start_afresh();
    void read_away();

    std::mutex mutex_;
    UniqueFd inotify_;
    std::atomic<std::uint64_t> generation_{0};
    std::unordered_set<std::string> watched_;  // keys of the directories watched
    std::unordered_set<int> descriptors_;      // the kernel's watches (one per directory)
    std::size_t allowed_ = 0;
    std::unordered_map<std::uint64_t, std::function<void()>> subscribers_;
    std::uint64_t next_subscription_ = 1;
};

}  // namespace portd::http
