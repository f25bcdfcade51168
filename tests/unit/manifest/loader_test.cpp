// The schema: defaults, typed values and the file:line:col and key of every error.
#include "manifest/loader.hpp"
#include "diagnostics_matchers.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace portd::manifest {
namespace {

using namespace std::chrono_literals;
using testing::has;
using testing::load;

TEST(Loader, FullExampleAndDefaults) {
    const auto r = load(R"(portd:
  modules_dir: /usr/lib/portd/modules
  control_socket: /run/portd/control.sock
  log: { level: debug, target: journal }
  shutdown_timeout: 5m
services:
  web:
    module: http
    listen: [ "0.0.0.0:80", "[::]:80" ]
    user: www-data
    group: www
    threads: 2
    backlog: 1024
    limits: { connections: 10000, per_source: 256, rate: 200/s, over_limit: refuse }
    allow: [ 0.0.0.0/0, "::/0" ]
    deny: [ 10.1.0.0/16 ]
    options:
      root: /srv/www
  small:
    module: inetd
    listen: "127.0.0.1:7"
)");
    ASSERT_TRUE(r.ok()) << testing::dump(r.errors);
    EXPECT_TRUE(r.warnings.empty()) << testing::dump(r.warnings);
    const auto& s = r.manifest.settings;
    EXPECT_EQ(s.modules_dir, "/usr/lib/portd/modules");
    EXPECT_EQ(s.control_socket, "/run/portd/control.sock");
    EXPECT_EQ(s.log_level, "debug");
    EXPECT_EQ(s.log_target, "journal");
    EXPECT_EQ(s.shutdown_timeout, 5min);
    ASSERT_EQ(r.manifest.services.size(), 2u);
    const auto& web = r.manifest.services[0];
    EXPECT_EQ(web.name, "web");
    EXPECT_EQ(web.module, "http");
    ASSERT_EQ(web.listen.size(), 2u);
    EXPECT_EQ(web.listen[1].key, "services.web.listen[1]");
    EXPECT_EQ(to_string(web.listen[1].where), "portd.yaml:9:29");
    EXPECT_EQ(web.user, "www-data");
    EXPECT_EQ(web.group, "www");
    EXPECT_EQ(web.threads, 2u);
    EXPECT_EQ(web.backlog, 1024);
    EXPECT_EQ(web.limits.connections, 10000u);
    EXPECT_EQ(web.limits.per_source, 256u);
    ASSERT_TRUE(web.limits.rate.has_value());
    EXPECT_EQ(web.limits.rate->count, 200u);
    EXPECT_EQ(web.limits.over_limit, OverLimit::refuse);
    ASSERT_EQ(web.allow.size(), 2u);
    EXPECT_EQ(web.allow[1].prefix, 0u);
    ASSERT_EQ(web.deny.size(), 1u);
    EXPECT_EQ(web.deny[0].prefix, 16u);
    EXPECT_EQ(web.options["root"].as<std::string>(), "/srv/www");
    EXPECT_EQ(to_string(web.where), "portd.yaml:7:3");
    EXPECT_EQ(web.base_dir, std::filesystem::current_path());

    const auto& small = r.manifest.services[1];
    ASSERT_EQ(small.listen.size(), 1u);
    EXPECT_EQ(small.listen[0].key, "services.small.listen");
    EXPECT_EQ(small.threads, 1u);
    EXPECT_EQ(small.backlog, 511);
    EXPECT_EQ(small.limits.connections, 0u);
    EXPECT_FALSE(small.limits.rate.has_value());
    EXPECT_EQ(small.limits.over_limit, OverLimit::defer);
    EXPECT_TRUE(small.user.empty());
    EXPECT_TRUE(small.allow.empty());
    EXPECT_FALSE(small.options.IsDefined() && !small.options.IsNull());
}

TEST(Loader, SettingsDefaults) {
    const auto r = load("services:\n  a: { module: inetd, listen: [\"127.0.0.1:7\"] }\n");
    ASSERT_TRUE(r.ok()) << testing::dump(r.errors);
    const auto& s = r.manifest.settings;
    EXPECT_EQ(s.modules_dir, PORTD_DEFAULT_MODULES_DIR);
    EXPECT_EQ(s.control_socket, "/run/portd/control.sock");
    EXPECT_EQ(s.log_level, "info");
    EXPECT_EQ(s.log_target, "auto");
    EXPECT_EQ(s.shutdown_timeout, 30s);
    EXPECT_EQ(r.manifest.files, std::vector<std::string>{"portd.yaml"});
}

TEST(Loader, RelativePathsStartAtTheManifestsDirectory) {
    const auto r = load_string(R"(portd:
  modules_dir: modules
  control_socket: ../run/control.sock
)",
                               "/srv/portd/etc/portd.yaml");
    EXPECT_EQ(r.manifest.settings.modules_dir, "/srv/portd/etc/modules");
    EXPECT_EQ(r.manifest.settings.control_socket, "/srv/portd/run/control.sock");
}

TEST(Loader, NoServicesIsAWarning) {
    const auto r = load("portd: { log: { level: warn } }\n");
    EXPECT_TRUE(r.ok()) << testing::dump(r.errors);
    EXPECT_TRUE(has(r.warnings, "portd.yaml: services: ", "no services"));
}

TEST(Loader, YamlSyntaxErrorHasAPosition) {
    const auto r = load("services:\n  web:\n    module: http\n   listen: [\"0.0.0.0:80\"\n");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:", "YAML syntax error"));
    const auto unclosed = load("services:\n  web: { module: http, listen: [\"0.0.0.0:80\" }\n");
    EXPECT_TRUE(has(unclosed.errors, "portd.yaml:2:", "YAML syntax error"));
}

TEST(Loader, SecondDocumentIsAnError) {
    const auto r =
        load("services:\n  a: { module: m, listen: [\"127.0.0.1:7\"] }\n---\nservices: {}\n");
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:1: ", "second YAML document"));
    EXPECT_EQ(r.errors.size(), 1u) << testing::dump(r.errors);
    EXPECT_EQ(r.manifest.services.size(), 1u);
}

TEST(Loader, UnknownKeysSuggestTheNearest) {
    const auto r = load(R"(portd:
  modules_dri: /x
  log: { levl: info }
servces: {}
services:
  web:
    modul: http
    module: http
    listen: ["0.0.0.0:80"]
    limits: { conections: 5, over_limt: refuse }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:2:3: portd.modules_dri: ", "did you mean 'modules_dir'"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:10: portd.log.levl: ", "did you mean 'level'"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:1: servces: ", "did you mean 'services'"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:7:5: services.web.modul: ", "did you mean 'module'"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:10:15: services.web.limits.conections: ",
                    "did you mean 'connections'"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:10:30: services.web.limits.over_limt: ",
                    "did you mean 'over_limit'"));
    EXPECT_EQ(r.errors.size(), 6u) << testing::dump(r.errors);
}

TEST(Loader, CollectsEveryErrorInFileOrder) {
    const auto r = load(R"(portd:
  shutdown_timeout: 30
  log: { level: loud, target: syslog }
services:
  a:
    module: http
    listen: ["0.0.0.0:0"]
    threads: 0
    backlog: 70000
  b:
    listen: []
    limits: { rate: 5, over_limit: drop, connections: -1 }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:2:21: portd.shutdown_timeout: ", "has no unit"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:17: portd.log.level: ", "not one of"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:31: portd.log.target: ", "auto, stderr, journal"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:7:14: services.a.listen[0]: ", "port 0"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:8:14: services.a.threads: ", "between 1 and 256"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:9:14: services.a.backlog: ", "between 1 and 65535"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:11:5: services.b.module: ", "is required"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:11:13: services.b.listen: ", "is empty"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:12:21: services.b.limits.rate: ", "count/interval"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:12:36: services.b.limits.over_limit: ", "defer, refuse"));
    EXPECT_TRUE(
        has(r.errors, "portd.yaml:12:55: services.b.limits.connections: ", "between 0 and"));
    EXPECT_EQ(r.errors.size(), 11u) << testing::dump(r.errors);
    for (std::size_t i = 1; i < r.errors.size(); ++i) {
        EXPECT_LE(r.errors[i - 1].where.line, r.errors[i].where.line);
    }
}

TEST(Loader, ServiceNames) {
    const auto r = load(R"(services:
  "web server": { module: http, listen: ["0.0.0.0:80"] }
  a234567890123456789012345678901234: { module: http, listen: ["0.0.0.0:81"] }
  ok_name-2: { module: http, listen: ["0.0.0.0:82"] }
  a2345678901234567890123456789012: { module: http, listen: ["0.0.0.0:83"] }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:2:3: services.web server: ", "letters, digits"));
    EXPECT_TRUE(has(r.errors,
                    "portd.yaml:3:3: services.a234567890123456789012345678901234: ", "at most 32"));
    EXPECT_EQ(r.errors.size(), 2u) << testing::dump(r.errors);
    const auto list_key = load("services:\n  ? [a, b]\n  : { module: m }\n");
    EXPECT_TRUE(has(list_key.errors, "portd.yaml:2:5: services.: ", "needs a name"));
    EXPECT_EQ(list_key.errors.size(), 1u) << testing::dump(list_key.errors);
}

TEST(Loader, ServiceDefinedTwiceNamesBothPlaces) {
    const auto r = load(R"(services:
  web: { module: http, listen: ["0.0.0.0:80"] }
  web: { module: http, listen: ["0.0.0.0:81"] }
)");
    EXPECT_TRUE(
        has(r.errors, "portd.yaml:3:3: services.web: ", "already defined at portd.yaml:2:3"));
}

TEST(Loader, KeyWrittenTwice) {
    const auto r = load(R"(services:
  web:
    module: http
    listen: ["0.0.0.0:80"]
    module: ftp
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:5: services.web.module: ", "first at portd.yaml:3:5"));
}

TEST(Loader, ModuleAndListenAreRequired) {
    const auto r = load(R"(services:
  web:
    user: www
  ftp:
    module: ../ftp.so
    listen:
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:5: services.web.module: ", "is required"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:5: services.web.listen: ", "is required"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:13: services.ftp.module: ", "not a module name"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:6:5: services.ftp.listen: ", "is empty"));
}

TEST(Loader, EmptyValuesPointAtTheirKey) {
    // yaml-cpp places an empty value where the next token starts, often on the next line.
    const auto r = load(R"(services:
  a:
    module: m
    listen: ["127.0.0.1:7"]
    threads:
  b: { module: m, listen: ["127.0.0.1:8"] }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:5: services.a.threads: ", "whole number"));
    EXPECT_EQ(r.errors.size(), 1u) << testing::dump(r.errors);
}

TEST(Loader, WrongShapes) {
    const auto r = load(R"(portd: [a]
services:
  web: http
  ftp:
    module: ftp
    listen: { a: b }
    limits: 5
    allow: { a: b }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:1:8: portd: ", "must be a mapping"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:8: services.web: ", "must be a mapping"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:6:13: services.ftp.listen: ", "must be a list"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:7:13: services.ftp.limits: ", "must be a mapping"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:8:12: services.ftp.allow: ", "must be a list"));
    const auto list = load("services: [ web ]\n");
    EXPECT_TRUE(has(list.errors, "portd.yaml:1:11: services: ", "must be a mapping"));
}

TEST(Loader, ListenErrorsCarryTheEntrysPlace) {
    const auto r = load(R"(services:
  web:
    module: http
    listen: [ "0.0.0.0:80", ":8080", "::1:8080", "0.0.0.0:65536", "0.0.0.0:http" ]
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:29: services.web.listen[1]: \":8080\" has no address",
                    "\"0.0.0.0:8080\""));
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:38: services.web.listen[2]: ", "\"[::1]:8080\""));
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:50: services.web.listen[3]: ", "out of range"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:4:67: services.web.listen[4]: ", "not a number"));
    EXPECT_EQ(r.errors.size(), 4u) << testing::dump(r.errors);
    ASSERT_EQ(r.manifest.services.size(), 1u);
    EXPECT_EQ(r.manifest.services[0].listen.size(), 1u);  // the good entry is kept
}

TEST(Loader, DynamicPortsWarn) {
    const auto r = load(R"(services:
  a: { module: inetd, listen: ["127.0.0.1:49151", "127.0.0.1:49152", "[::1]:65535"] }
)");
    EXPECT_TRUE(r.ok()) << testing::dump(r.errors);
    EXPECT_TRUE(has(r.warnings, "portd.yaml:2:51: services.a.listen[1]: ", "below 49152"));
    EXPECT_TRUE(has(r.warnings, "portd.yaml:2:70: services.a.listen[2]: ", "ephemeral"));
    EXPECT_EQ(r.warnings.size(), 2u) << testing::dump(r.warnings);
}

TEST(Loader, AllowAndDenyErrors) {
    const auto r = load(R"(services:
  a:
    module: inetd
    listen: ["127.0.0.1:7"]
    allow: [ 10.0.0.0/33, 10.1.2.3/8, nonsense, "::1/129" ]
    deny: 192.168.1.1/24
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:14: services.a.allow[0]: ", "0 to 32"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:27: services.a.allow[1]: ", "10.0.0.0/8"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:39: services.a.allow[2]: ", "not an IP address"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:5:49: services.a.allow[3]: ", "0 to 128"));
    EXPECT_TRUE(has(r.errors, "portd.yaml:6:11: services.a.deny: ", "192.168.1.0/24"));
    EXPECT_EQ(r.errors.size(), 5u) << testing::dump(r.errors);
}

TEST(Loader, PerSourceAboveConnectionsWarns) {
    const auto r = load(R"(services:
  a:
    module: inetd
    listen: ["127.0.0.1:7"]
    limits: { connections: 10, per_source: 20 }
)");
    EXPECT_TRUE(r.ok()) << testing::dump(r.errors);
    EXPECT_TRUE(has(r.warnings, "portd.yaml:5:44: services.a.limits.per_source: ", "never"));
}

TEST(Loader, ControlSocketPathTooLong) {
    const auto r = load("portd: { control_socket: /" + std::string(120, 'x') + " }\n");
    EXPECT_TRUE(has(r.errors, "portd.yaml:1:26: portd.control_socket: ", "at most 107"));
}

TEST(LoadFile, MissingFileIsAnError) {
    const auto r = load_file("does-not-exist/portd.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].where.file, "does-not-exist/portd.yaml");
    EXPECT_NE(r.errors[0].message.find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace portd::manifest
