// Loads a module's shared object and checks it is a portd module of this ABI before anything
// of it runs (Kea's hooks and nginx's module signature: refuse cleanly, never crash).
#pragma once

#include <portd/module.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace portd::worker {

/// Why a module could not be used; what() names the file and says what to do.
class ModuleLoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The path of module `name` in `modules_dir`: "<dir>/<name>.so".
std::filesystem::path module_path(const std::filesystem::path& modules_dir,
                                  const std::string& name);

/// dlopen(RTLD_NOW | RTLD_LOCAL), find portd_module_info, check ABI version, ABI signature and
/// name. The library is never unloaded: Asio's GNU-unique symbols pin it anyway, and a module
/// is only ever replaced by starting a new process.
const ModuleInfo& load_module(const std::filesystem::path& path, const std::string& expected_name);

}  // namespace portd::worker
