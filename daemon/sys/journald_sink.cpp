#include "sys/journald_sink.hpp"

// Without this, sd_journal_sendv() is a macro that stamps every record with this file's own
// CODE_FILE/CODE_LINE/CODE_FUNC, duplicating (and contradicting) the caller's location.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace portd::sys {

namespace {

thread_local const JournalFields* t_context = nullptr;

std::string_view field_name(std::string_view field) {
    return field.substr(0, field.find('='));
}

bool has_field(const JournalFields& fields, std::string_view name) {
    return std::any_of(fields.begin(), fields.end(),
                       [&](const std::string& f) { return field_name(f) == name; });
}

}  // namespace

int send_to_journal(const JournalFields& fields) {
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto& field : fields) {
        // sd_journal_sendv() only reads through iov_base; the cast is for the C signature.
        iov.push_back({const_cast<char*>(field.data()), field.size()});
    }
    return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
        case spdlog::level::debug:
            return LOG_DEBUG;
        case spdlog::level::info:
            return LOG_INFO;
        case spdlog::level::warn:
            return LOG_WARNING;
        case spdlog::level::err:
            return LOG_ERR;
        case spdlog::level::critical:
            return LOG_CRIT;
        default:
            return LOG_INFO;
    }
}

bool valid_journal_field_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '_' ||
        (name.front() >= '0' && name.front() <= '9')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

JournaldSink::JournaldSink(JournalFields fixed, JournalTransport transport)
    : fixed_(std::move(fixed)), transport_(std::move(transport)) {
    for (const auto& field : fixed_) {
        if (field.find('=') == std::string::npos || !valid_journal_field_name(field_name(field))) {
            throw std::invalid_argument("not a journal field: \"" + field + "\"");
        }
    }
    if (!transport_) {
        throw std::invalid_argument("JournaldSink needs a transport");
    }
}

void JournaldSink::sink_it_(const spdlog::details::log_msg& msg) {
    JournalFields fields;
    fields.reserve(6 + fixed_.size() + (t_context ? t_context->size() : 0));
    fields.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
    fields.push_back("PRIORITY=" + std::to_string(syslog_priority(msg.level)));
    fields.emplace_back("SYSLOG_IDENTIFIER=portd");
    if (!msg.source.empty()) {
        fields.push_back(std::string("CODE_FILE=") + msg.source.filename);
        fields.push_back("CODE_LINE=" + std::to_string(msg.source.line));
        if (msg.source.funcname != nullptr) {
            fields.push_back(std::string("CODE_FUNC=") + msg.source.funcname);
        }
    }
    fields.insert(fields.end(), fixed_.begin(), fixed_.end());
    if (t_context != nullptr) {
        for (const auto& field : *t_context) {
            if (!has_field(fixed_, field_name(field))) {
                fields.push_back(field);
            }
        }
    }
    if (const int rc = transport_(fields); rc < 0) {
        // The logger's error handler reports it (rate-limited) instead of losing it silently.
        spdlog::throw_spdlog_ex("cannot write to the journal", -rc);
    }
}

JournalContext::JournalContext(const JournalFields& fields) : previous_(t_context) {
    t_context = &fields;
}

JournalContext::~JournalContext() {
    t_context = previous_;
}

}  // namespace portd::sys
