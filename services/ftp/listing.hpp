// Listing lines: LIST (the `ls -l` format every client parses), NLST, MLSD/MLST facts
// (RFC 3659 §7) and the time formats of MDTM and MFMT. Pure functions over DirEntry.
#pragma once

#include "ftp/vfs.hpp"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portd::ftp {

/// "-rw-r--r--    1 1000     1000         5 Nov 25 18:47 name" (CRLF not included). Times are
/// UTC; entries older than six months (or in the future) show the year instead of the time.
std::string list_line(const DirEntry& entry, std::time_t now);

/// The MLST facts a client may select with OPTS MLST.
enum Fact : std::uint32_t {
    kFactType = 1U << 0,
    kFactSize = 1U << 1,
    kFactModify = 1U << 2,
    kFactPerm = 1U << 3,
    kFactUnique = 1U << 4,
    kFactUnixMode = 1U << 5,
};
inline constexpr std::uint32_t kAllFacts =
    kFactType | kFactSize | kFactModify | kFactPerm | kFactUnique | kFactUnixMode;

/// "type=file;size=5;modify=20261125184700;perm=rw;unique=803g1c;UNIX.mode=0644; name".
/// `permissions` are the user's (Permission bits), which decide the perm fact.
std::string mlsx_line(const DirEntry& entry, std::uint32_t facts, std::uint32_t permissions);

/// The FEAT line for MLST: every fact, the selected ones marked with '*'.
std::string mlst_feature(std::uint32_t selected);

/// OPTS MLST argument ("type;size;") → selected facts (unknown names are ignored).
std::uint32_t parse_fact_list(std::string_view text);

/// The facts as OPTS MLST echoes them: "type;size;".
std::string fact_list(std::uint32_t facts);

/// YYYYMMDDHHMMSS in UTC.
std::string format_mdtm(std::time_t when);

/// YYYYMMDDHHMMSS[.sss] (UTC) → time; nothing if malformed or out of range.
std::optional<std::time_t> parse_mdtm(std::string_view text);

/// Most steps glob_match takes for one name: each character compared, each member of a [...]
/// class looked at and each retry from a '*' is a step. A name that needs more does not match
/// (vsftpd caps its matcher the same way since CVE-2011-0762). Patterns people type ("*.txt",
/// "file0[0-3]*", "*foo*bar*") take at most a few hundred steps on the longest name (255
/// bytes); the worst patterns of kMaxGlobPattern bytes would take millions without the cap.
/// So a LIST of a 10,000-entry directory costs at most 50 million steps, whatever the pattern.
inline constexpr std::size_t kGlobStepBudget = 5'000;

/// Shell pattern match of one name: '*', '?', and [...] classes ("[!...]" negates). No
/// recursion, and at most `budget` steps.
bool glob_match(std::string_view pattern, std::string_view name,
                std::size_t budget = kGlobStepBudget);

/// True if `text` holds any of the glob characters.
bool has_glob(std::string_view text);

/// Longest glob pattern accepted; with glob_match's budget, a listing's work stays linear in
/// the directory size.
inline constexpr std::size_t kMaxGlobPattern = 255;

/// Most directory entries one ListingStream::next() call looks at, so that a pattern that
/// matches nothing in a huge directory still returns to the event loop between calls.
inline constexpr std::size_t kListingEntriesPerCall = 1024;

/// A listing that is produced in pieces, so that a 10,000-entry directory never sits in memory:
/// LIST/NLST/MLSD over the data connection, STAT over the control connection.
class ListingStream {
public:
    enum class Format { list, names, mlsd };

    ListingStream(Format format, std::uint32_t facts, std::uint32_t permissions)
        : format_(format), facts_(facts), permissions_(permissions) {}

    /// `path` is a virtual path to a directory, a file, or a directory followed by a glob
    /// pattern in the last component ("/pub/*.txt"). Returns an errno value (ENOTDIR for a
    /// file when the format is mlsd, EINVAL for a pattern that is too long).
    int open(const Vfs& vfs, std::string_view path);

    /// Appends formatted lines (each starting with `prefix`, ending in CR LF) to `out` until it
    /// holds about `max_bytes` or kListingEntriesPerCall entries were looked at (so `out` may
    /// stay empty when a pattern matches nothing); false when there is nothing more.
    bool next(std::string& out, std::size_t max_bytes, std::string_view prefix = {});

private:
    void format(const DirEntry& entry, std::string& out, std::string_view prefix) const;

    Format format_;
    std::uint32_t facts_;
    std::uint32_t permissions_;
    std::time_t now_ = 0;
    DirReader reader_;
    bool directory_ = false;
    bool done_ = false;
    std::optional<DirEntry> single_;
    std::string pattern_;
    std::vector<DirEntry> batch_;
};

}  // namespace portd::ftp
