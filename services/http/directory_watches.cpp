#include "http/directory_watches.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace portd::http {

namespace {

// What can change which file a path names, or whether portd may read it. Not IN_MODIFY: the
// contents are read afresh anyway, and a log written under the root would empty the caches at
// every line. Not IN_CREATE: a new name cannot change what an existing one names (a name
// taken over arrives as IN_MOVED_TO, or after an IN_DELETE).
constexpr std::uint32_t kEvents = IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
                                  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

void read_away(int fd) {
    alignas(inotify_event) char events[4096];
    while (::read(fd, events, sizeof events) > 0) {
    }
}

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

int DirectoryWatches::watch(const std::string& key, const char* path) {
    const std::lock_guard lock(mutex_);
    if (watched_.contains(key)) {
        return 0;
    }
    if (::inotify_add_watch(inotify_.get(), path, kEvents) < 0) {
        return errno;
    }
    watched_.insert(key);
    return 0;
}

void DirectoryWatches::reset() {
    const std::lock_guard lock(mutex_);
    // Raised before the events are read away: a cache that finds none to read finds this
    // instead. And under the lock that forgets the names: a cache that saw the new number asks
    // for its watches after they are forgotten, so no name it relies on is a stale one.
    generation_.fetch_add(1, std::memory_order_acq_rel);
    if (!inotify_) {
        return;  // nothing watched yet, nor anyone told of it
    }
    read_away(inotify_.get());
    // The names are forgotten, the watches kept: a name now on another directory gets a watch
    // of its own at its next use, and one on the same directory gets the watch it had (the
    // kernel keeps one per directory and instance). Removing them would cost a system call
    // each, at every change. A watch left on a directory renamed away raises an event now and
    // then for nothing, and goes when the directory is deleted.
    watched_.clear();
    for (const auto& [subscription, told] : subscribers_) {
        told();
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
