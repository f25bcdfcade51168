// What a reload needs to know of the files a service's configuration is read from besides the
// manifest (Service::config_files): whether any of them changed since its worker started.
// The supervisor only reads their bytes; understanding them is module code's job.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portd::supervisor {

/// Each file with a digest of what it holds: its size and a hash of its bytes ("absent" when it
/// does not exist). Bytes, not times: a rewrite within one clock tick still shows, and a file
/// that configuration management rewrites with the same bytes costs no worker.
using ConfigFileStates = std::vector<std::pair<std::filesystem::path, std::string>>;

ConfigFileStates config_file_states(const std::vector<std::filesystem::path>& files);

/// The first file that differs between the two (added, removed or changed), if any.
std::optional<std::filesystem::path> first_changed_file(const ConfigFileStates& before,
                                                        const ConfigFileStates& after);

/// Per service.
using ServiceConfigFiles = std::map<std::string, ConfigFileStates>;

}  // namespace portd::supervisor
