#include "ftp/authorizer.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

// openssl passwd -6 -salt abcdefgh secret
constexpr const char* kSecretHash =
    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/"
    "O6IND4WQhG.";

TEST(FtpUsersFile, ParsesEntriesCommentsAndRelativeHomes) {
    std::vector<UsersFileProblem> problems;
    const std::string text = std::string("# users\n\nalice:") + kSecretHash +
                             ":/srv/alice:rw\r\nbob:" + kSecretHash + ":homes/bob:ro\n";
    const auto users = parse_users_file(text, "/etc/portd", problems);
    ASSERT_TRUE(problems.empty()) << problems.front().message;
    ASSERT_EQ(users.size(), 2u);
    EXPECT_EQ(users[0].name, "alice");
    EXPECT_EQ(users[0].home, "/srv/alice");
    EXPECT_TRUE(users[0].writable);
    EXPECT_EQ(users[1].home, "/etc/portd/homes/bob");
    EXPECT_FALSE(users[1].writable);
}

TEST(FtpUsersFile, ReportsEveryProblemWithItsLine) {
    std::vector<UsersFileProblem> problems;
    const std::string text = std::string("alice:") + kSecretHash + ":/a:rw\n" +  // 1 ok
                             "broken line\n" +                                   // 2
                             "bob:plaintext:/b:rw\n" +                           // 3
                             "carol:" + kSecretHash + ":/c:rx\n" +               // 4
                             "alice:" + kSecretHash + ":/a:rw\n" +               // 5 duplicate
                             "dave:" + kSecretHash + "::ro\n";                   // 6
    const auto users = parse_users_file(text, "/", problems);
    EXPECT_EQ(users.size(), 1u);
    ASSERT_EQ(problems.size(), 5u);
    EXPECT_EQ(problems[0].line, 2u);
    EXPECT_EQ(problems[1].line, 3u);
    EXPECT_NE(problems[1].message.find("openssl passwd -6"), std::string::npos);
    EXPECT_EQ(problems[2].line, 4u);
    EXPECT_EQ(problems[3].line, 5u);
    EXPECT_EQ(problems[4].line, 6u);
}

TEST(FtpConstantTimeEqual, Basics) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_FALSE(constant_time_equal("", "a"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(FtpCryptHash, MatchesOpenssl) {
    EXPECT_EQ(crypt_hash("secret", kSecretHash), kSecretHash);
    EXPECT_NE(crypt_hash("wrong", kSecretHash), kSecretHash);
    EXPECT_TRUE(crypt_hash("x", "$unknown$x").empty());
}

class FtpAuthorizerTest : public ::testing::Test {
protected:
    Authorizer make(AnonymousMode mode) {
        std::vector<UsersFileProblem> problems;
        auto users = parse_users_file(std::string("alice:") + kSecretHash + ":/home/alice:rw\n" +
                                          "bob:" + kSecretHash + ":/home/bob:ro\n",
                                      "/", problems);
        return Authorizer(mode, "/srv/ftp", std::move(users));
    }
};

TEST_F(FtpAuthorizerTest, VirtualUsers) {
    const auto auth = make(AnonymousMode::off);
    const auto alice = auth.authenticate("alice", "secret");
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->home, "/home/alice");
    EXPECT_EQ(alice->permissions, kPermsReadWrite);
    EXPECT_FALSE(alice->anonymous);
    const auto bob = auth.authenticate("bob", "secret");
    ASSERT_TRUE(bob);
    EXPECT_EQ(bob->permissions, kPermsReadOnly);
    EXPECT_FALSE(auth.authenticate("alice", "Secret"));
    EXPECT_FALSE(auth.authenticate("alice", ""));
    EXPECT_FALSE(auth.authenticate("nobody", "secret"));
}

TEST_F(FtpAuthorizerTest, AnonymousModes) {
    EXPECT_FALSE(make(AnonymousMode::off).authenticate("anonymous", "a@b"));
    const auto ro = make(AnonymousMode::read_only).authenticate("anonymous", "a@b");
    ASSERT_TRUE(ro);
    EXPECT_TRUE(ro->anonymous);
    EXPECT_EQ(ro->home, "/srv/ftp");
    EXPECT_EQ(ro->permissions, kPermsReadOnly);
    const auto up = make(AnonymousMode::upload).authenticate("ftp", "");
    ASSERT_TRUE(up);
    EXPECT_EQ(up->permissions, kPermsUpload);
    EXPECT_EQ(up->permissions & (kPermOverwrite | kPermDelete | kPermRename), 0u);
}

}  // namespace
}  // namespace portd::ftp
