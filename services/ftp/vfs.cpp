#include "ftp/vfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>

namespace portd::ftp {

namespace {

constexpr std::size_t kMaxPathComponents = 1024;

// A virtual path as openat2 wants it below the root: no leading slash, "." for the root.
std::string relative(std::string_view path) {
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    return path.empty() ? std::string(".") : std::string(path);
}

std::string proc_fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace

std::string resolve_virtual(std::string_view cwd, std::string_view argument) {
    std::vector<std::string_view> parts;
    auto add = [&parts](std::string_view text) {
        while (!text.empty()) {
            const auto slash = text.find('/');
            const auto part = text.substr(0, slash);
            text = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
            if (part.empty() || part == ".") {
                continue;
            }
            if (part == "..") {
                if (!parts.empty()) {
                    parts.pop_back();
                }
                continue;
            }
            if (parts.size() < kMaxPathComponents) {
                parts.push_back(part);
            }
        }
    };
    if (argument.empty() || argument.front() != '/') {
        add(cwd);
    }
    add(argument);
    std::string out;
    for (const auto part : parts) {
        out += '/';
        out += part;
    }
    return out.empty() ? std::string("/") : out;
}

std::pair<std::string, std::string> split_virtual(std::string_view path) {
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos) {
        return {"/", std::string(path)};
    }
    std::string parent(path.substr(0, slash));
    return {parent.empty() ? std::string("/") : parent, std::string(path.substr(slash + 1))};
}

DirReader::DirReader(UniqueFd dir) {
    dir_ = ::fdopendir(dir.get());
    if (dir_ != nullptr) {
        dir.release();
    }
}

DirReader::DirReader(DirReader&& other) noexcept : dir_(std::exchange(other.dir_, nullptr)) {}

DirReader& DirReader::operator=(DirReader&& other) noexcept {
    if (this != &other) {
        if (dir_ != nullptr) {
            ::closedir(dir_);
        }
        dir_ = std::exchange(other.dir_, nullptr);
    }
    return *this;
}

DirReader::~DirReader() {
    if (dir_ != nullptr) {
        ::closedir(dir_);
    }
}

bool DirReader::next_batch(std::vector<DirEntry>& out, std::size_t max) {
    if (dir_ == nullptr) {
        return false;
    }
    const int fd = ::dirfd(dir_);
    for (std::size_t taken = 0; taken < max;) {
        errno = 0;
        const dirent* entry = ::readdir(dir_);
        if (entry == nullptr) {
            return false;
        }
        const std::string_view name(entry->d_name);
        if (name == "." || name == "..") {
            continue;
        }
        DirEntry item;
        item.name = std::string(name);
        // The entry is a plain name inside an already-jailed directory, and NOFOLLOW keeps a
        // symlink from being stat'ed through to its (possibly outside) target.
        if (::fstatat(fd, entry->d_name, &item.st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;  // vanished between readdir and stat
        }
        if (S_ISLNK(item.st.st_mode)) {
            char target[4096];
            const auto n = ::readlinkat(fd, entry->d_name, target, sizeof target);
            if (n > 0) {
                item.link_target.assign(target, static_cast<std::size_t>(n));
            }
        }
        out.push_back(std::move(item));
        ++taken;
    }
    return true;
}

int Vfs::open_root(const std::filesystem::path& directory, Vfs& out, Resolver resolver) {
    const int fd = ::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    out = Vfs(UniqueFd(fd), resolver);
    return 0;
}

int Vfs::open(std::string_view path, int flags, mode_t mode, UniqueFd& out) const {
    const auto rel = relative(path);
    const int fd =
        common::open_confined(root_.get(), rel, flags, mode, common::Scope::in_root, resolver_);
    if (fd < 0) {
        return errno;
    }
    out.reset(fd);
    return 0;
}

int Vfs::open_path(std::string_view path, bool follow_last, UniqueFd& out) const {
    return open(path, O_PATH | (follow_last ? 0 : O_NOFOLLOW), 0, out);
}

int Vfs::stat(std::string_view path, struct stat& out) const {
    UniqueFd fd;
    if (const int err = open_path(path, true, fd); err != 0) {
        return err;
    }
    return ::fstat(fd.get(), &out) == 0 ? 0 : errno;
}

int Vfs::lstat(std::string_view path, struct stat& out) const {
    UniqueFd fd;
    if (const int err = open_path(path, false, fd); err != 0) {
        return err;
    }
    return ::fstat(fd.get(), &out) == 0 ? 0 : errno;
}

int Vfs::open_directory(std::string_view path, DirReader& out) const {
    UniqueFd fd;
    if (const int err = open(path, O_RDONLY | O_DIRECTORY, 0, fd); err != 0) {
        return err;
    }
    DirReader reader(std::move(fd));
    out = std::move(reader);
    return 0;
}

int Vfs::open_parent(std::string_view path, UniqueFd& parent, std::string& name) const {
    auto [dir, base] = split_virtual(path);
    if (base.empty() || base == "." || base == "..") {
        return EINVAL;  // the root itself has no parent inside the jail
    }
    if (const int err = open(dir, O_PATH | O_DIRECTORY, 0, parent); err != 0) {
        return err;
    }
    name = std::move(base);
    return 0;
}

int Vfs::make_directory(std::string_view path, mode_t mode) const {
    UniqueFd parent;
    std::string name;
    if (const int err = open_parent(path, parent, name); err != 0) {
        return err;
    }
    return ::mkdirat(parent.get(), name.c_str(), mode) == 0 ? 0 : errno;
}

int Vfs::remove_directory(std::string_view path) const {
    UniqueFd parent;
    std::string name;
    if (const int err = open_parent(path, parent, name); err != 0) {
        return err == EINVAL ? EBUSY : err;
    }
    return ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) == 0 ? 0 : errno;
}

int Vfs::remove_file(std::string_view path) const {
    UniqueFd parent;
    std::string name;
    if (const int err = open_parent(path, parent, name); err != 0) {
        return err == EINVAL ? EISDIR : err;
    }
    struct stat st {};
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno;
    }
    if (S_ISDIR(st.st_mode)) {
        return EISDIR;  // DELE removes files; RMD removes directories
    }
    return ::unlinkat(parent.get(), name.c_str(), 0) == 0 ? 0 : errno;
}

int Vfs::rename(std::string_view from, std::string_view to, bool no_replace) const {
    UniqueFd from_parent;
    UniqueFd to_parent;
    std::string from_name;
    std::string to_name;
    if (const int err = open_parent(from, from_parent, from_name); err != 0) {
        return err;
    }
    if (const int err = open_parent(to, to_parent, to_name); err != 0) {
        return err;
    }
    return ::renameat2(from_parent.get(), from_name.c_str(), to_parent.get(), to_name.c_str(),
                       no_replace ? RENAME_NOREPLACE : 0U) == 0
               ? 0
               : errno;
}

int Vfs::change_mode(std::string_view path, mode_t mode) const {
    UniqueFd fd;
    if (const int err = open_path(path, true, fd); err != 0) {
        return err;
    }
    // fchmod refuses O_PATH descriptors; the /proc link names exactly the file already
    // resolved inside the jail, so nothing is looked up again.
    return ::fchmodat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), mode & 07777, 0) == 0 ? 0 : errno;
}

int Vfs::set_modification_time(std::string_view path, std::time_t when) const {
    UniqueFd fd;
    if (const int err = open_path(path, true, fd); err != 0) {
        return err;
    }
    timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = when;
    times[1].tv_nsec = 0;
    return ::utimensat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), times, 0) == 0 ? 0 : errno;
}

Vfs Vfs::clone() const {
    return Vfs(UniqueFd(root_ ? ::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0) : -1), resolver_);
}

int copy_file_part(int from, int to, std::uint64_t offset, std::uint64_t count) {
    auto in = static_cast<off_t>(offset);
    // Bounded: every round copies at least one byte or ends.
    while (count > 0) {
        const auto n =
            ::copy_file_range(from, &in, to, nullptr, static_cast<std::size_t>(count), 0);
        if (n > 0) {
            count -= static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0) {
            return EINVAL;  // the old file is shorter than the restart offset
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP) {
            return errno;
        }
        // Some file systems cannot; fall back to read/write.
        char buffer[65536];
        while (count > 0) {
            const auto got =
                ::pread(from, buffer, std::min<std::uint64_t>(count, sizeof buffer), in);
            if (got <= 0) {
                return got == 0 ? EINVAL : errno;
            }
            for (ssize_t done = 0; done < got;) {
                const auto put = ::write(to, buffer + done, static_cast<std::size_t>(got - done));
                if (put < 0) {
                    return errno;
                }
                done += put;
            }
            in += got;
            count -= static_cast<std::uint64_t>(got);
        }
    }
    return 0;
}

int set_file_mode(int fd, mode_t mode) {
    return ::fchmod(fd, mode & 07777) == 0 ? 0 : errno;
}

bool is_upload_temporary(std::string_view name) {
    constexpr std::string_view kPrefix = ".in.";
    constexpr std::size_t kSuffix = 12;  // "%08x%04x" in create_temporary
    if (name.size() < kPrefix.size() + 1 + 1 + kSuffix || name.substr(0, 4) != kPrefix ||
        name[name.size() - kSuffix - 1] != '.') {
        return false;
    }
    return name.substr(name.size() - kSuffix).find_first_not_of("0123456789abcdef") ==
           std::string_view::npos;
}

int Vfs::create_temporary(std::string_view final_path, UniqueFd& out, std::string& name) const {
    UniqueFd parent;
    std::string base;
    if (const int err = open_parent(final_path, parent, base); err != 0) {
        return err;
    }
    static std::atomic<std::uint64_t> counter{0};
    std::random_device entropy;
    const auto dir = split_virtual(final_path).first;
    for (int attempt = 0; attempt < 16; ++attempt) {
        char suffix[40];
        std::snprintf(suffix, sizeof suffix, "%08x%04x", static_cast<unsigned>(entropy()),
                      static_cast<unsigned>(counter.fetch_add(1) & 0xffff));
        // Hidden, and named after the target so that an operator sees what it was for.
        std::string temp_name = ".in." + base.substr(0, 200) + "." + suffix;
        const int fd = ::openat(parent.get(), temp_name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            out.reset(fd);
            name = (dir == "/" ? std::string("/") : dir + "/") + temp_name;
            return 0;
        }
        if (errno != EEXIST) {
            return errno;
        }
    }
    return EEXIST;
}

}  // namespace portd::ftp
