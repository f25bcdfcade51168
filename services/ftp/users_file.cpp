#include "ftp/users_file.hpp"

#include "ftp/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portd::ftp {

namespace {

// A users file is a few lines per user; anything this large is not one.
constexpr off_t kMaxUsersFile = 64 << 20;

std::string describe(const std::filesystem::path& path, int err) {
    return "cannot read users file " + path.string() + ": " + std::strerror(err);
}

bool directory_exists(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

}  // namespace

FileIdentity identity_of(const struct stat& st) {
    return FileIdentity{
        st.st_dev, st.st_ino, st.st_size,
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

UsersFileSnapshot read_users_file(const std::filesystem::path& path) {
    UsersFileSnapshot snapshot;
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        snapshot.error = errno;
        return snapshot;
    }
    // The identity is taken before reading: if the file changes while it is read, the next
    // stat differs from it and the file is read again.
    snapshot.identity = identity_of(st);
    if (!S_ISREG(st.st_mode)) {
        snapshot.error = EINVAL;
        return snapshot;
    }
    if (st.st_size > kMaxUsersFile) {
        snapshot.error = EFBIG;
        return snapshot;
    }
    std::string text;
    char buffer[65536];
    // Bounded: the file is regular and checked to be below kMaxUsersFile; a file that grows
    // while it is read is cut there.
    while (text.size() <= static_cast<std::size_t>(kMaxUsersFile)) {
        const auto n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            snapshot.error = errno;
            return snapshot;
        }
        if (n == 0) {
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    snapshot.users = parse_users_file(text, path.parent_path(), snapshot.problems);
    return snapshot;
}

UsersFileWatcher::UsersFileWatcher(std::shared_ptr<const Authorizer> initial,
                                   std::optional<std::filesystem::path> users_file,
                                   FileIdentity initial_identity, Report report)
    : path_(std::move(users_file)),
      report_(std::move(report)),
      authorizer_(std::move(initial)),
      loaded_(initial_identity) {}

std::shared_ptr<const Authorizer> UsersFileWatcher::current() {
    if (!path_) {
        const std::lock_guard lock(mutex_);
        return authorizer_;
    }
    struct stat st {};
    const int stat_err = ::stat(path_->c_str(), &st) == 0 ? 0 : errno;
    const auto seen = stat_err == 0 ? identity_of(st) : FileIdentity{};
    std::shared_ptr<const Authorizer> old;
    std::string missing;
    {
        const std::lock_guard lock(mutex_);
        old = authorizer_;
        if (stat_err != 0) {
            if (missing_reported_ != stat_err) {
                missing_reported_ = stat_err;
                missing = describe(*path_, stat_err) + "; keeping the " +
                          std::to_string(old->user_count()) + " users read before";
            }
        } else {
            missing_reported_ = 0;
            if (seen == loaded_) {
                failed_.reset();
                return old;
            }
            if ((failed_ && *failed_ == seen) || reloading_) {
                return old;
            }
            reloading_ = true;
        }
    }
    if (stat_err != 0) {
        if (!missing.empty()) {
            report_(true, missing);
        }
        return old;
    }
    // Read and parse without the lock: parsing checks every hash with crypt(3), which takes
    // a few milliseconds per user, and other logins need not wait for it.
    auto snapshot = read_users_file(*path_);
    std::shared_ptr<const Authorizer> fresh;
    std::vector<std::string> notes;
    std::string error;
    if (snapshot.error != 0) {
        error = describe(*path_, snapshot.error);
    } else if (!snapshot.problems.empty()) {
        const auto& first = snapshot.problems.front();
        error = "users file " + path_->string() + ":" + std::to_string(first.line) + ": " +
                first.message;
        if (snapshot.problems.size() > 1) {
            error += " (and " + std::to_string(snapshot.problems.size() - 1) + " more problem" +
                     (snapshot.problems.size() > 2 ? "s" : "") + ")";
        }
    } else {
        for (const auto& user : snapshot.users) {
            if (!directory_exists(user.home)) {
                notes.push_back("users file " + path_->string() + ": the home of '" + user.name +
                                "', " + user.home.string() +
                                ", is not a directory; logins as that user fail until it is");
            }
        }
        const auto count = snapshot.users.size();
        fresh = std::make_shared<const Authorizer>(old->anonymous(), old->anonymous_root(),
                                                   std::move(snapshot.users));
        notes.insert(notes.begin(), "users file " + path_->string() + " changed: read " +
                                        std::to_string(count) + " users");
    }
    if (!error.empty()) {
        error += "; keeping the " + std::to_string(old->user_count()) + " users read before";
    }
    std::shared_ptr<const Authorizer> result;
    {
        const std::lock_guard lock(mutex_);
        reloading_ = false;
        if (fresh) {
            authorizer_ = std::move(fresh);
            loaded_ = snapshot.identity;
            failed_.reset();
        } else {
            // An unreadable file has no identity of its own: remember the one stat saw.
            failed_ = snapshot.identity == FileIdentity{} ? seen : snapshot.identity;
        }
        result = authorizer_;
    }
    if (!error.empty()) {
        report_(true, error);
    }
    for (const auto& note : notes) {
        report_(false, note);
    }
    return result;
}

}  // namespace portd::ftp
