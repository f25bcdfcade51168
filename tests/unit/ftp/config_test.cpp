#include "ftp/config.hpp"

#include "temp_tree.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

using testing::TempTree;

constexpr const char* kHash =
    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/"
    "1GM/O6IND4WQhG.";

ServiceContext context(const TempTree& tree, const std::string& yaml) {
    ServiceContext ctx;
    ctx.name = "files";
    ctx.options = YAML::Load(yaml);
    ctx.base_dir = tree.path();
    ctx.check_only = true;
    return ctx;
}

std::vector<std::string> problems(const TempTree& tree, const std::string& yaml) {
    Authorizer authorizer;
    try {
        load_config(context(tree, yaml), authorizer);
    } catch (const ConfigError& e) {
        std::vector<std::string> out;
        for (const auto& p : e.problems()) {
            out.push_back(p.key + ": " + p.message);
        }
        return out;
    }
    return {};
}

TEST(FtpConfig, ValidWithRelativePaths) {
    TempTree tree;
    tree.write("pub/a.txt", "a");
    tree.write("homes/alice/x", "x");
    tree.write("ftp-users", std::string("alice:") + kHash + ":homes/alice:rw\n");
    Authorizer authorizer;
    const auto config =
        load_config(context(tree,
                            "{root: pub, anonymous: read-only, users_file: ftp-users, "
                            "passive_ports: 50000-50010, passive_address: 203.0.113.7, "
                            "passive_address_map: {\"10.0.0.0/8\": 10.0.0.5}, idle_timeout: 30s, "
                            "download_rate: 10M}"),
                    authorizer);
    EXPECT_EQ(config.anonymous, AnonymousMode::read_only);
    EXPECT_EQ(config.anonymous_root, tree.path() / "pub");
    EXPECT_EQ(config.passive_low, 50000);
    EXPECT_EQ(config.passive_high, 50010);
    EXPECT_EQ(config.passive_address->to_string(), "203.0.113.7");
    ASSERT_EQ(config.passive_address_map.size(), 1u);
    EXPECT_EQ(config.idle_timeout, std::chrono::seconds(30));
    EXPECT_EQ(config.download_rate, 10u << 20);
    EXPECT_EQ(authorizer.user_count(), 1u);
    EXPECT_TRUE(authorizer.authenticate("alice", "secret"));
}

TEST(FtpConfig, EveryProblemReported) {
    TempTree tree;
    tree.write("ftp-users", "alice:nothash:nowhere:rw\n");
    const auto found = problems(tree,
                                "{root: missing, anonymous: read-onyl, users_file: ftp-users, "
                                "passive_ports: 60000-50000, passive_address: nonsense, "
                                "idle_timeout: 30, bogus: 1}");
    const auto text = [&] {
        std::string all;
        for (const auto& p : found) {
            all += p + "\n";
        }
        return all;
    }();
    EXPECT_NE(text.find("root: "), std::string::npos) << text;
    EXPECT_NE(text.find("did you mean 'read-only'"), std::string::npos) << text;
    EXPECT_NE(text.find("ftp-users:1: the hash"), std::string::npos) << text;
    EXPECT_NE(text.find("passive_ports: "), std::string::npos) << text;
    EXPECT_NE(text.find("passive_address: "), std::string::npos) << text;
    EXPECT_NE(text.find("idle_timeout: "), std::string::npos) << text;
    EXPECT_NE(text.find("unknown key 'bogus'"), std::string::npos) << text;
}

TEST(FtpConfig, SomebodyMustBeAbleToLogIn) {
    TempTree tree;
    const auto found = problems(tree, "{}");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NE(found[0].find("nobody can log in"), std::string::npos);
}

TEST(FtpConfig, MissingHomeIsAnError) {
    TempTree tree;
    tree.write("ftp-users", std::string("alice:") + kHash + ":homes/none:rw\n");
    const auto found = problems(tree, "{users_file: ftp-users}");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NE(found[0].find("is not a directory"), std::string::npos);
}

}  // namespace
}  // namespace portd::ftp
