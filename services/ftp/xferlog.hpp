// One line per transfer in the wu-ftpd/vsftpd xferlog format, and one per login; written to a
// file named in the options, or else sent as events to the journal.
#pragma once

#include "common/log_file.hpp"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

namespace portd::ftp {

struct TransferRecord {
    std::time_t finished = 0;
    std::uint64_t seconds = 0;
    std::string remote_host;
    std::uint64_t bytes = 0;
    std::string path;        // virtual path
    bool binary = true;      // TYPE I ('b') or A ('a')
    bool incoming = false;   // 'i' upload, 'o' download
    bool anonymous = false;  // access mode 'a' or 'r'
    std::string user;        // the login name; for anonymous users the identification they
                             // gave as password, as wu-ftpd and vsftpd log it
    bool complete = true;    // 'c' or 'i'
};

/// "Wed Nov 25 18:47:13 2026 1 127.0.0.1 5 /a.txt b _ o r alice ftp 0 * c", field for field
/// what vsftpd writes with xferlog_std_format (wu-ftpd's xferlog(5)): times in UTC, a transfer
/// time of at least 1 second (tools divide by it), spaces and control characters in names as
/// '_' so that every line has the same 14 fields.
std::string xferlog_line(const TransferRecord& record);

/// vsftpd's login lines, so that tools written for vsftpd.log (fail2ban's vsftpd filter)
/// read them: "Wed Nov 25 18:47:13 2026 [pid 123] [alice] OK LOGIN: Client "127.0.0.1"",
/// "... [bob] FAIL LOGIN: Client "::1"", and for anonymous users
/// "... [ftp] OK LOGIN: Client "127.0.0.1", anon password "guest@"". Brackets and quotes in
/// the client's words become '_', so that no user name can shift the fields.
std::string login_line(std::time_t when, std::string_view remote_host, std::string_view user,
                       bool ok, std::string_view anonymous_password = {});

/// The log file shared by every session of the service (all shards): each line is written
/// whole, and a file logrotate moved away is opened again under its name within a second.
class XferlogFile {
public:
    /// Opens (creating) the file; returns an errno value.
    int open(const std::filesystem::path& path) { return file_.open(path); }
    bool is_open() const { return file_.is_open(); }
    void write_line(std::string line);

private:
    common::LogFile file_;
};

}  // namespace portd::ftp
