#include "ftp/xferlog.hpp"

#include <unistd.h>

#include <algorithm>

namespace portd::ftp {

namespace {

std::string ctime_utc(std::time_t when) {
    std::tm tm{};
    ::gmtime_r(&when, &tm);
    char out[64];
    std::strftime(out, sizeof out, "%a %b %e %H:%M:%S %Y", &tm);
    return out;
}

// Spaces would shift every later field of the line, and control characters could forge
// lines; xferlog readers expect underscores. `also` names more characters to replace.
std::string field(std::string_view text, std::string_view also = {}) {
    std::string out(text.empty() ? std::string_view("-") : text);
    for (auto& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f || also.find(c) != std::string_view::npos) {
            c = '_';
        }
    }
    return out;
}

constexpr std::string_view kQuoting = "[]\"";

}  // namespace

std::string xferlog_line(const TransferRecord& r) {
    return ctime_utc(r.finished) + " " + std::to_string(std::max<std::uint64_t>(r.seconds, 1)) +
           " " + field(r.remote_host) + " " + std::to_string(r.bytes) + " " + field(r.path) + " " +
           (r.binary ? "b" : "a") + " _ " + (r.incoming ? "i" : "o") + " " +
           (r.anonymous ? "a" : "r") + " " + field(r.user) + " ftp 0 * " + (r.complete ? "c" : "i");
}

std::string login_line(std::time_t when, std::string_view remote_host, std::string_view user,
                       bool ok, std::string_view anonymous_password) {
    std::string line = ctime_utc(when) + " [pid " + std::to_string(::getpid()) + "] [" +
                       field(user, kQuoting) + "] " + (ok ? "OK LOGIN" : "FAIL LOGIN") +
                       ": Client \"" + field(remote_host, kQuoting) + "\"";
    if (!anonymous_password.empty()) {
        line += ", anon password \"" + field(anonymous_password, kQuoting) + "\"";
    }
    return line;
}

void XferlogFile::write_line(std::string line) {
    line += '\n';
    file_.append(line, std::time(nullptr));
}

}  // namespace portd::ftp
