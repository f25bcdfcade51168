#include "worker/module_check.hpp"

#include "worker/module_loader.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

namespace portd::worker {

namespace {

/// Swallows events: a checking service serves no connection.
class NoEvents : public EventLog {
public:
    void event(spdlog::level::level_enum, std::string_view, const tcp::endpoint&,
               const tcp::endpoint&, std::string_view,
               std::span<const EventField>) noexcept override {}
};

}  // namespace

std::vector<manifest::Diagnostic> to_diagnostics(const manifest::ServiceSpec& service,
                                                 const std::vector<ConfigProblem>& problems) {
    std::vector<manifest::Diagnostic> out;
    const std::string prefix = "services." + service.name + ".options";
    for (const auto& p : problems) {
        manifest::Diagnostic d;
        d.where = service.where;
        // yaml-cpp counts from 0 and marks "no position" with -1.
        if (p.mark.line >= 0) {
            d.where.line = p.mark.line + 1;
            d.where.column = p.mark.column + 1;
        }
        d.key = p.key.empty() ? prefix : prefix + "." + p.key;
        d.message = p.message;
        out.push_back(std::move(d));
    }
    return out;
}

ServiceCheck check_service_module(const manifest::ServiceSpec& service,
                                  const std::filesystem::path& modules_dir) {
    const auto module_key = "services." + service.name + ".module";
    try {
        const auto& info = load_module(module_path(modules_dir, service.module), service.module);
        ServiceContext context;
        context.name = service.name;
        context.options = service.options;
        context.base_dir = service.base_dir;
        context.log = std::make_shared<spdlog::logger>(
            service.name, std::make_shared<spdlog::sinks::null_sink_mt>());
        context.events = std::make_shared<NoEvents>();
        // The executor is never run: a checking module must start nothing.
        static net::io_context unused;
        context.executor = unused.get_executor();
        context.threads = service.threads;
        context.check_only = true;
        auto checked = info.create(std::move(context));
        ServiceCheck result;
        if (checked) {
            result.config_files = checked->config_files();
        }
        return result;
    } catch (const ModuleLoadError& e) {
        return {{{service.where, module_key, e.what()}}, {}};
    } catch (const ConfigError& e) {
        return {to_diagnostics(service, e.problems()), {}};
    } catch (const std::exception& e) {
        return {
            {{service.where, module_key,
              "module '" + service.module + "' failed while checking its options: " + e.what()}},
            {}};
    }
}

}  // namespace portd::worker
