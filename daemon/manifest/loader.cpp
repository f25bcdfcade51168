// The manifest loader. One Loader reads the main file, then each included file, then checks what
// spans files (duplicate names, overlapping listen addresses). It never stops at the first
// problem: an operator fixing a manifest wants the whole list at once.
#include "manifest/loader.hpp"

#include "manifest/listen_address.hpp"
#include "net/cidr.hpp"

#include <glob.h>
#include <sys/un.h>

#include <portd/options.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

namespace portd::manifest {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxServiceName = 32;

/// The file being read: its name as printed and the directory its relative paths start from.
struct FileContext {
    std::string name;
    fs::path base_dir;
};

SourceLocation location(const FileContext& file, const YAML::Mark& mark) {
    if (mark.line < 0) {
        return {file.name, 0, 0};
    }
    return {file.name, mark.line + 1, mark.column + 1};
}

bool is_service_name(std::string_view name) {
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

bool is_glob(std::string_view pattern) {
    return pattern.find_first_of("*?[") != std::string_view::npos;
}

std::string in_quotes(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string place(const Diagnostic& d) {
    return d.key + " (" + to_string(d.where) + ")";
}

/// A list written either as [a, b] or as a single value; each item with its key path.
struct ListItem {
    YAML::Node node;
    std::string key;
};

class Loader {
public:
    LoadResult run(std::string_view yaml, const std::string& file_name) {
        FileContext main{file_name, base_dir_of(file_name)};
        result_.manifest.files.push_back(file_name);
        main_file_ = main.base_dir / fs::path(file_name).filename();
        auto doc = parse(yaml, main);
        if (doc) {
            read_main(*doc, main);
        }
        check_listen_conflicts();
        if (result_.manifest.services.empty() && result_.errors.empty()) {
            warning({file_name, 0, 0}, "services",
                    "no services are defined: portd will start and listen on nothing");
        }
        sort_by_place(result_.errors);
        sort_by_place(result_.warnings);
        return std::move(result_);
    }

    void error(SourceLocation where, std::string key, std::string message) {
        result_.errors.push_back({std::move(where), std::move(key), std::move(message)});
    }

private:
    static fs::path base_dir_of(const std::string& file_name) {
        std::error_code ec;
        auto absolute = fs::absolute(fs::path(file_name.empty() ? "." : file_name), ec);
        if (ec) {
            absolute = fs::path(file_name);
        }
        return file_name.empty() ? absolute : absolute.parent_path();
    }

    void warning(SourceLocation where, std::string key, std::string message) {
        result_.warnings.push_back({std::move(where), std::move(key), std::move(message)});
    }

    void error(const FileContext& file, const YAML::Node& at, std::string key,
               std::string message) {
        error(location(file, at.Mark()), std::move(key), std::move(message));
    }

    /// Problems found by an OptionReader, with the file added. A problem without a position
    /// (an empty value has none) takes the position of the mapping's own key.
    /// An empty value (`listen:`) has the position of whatever follows it, often the next
    /// line, so problems with one point at its key instead.
    void take(OptionReader& reader, const FileContext& file, const YAML::Node& map,
              const YAML::Mark& fallback) {
        for (auto& p : reader.take_problems()) {
            auto mark = p.mark.line < 0 ? fallback : p.mark;
            if (map.IsMap()) {
                for (const auto& entry : map) {
                    if (entry.second.IsNull() && p.key == reader.key_path(entry.first.Scalar())) {
                        mark = entry.first.Mark();
                    }
                }
            }
            error(location(file, mark), std::move(p.key), std::move(p.message));
        }
    }

    static YAML::Mark key_mark(const YAML::Node& map, std::string_view key) {
        if (map.IsMap()) {
            for (const auto& entry : map) {
                if (entry.first.Scalar() == key) {
                    return entry.first.Mark();
                }
            }
        }
        return map.Mark();
    }

    std::optional<YAML::Node> parse(std::string_view yaml, const FileContext& file) {
        try {
            auto documents = YAML::LoadAll(std::string(yaml));
            if (documents.size() > 1) {
                // yaml-cpp's Load would silently keep only the first one.
                error(file, documents[1], "",
                      "a second YAML document starts here (after '---'), and portd reads only "
                      "one per file: merge them, or move services to an included file");
            }
            return documents.empty() ? YAML::Node() : documents.front();
        } catch (const YAML::ParserException& e) {
            error(location(file, e.mark), "",
                  "YAML syntax error: " + e.msg +
                      " (check indentation, and quote values that contain ': ' or start "
                      "with '[', '{', '*' or '&')");
        } catch (const YAML::Exception& e) {
            error(location(file, e.mark), "", "cannot read the YAML: " + e.msg);
        }
        return std::nullopt;
    }

    /// Keys written twice in one mapping: yaml-cpp keeps both and lookups see only the first.
    void check_duplicate_keys(const YAML::Node& map, const std::string& prefix,
                              const FileContext& file) {
        if (!map.IsMap()) {
            return;
        }
        std::map<std::string, YAML::Mark> seen;
        for (const auto& entry : map) {
            const auto key = entry.first.Scalar();
            const auto [it, fresh] = seen.emplace(key, entry.first.Mark());
            if (!fresh) {
                error(file, entry.first, prefix.empty() ? key : prefix + "." + key,
                      "is written twice in this mapping (first at " +
                          to_string(location(file, it->second)) + "): keep one of them");
            }
        }
    }

    std::vector<ListItem> list_items(const YAML::Node& n, const std::string& key,
                                     const FileContext& file, std::string_view example) {
        std::vector<ListItem> items;
        if (!n || n.IsNull()) {
            return items;
        }
        if (n.IsScalar()) {
            items.push_back({n, key});
            return items;
        }
        if (!n.IsSequence()) {
            error(file, n, key, "must be a list, e.g. " + std::string(example));
            return items;
        }
        for (std::size_t i = 0; i < n.size(); ++i) {
            const auto item_key = key + "[" + std::to_string(i) + "]";
            if (!n[i].IsScalar()) {
                error(
                    file, n[i], item_key,
                    "must be a single value, not a list or mapping, e.g. " + std::string(example));
                continue;
            }
            items.push_back({n[i], item_key});
        }
        return items;
    }

    void read_main(const YAML::Node& doc, const FileContext& file) {
        OptionReader root(doc, "");
        check_duplicate_keys(doc, "", file);
        auto includes = read_settings(root.node("portd"), file);
        read_services(root.node("services"), file);
        take(root, file, doc, doc.Mark());
        for (const auto& include : includes) {
            read_include(include, file);
        }
    }

    std::vector<ListItem> read_settings(const YAML::Node& node, const FileContext& file) {
        auto& s = result_.manifest.settings;
        OptionReader portd(node, "portd");
        check_duplicate_keys(node, "portd", file);
        s.modules_dir = portd.optional_path("modules_dir", file.base_dir)
                            .value_or(fs::path(PORTD_DEFAULT_MODULES_DIR));
        s.control_socket = portd.optional_path("control_socket", file.base_dir)
                               .value_or(fs::path("/run/portd/control.sock"));
        // sun_path holds 108 bytes with the terminating NUL; a longer path fails only at bind.
        constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
        if (s.control_socket.native().size() > kMaxSocketPath) {
            portd.problem_at("control_socket",
                             "'" + s.control_socket.native() + "' is " +
                                 std::to_string(s.control_socket.native().size()) +
                                 " bytes long; a unix socket path holds at most " +
                                 std::to_string(kMaxSocketPath) + ": choose a shorter path");
        }
        const auto log_node = portd.node("log");
        OptionReader log(log_node, "portd.log");
        check_duplicate_keys(log_node, "portd.log", file);
        s.log_level = log.choice("level", "info",
                                 {"trace", "debug", "info", "warn", "error", "critical", "off"});
        s.log_target = log.choice("target", "auto", {"auto", "stderr", "journal"});
        take(log, file, log_node, log_node ? log_node.Mark() : node.Mark());
        s.shutdown_timeout = portd.duration("shutdown_timeout", std::chrono::seconds(30));
        auto includes =
            list_items(portd.node("include"), "portd.include", file, "[ services.d/*.yaml ]");
        take(portd, file, node, node.Mark());
        return includes;
    }

    void read_services(const YAML::Node& services, const FileContext& file) {
        if (!services || services.IsNull()) {
            return;
        }
        if (!services.IsMap()) {
            error(file, services, "services",
                  "must be a mapping of service name to its settings, e.g. services: { web: { "
                  "module: http, listen: [\"0.0.0.0:80\"] } }");
            return;
        }
        // Names written twice are reported by read_service, which also sees other files.
        for (const auto& entry : services) {
            read_service(entry.first, entry.second, file);
        }
    }

    void read_service(const YAML::Node& key, const YAML::Node& value, const FileContext& file) {
        ServiceSpec spec;
        spec.name = key.Scalar();
        spec.base_dir = file.base_dir;
        spec.where = location(file, key.Mark());
        const std::string prefix = "services." + spec.name;
        check_service_name(spec, prefix);
        if (spec.name.empty()) {
            return;  // its other problems would only print as "services..module"
        }

        OptionReader r(value, prefix);
        check_duplicate_keys(value, prefix, file);
        spec.module =
            r.required_string("module",
                              "the module that serves it, e.g. module: http (loads http.so from "
                              "portd.modules_dir)");
        if (!spec.module.empty() && !is_service_name(spec.module)) {
            r.problem_at("module", "'" + spec.module +
                                       "' is not a module name: write just the name, e.g. "
                                       "http, and put the .so file in portd.modules_dir");
        }
        read_listen(r, value, spec, prefix, file);
        spec.user = r.string("user", "");
        spec.group = r.string("group", "");
        if (r.has("user") && spec.user.empty()) {
            r.problem_at("user", "is empty: name a user, or remove the key to keep portd's");
        }
        if (r.has("group") && spec.group.empty()) {
            r.problem_at("group",
                         "is empty: name a group, or remove the key to use the "
                         "user's primary group");
        }
        spec.threads = static_cast<unsigned>(r.integer("threads", 1, 1, 256));
        spec.backlog = static_cast<int>(r.integer("backlog", 511, 1, 65535));
        read_limits(r.node("limits"), spec, prefix, file);
        spec.allow = read_cidrs(r.node("allow"), prefix + ".allow", file);
        spec.deny = read_cidrs(r.node("deny"), prefix + ".deny", file);
        spec.options = r.has("options") ? r.node("options") : YAML::Node();
        take(r, file, value, key.Mark());

        const auto [it, fresh] = service_places_.emplace(spec.name, spec.where);
        if (!fresh) {
            error(spec.where, prefix,
                  "service '" + spec.name + "' is already defined at " + to_string(it->second) +
                      ": rename one of them");
        }
        result_.manifest.services.push_back(std::move(spec));
    }

    void check_service_name(const ServiceSpec& spec, const std::string& prefix) {
        if (spec.name.empty()) {
            error(spec.where, prefix, "a service needs a name: write e.g. web: under services:");
        } else if (!is_service_name(spec.name)) {
            error(spec.where, prefix,
                  "'" + spec.name +
                      "' is not a valid service name: use only letters, digits, '_' and '-' "
                      "(the name becomes a process title and a journal field)");
        } else if (spec.name.size() > kMaxServiceName) {
            error(spec.where, prefix,
                  "the service name is " + std::to_string(spec.name.size()) +
                      " characters long: use at most " + std::to_string(kMaxServiceName) +
                      " (the name becomes a process title and a journal field)");
        }
    }

    void read_listen(OptionReader& r, const YAML::Node& map, ServiceSpec& spec,
                     const std::string& prefix, const FileContext& file) {
        const std::string key = prefix + ".listen";
        constexpr std::string_view kExample = "listen: [ \"0.0.0.0:80\", \"[::]:80\" ]";
        if (!r.has("listen")) {
            r.problem_at("listen", "is required: the addresses to accept connections on, e.g. " +
                                       std::string(kExample) + ", or [ \"systemd:NAME\" ]");
            return;
        }
        const auto node = r.node("listen");
        const auto items = list_items(node, key, file, kExample);
        if (items.empty() && (node.IsNull() || (node.IsSequence() && node.size() == 0))) {
            const auto at = node.IsNull() ? key_mark(map, "listen") : node.Mark();
            error(location(file, at), key,
                  "is empty: list at least one address, e.g. " + std::string(kExample));
        }
        for (const auto& item : items) {
            auto parsed = parse_listen(item.node.Scalar());
            if (auto* message = std::get_if<std::string>(&parsed)) {
                error(file, item.node, item.key, in_quotes(item.node.Scalar()) + " " + *message);
                continue;
            }
            auto listen = std::get<ListenSpec>(std::move(parsed));
            listen.key = item.key;
            listen.where = location(file, item.node.Mark());
            if (listen.kind == ListenSpec::Kind::address &&
                classify_port(listen.port) == PortRange::dynamic) {
                warning(listen.where, listen.key,
                        "port " + std::to_string(listen.port) +
                            " is in the dynamic range 49152-65535, from which clients draw "
                            "their ephemeral ports: an outgoing connection may hold it and "
                            "make the bind fail; choose a port below 49152");
            }
            spec.listen.push_back(std::move(listen));
        }
    }

    void read_limits(const YAML::Node& node, ServiceSpec& spec, const std::string& prefix,
                     const FileContext& file) {
        const auto key = prefix + ".limits";
        OptionReader r(node, key);
        check_duplicate_keys(node, key, file);
        constexpr std::int64_t kMaxCount = 1'000'000'000;
        auto& limits = spec.limits;
        limits.connections = static_cast<std::uint64_t>(r.integer("connections", 0, 0, kMaxCount));
        limits.per_source = static_cast<std::uint64_t>(r.integer("per_source", 0, 0, kMaxCount));
        limits.rate = r.rate("rate");
        limits.over_limit = r.choice("over_limit", "defer", {"defer", "refuse"}) == "refuse"
                                ? OverLimit::refuse
                                : OverLimit::defer;
        if (limits.connections != 0 && limits.per_source > limits.connections) {
            const auto at = r.node("per_source");
            warning(location(file, at.Mark()), key + ".per_source",
                    "is larger than connections (" + std::to_string(limits.connections) +
                        "), so it never applies: lower it or raise connections");
        }
        take(r, file, node, node ? node.Mark() : YAML::Mark::null_mark());
    }

    std::vector<Cidr> read_cidrs(const YAML::Node& node, const std::string& key,
                                 const FileContext& file) {
        std::vector<Cidr> out;
        for (const auto& item : list_items(node, key, file, "[ 10.0.0.0/8, \"::1\" ]")) {
            auto parsed = network::parse_cidr(item.node.Scalar());
            if (auto* message = std::get_if<std::string>(&parsed)) {
                error(file, item.node, item.key, in_quotes(item.node.Scalar()) + " " + *message);
                continue;
            }
            out.push_back(std::get<Cidr>(std::move(parsed)));
        }
        return out;
    }

    void read_include(const ListItem& include, const FileContext& from) {
        const auto& text = include.node.Scalar();
        if (text.empty()) {
            error(from, include.node, include.key,
                  "is empty: write a file or a glob, e.g. services.d/*.yaml");
            return;
        }
        fs::path pattern(text);
        if (pattern.is_relative()) {
            pattern = (from.base_dir / pattern).lexically_normal();
        }
        std::vector<fs::path> files;
        if (is_glob(text)) {
            glob_t matches{};
            const int rc = ::glob(pattern.c_str(), 0, nullptr, &matches);
            if (rc == 0) {
                for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
                    fs::path match(matches.gl_pathv[i]);
                    std::error_code ec;
                    // A glob such as services.d/* may also see directories or the main file.
                    if (fs::is_regular_file(match, ec) && !fs::equivalent(match, main_file_, ec)) {
                        files.push_back(match);
                    }
                }
            } else if (rc != GLOB_NOMATCH) {
                error(from, include.node, include.key,
                      "cannot list the files matching '" + pattern.native() + "'");
            }
            globfree(&matches);
        } else {
            std::error_code ec;
            const auto status = fs::status(pattern, ec);
            if (!fs::exists(status)) {
                error(from, include.node, include.key,
                      "'" + pattern.native() +
                          "' does not exist: fix the path, or use a glob such as "
                          "services.d/*.yaml, which may match no file");
                return;
            }
            if (fs::is_directory(status)) {
                error(from, include.node, include.key,
                      "'" + pattern.native() + "' is a directory: include its files with " +
                          in_quotes(text + (text.ends_with('/') ? "" : "/") + "*.yaml"));
                return;
            }
            files.push_back(pattern);
        }
        for (const auto& path : files) {
            std::error_code ec;
            auto canonical = fs::weakly_canonical(path, ec);
            if (!included_.insert(ec ? path : canonical).second) {
                continue;  // two globs that overlap: one file, read once
            }
            read_included_file(path, include, from);
        }
    }

    void read_included_file(const fs::path& path, const ListItem& include,
                            const FileContext& from) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) {
            error(from, include.node, include.key,
                  "cannot read '" + path.native() + "' (check its permissions)");
            return;
        }
        FileContext file{path.native(), path.parent_path()};
        result_.manifest.files.push_back(file.name);
        auto doc = parse(text.str(), file);
        if (!doc) {
            return;
        }
        OptionReader root(*doc, "");
        check_duplicate_keys(*doc, "", file);
        if (root.has("portd")) {
            error(file, (*doc)["portd"], "portd",
                  "only the main manifest (" + result_.manifest.files.front() +
                      ") may set portd:, included files hold only services:; move these "
                      "settings there");
        }
        read_services(root.node("services"), file);
        take(root, file, *doc, doc->Mark());
    }

    void check_listen_conflicts() {
        struct Seen {
            const ListenSpec* listen;
            const ServiceSpec* service;
        };
        std::vector<Seen> seen;
        for (const auto& service : result_.manifest.services) {
            for (const auto& listen : service.listen) {
                for (const auto& other : seen) {
                    if (auto message = conflict(listen, service, *other.listen, *other.service)) {
                        error(listen.where, listen.key, *message);
                        break;
                    }
                }
                seen.push_back({&listen, &service});
            }
        }
    }

    static std::optional<std::string> conflict(const ListenSpec& a, const ServiceSpec& a_service,
                                               const ListenSpec& b, const ServiceSpec& b_service) {
        const Diagnostic other{b.where, b.key, ""};
        const bool same_service = &a_service == &b_service;
        if (a.kind != b.kind) {
            return std::nullopt;
        }
        if (a.kind == ListenSpec::Kind::systemd) {
            if (a.systemd_name != b.systemd_name) {
                return std::nullopt;
            }
            if (same_service) {
                return in_quotes(a.text) + " is listed twice, also at " + place(other) +
                       ": remove one";
            }
            return in_quotes(a.text) + " is already the socket of service '" + b_service.name +
                   "' at " + place(other) +
                   ": a socket-activated fd serves one service; give each its own socket unit";
        }
        const auto x = network::unmapped(a.address);
        const auto y = network::unmapped(b.address);
        // v6 sockets are bound with IPV6_V6ONLY, so the two families never share a port.
        if (a.port != b.port || x.is_v4() != y.is_v4()) {
            return std::nullopt;
        }
        const auto a_text = to_string(a);
        const auto b_text = to_string(b);
        if (x == y) {
            std::string message = in_quotes(a_text);
            if (a.address != b.address) {
                message += " is the same address as " + in_quotes(b_text) + ", and";
            }
            if (same_service) {
                return message + " is listed twice, also at " + place(other) + ": remove one";
            }
            return message + " is already taken by service '" + b_service.name + "' at " +
                   place(other) + ": give one of them another port";
        }
        if (!x.is_unspecified() && !y.is_unspecified()) {
            return std::nullopt;
        }
        const auto& wildcard = x.is_unspecified() ? a_text : b_text;
        const std::string owner =
            same_service ? "this service" : "service '" + b_service.name + "'";
        return in_quotes(a_text) + " overlaps " + in_quotes(b_text) + " of " + owner + " at " +
               place(other) + ": " + in_quotes(wildcard) + " takes port " + std::to_string(a.port) +
               " on every " + (x.is_v4() ? "IPv4" : "IPv6") +
               " address, so both cannot bind; use another port, or list specific addresses "
               "instead of the wildcard";
    }

    void sort_by_place(std::vector<Diagnostic>& list) const {
        const auto& files = result_.manifest.files;
        auto index = [&files](const std::string& name) {
            return std::find(files.begin(), files.end(), name) - files.begin();
        };
        std::stable_sort(list.begin(), list.end(), [&](const Diagnostic& a, const Diagnostic& b) {
            return std::tuple(index(a.where.file), a.where.line, a.where.column) <
                   std::tuple(index(b.where.file), b.where.line, b.where.column);
        });
    }

    LoadResult result_;
    fs::path main_file_;
    std::map<std::string, SourceLocation> service_places_;
    std::set<fs::path> included_;
};

}  // namespace

LoadResult load_string(std::string_view yaml, const std::string& file_name) {
    return Loader().run(yaml, file_name);
}

LoadResult load_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    std::string problem;
    if (!fs::exists(status)) {
        problem =
            "does not exist: write the manifest there, or name another one (the default "
            "is " PORTD_DEFAULT_MANIFEST ")";
    } else if (fs::is_directory(status)) {
        problem = "is a directory: name the manifest file, e.g. portd.yaml";
    }
    std::ostringstream text;
    if (problem.empty()) {
        std::ifstream in(path, std::ios::binary);
        text << in.rdbuf();
        if (!in) {
            problem = "cannot be read: check its permissions";
        }
    }
    if (!problem.empty()) {
        LoadResult result;
        result.manifest.files.push_back(path.native());
        result.errors.push_back({{path.native(), 0, 0}, "", problem});
        return result;
    }
    return load_string(text.str(), path.native());
}

}  // namespace portd::manifest
