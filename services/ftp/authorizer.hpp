// Who may log in, where their jail is and what they may do there (pyftpdlib's authorizer).
//
// Anonymous users (names "anonymous" and "ftp") get their own root and either read-only or
// upload rights. Virtual users come from a users file, one per line:
//
//     name:crypt-hash:home:ro|rw
//
// with hashes from `openssl passwd -6` or `mkpasswd` (any crypt(3) method libcrypt knows).
// Blank lines and lines starting with '#' are ignored. A relative home is taken relative to
// the directory holding the users file, so that the file and its homes move together.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portd::ftp {

/// What a logged-in user may do. Listing and reading are separate from the write rights so
/// that an anonymous upload area can accept new files without exposing delete or overwrite.
enum Permission : std::uint32_t {
    kPermList = 1U << 0,       // LIST NLST MLSD MLST STAT CWD SIZE MDTM
    kPermRead = 1U << 1,       // RETR
    kPermCreate = 1U << 2,     // STOR/STOU of a new file
    kPermOverwrite = 1U << 3,  // STOR over an existing file, APPE, REST+STOR
    kPermDelete = 1U << 4,     // DELE
    kPermRename = 1U << 5,     // RNFR RNTO
    kPermMkdir = 1U << 6,      // MKD
    kPermRmdir = 1U << 7,      // RMD
    kPermChmod = 1U << 8,      // SITE CHMOD
    kPermMtime = 1U << 9,      // MFMT
};

inline constexpr std::uint32_t kPermsReadOnly = kPermList | kPermRead;
inline constexpr std::uint32_t kPermsUpload = kPermsReadOnly | kPermCreate | kPermMkdir;
inline constexpr std::uint32_t kPermsReadWrite = kPermsReadOnly | kPermCreate | kPermOverwrite |
                                                 kPermDelete | kPermRename | kPermMkdir |
                                                 kPermRmdir | kPermChmod | kPermMtime;

enum class AnonymousMode { off, read_only, upload };

/// One line of the users file.
struct UserEntry {
    std::string name;
    std::string hash;
    std::filesystem::path home;
    bool writable = false;
};

/// A logged-in identity.
struct Account {
    std::string name;
    std::filesystem::path home;
    std::uint32_t permissions = 0;
    bool anonymous = false;
};

/// A problem in the users file, with its 1-based line number.
struct UsersFileProblem {
    std::size_t line = 0;
    std::string message;
};

/// Parses the users file text. Every problem is collected; entries with problems are left out.
/// Homes are not checked for existence here (the caller does, once, at startup).
std::vector<UserEntry> parse_users_file(std::string_view text, const std::filesystem::path& base,
                                        std::vector<UsersFileProblem>& problems);

/// Compares in time that depends only on the lengths, not on where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

/// crypt_r(3) of `password` with `setting` (a full hash or a salt string); empty on failure.
std::string crypt_hash(std::string_view password, std::string_view setting);

/// True for the names RFC 1635 reserves for anonymous FTP.
bool is_anonymous_name(std::string_view user);

class Authorizer {
public:
    Authorizer() = default;
    Authorizer(AnonymousMode anonymous, std::filesystem::path anonymous_root,
               std::vector<UserEntry> users);

    /// The account for these credentials, or nothing. Unknown users cost the same crypt(3)
    /// work as known ones and fail the same way, so timing and replies reveal nothing.
    std::optional<Account> authenticate(std::string_view user, std::string_view password) const;

    AnonymousMode anonymous() const { return anonymous_; }
    const std::filesystem::path& anonymous_root() const { return anonymous_root_; }
    std::size_t user_count() const { return users_.size(); }

private:
    AnonymousMode anonymous_ = AnonymousMode::off;
    std::filesystem::path anonymous_root_;
    std::vector<UserEntry> users_;
    std::string dummy_hash_;  // burnt for unknown users
};

}  // namespace portd::ftp
