#include "cli/check_command.hpp"

#include "manifest/loader.hpp"
#include "manifest/port_table.hpp"
#include "worker/module_check.hpp"

#include <ostream>

namespace portd::cli {

int run_check(const Options& options, std::ostream& out, std::ostream& err) {
    auto loaded = manifest::load_file(options.config);
    auto errors = loaded.errors;
    // A module can only check options that the manifest could parse; it still checks every
    // service that parsed, so one run shows every problem there is.
    if (!loaded.manifest.settings.modules_dir.empty()) {
        for (const auto& service : loaded.manifest.services) {
            if (service.module.empty()) {
                continue;
            }
            auto found = worker::check_service_module(service, loaded.manifest.settings.modules_dir)
                             .problems;
            errors.insert(errors.end(), found.begin(), found.end());
        }
    }
    for (const auto& warning : loaded.warnings) {
        err << "warning: " << manifest::to_string(warning) << '\n';
    }
    for (const auto& error : errors) {
        err << "error: " << manifest::to_string(error) << '\n';
    }
    if (!errors.empty()) {
        err << options.config << ": " << errors.size()
            << (errors.size() == 1 ? " error" : " errors") << ", nothing was changed\n";
        return 1;
    }
    out << manifest::format_port_table(manifest::port_table(loaded.manifest));
    std::size_t listeners = 0;
    for (const auto& service : loaded.manifest.services) {
        listeners += service.listen.size();
    }
    out << options.config << ": OK, " << loaded.manifest.services.size()
        << (loaded.manifest.services.size() == 1 ? " service, " : " services, ") << listeners
        << (listeners == 1 ? " listener" : " listeners");
    if (!loaded.warnings.empty()) {
        out << ", " << loaded.warnings.size()
            << (loaded.warnings.size() == 1 ? " warning" : " warnings");
    }
    out << '\n';
    return 0;
}

}  // namespace portd::cli
