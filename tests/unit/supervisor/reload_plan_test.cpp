// What a reload does to each service: keep its worker, replace it, start or stop one.
#include "supervisor/reload_plan.hpp"
#include "manifest/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace portd::supervisor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

manifest::Manifest parse(const std::string& services, const std::string& settings = {}) {
    const std::string text =
        "portd:\n  modules_dir: /nonexistent\n" + settings + "services:\n" + services;
    auto loaded = manifest::load_string(text, "/etc/portd/portd.yaml");
    EXPECT_THAT(loaded.errors, IsEmpty()) << text;
    return loaded.manifest;
}

const std::string kEcho =
    "  echo:\n    module: inetd\n    listen: [\"127.0.0.1:7007\"]\n"
    "    options: { service: echo }\n";
const std::string kDaytime =
    "  daytime:\n    module: inetd\n    listen: [\"127.0.0.1:7013\"]\n"
    "    options: { service: daytime }\n";

TEST(ReloadPlan, AnIdenticalManifestKeepsEveryWorker) {
    const auto plan = plan_reload(parse(kEcho + kDaytime), parse(kEcho + kDaytime));
    EXPECT_THAT(plan.keep, ElementsAre("echo", "daytime"));
    EXPECT_THAT(plan.replace, IsEmpty());
    EXPECT_THAT(plan.start, IsEmpty());
    EXPECT_THAT(plan.stop, IsEmpty());
}

TEST(ReloadPlan, CommentsAndKeyOrderChangeNothing) {
    const std::string reordered =
        "  echo:   # the same service, written differently\n"
        "    options: { service: echo }\n    listen: [ \"127.0.0.1:7007\" ]\n"
        "    module: inetd\n";
    const auto plan = plan_reload(parse(kEcho), parse(reordered));
    EXPECT_THAT(plan.keep, ElementsAre("echo"));
    EXPECT_THAT(plan.replace, IsEmpty());
}

TEST(ReloadPlan, ChangedOptionsReplaceTheWorker) {
    const std::string changed =
        "  echo:\n    module: inetd\n    listen: [\"127.0.0.1:7007\"]\n"
        "    options: { service: chargen }\n";
    const auto plan = plan_reload(parse(kEcho + kDaytime), parse(changed + kDaytime));
    EXPECT_THAT(plan.replace, ElementsAre("echo"));
    EXPECT_THAT(plan.keep, ElementsAre("daytime"));
}

TEST(ReloadPlan, EachSettingAWorkerRunsWithReplacesIt) {
    const std::vector<std::string> variants = {
        "    threads: 2\n",          "    backlog: 64\n",
        "    user: nobody\n",        "    limits: { connections: 5 }\n",
        "    allow: [10.0.0.0/8]\n", "    deny: [\"::1/128\"]\n",
    };
    for (const auto& extra : variants) {
        const auto plan = plan_reload(parse(kEcho), parse(kEcho + extra));
        EXPECT_THAT(plan.replace, ElementsAre("echo")) << extra;
    }
}

TEST(ReloadPlan, AnotherListenerReplacesTheWorker) {
    const std::string moved =
        "  echo:\n    module: inetd\n    listen: [\"127.0.0.1:7007\", \"[::1]:7007\"]\n"
        "    options: { service: echo }\n";
    EXPECT_THAT(plan_reload(parse(kEcho), parse(moved)).replace, ElementsAre("echo"));
}

TEST(ReloadPlan, GlobalSettingsWorkersUseReplaceThem) {
    const auto plan = plan_reload(parse(kEcho), parse(kEcho, "  shutdown_timeout: 3s\n"));
    EXPECT_THAT(plan.replace, ElementsAre("echo"));
    const auto logged = plan_reload(parse(kEcho), parse(kEcho, "  log: { level: debug }\n"));
    EXPECT_THAT(logged.replace, ElementsAre("echo"));
}

TEST(ReloadPlan, NewAndRemovedServicesStartAndStop) {
    const auto plan = plan_reload(parse(kEcho), parse(kDaytime));
    EXPECT_THAT(plan.start, ElementsAre("daytime"));
    EXPECT_THAT(plan.stop, ElementsAre("echo"));
    EXPECT_THAT(plan.keep, IsEmpty());
}

TEST(ReloadPlan, AChangedConfigFileReplacesOnlyTheServiceReadingIt) {
    auto plan = plan_reload(parse(kEcho + kDaytime), parse(kEcho + kDaytime));
    const ServiceConfigFiles before{{"echo", {{"/etc/mime.types", "1:2 10 bytes"}}}};
    const ServiceConfigFiles after{{"echo", {{"/etc/mime.types", "1:3 12 bytes"}}}};
    const auto moved = replace_where_config_files_changed(plan, before, after);
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0].first, "echo");
    EXPECT_EQ(moved[0].second, "/etc/mime.types");
    EXPECT_THAT(plan.keep, ElementsAre("daytime"));
    EXPECT_THAT(plan.replace, ElementsAre("echo"));
}

TEST(ReloadPlan, UnchangedConfigFilesKeepTheWorker) {
    auto plan = plan_reload(parse(kEcho), parse(kEcho));
    const ServiceConfigFiles files{{"echo", {{"/etc/mime.types", "1:2 10 bytes"}}}};
    EXPECT_THAT(replace_where_config_files_changed(plan, files, files), IsEmpty());
    EXPECT_THAT(plan.keep, ElementsAre("echo"));
    EXPECT_THAT(plan.replace, IsEmpty());
}

TEST(ReloadPlan, AConfigFileNamedOrDroppedSinceTheStartReplacesTheWorker) {
    const ServiceConfigFiles none;
    const ServiceConfigFiles one{{"echo", {{"/etc/echo.table", "absent"}}}};
    auto plan = plan_reload(parse(kEcho), parse(kEcho));
    EXPECT_EQ(replace_where_config_files_changed(plan, none, one).size(), 1u);
    plan = plan_reload(parse(kEcho), parse(kEcho));
    EXPECT_EQ(replace_where_config_files_changed(plan, one, none).size(), 1u);
    EXPECT_THAT(plan.replace, ElementsAre("echo"));
}

TEST(ReloadPlan, ServicesReplacedAnywayAreNotListedTwice) {
    const std::string changed =
        "  echo:\n    module: inetd\n    listen: [\"127.0.0.1:7007\"]\n"
        "    options: { service: discard }\n";
    auto plan = plan_reload(parse(kEcho), parse(changed));
    const ServiceConfigFiles before{{"echo", {{"/etc/a", "absent"}}}};
    const ServiceConfigFiles after{{"echo", {{"/etc/a", "1:2 3 bytes"}}}};
    EXPECT_THAT(replace_where_config_files_changed(plan, before, after), IsEmpty());
    EXPECT_THAT(plan.replace, ElementsAre("echo"));
}

TEST(ListenerKey, NamesAddressesAndSystemdSockets) {
    const auto m = parse(
        "  web:\n    module: http\n    listen: [\"0.0.0.0:80\", \"[::]:80\", \"systemd:web\"]\n");
    ASSERT_EQ(m.services.size(), 1U);
    const auto& listen = m.services[0].listen;
    ASSERT_EQ(listen.size(), 3U);
    EXPECT_EQ(listener_key(listen[0]), "0.0.0.0:80");
    EXPECT_EQ(listener_key(listen[1]), "[::]:80");
    EXPECT_EQ(listener_key(listen[2]), "systemd:web");
}

}  // namespace
}  // namespace portd::supervisor
