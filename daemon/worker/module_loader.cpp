#include "worker/module_loader.hpp"

#include <dlfcn.h>

#include <cstring>

namespace portd::worker {

namespace {

using EntryPoint = const ModuleInfo* (*)() noexcept;

std::string quoted(const std::filesystem::path& path) {
    return "'" + path.string() + "'";
}

}  // namespace

std::filesystem::path module_path(const std::filesystem::path& modules_dir,
                                  const std::string& name) {
    return modules_dir / (name + ".so");
}

const ModuleInfo& load_module(const std::filesystem::path& path, const std::string& expected_name) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw ModuleLoadError("module " + quoted(path) + " does not exist: check `module: " +
                              expected_name + "` and `modules_dir` in the manifest");
    }
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw ModuleLoadError("module " + quoted(path) + " is not a regular file");
    }

    // RTLD_NOW: an unresolved symbol is an error here, naming the symbol, not a crash at the
    // first connection. RTLD_LOCAL: modules cannot see each other's symbols.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        throw ModuleLoadError("cannot load module " + quoted(path) + ": " +
                              (why != nullptr ? why : "unknown dlopen error"));
    }
    dlerror();
    void* symbol = dlsym(handle, kEntryPointSymbol);
    if (symbol == nullptr) {
        throw ModuleLoadError(quoted(path) + " is not a portd module: it does not export " +
                              std::string(kEntryPointSymbol) + "() (end the module with " +
                              "PORTD_MODULE(info))");
    }
    // POSIX guarantees a data pointer from dlsym converts to a function pointer.
    EntryPoint entry = nullptr;
    static_assert(sizeof(entry) == sizeof(symbol));
    std::memcpy(&entry, &symbol, sizeof(entry));
    const ModuleInfo* info = entry();
    if (info == nullptr) {
        throw ModuleLoadError("module " + quoted(path) + " returned no module descriptor");
    }
    // Only the first two fields are read before the version is known to match.
    if (info->abi_version != kAbiVersion) {
        throw ModuleLoadError("module " + quoted(path) + " has ABI version " +
                              std::to_string(info->abi_version) + ", this portd expects " +
                              std::to_string(kAbiVersion) +
                              ": rebuild the module against this portd's SDK headers");
    }
    if (info->abi_signature == nullptr ||
        std::strcmp(info->abi_signature, PORTD_ABI_SIGNATURE) != 0) {
        throw ModuleLoadError(
            "module " + quoted(path) + " was built with [" +
            (info->abi_signature != nullptr ? info->abi_signature : "no signature") +
            "], this portd with [" PORTD_ABI_SIGNATURE "]: not binary compatible, rebuild it");
    }
    if (info->name == nullptr || expected_name != info->name) {
        throw ModuleLoadError("module " + quoted(path) + " calls itself '" +
                              (info->name != nullptr ? info->name : "") + "', but the manifest " +
                              "asked for '" + expected_name + "'");
    }
    if (info->create == nullptr) {
        throw ModuleLoadError("module " + quoted(path) + " has no create() function");
    }
    return *info;
}

}  // namespace portd::worker
