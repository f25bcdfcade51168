// Module options are checked by module code, and the supervisor never runs module code: it
// forks a short-lived child that loads each module, lets it check its options, reports and
// exits. A module that crashes while checking costs that child, not the supervisor.
#pragma once

#include "manifest/manifest.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace portd::supervisor {

struct ModulesCheck {
    /// Every problem the modules find with their options (or loading), in manifest form.
    std::vector<manifest::Diagnostic> problems;
    /// Per service, the files its configuration is read from besides the manifest.
    std::map<std::string, std::vector<std::filesystem::path>> config_files;
};

ModulesCheck check_modules_in_child(const manifest::Manifest& manifest);

}  // namespace portd::supervisor
