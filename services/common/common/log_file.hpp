// An append-only log file that follows logrotate: every thread appends whole lines to it, and
// a file moved away or deleted is noticed within a second and opened again under its name. So
// neither a reload nor a signal is needed after a rotation, and a reload, which keeps the
// worker of an unchanged service, could not have given one.
#pragma once

#include "common/unique_fd.hpp"

#include <atomic>
#include <ctime>
#include <filesystem>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace portd::common {

class LogFile {
public:
    LogFile() = default;
    LogFile(const LogFile&) = delete;
    LogFile& operator=(const LogFile&) = delete;

    /// Opens (creating, mode 0640) the file: 0, or the errno value.
    int open(const std::filesystem::path& path);
    bool is_open() const { return static_cast<bool>(fd_); }

    /// Appends `line` (which ends with its '\n') with one write(2) on an O_APPEND descriptor,
    /// so lines from every thread stay whole. Once a second of `now` at most, first checks
    /// that the name still leads to the open file. A full disk loses the line, nothing more.
    void append(std::string_view line, std::time_t now) noexcept;

private:
    void reopen_if_moved();

    std::string path_;
    // Appenders share it; a reopen takes it alone.
    std::shared_mutex mutex_;
    UniqueFd fd_;
    std::atomic<std::time_t> checked_{0};
};

}  // namespace portd::common
