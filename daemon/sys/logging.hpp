// One place that decides where log lines go and how they look.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>

namespace portd::sys {

/// "info" → spdlog level; nullopt for an unknown name.
std::optional<spdlog::level::level_enum> parse_level(const std::string& name);

/// Sets up the default logger ("portd") on stderr at `level`.
void init_logging(spdlog::level::level_enum level);

/// A logger for one service, sharing the default logger's sinks; its name is in every line.
std::shared_ptr<spdlog::logger> service_logger(const std::string& service);

}  // namespace portd::sys
