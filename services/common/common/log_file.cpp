#include "common/log_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

namespace portd::common {

namespace {

int open_for_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

int LogFile::open(const std::filesystem::path& path) {
    path_ = path.string();
    fd_.reset(open_for_append(path_));
    return fd_ ? 0 : errno;
}

void LogFile::reopen_if_moved() {
    // Called with mutex_ held alone.
    struct stat by_name {};
    struct stat by_fd {};
    const bool moved = ::stat(path_.c_str(), &by_name) != 0 || ::fstat(fd_.get(), &by_fd) != 0 ||
                       by_name.st_ino != by_fd.st_ino || by_name.st_dev != by_fd.st_dev;
    if (moved) {
        UniqueFd fresh(open_for_append(path_));
        if (fresh) {
            fd_ = std::move(fresh);  // if it cannot be opened, go on writing to the old file
        }
    }
}

void LogFile::append(std::string_view line, std::time_t now) noexcept {
    if (!fd_) {
        return;
    }
    auto last = checked_.load(std::memory_order_relaxed);
    if (now != last && checked_.compare_exchange_strong(last, now)) {
        const std::unique_lock lock(mutex_);
        reopen_if_moved();
    }
    const std::shared_lock lock(mutex_);
    (void)!::write(fd_.get(), line.data(), line.size());
}

}  // namespace portd::common
