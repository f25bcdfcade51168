// Descriptors of the files (and directories) served again lately, kept open so that the next
// request for the same path skips openat2(2) and the close(2) after it, the two costliest of the
// six system calls a small keep-alive response made (nginx's open_file_cache, which nginx leaves
// off unless configured).
//
// A kept descriptor must still be what its path names, or a request would get a file that has
// been renamed away, deleted, or made unreadable. What changes that is an operation on a
// directory entry or an attribute along the path: rename, unlink, chmod, chown, a symlink
// replaced. Before a file is opened for the cache, every directory on its path, the root first,
// gets an inotify watch for those events (DirectoryWatches: one inotify instance for all the
// caches of a process); any event empties every cache. A file system mounted or unmounted on
// the way changes what a path names too, and inotify does not report it: the mount table does
// (/proc/self/mountinfo polls with EPOLLPRI after every change of the process's mount namespace
// since it was opened), and any change there empties the cache as well. Both are in one epoll
// set of each cache, and every lookup first asks it (one epoll_wait(2) with no timeout that
// usually finds nothing) and compares the watches' generation, so a change finished before the
// request arrived is seen by that request, and a watch set before the open sees any change
// after it.
//
// The contents and the size need no watch: the stat is taken again from the descriptor for
// every request, and sendfile(2) reads the page cache, so a file rewritten in place is served as
// it is now. inotify does not see changes made by another machine (NFS, CIFS) or under an
// overlay's layers, so only files on local file systems (ext2/3/4, XFS, Btrfs, tmpfs, F2FS) are
// kept. And only files on the root's own mount: a kept descriptor makes umount(8) of its file
// system fail as busy, and the root's is held by the service anyway, where one mounted under the
// root would be held by the cache alone.
//
// A file is kept at its second use, not its first: at the first, it is opened as with the cache
// off, with no watch set and nothing evicted. Where more files are in use than the cache holds,
// keeping each at its first use would evict, at every request, a file that is asked for again
// soon, and pay for a watch, a mount lookup and a close besides: slower than no cache. A path
// counts as used before while it is among the last `capacity` paths opened for the first time,
// so a file asked for again within about as many requests as the cache has room for is kept,
// and a long run of files asked for once (a crawler, a mirror's sync) passes by without pushing
// the files in steady use out.
//
// One cache per shard: everything here runs on one thread; only DirectoryWatches is shared.
#pragma once

#include "http/directory_watches.hpp"
#include "http/path_resolver.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace portd::http {

/// Whether `fd` is on a file system where inotify reports every change (a local one).
bool changes_are_watchable(int fd);

/// The mount `fd`'s file is on (statx's mount id, or the device on kernels before 5.8); 0 when
/// it cannot be told.
std::uint64_t mount_of(int fd);

class OpenFileCache {
public:
    /// Keeps at most `capacity` descriptors (0: none, and every open goes to the kernel), its
    /// directories watched by `watches` (shared with the process's other caches, or its own).
    explicit OpenFileCache(std::size_t capacity, std::shared_ptr<DirectoryWatches> watches =
                                                     std::make_shared<DirectoryWatches>());
    ~OpenFileCache();
    OpenFileCache(const OpenFileCache&) = delete;
    OpenFileCache& operator=(const OpenFileCache&) = delete;

    /// open_beneath(root_fd, path), from the cache when the same root opened the same path
    /// before and nothing watched has changed since. `owner` and `root_fd` together name the
    /// root: a descriptor's number may be given to another root later, an owner's never.
    OpenedFile open(std::uint64_t owner, int root_fd, std::string_view path);

    /// Closes every kept descriptor (those a response still holds stay open until it is sent).
    void clear();

    /// Empties the cache if anything watched, or the mount table, has changed since the last
    /// look: what every open() does first, for a shard that is not opening anything.
    void look() {
        if (looks_) {
            look_for_changes();
        }
    }

    std::size_t size() const { return entries_.size(); }
    std::size_t capacity() const { return capacity_; }
    /// The inotify descriptor (DirectoryWatches'): -1 before the first file is kept.
    int changes_fd() const { return changes_; }

    /// Told of the inotify descriptor once, when this cache first uses it (to watch it, and
    /// clear() when it becomes readable: then a deleted file's descriptor is not held until the
    /// next request). It stays open as long as this cache lives.
    std::function<void(int)> on_watching;
    /// Told when inotify (or the mount table) could not be had (the system call or file, and
    /// its errno) while descriptors could: files are then opened at every request, and inotify
    /// is tried again 5 s later.
    std::function<void(const char*, int)> on_unavailable;

private:
    struct Entry {
        std::string key;
        SharedFd fd;
    };
    using Lru = std::list<Entry>;  // the most recently used first

    /// Empties this cache if anything watched, or the mount table, changed since the last look
    /// (or the look failed): raises the generation when this look is the first to see it.
    void look_for_changes();
    /// Watches the root and every directory on the way to `path`; false if one could not be.
    bool watch_directories(std::uint64_t owner, int root_fd, std::string_view path);
    bool watch_directory(std::uint64_t owner, int root_fd, std::string_view directory);
    bool start_watching();
    void unavailable(const char* call, int error);
    bool on_local_file_system(int fd, dev_t device);
    /// Whether `fd`'s file is on the same mount as the root (not on one mounted under it).
    bool on_root_mount(int fd, std::uint64_t owner, int root_fd);
    void insert(SharedFd fd);
    /// Whether the path being looked up (key_) is not among the last `capacity` paths opened
    /// for the first time; records it when so.
    bool first_use();

    std::size_t capacity_;
    std::shared_ptr<DirectoryWatches> watches_;
    std::uint64_t seen_ = 0;  // the watches' generation this cache's entries belong to
    int changes_ = -1;        // watches_'s inotify descriptor, once this cache uses it
    UniqueFd mount_table_;    // /proc/self/mountinfo
    UniqueFd looks_;          // epoll: both of the above, asked before every lookup
    std::chrono::steady_clock::time_point retry_inotify_{};  // set while inotify failed
    const char* failed_call_ = nullptr;  // inotify's failure, until the open after it is done
    int failed_errno_ = 0;
    Lru lru_;
    std::unordered_map<std::string_view, Lru::iterator> entries_;  // keys are views of lru_'s
    std::unordered_map<dev_t, bool> local_devices_;                // st_dev → on a local fs
    std::unordered_map<int, std::pair<std::uint64_t, std::uint64_t>>
        root_mounts_;  // fd → owner, mount
    // Hashes of the last `capacity` keys opened for the first time, and the order they came in
    // (a ring: oldest_use_ is the next to be forgotten once it is full).
    std::unordered_set<std::size_t> used_once_;
    std::vector<std::size_t> used_once_order_;
    std::size_t oldest_use_ = 0;
    std::string key_;  // the key of the path being looked up (reused: no allocation)
    std::string directory_key_;
};

}  // namespace portd::http
