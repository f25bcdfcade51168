#include "sys/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace portd::sys {

std::optional<spdlog::level::level_enum> parse_level(const std::string& name) {
    static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
        {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
    };
    for (const auto& [text, level] : kLevels) {
        if (name == text) {
            return level;
        }
    }
    return std::nullopt;
}

void init_logging(spdlog::level::level_enum level) {
    auto logger = spdlog::stderr_color_mt("portd");
    // The logger name is the service (or "portd" for the daemon itself), so each line says
    // whose it is.
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5!l%$ [%n] %v");
    logger->set_level(level);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

std::shared_ptr<spdlog::logger> service_logger(const std::string& service) {
    auto base = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>(service, base->sinks().begin(),
                                                   base->sinks().end());
    logger->set_level(base->level());
    logger->flush_on(spdlog::level::info);
    return logger;
}

}  // namespace portd::sys
