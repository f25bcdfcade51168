// One place that decides where log lines go and how they look: the journal (with structured
// fields) under systemd, stderr (with the service name in each line) by hand.
#pragma once

#include <spdlog/logger.h>

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portd::sys {

enum class LogTarget { standard_error, journal };

/// "info" → spdlog level; nullopt for an unknown name.
std::optional<spdlog::level::level_enum> parse_level(const std::string& name);

/// True when JOURNAL_STREAM ("<dev>:<ino>", decimal) names the file with this device and inode,
/// which is how systemd says "your stderr is connected to the journal". Pure, for tests.
bool journal_stream_matches(const char* journal_stream, dev_t dev, ino_t ino);

/// journal_stream_matches() for this process's JOURNAL_STREAM and fstat(2) of stderr.
bool stderr_is_journal();

/// The manifest's `log.target`: "auto" (journal when stderr_is_journal()), "stderr" or
/// "journal". nullopt for anything else.
std::optional<LogTarget> resolve_target(std::string_view setting);

/// Sets up the default logger ("portd") at `level`, on `target` ("auto", "stderr", "journal").
/// Can be called again. Throws std::invalid_argument for an unknown target.
LogTarget init_logging(spdlog::level::level_enum level, std::string_view target = "auto");

/// Re-targets the default logger after the manifest's `log.target` is read, keeping its level.
/// Call before other threads log: loggers made earlier keep their old sinks.
LogTarget set_target(std::string_view target);

/// Changes the level of the default logger and of every service logger made from now on.
void set_level(spdlog::level::level_enum level);

/// Where logging goes now.
LogTarget current_target();

/// A logger for one service. Journal: its own sink adding PORTD_SERVICE= and PORTD_MODULE=
/// (omitted when `module` is empty) to each record. stderr: the shared sink, and the logger's
/// name is the service, so each line says whose it is.
std::shared_ptr<spdlog::logger> service_logger(const std::string& service,
                                               const std::string& module = {});

}  // namespace portd::sys
