#include "ftp/config.hpp"

#include <portd/options.hpp>

#include <cstring>

namespace portd::ftp {

namespace {

namespace fs = std::filesystem;

bool directory_exists(const fs::path& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

void parse_address_option(OptionReader& opts, FtpConfig& config) {
    if (auto text = opts.optional_string("passive_address")) {
        boost::system::error_code ec;
        const auto address = net::ip::make_address(*text, ec);
        if (ec || !normalize(address).is_v4()) {
            opts.problem_at("passive_address",
                            "'" + *text +
                                "' is not an IPv4 address (PASV can only advertise IPv4; "
                                "EPSV needs no address)");
        } else {
            config.passive_address = normalize(address);
        }
    }
    const auto map = opts.node("passive_address_map");
    if (!map) {
        return;
    }
    if (!map.IsMap()) {
        opts.problem(map, opts.key_path("passive_address_map"),
                     "must be a mapping of client network to address, e.g. "
                     "{ \"10.0.0.0/8\": 10.0.0.5 }");
        return;
    }
    for (const auto& entry : map) {
        const auto key = entry.first.Scalar();
        const auto where = opts.key_path("passive_address_map") + "." + key;
        const auto cidr = parse_cidr(key);
        if (!cidr) {
            opts.problem(entry.first, where, "'" + key + "' is not a network such as 10.0.0.0/8");
            continue;
        }
        boost::system::error_code ec;
        const auto address =
            entry.second.IsScalar() ? net::ip::make_address(entry.second.Scalar(), ec) : Address{};
        if (!entry.second.IsScalar() || ec || !normalize(address).is_v4()) {
            opts.problem(entry.second, where, "must be the IPv4 address to advertise");
            continue;
        }
        config.passive_address_map.emplace_back(*cidr, normalize(address));
    }
}

std::vector<UserEntry> read_users(OptionReader& opts, const fs::path& file,
                                  FileIdentity& identity) {
    auto snapshot = read_users_file(file);
    if (snapshot.error != 0) {
        opts.problem_at("users_file",
                        "cannot read " + file.string() + ": " + std::strerror(snapshot.error));
        return {};
    }
    identity = snapshot.identity;
    for (const auto& p : snapshot.problems) {
        opts.problem_at("users_file",
                        file.string() + ":" + std::to_string(p.line) + ": " + p.message);
    }
    for (const auto& user : snapshot.users) {
        if (!directory_exists(user.home)) {
            opts.problem_at("users_file", file.string() + ": the home of '" + user.name + "', " +
                                              user.home.string() + ", is not a directory");
        }
    }
    return std::move(snapshot.users);
}

}  // namespace

FtpConfig load_config(const ServiceContext& context, Authorizer& authorizer) {
    OptionReader opts(context.options);
    FtpConfig config;
    const auto anonymous = opts.choice("anonymous", "off", {"off", "read-only", "upload"});
    config.anonymous = anonymous == "read-only" ? AnonymousMode::read_only
                       : anonymous == "upload"  ? AnonymousMode::upload
                                                : AnonymousMode::off;
    if (auto root = opts.optional_path("root", context.base_dir)) {
        config.anonymous_root = *root;
        if (!directory_exists(*root)) {
            opts.problem_at("root", root->string() + " is not a directory");
        }
    } else if (config.anonymous != AnonymousMode::off) {
        opts.problem_at("root", "is required when anonymous is " + anonymous +
                                    ": the directory anonymous users see as /");
    }
    config.users_file = opts.optional_path("users_file", context.base_dir);
    std::vector<UserEntry> users;
    if (config.users_file) {
        users = read_users(opts, *config.users_file, config.users_file_identity);
    }
    // A misspelt anonymous value is reported once, by choice(), not again here.
    std::string spelt = "off";
    if (context.options.IsMap()) {
        // IsDefined first: yaml-cpp throws when asked anything else about an absent key.
        const auto node = context.options["anonymous"];
        if (node.IsDefined() && node.IsScalar()) {
            spelt = node.Scalar();
        }
    }
    if (config.anonymous == AnonymousMode::off && spelt == "off" && !config.users_file) {
        opts.problem_at("anonymous",
                        "nobody can log in: set anonymous: read-only|upload (with "
                        "root) or users_file");
    }
    if (auto range = opts.optional_string("passive_ports")) {
        if (auto parsed = parse_port_range(*range)) {
            config.passive_low = parsed->first;
            config.passive_high = parsed->second;
        } else {
            opts.problem_at("passive_ports", "'" + *range +
                                                 "' is not a port range LOW-HIGH with "
                                                 "1024 <= LOW <= HIGH <= 65535, e.g. 50000-50100");
        }
    }
    parse_address_option(opts, config);
    config.active_mode = opts.boolean("active_mode", true);
    config.idle_timeout = opts.duration("idle_timeout", config.idle_timeout);
    config.data_timeout = opts.duration("data_timeout", config.data_timeout);
    for (auto* timeout : {&config.idle_timeout, &config.data_timeout}) {
        if (timeout->count() <= 0) {
            *timeout = std::chrono::seconds(1);
        }
    }
    config.max_sessions = static_cast<std::uint64_t>(opts.integer("max_sessions", 0, 0, 1'000'000));
    config.max_per_source =
        static_cast<std::uint64_t>(opts.integer("max_per_source", 0, 0, 1'000'000));
    config.upload_rate = opts.size("upload_rate", 0);
    config.download_rate = opts.size("download_rate", 0);
    config.max_login_failures =
        static_cast<std::uint64_t>(opts.integer("max_login_failures", 3, 1, 1000));
    config.login_failure_delay = opts.duration("login_failure_delay", config.login_failure_delay);
    config.xferlog = opts.optional_path("xferlog", context.base_dir);
    if (config.xferlog && !directory_exists(config.xferlog->parent_path())) {
        opts.problem_at("xferlog", "the directory " + config.xferlog->parent_path().string() +
                                       " does not exist");
    }
    config.banner = opts.string("banner", config.banner);
    if (config.banner.find_first_of("\r\n") != std::string::npos) {
        opts.problem_at("banner", "must be one line");
    }
    opts.finish();
    authorizer = Authorizer(config.anonymous, config.anonymous_root, std::move(users));
    return config;
}

}  // namespace portd::ftp
