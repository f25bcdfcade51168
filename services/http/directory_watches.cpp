#include "http/directory_watches.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace portd::http {

namespace {

// What can change which file a path names, or whether portd may read it. Not IN_MODIFY: the
// contents are read afresh anyway, and a log written under the root would empty the caches at
// every line. Not IN_CREATE: a new name cannot change what an existing one names (a name
// taken over arrives as IN_MOVED_TO, or after an IN_DELETE).
constexpr std::uint32_t kEvents = IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
                                  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

std::shared_ptr<DirectoryWatches> DirectoryWatches::of_process() {
    static std::mutex mutex;
    static std::weak_ptr<DirectoryWatches> current;
    const std::lock_guard lock(mutex);
    auto watches = current.lock();
    if (!watches) {
        watches = std::make_shared<DirectoryWatches>();
        current = watches;
    }
    return watches;
}

int DirectoryWatches::descriptor(int& error) {
    const std::lock_guard lock(mutex_);
    if (!inotify_) {
        inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        error = inotify_ ? 0 : errno;
    }
    return inotify_.get();
}

bool DirectoryWatches::watching(const std::string& key) {
    const std::lock_guard lock(mutex_);
    return watched_.contains(key);
}

void DirectoryWatches::allow(std::size_t watches) {
    const std::lock_guard lock(mutex_);
    allowed_ = std::max(allowed_, watches);
}

std::size_t DirectoryWatches::size() {
    const std::lock_guard lock(mutex_);
    return descriptors_.size();
}

int DirectoryWatches::watch(const std::string& key, const char* path) {
    const std::lock_guard lock(mutex_);
    if (watched_.contains(key)) {
        return 0;
    }
    if (!descriptors_.empty() && descriptors_.size() >= allowed_) {
        // Every watch goes, not the oldest: the names on the way to a kept file are not known
        // here, and the generation empties the caches that counted on them.
        for (const int descriptor : descriptors_) {
            ::inotify_rm_watch(inotify_.get(), descriptor);
        }
        descriptors_.clear();
        start_afresh();  // and reads away the removals' IN_IGNORED, which need no second look
    }
    const int descriptor = ::inotify_add_watch(inotify_.get(), path, kEvents);
    if (descriptor < 0) {
        return errno;
    }
    descriptors_.insert(descriptor);
    watched_.insert(key);
    return 0;
}

void DirectoryWatches::reset() {
    const std::lock_guard lock(mutex_);
    start_afresh();
}

void DirectoryWatches::start_afresh() {
    // Raised before the events are read away: a cache that finds none to read finds this
    // instead. And under the lock that forgets the names: a cache that saw the new number asks
    // for its watches after they are forgotten, so no name it relies on is a stale one.
    generation_.fetch_add(1, std::memory_order_acq_rel);
    if (!inotify_) {
        return;  // nothing watched yet, nor anyone told of it
    }
    read_away();
    // The names are forgotten, the watches kept: a name now on another directory gets a watch
    // of its own at its next use, and one on the same directory gets the watch it had (the
    // kernel keeps one per directory and instance). Removing them would cost a system call
    // each, at every change. A watch left on a directory renamed away raises an event now and
    // then for nothing, until it is deleted or the bound removes every watch.
    watched_.clear();
    for (const auto& [subscription, told] : subscribers_) {
        told();
    }
}

void DirectoryWatches::read_away() {
    alignas(inotify_event) char events[4096];
    for (;;) {
        const auto n = ::read(inotify_.get(), events, sizeof events);
        if (n <= 0) {
            return;
        }
        // IN_IGNORED: the kernel removed a watch (its directory deleted, or its file system
        // unmounted), and it no longer counts.
        for (std::size_t at = 0; at + sizeof(inotify_event) <= static_cast<std::size_t>(n);) {
            inotify_event event{};
            std::memcpy(&event, events + at, sizeof event);
            if ((event.mask & IN_IGNORED) != 0) {
                descriptors_.erase(event.wd);
            }
            at += sizeof event + event.len;
        }
    }
}

std::uint64_t DirectoryWatches::subscribe(std::function<void()> told) {
    const std::lock_guard lock(mutex_);
    const auto subscription = next_subscription_++;
    subscribers_.emplace(subscription, std::move(told));
    return subscription;
}

void DirectoryWatches::unsubscribe(std::uint64_t subscription) {
    const std::lock_guard lock(mutex_);
    subscribers_.erase(subscription);
}

}  // namespace portd::http
