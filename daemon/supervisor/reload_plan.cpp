#include "supervisor/reload_plan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace portd::supervisor {

namespace {

std::string dump(const YAML::Node& node) {
    if (!node || node.IsNull()) {
        return {};
    }
    YAML::Emitter out;
    out << node;
    return out.c_str();
}

std::vector<std::string> keys(const std::vector<manifest::ListenSpec>& listen) {
    std::vector<std::string> out;
    for (const auto& l : listen) {
        out.push_back(listener_key(l));
    }
    return out;
}

std::vector<std::string> cidrs(const std::vector<manifest::Cidr>& list) {
    std::vector<std::string> out;
    for (const auto& c : list) {
        out.push_back(c.network.to_string() + "/" + std::to_string(c.prefix));
    }
    return out;
}

bool same_limits(const manifest::Limits& a, const manifest::Limits& b) {
    return a.connections == b.connections && a.per_source == b.per_source && a.rate == b.rate &&
           a.over_limit == b.over_limit;
}

const manifest::ServiceSpec* find(const manifest::Manifest& m, const std::string& name) {
    for (const auto& s : m.services) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

}  // namespace

std::string listener_key(const manifest::ListenSpec& spec) {
    if (spec.kind == manifest::ListenSpec::Kind::systemd) {
        return "systemd:" + spec.systemd_name;
    }
    const auto address = spec.address.to_string();
    return (spec.address.is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(spec.port);
}

bool same_service(const manifest::ServiceSpec& a, const manifest::ServiceSpec& b,
                  const manifest::Settings& settings_a, const manifest::Settings& settings_b) {
    // Settings a worker was started with count too: a new modules_dir means a new module file,
    // a new shutdown_timeout is the worker's own drain deadline, the log level its own.
    return a.module == b.module && keys(a.listen) == keys(b.listen) && a.user == b.user &&
           a.group == b.group && a.threads == b.threads && a.backlog == b.backlog &&
           same_limits(a.limits, b.limits) && cidrs(a.allow) == cidrs(b.allow) &&
           cidrs(a.deny) == cidrs(b.deny) && dump(a.options) == dump(b.options) &&
           a.base_dir == b.base_dir && settings_a.modules_dir == settings_b.modules_dir &&
           settings_a.shutdown_timeout == settings_b.shutdown_timeout &&
           settings_a.log_level == settings_b.log_level &&
           settings_a.log_target == settings_b.log_target;
}

ReloadPlan plan_reload(const manifest::Manifest& before, const manifest::Manifest& after) {
    ReloadPlan plan;
    for (const auto& service : after.services) {
        const auto* old = find(before, service.name);
        if (old == nullptr) {
            plan.start.push_back(service.name);
        } else if (same_service(*old, service, before.settings, after.settings)) {
            plan.keep.push_back(service.name);
        } else {
            plan.replace.push_back(service.name);
        }
    }
    for (const auto& service : before.services) {
        if (find(after, service.name) == nullptr) {
            plan.stop.push_back(service.name);
        }
    }
    return plan;
}

std::vector<std::pair<std::string, std::filesystem::path>> replace_where_config_files_changed(
    ReloadPlan& plan, const ServiceConfigFiles& before, const ServiceConfigFiles& after) {
    static const ConfigFileStates kNone;
    const auto states = [](const ServiceConfigFiles& all,
                           const std::string& name) -> const ConfigFileStates& {
        auto it = all.find(name);
        return it == all.end() ? kNone : it->second;
    };
    std::vector<std::pair<std::string, std::filesystem::path>> moved;
    std::vector<std::string> kept;
    for (auto& name : plan.keep) {
        if (auto file = first_changed_file(states(before, name), states(after, name))) {
            moved.emplace_back(name, *file);
            plan.replace.push_back(std::move(name));
        } else {
            kept.push_back(std::move(name));
        }
    }
    plan.keep = std::move(kept);
    return moved;
}

}  // namespace portd::supervisor
