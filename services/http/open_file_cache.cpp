#include "http/open_file_cache.hpp"

#include "common/confined_open.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

namespace portd::http {

namespace {

// After inotify failed for want of something (the per-user limits of instances and watches,
// descriptors, memory), files are opened without the cache, and inotify is tried again this
// much later: not at every request, which would then pay for the failed calls too.
constexpr std::chrono::seconds kInotifyRetry{5};

// How many directory watches a cache of N entries may need at once: kept files share most of
// their directories, and a site whose files in use lie deeper, each in its own directory, than
// this allows starts afresh now and then (DirectoryWatches::watch).
constexpr std::size_t kWatchesPerEntry = 4;

// Which descriptor of a cache's epoll set is ready.
constexpr std::uint32_t kInotify = 1;
constexpr std::uint32_t kMountTable = 2;

void make_key(std::string& key, std::uint64_t owner, int root_fd, std::string_view path) {
    key.assign(reinterpret_cast<const char*>(&owner), sizeof owner);
    key.append(reinterpret_cast<const char*>(&root_fd), sizeof root_fd);
    key.append(path);
}

}  // namespace

std::uint64_t mount_of(int fd) {
    // The mount, not the device: a bind mount of the root's own file system is another mount.
    struct statx st {};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) != 0) {
        return 0;
    }
    if ((st.stx_mask & STATX_MNT_ID) == 0) {  // a kernel before 5.8: the device, marked
        return (std::uint64_t{1} << 63) | (std::uint64_t{st.stx_dev_major} << 32) |
               st.stx_dev_minor;
    }
    return st.stx_mnt_id;
}

bool changes_are_watchable(int fd) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0) {
        return false;
    }
    switch (static_cast<unsigned long>(fs.f_type)) {
        case EXT4_SUPER_MAGIC:  // ext2 and ext3 too
        case XFS_SUPER_MAGIC:
        case BTRFS_SUPER_MAGIC:
        case TMPFS_MAGIC:
        case F2FS_SUPER_MAGIC:
            return true;
        default:
            return false;
    }
}

OpenFileCache::OpenFileCache(std::size_t capacity, std::shared_ptr<DirectoryWatches> watches)
    : capacity_(capacity), watches_(std::move(watches)) {
    watches_->allow(kWatchesPerEntry * capacity_);
}

OpenFileCache::~OpenFileCache() = default;

OpenedFile OpenFileCache::open(std::uint64_t owner, int root_fd, std::string_view path) {
    path = relative_path(path);
    if (capacity_ == 0) {
        return open_beneath(root_fd, path);
    }
    // Whenever this cache has begun to watch, not only while it holds entries: a watch set
    // before may be on a directory renamed away, and the next file under its old name needs a
    // new one (the reset forgets the old).
    look();
    make_key(key_, owner, root_fd, path);
    if (const auto found = entries_.find(key_); found != entries_.end()) {
        const auto entry = found->second;
        OpenedFile out;
        if (::fstat(entry->fd->get(), &out.st) == 0) {
            lru_.splice(lru_.begin(), lru_, entry);
            out.fd = entry->fd;
            return out;
        }
        entries_.erase(found);
        lru_.erase(entry);
    }
    if (first_use()) {
        return open_beneath(root_fd, path);
    }
    if (!watch_directories(owner, root_fd, path)) {
        auto out = open_beneath(root_fd, path);
        if (failed_call_ != nullptr) {
            // Said only when the open itself got a descriptor: with none left at all, that
            // shortage is the news, and the accept loop and the 503 answers tell it already.
            if (out.status != 503 && on_unavailable) {
                on_unavailable(failed_call_, failed_errno_);
            }
            failed_call_ = nullptr;
        }
        return out;
    }
    auto out = open_beneath(root_fd, path);
    if (out.status == 503 && !entries_.empty()) {
        // Out of descriptors: the cache's go back first (a response in flight keeps its own).
        clear();
        return open_beneath(root_fd, path);
    }
    // Directories too: "/" and every other index page is a directory opened before its index
    // file. A listing reads the directory afresh (rewinddir), so new names show there.
    // Not when the watches started afresh while this file's were set: some may be gone, and
    // the next look would drop it anyway (after evicting another entry for its place).
    if (out.status == 0 && watches_->generation() == seen_ &&
        on_local_file_system(out.fd->get(), out.st.st_dev) &&
        on_root_mount(out.fd->get(), owner, root_fd)) {
        insert(out.fd);
    }
    return out;
}

bool OpenFileCache::first_use() {
    // Hashes, not paths: a collision only keeps a file at its first use. Each hash is in one
    // slot of the ring at most, so overwriting a slot forgets exactly what it recorded.
    const auto hash = std::hash<std::string_view>{}(key_);
    if (used_once_.contains(hash)) {
        return false;
    }
    if (used_once_order_.size() < capacity_) {
        used_once_order_.push_back(hash);
    } else {
        used_once_.erase(used_once_order_[oldest_use_]);
        used_once_order_[oldest_use_] = hash;
        oldest_use_ = (oldest_use_ + 1) % capacity_;
    }
    used_once_.insert(hash);
    return true;
}

void OpenFileCache::clear() {
    entries_.clear();
    lru_.clear();
}

void OpenFileCache::look_for_changes() {
    // Events are not looked at: any of them empties the caches. A static site changes seldom,
    // and telling which entries an event concerns (a directory renamed, a symlink replaced
    // higher up, a mount) would be a second copy of path resolution.
    epoll_event ready[2];
    const int n = ::epoll_wait(looks_.get(), ready, 2, 0);
    bool changed = n < 0;  // a failed look trusts nothing
    for (int i = 0; i < n; ++i) {
        changed = changed || ready[i].data.u32 == kInotify;
    }
    // Only inotify's events are the process's news to tell: every cache has a mount table
    // descriptor of its own and sees a mount in its own look.
    if (changed) {
        watches_->reset();
    }
    if (const auto generation = watches_->generation(); n != 0 || generation != seen_) {
        clear();
        seen_ = generation;
    }
}

bool OpenFileCache::start_watching() {
    // The generation before any watch of this cache is set: a change after it raises it.
    seen_ = watches_->generation();
    int error = 0;
    const int changes = watches_->descriptor(error);
    if (changes < 0) {
        unavailable("inotify_init1", error);
        return false;
    }
    // Opened before any file is kept: a mount after this is reported. One per cache, not one
    // for the process as the inotify descriptor: the first look at it takes the news, inside
    // epoll_wait, before that look could raise the generation for the others.
    UniqueFd mount_table(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    if (!mount_table) {
        unavailable("/proc/self/mountinfo", errno);
        return false;
    }
    UniqueFd looks(::epoll_create1(EPOLL_CLOEXEC));
    if (!looks) {
        unavailable("epoll_create1", errno);
        return false;
    }
    epoll_event change{};
    change.events = EPOLLIN;
    change.data.u32 = kInotify;
    epoll_event mount{};
    mount.events = EPOLLPRI;
    mount.data.u32 = kMountTable;
    if (::epoll_ctl(looks.get(), EPOLL_CTL_ADD, changes, &change) != 0 ||
        ::epoll_ctl(looks.get(), EPOLL_CTL_ADD, mount_table.get(), &mount) != 0) {
        unavailable("epoll_ctl", errno);
        return false;
    }
    changes_ = changes;
    mount_table_ = std::move(mount_table);
    looks_ = std::move(looks);
    if (on_watching) {
        on_watching(changes_);
    }
    return true;
}

bool OpenFileCache::watch_directories(std::uint64_t owner, int root_fd, std::string_view path) {
    if (retry_inotify_ != std::chrono::steady_clock::time_point{}) {
        if (std::chrono::steady_clock::now() < retry_inotify_) {
            return false;
        }
        retry_inotify_ = {};
    }
    if (!looks_ && !start_watching()) {
        return false;
    }
    // The root, then each directory on the way ("a", then "a/b" for "a/b/c.html"). Top down:
    // a directory renamed while this runs is seen by the watch on its parent, in place by then.
    for (std::size_t end = 0;; end = path.find('/', end == 0 ? 0 : end + 1)) {
        if (end == std::string_view::npos) {
            return true;
        }
        if (!watch_directory(owner, root_fd, path.substr(0, end))) {
            return false;
        }
    }
}

bool OpenFileCache::watch_directory(std::uint64_t owner, int root_fd, std::string_view directory) {
    make_key(directory_key_, owner, root_fd, directory);
    if (watches_->watching(directory_key_)) {
        return true;
    }
    // inotify_add_watch(2) takes a path only. The /proc/self/fd link of a confined open names
    // the directory that open found, without resolving the path again.
    UniqueFd opened;
    if (!directory.empty()) {
        opened.reset(common::open_confined(root_fd, directory, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                           common::Scope::beneath));
        if (!opened) {
            return false;
        }
    }
    char link[32];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d",
                  directory.empty() ? root_fd : opened.get());
    if (const int error = watches_->watch(directory_key_, link); error != 0) {
        if (error == ENOSPC || error == ENOMEM) {  // the per-user limit of watches
            unavailable("inotify_add_watch", error);
        }
        return false;
    }
    return true;
}

void OpenFileCache::unavailable(const char* call, int error) {
    retry_inotify_ = std::chrono::steady_clock::now() + kInotifyRetry;
    failed_call_ = call;
    failed_errno_ = error;
}

bool OpenFileCache::on_local_file_system(int fd, dev_t device) {
    if (const auto known = local_devices_.find(device); known != local_devices_.end()) {
        return known->second;
    }
    const bool local = changes_are_watchable(fd);
    local_devices_.emplace(device, local);
    return local;
}

bool OpenFileCache::on_root_mount(int fd, std::uint64_t owner, int root_fd) {
    // A descriptor's mount never changes: the root's is asked once.
    auto& root = root_mounts_[root_fd];
    if (root.first != owner || root.second == 0) {
        root = {owner, mount_of(root_fd)};
    }
    const auto mount = mount_of(fd);
    return mount != 0 && mount == root.second;
}

void OpenFileCache::insert(SharedFd fd) {
    if (entries_.size() >= capacity_) {
        entries_.erase(lru_.back().key);
        lru_.pop_back();
    }
    lru_.push_front(Entry{key_, std::move(fd)});
    entries_.emplace(lru_.front().key, lru_.begin());
}

}  // namespace portd::http
