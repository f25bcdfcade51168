// Loads a service's module and lets it validate its options without starting anything:
// what `portd --check` does for every service.
#pragma once

#include <portd/module.hpp>

#include "manifest/manifest.hpp"

#include <filesystem>
#include <vector>

namespace portd::worker {

struct ServiceCheck {
    /// Every problem the module finds, as manifest diagnostics (file:line:col, key path,
    /// message). Empty when the module loads and accepts its options.
    std::vector<manifest::Diagnostic> problems;
    /// The files its configuration is read from besides the manifest (Service::config_files).
    std::vector<std::filesystem::path> config_files;
};

ServiceCheck check_service_module(const manifest::ServiceSpec& service,
                                  const std::filesystem::path& modules_dir);

/// A module's ConfigError as diagnostics: positions made 1-based, keys made full paths.
std::vector<manifest::Diagnostic> to_diagnostics(const manifest::ServiceSpec& service,
                                                 const std::vector<ConfigProblem>& problems);

}  // namespace portd::worker
