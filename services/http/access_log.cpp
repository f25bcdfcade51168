#include "http/access_log.hpp"

#include "http/http_date.hpp"

#include <array>
#include <cstdio>
#include <span>
#include <system_error>
#include <utility>

namespace portd::http {

namespace {

void append_escaped(std::string& out, std::string_view text) {
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", u);
            out += buf;
        } else {
            out += c;
        }
    }
}

/// Local time formatting takes glibc's time zone lock; a log line per request needs it at most
/// once a second per thread.
const std::string& log_date(std::time_t t) {
    thread_local std::time_t cached_second = -1;
    thread_local std::string cached;
    if (t != cached_second) {
        cached_second = t;
        cached = format_log_date(t);
    }
    return cached;
}

}  // namespace

std::string format_combined(const AccessRecord& r) {
    std::string line;
    line.reserve(200);
    line += r.remote;
    line += " - - [";
    line += log_date(r.time);
    line += "] \"";
    if (r.has_request_line) {
        append_escaped(line, r.method);
        line += ' ';
        append_escaped(line, r.target);
        line += " HTTP/" + std::to_string(r.version_major) + "." + std::to_string(r.version_minor);
    }
    line += "\" " + std::to_string(r.status) + " " + std::to_string(r.bytes) + " \"";
    if (r.referer.empty()) {
        line += '-';
    } else {
        append_escaped(line, r.referer);
    }
    line += "\" \"";
    if (r.user_agent.empty()) {
        line += '-';
    } else {
        append_escaped(line, r.user_agent);
    }
    line += '"';
    return line;
}

AccessLog::AccessLog(const std::string& destination, std::shared_ptr<EventLog> events)
    : events_(std::move(events)) {
    if (destination == "off") {
        return;
    }
    if (destination == "journal") {
        mode_ = events_ ? Mode::journal : Mode::off;
        return;
    }
    if (const int err = file_.open(destination); err != 0) {
        throw std::system_error(err, std::generic_category(),
                                "cannot open access log " + destination);
    }
    mode_ = Mode::file;
}

void AccessLog::write_to_journal(const AccessRecord& record, const std::string& line,
                                 const tcp::endpoint& peer, const tcp::endpoint& local) {
    // The fields an operator filters on (`journalctl HTTP_STATUS=404`); the client's address
    // and the service are portd's own fields already. Absent headers are left out, not empty.
    const auto status = std::to_string(record.status);
    const auto bytes = std::to_string(record.bytes);
    std::string version;
    std::array<EventField, 8> fields;
    std::size_t n = 0;
    fields[n++] = {"HTTP_STATUS", status};
    fields[n++] = {"HTTP_BYTES", bytes};
    if (record.has_request_line) {
        version = std::to_string(record.version_major) + "." + std::to_string(record.version_minor);
        fields[n++] = {"HTTP_METHOD", record.method};
        fields[n++] = {"HTTP_TARGET", record.target};
        fields[n++] = {"HTTP_VERSION", version};
        const std::pair<std::string_view, std::string_view> headers[] = {
            {"HTTP_HOST", record.host},
            {"HTTP_REFERER", record.referer},
            {"HTTP_USER_AGENT", record.user_agent},
        };
        for (const auto& [name, value] : headers) {
            if (!value.empty()) {
                fields[n++] = {name, value};
            }
        }
    }
    events_->event(spdlog::level::info, "request", peer, local, line,
                   std::span<const EventField>(fields.data(), n));
}

void AccessLog::write(const AccessRecord& record, const tcp::endpoint& peer,
                      const tcp::endpoint& local) noexcept {
    try {
        if (mode_ == Mode::off) {
            return;
        }
        auto line = format_combined(record);
        if (mode_ == Mode::journal) {
            write_to_journal(record, line, peer, local);
            return;
        }
        line += '\n';
        file_.append(line, record.time);
    } catch (...) {
    }
}

}  // namespace portd::http
