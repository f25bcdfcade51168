// What every connection of one service shares: configuration, files, log, registry. Held by
// shared_ptr from each connection, so it outlives the last handler.
#pragma once

#include "http/access_log.hpp"
#include "http/config.hpp"
#include "http/connection_registry.hpp"
#include "http/static_files.hpp"

#include <portd/module.hpp>

#include <memory>

namespace portd::http {

struct ServiceState {
    ServiceState(HttpConfig config_in, MimeTypes mime, std::shared_ptr<spdlog::logger> log_in,
                 std::shared_ptr<EventLog> events)
        : config(std::move(config_in)),
          files(config, std::move(mime)),
          access_log(config.access_log, std::move(events)),
          log(std::move(log_in)) {}

    const HttpConfig config;
    const StaticFiles files;
    AccessLog access_log;
    ConnectionRegistry registry;
    std::shared_ptr<spdlog::logger> log;
};

}  // namespace portd::http
