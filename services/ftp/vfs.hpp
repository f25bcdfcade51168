// The virtual file system: FTP paths ("/pub/a.txt", relative to the user's home) ↔ file
// descriptors under that home. This is the only code in the module that touches files.
//
// The jail is the kernel's: every open goes through openat2(2) with RESOLVE_IN_ROOT, so "..",
// absolute symlinks and relative symlinks are all resolved as if the home were "/", and
// RESOLVE_NO_MAGICLINKS refuses /proc-style links. Where openat2 is missing or filtered, the
// same resolution is walked by hand (common/confined_open.hpp). Operations on a name (mkdir,
// unlink, rename) open the parent directory that way and then act on one plain component with the
// *at() calls, which never follow a symlink in the last component.
#pragma once

#include "common/confined_open.hpp"
#include "ftp/unique_fd.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace portd::ftp {

/// The absolute virtual path that `argument` names when the working directory is `cwd`
/// (itself absolute and normalised). "." and ".." are resolved lexically and ".." stops at "/",
/// as in a chroot. Repeated and trailing slashes are dropped. The result always starts with '/'.
std::string resolve_virtual(std::string_view cwd, std::string_view argument);

/// "/a/b" → {"/a", "b"}; "/a" → {"/", "a"}; "/" → {"/", ""}.
std::pair<std::string, std::string> split_virtual(std::string_view path);

/// One directory entry, as listings need it. `st` is lstat-like: a symlink shows as a symlink.
struct DirEntry {
    std::string name;
    struct stat st {};
    std::string link_target;  // for symlinks; empty otherwise
};

/// Reads a directory in batches, so that a huge directory never sits in memory at once.
class DirReader {
public:
    DirReader() = default;
    explicit DirReader(UniqueFd dir);
    DirReader(DirReader&& other) noexcept;
    DirReader& operator=(DirReader&& other) noexcept;
    DirReader(const DirReader&) = delete;
    DirReader& operator=(const DirReader&) = delete;
    ~DirReader();

    /// Appends up to `max` entries ("." and ".." skipped); false when the directory is done.
    bool next_batch(std::vector<DirEntry>& out, std::size_t max);

private:
    DIR* dir_ = nullptr;
};

using common::Resolver;

/// A user's jailed view of the file system. All paths are virtual (as resolve_virtual returns
/// them). Methods return 0 or an errno value; none throws.
class Vfs {
public:
    Vfs() = default;
    explicit Vfs(UniqueFd root, Resolver resolver = Resolver::kernel)
        : root_(std::move(root)), resolver_(resolver) {}

    /// Opens `directory` as the root of a jail; returns an errno value on failure.
    static int open_root(const std::filesystem::path& directory, Vfs& out,
                         Resolver resolver = Resolver::kernel);

    bool valid() const { return static_cast<bool>(root_); }

    /// openat2(root, path, flags | O_CLOEXEC, mode) confined to the root.
    int open(std::string_view path, int flags, mode_t mode, UniqueFd& out) const;

    /// stat, following symlinks (inside the jail).
    int stat(std::string_view path, struct stat& out) const;
    /// lstat: a symlink in the last component is reported as such.
    int lstat(std::string_view path, struct stat& out) const;

    int open_directory(std::string_view path, DirReader& out) const;
    int make_directory(std::string_view path, mode_t mode) const;
    int remove_directory(std::string_view path) const;
    int remove_file(std::string_view path) const;
    /// `no_replace`: fail with EEXIST rather than replace an existing `to` (RENAME_NOREPLACE).
    int rename(std::string_view from, std::string_view to, bool no_replace = false) const;
    int change_mode(std::string_view path, mode_t mode) const;
    int set_modification_time(std::string_view path, std::time_t when) const;

    /// Creates an empty hidden file next to `final_path` (same directory, so that a rename
    /// onto the final name is atomic). `name` gets the temporary's virtual path.
    int create_temporary(std::string_view final_path, UniqueFd& out, std::string& name) const;

    /// Opens `path` with O_PATH, resolved in the jail (for fstat/readlink-free checks).
    int open_path(std::string_view path, bool follow_last, UniqueFd& out) const;

    /// Another handle on the same root (for cleanup that outlives a session's state).
    Vfs clone() const;

private:
    int open_parent(std::string_view path, UniqueFd& parent, std::string& name) const;

    UniqueFd root_;
    Resolver resolver_ = Resolver::kernel;
};

/// True for the names create_temporary() makes (".in.NAME.0123456789ab"): listings leave
/// them out, so that no client sees, or mirrors, an upload that is still arriving.
bool is_upload_temporary(std::string_view name);

/// Copies bytes [offset, offset + count) of `from` to `to` at its current file position
/// (REST+STOR and APPE keep the old content in the new temporary file, a piece at a time).
/// Returns an errno value; EINVAL if `from` ends before offset + count.
int copy_file_part(int from, int to, std::uint64_t offset, std::uint64_t count);

/// fchmod(2), so that a replaced file keeps its mode.
int set_file_mode(int fd, mode_t mode);

}  // namespace portd::ftp
