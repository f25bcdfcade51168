#include "sys/logging.hpp"

#include "sys/journald_sink.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace portd::sys {

namespace {

// What init_logging/set_target/set_level decided, for the loggers made afterwards.
struct State {
    std::mutex mutex;
    LogTarget target = LogTarget::standard_error;
    spdlog::level::level_enum level = spdlog::level::info;
    spdlog::sink_ptr stderr_sink;  // shared by the daemon and every service logger
};

State& state() {
    static State s;
    return s;
}

// The logger name is the service (or "portd" for the daemon itself), so each line says whose
// it is.
constexpr const char* kStderrPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5!l%$ [%n] %v";

spdlog::sink_ptr stderr_sink(State& s) {
    if (!s.stderr_sink) {
        s.stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        s.stderr_sink->set_pattern(kStderrPattern);
    }
    return s.stderr_sink;
}

std::shared_ptr<spdlog::logger> make_logger(State& s, const std::string& name,
                                            JournalFields fields) {
    spdlog::sink_ptr sink = s.target == LogTarget::journal
                                ? std::make_shared<JournaldSink>(std::move(fields))
                                : stderr_sink(s);
    auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
    logger->set_level(s.level);
    logger->flush_on(spdlog::level::info);
    return logger;
}

LogTarget retarget(State& s, std::string_view target) {
    const auto resolved = resolve_target(target);
    if (!resolved) {
        throw std::invalid_argument("unknown log target \"" + std::string(target) +
                                    "\" (auto, stderr, journal)");
    }
    s.target = *resolved;
    spdlog::set_default_logger(make_logger(s, "portd", {}));
    return s.target;
}

bool parse_number(std::string_view text, unsigned long long& out) {
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(const std::string& name) {
    static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
        {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
        {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
    };
    for (const auto& [text, level] : kLevels) {
        if (name == text) {
            return level;
        }
    }
    return std::nullopt;
}

bool journal_stream_matches(const char* journal_stream, dev_t dev, ino_t ino) {
    if (journal_stream == nullptr) {
        return false;
    }
    const std::string_view text(journal_stream);
    const auto colon = text.find(':');
    unsigned long long want_dev = 0;
    unsigned long long want_ino = 0;
    if (colon == std::string_view::npos || !parse_number(text.substr(0, colon), want_dev) ||
        !parse_number(text.substr(colon + 1), want_ino)) {
        return false;
    }
    return want_dev == static_cast<unsigned long long>(dev) &&
           want_ino == static_cast<unsigned long long>(ino);
}

bool stderr_is_journal() {
    // systemd sets JOURNAL_STREAM for the service's own stderr; a child whose stderr was
    // redirected elsewhere inherits the variable but no longer matches it.
    const char* env = std::getenv("JOURNAL_STREAM");
    if (env == nullptr) {
        return false;
    }
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    return journal_stream_matches(env, st.st_dev, st.st_ino);
}

std::optional<LogTarget> resolve_target(std::string_view setting) {
    if (setting == "auto") {
        return stderr_is_journal() ? LogTarget::journal : LogTarget::standard_error;
    }
    if (setting == "stderr") {
        return LogTarget::standard_error;
    }
    if (setting == "journal") {
        return LogTarget::journal;
    }
    return std::nullopt;
}

LogTarget init_logging(spdlog::level::level_enum level, std::string_view target) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.level = level;
    return retarget(s, target);
}

LogTarget set_target(std::string_view target) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    return retarget(s, target);
}

void set_level(spdlog::level::level_enum level) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.level = level;
    spdlog::default_logger()->set_level(level);
}

LogTarget current_target() {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    return s.target;
}

std::shared_ptr<spdlog::logger> service_logger(const std::string& service,
                                               const std::string& module) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    JournalFields fields{"PORTD_SERVICE=" + service};
    if (!module.empty()) {
        fields.push_back("PORTD_MODULE=" + module);
    }
    return make_logger(s, service, std::move(fields));
}

}  // namespace portd::sys
