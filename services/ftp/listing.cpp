#include "ftp/listing.hpp"

#include "ftp/authorizer.hpp"
#include "ftp/reply.hpp"

#include <array>
#include <cerrno>
#include <cstdio>

namespace portd::ftp {

namespace {

constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::time_t kSixMonths = 182 * 24 * 3600;

char type_letter(mode_t mode) {
    if (S_ISDIR(mode)) {
        return 'd';
    }
    if (S_ISLNK(mode)) {
        return 'l';
    }
    if (S_ISCHR(mode)) {
        return 'c';
    }
    if (S_ISBLK(mode)) {
        return 'b';
    }
    if (S_ISFIFO(mode)) {
        return 'p';
    }
    if (S_ISSOCK(mode)) {
        return 's';
    }
    return '-';
}

std::string mode_string(mode_t mode) {
    std::string s(10, '-');
    s[0] = type_letter(mode);
    const char* rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; ++i) {
        if ((mode & (0400U >> i)) != 0) {
            s[static_cast<std::size_t>(i + 1)] = rwx[i];
        }
    }
    if ((mode & S_ISUID) != 0) {
        s[3] = (mode & S_IXUSR) != 0 ? 's' : 'S';
    }
    if ((mode & S_ISGID) != 0) {
        s[6] = (mode & S_IXGRP) != 0 ? 's' : 'S';
    }
    if ((mode & S_ISVTX) != 0) {
        s[9] = (mode & S_IXOTH) != 0 ? 't' : 'T';
    }
    return s;
}

bool utc(std::time_t when, std::tm& out) {
    return ::gmtime_r(&when, &out) != nullptr;
}

}  // namespace

std::string list_line(const DirEntry& entry, std::time_t now) {
    const auto& st = entry.st;
    std::tm tm{};
    utc(st.st_mtime, tm);
    char date[32];
    const auto age = now - st.st_mtime;
    const char* month = kMonths[static_cast<std::size_t>(tm.tm_mon) % 12];
    if (age < kSixMonths && age > -3600) {
        std::snprintf(date, sizeof date, "%s %2d %02d:%02d", month, tm.tm_mday, tm.tm_hour,
                      tm.tm_min);
    } else {
        std::snprintf(date, sizeof date, "%s %2d  %4d", month, tm.tm_mday, tm.tm_year + 1900);
    }
    char head[160];
    std::snprintf(head, sizeof head, "%s %4lu %-8u %-8u %12lld %s ",
                  mode_string(st.st_mode).c_str(), static_cast<unsigned long>(st.st_nlink),
                  static_cast<unsigned>(st.st_uid), static_cast<unsigned>(st.st_gid),
                  static_cast<long long>(st.st_size), date);
    std::string line = head + printable_name(entry.name);
    if (S_ISLNK(st.st_mode) && !entry.link_target.empty()) {
        line += " -> " + printable_name(entry.link_target);
    }
    return line;
}

std::string mlsx_line(const DirEntry& entry, std::uint32_t facts, std::uint32_t permissions) {
    const auto& st = entry.st;
    const bool dir = S_ISDIR(st.st_mode);
    std::string out;
    if ((facts & kFactType) != 0) {
        out += dir                   ? "type=dir;"
               : S_ISREG(st.st_mode) ? "type=file;"
               : S_ISLNK(st.st_mode) ? "type=OS.unix=symlink;"
                                     : "type=OS.unix=special;";
    }
    if ((facts & kFactSize) != 0 && !dir) {
        out += "size=" + std::to_string(st.st_size) + ";";
    }
    if ((facts & kFactModify) != 0) {
        out += "modify=" + format_mdtm(st.st_mtime) + ";";
    }
    if ((facts & kFactPerm) != 0) {
        std::string perm;
        if (dir) {
            // e: CWD, l: list, c: create files, m: mkdir, p: purge (delete contents),
            // d: delete the directory itself, f: rename it.
            perm += (permissions & kPermList) != 0 ? "el" : "";
            perm += (permissions & kPermCreate) != 0 ? "c" : "";
            perm += (permissions & kPermMkdir) != 0 ? "m" : "";
            perm += (permissions & kPermDelete) != 0 ? "p" : "";
            perm += (permissions & kPermRmdir) != 0 ? "d" : "";
            perm += (permissions & kPermRename) != 0 ? "f" : "";
        } else {
            // r: RETR, w: STOR, a: APPE, d: DELE, f: RNFR.
            perm += (permissions & kPermRead) != 0 ? "r" : "";
            perm += (permissions & kPermOverwrite) != 0 ? "wa" : "";
            perm += (permissions & kPermDelete) != 0 ? "d" : "";
            perm += (permissions & kPermRename) != 0 ? "f" : "";
        }
        out += "perm=" + perm + ";";
    }
    if ((facts & kFactUnique) != 0) {
        char unique[64];
        std::snprintf(unique, sizeof unique, "unique=%llxg%llx;",
                      static_cast<unsigned long long>(st.st_dev),
                      static_cast<unsigned long long>(st.st_ino));
        out += unique;
    }
    if ((facts & kFactUnixMode) != 0) {
        char mode[32];
        std::snprintf(mode, sizeof mode, "UNIX.mode=0%o;",
                      static_cast<unsigned>(st.st_mode & 07777));
        out += mode;
    }
    return out + " " + printable_name(entry.name);
}

namespace {
constexpr std::array<std::pair<std::string_view, Fact>, 6> kFactNames = {{
    {"type", kFactType},
    {"size", kFactSize},
    {"modify", kFactModify},
    {"perm", kFactPerm},
    {"unique", kFactUnique},
    {"UNIX.mode", kFactUnixMode},
}};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
        };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}
}  // namespace

std::string mlst_feature(std::uint32_t selected) {
    std::string out = "MLST ";
    for (const auto& [name, bit] : kFactNames) {
        out += std::string(name) + ((selected & bit) != 0 ? "*;" : ";");
    }
    return out;
}

std::uint32_t parse_fact_list(std::string_view text) {
    std::uint32_t facts = 0;
    for (int guard = 0; guard < 64 && !text.empty(); ++guard) {
        const auto semi = text.find(';');
        const auto name = text.substr(0, semi);
        for (const auto& [known, bit] : kFactNames) {
            if (iequals(name, known)) {
                facts |= bit;
            }
        }
        text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    }
    return facts;
}

std::string fact_list(std::uint32_t facts) {
    std::string out;
    for (const auto& [name, bit] : kFactNames) {
        if ((facts & bit) != 0) {
            out += std::string(name) + ";";
        }
    }
    return out;
}

std::string format_mdtm(std::time_t when) {
    std::tm tm{};
    if (!utc(when, tm)) {
        return "19700101000000";
    }
    char out[32];
    std::snprintf(out, sizeof out, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return out;
}

std::optional<std::time_t> parse_mdtm(std::string_view text) {
    if (text.size() > 14 && text[14] == '.') {
        const auto fraction = text.substr(15);
        if (fraction.empty() || fraction.size() > 9 ||
            fraction.find_first_not_of("0123456789") != std::string_view::npos) {
            return std::nullopt;
        }
        text = text.substr(0, 14);
    }
    if (text.size() != 14 || text.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    auto field = [text](std::size_t at, std::size_t n) {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    std::tm tm{};
    tm.tm_year = field(0, 4) - 1900;
    tm.tm_mon = field(4, 2) - 1;
    tm.tm_mday = field(6, 2);
    tm.tm_hour = field(8, 2);
    tm.tm_min = field(10, 2);
    tm.tm_sec = field(12, 2);
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
        return std::nullopt;
    }
    return ::timegm(&tm);
}

namespace {

// Matches one pattern element at pattern[p] against c; `next` gets the index after it and
// `steps` grows by the work done.
bool element_matches(std::string_view pattern, std::size_t p, char c, std::size_t& next,
                     std::size_t& steps) {
    if (pattern[p] == '?') {
        next = p + 1;
        return true;
    }
    if (pattern[p] == '[') {
        std::size_t i = p + 1;
        const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
        if (negate) {
            ++i;
        }
        bool matched = false;
        bool first = true;
        for (; i < pattern.size() && (first || pattern[i] != ']'); ++i, first = false) {
            ++steps;
            if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
                matched = matched || (c >= pattern[i] && c <= pattern[i + 2]);
                i += 2;
            } else {
                matched = matched || c == pattern[i];
            }
        }
        if (i < pattern.size()) {
            next = i + 1;
            return matched != negate;
        }
        // No closing bracket: '[' is an ordinary character.
    }
    next = p + 1;
    return pattern[p] == c;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name, std::size_t budget) {
    // The classic single-backtrack-point algorithm: on a mismatch, retry from the last '*'
    // with one more character consumed. Each name position is tried at most once per star,
    // and the budget caps the whole walk.
    std::size_t p = 0;
    std::size_t n = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_n = 0;
    for (std::size_t steps = 0; steps < budget; ++steps) {
        if (n == name.size()) {
            while (p < pattern.size() && pattern[p] == '*') {
                ++p;
            }
            return p == pattern.size();
        }
        std::size_t next = 0;
        if (p < pattern.size() && pattern[p] == '*') {
            star = ++p;
            star_n = n;
            continue;
        }
        if (p < pattern.size() && element_matches(pattern, p, name[n], next, steps)) {
            p = next;
            ++n;
            continue;
        }
        if (star == std::string_view::npos) {
            return false;
        }
        p = star;
        n = ++star_n;
    }
    return false;  // over the budget: treated as no match
}

bool has_glob(std::string_view text) {
    return text.find_first_of("*?[") != std::string_view::npos;
}

int ListingStream::open(const Vfs& vfs, std::string_view path) {
    now_ = std::time(nullptr);
    struct stat st {};
    int err = vfs.stat(path, st);
    if (err == 0 && S_ISDIR(st.st_mode)) {
        directory_ = true;
        return vfs.open_directory(path, reader_);
    }
    if (err == 0) {
        if (format_ == Format::mlsd) {
            return ENOTDIR;
        }
        DirEntry entry;
        entry.name = split_virtual(path).second;
        // LIST shows a symlink as a symlink (lstat); its target stays unread, as no path
        // outside the jail may ever be shown.
        if (vfs.lstat(path, entry.st) != 0) {
            entry.st = st;
        }
        single_ = std::move(entry);
        return 0;
    }
    const auto [parent, base] = split_virtual(path);
    if (err == ENOENT && has_glob(base) && !has_glob(parent)) {
        if (base.size() > kMaxGlobPattern) {
            return EINVAL;
        }
        pattern_ = base;
        directory_ = true;
        return vfs.open_directory(parent, reader_);
    }
    return err;
}

void ListingStream::format(const DirEntry& entry, std::string& out, std::string_view prefix) const {
    out += prefix;
    switch (format_) {
        case Format::list:
            out += list_line(entry, now_);
            break;
        case Format::names:
            out += printable_name(entry.name);
            break;
        case Format::mlsd:
            out += mlsx_line(entry, facts_, permissions_);
            break;
    }
    out += "\r\n";
}

bool ListingStream::next(std::string& out, std::size_t max_bytes, std::string_view prefix) {
    if (done_) {
        return false;
    }
    if (single_) {
        format(*single_, out, prefix);
        done_ = true;
        return false;
    }
    if (!directory_) {
        done_ = true;
        return false;
    }
    // Bounded: each round reads up to 256 entries, and one call looks at no more than
    // kListingEntriesPerCall of them.
    for (std::size_t looked = 0; out.size() < max_bytes && looked < kListingEntriesPerCall;) {
        batch_.clear();
        const bool more = reader_.next_batch(batch_, 256);
        looked += 256;
        for (const auto& entry : batch_) {
            if (is_upload_temporary(entry.name) ||
                (!pattern_.empty() && !glob_match(pattern_, entry.name))) {
                continue;
            }
            format(entry, out, prefix);
        }
        if (!more) {
            done_ = true;
            return false;
        }
    }
    return true;
}

}  // namespace portd::ftp
