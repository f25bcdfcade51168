// One line per request in the combined log format, to a file (O_APPEND, so lines from every
// shard thread stay whole), to the journal as a "request" event (with the request's fields as
// HTTP_STATUS=, HTTP_METHOD=, ... for journalctl to filter on), or nowhere. A file that
// logrotate moved away is opened again under its name within a second (common::LogFile).
#pragma once

#include "common/log_file.hpp"

#include <portd/module.hpp>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

namespace portd::http {

struct AccessRecord {
    std::string_view remote;  // client address
    std::time_t time = 0;
    std::string_view method;
    std::string_view target;
    int version_major = 1;
    int version_minor = 1;
    bool has_request_line = true;  // false when the request line never arrived whole
    int status = 0;
    std::uint64_t bytes = 0;  // body bytes sent
    std::string_view referer;
    std::string_view user_agent;
    std::string_view host;  // the Host header: only for the journal (see AccessLog::to_journal)
};

/// `host - - [date] "request" status bytes "referer" "user-agent"`, quotes and control bytes
/// escaped as nginx does (\xHH), so a request cannot forge log lines.
std::string format_combined(const AccessRecord& record);

class AccessLog {
public:
    /// `destination`: "off", "journal" or a file path (opened here; throws std::system_error).
    AccessLog(const std::string& destination, std::shared_ptr<EventLog> events);

    bool enabled() const { return mode_ != Mode::off; }
    /// Records go to the journal, with fields beyond the combined line's (AccessRecord::host).
    bool to_journal() const { return mode_ == Mode::journal; }
    void write(const AccessRecord& record, const tcp::endpoint& peer,
               const tcp::endpoint& local) noexcept;

private:
    enum class Mode { off, journal, file };

    void write_to_journal(const AccessRecord& record, const std::string& line,
                          const tcp::endpoint& peer, const tcp::endpoint& local);

    Mode mode_ = Mode::off;
    common::LogFile file_;
    std::shared_ptr<EventLog> events_;
};

}  // namespace portd::http
