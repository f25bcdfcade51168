// What a reload changes: old manifest vs new → which services keep their worker, which get a
// new one, which start and which stop. Pure, so every case is a unit test.
#pragma once

#include "manifest/manifest.hpp"
#include "supervisor/config_file_state.hpp"

#include <string>
#include <vector>

namespace portd::supervisor {

struct ReloadPlan {
    std::vector<std::string> keep;     // identical: the worker (and its pid) stays
    std::vector<std::string> replace;  // changed: a new worker on the same sockets, old drains
    std::vector<std::string> start;    // new services
    std::vector<std::string> stop;     // services no longer in the manifest
};

/// Whether a service's worker must be replaced to apply `after` (anything it was started with
/// differs: module, options, listeners, user, threads, limits, ...).
bool same_service(const manifest::ServiceSpec& before, const manifest::ServiceSpec& after,
                  const manifest::Settings& settings_before,
                  const manifest::Settings& settings_after);

ReloadPlan plan_reload(const manifest::Manifest& before, const manifest::Manifest& after);

/// Moves to `replace` every service the plan keeps whose configuration files changed between
/// `before` (when its worker started) and `after` (now). Returns each moved service with the
/// file that changed, for the log.
std::vector<std::pair<std::string, std::filesystem::path>> replace_where_config_files_changed(
    ReloadPlan& plan, const ServiceConfigFiles& before, const ServiceConfigFiles& after);

/// The key a listener is shared by across reloads: "127.0.0.1:80", "[::]:80", "systemd:web".
std::string listener_key(const manifest::ListenSpec& spec);

}  // namespace portd::supervisor
