// The users file as it is now. It is read once when the service starts (and checked by
// `portd --check`), then looked at again before every login attempt: a stat(2), and a re-read
// when its device, inode, size or modification time changed. So an operator's edit (a new
// user, a new password, a removed user) counts from the next login on, without a restart.
//
// A new version that does not parse is not used: the table read before stays, and one error
// naming the file and line is logged for that version (not one per login). Sessions already
// logged in keep their account either way: they copied it at login.
#pragma once

#include "ftp/authorizer.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace portd::ftp {

/// What tells one version of a file from another without reading it.
struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;

    bool operator==(const FileIdentity&) const = default;
};

FileIdentity identity_of(const struct stat& st);

/// One reading of the users file.
struct UsersFileSnapshot {
    FileIdentity identity;  // of the version read (fstat of the open file, before reading)
    int error = 0;          // errno when the file could not be opened or read
    std::vector<UserEntry> users;
    std::vector<UsersFileProblem> problems;
};

/// Reads and parses the users file (relative homes are relative to its directory). The homes'
/// existence is not checked here.
UsersFileSnapshot read_users_file(const std::filesystem::path& path);

/// Keeps the authorizer in step with the users file.
class UsersFileWatcher {
public:
    /// `error` is true for problems that leave the old table in place, false for notes.
    using Report = std::function<void(bool error, const std::string& message)>;

    /// `initial` is the table read at startup, from the version `initial_identity` of
    /// `users_file` (none: there is no users file, only anonymous users).
    UsersFileWatcher(std::shared_ptr<const Authorizer> initial,
                     std::optional<std::filesystem::path> users_file, FileIdentity initial_identity,
                     Report report);

    /// The authorizer for a login attempt now: stats the users file and re-reads it when it
    /// changed. Safe to call from several threads at once; while one thread re-reads, the
    /// others go on with the table they have.
    std::shared_ptr<const Authorizer> current();

private:
    std::optional<std::filesystem::path> path_;
    Report report_;

    std::mutex mutex_;
    std::shared_ptr<const Authorizer> authorizer_;
    FileIdentity loaded_;                 // the version the authorizer was built from
    std::optional<FileIdentity> failed_;  // a version already reported as unusable
    int missing_reported_ = 0;            // errno already reported for an unreadable path
    bool reloading_ = false;
};

}  // namespace portd::ftp
