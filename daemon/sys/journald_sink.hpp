// An spdlog sink that writes to the systemd journal with portd's own fields. Debian's spdlog
// 1.10 systemd_sink sends only MESSAGE, PRIORITY and the identifier, so it cannot say which
// service a record belongs to.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace portd::sys {

/// One journal record as "KEY=value" strings; values may contain newlines.
using JournalFields = std::vector<std::string>;

/// Delivers one record; returns 0 or a negative errno, like sd_journal_sendv().
using JournalTransport = std::function<int(const JournalFields&)>;

/// The real transport: sd_journal_sendv(), which writes to /run/systemd/journal/socket.
int send_to_journal(const JournalFields& fields);

/// spdlog level → syslog priority (trace and debug are both LOG_DEBUG).
int syslog_priority(spdlog::level::level_enum level);

/// True for a name journald accepts from a client: A-Z, 0-9, '_', not starting with '_' or a
/// digit, at most 64 characters.
bool valid_journal_field_name(std::string_view name);

/// Sends every record as MESSAGE (the payload, unformatted), PRIORITY, SYSLOG_IDENTIFIER=portd,
/// CODE_FILE/CODE_LINE/CODE_FUNC when the record has a source location, then the fixed fields
/// given at construction, then any fields a JournalContext adds on the calling thread.
class JournaldSink : public spdlog::sinks::base_sink<std::mutex> {
public:
    /// Throws std::invalid_argument for a fixed field that is not "NAME=value" with a valid NAME.
    explicit JournaldSink(JournalFields fixed = {}, JournalTransport transport = send_to_journal);

    const JournalFields& fixed_fields() const { return fixed_; }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override {}

private:
    JournalFields fixed_;
    JournalTransport transport_;
};

/// Adds fields to every journal record logged on this thread while it lives, so one
/// logger->log() call can carry PORTD_EVENT=, REMOTE_ADDR=, ... without a second logging path:
/// the logger's level, its other sinks and its error handling all still apply. Works because
/// portd's loggers are synchronous (sinks run on the caller's thread). A field whose name a
/// sink already has among its fixed fields is not sent twice. When nested, the innermost applies.
class JournalContext {
public:
    explicit JournalContext(const JournalFields& fields);
    ~JournalContext();
    JournalContext(const JournalContext&) = delete;
    JournalContext& operator=(const JournalContext&) = delete;

private:
    const JournalFields* previous_;
};

}  // namespace portd::sys
