#include "ftp/command_table.hpp"
#include "ftp/ascii.hpp"
#include "ftp/authorizer.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

Command command(std::string verb, std::string argument = {}) {
    return Command{LineKind::command, std::move(verb), std::move(argument)};
}

TEST(FtpCommandTable, KnowsTheRfcVerbs) {
    const CommandTable table;
    for (const char* verb :
         {"USER", "PASS", "ACCT", "CWD",  "CDUP", "PWD",  "QUIT", "REIN", "PORT", "PASV",
          "TYPE", "STRU", "MODE", "RETR", "STOR", "STOU", "APPE", "REST", "RNFR", "RNTO",
          "ABOR", "DELE", "RMD",  "MKD",  "LIST", "NLST", "SITE", "SYST", "STAT", "HELP",
          "NOOP", "ALLO", "FEAT", "OPTS", "EPRT", "EPSV", "SIZE", "MDTM", "MLST", "MLSD",
          "MFMT", "HOST", "XPWD", "XCWD", "XMKD", "XRMD", "XCUP"}) {
        const auto* spec = table.find(verb);
        ASSERT_NE(spec, nullptr) << verb;
        EXPECT_NE(spec->handler, nullptr) << verb;
        EXPECT_FALSE(spec->help.empty()) << verb;
    }
    EXPECT_EQ(table.find("GET"), nullptr);
    EXPECT_EQ(table.find("retr"), nullptr);  // the parser upper-cases first
}

TEST(FtpGate, UnknownVerb) {
    const auto refusal = check_gate(nullptr, command("XYZ"), true, kPermsReadWrite);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, 500);
}

TEST(FtpGate, LoginRequired) {
    const CommandTable table;
    const auto refusal = check_gate(table.find("RETR"), command("RETR", "x"), false, 0);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, 530);
    EXPECT_FALSE(check_gate(table.find("USER"), command("USER", "bob"), false, 0));
    EXPECT_FALSE(check_gate(table.find("FEAT"), command("FEAT"), false, 0));
    EXPECT_FALSE(check_gate(table.find("QUIT"), command("QUIT"), false, 0));
}

TEST(FtpGate, ArgumentRules) {
    const CommandTable table;
    auto refusal = check_gate(table.find("RETR"), command("RETR"), true, kPermsReadWrite);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, 501);
    refusal = check_gate(table.find("PWD"), command("PWD", "x"), true, kPermsReadWrite);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, 501);
    EXPECT_FALSE(check_gate(table.find("LIST"), command("LIST"), true, kPermsReadWrite));
}

TEST(FtpGate, Permissions) {
    const CommandTable table;
    for (const char* verb : {"STOR", "DELE", "MKD", "RMD", "RNFR", "MFMT", "APPE"}) {
        const auto refusal = check_gate(table.find(verb), command(verb, "x"), true, kPermsReadOnly);
        ASSERT_TRUE(refusal) << verb;
        EXPECT_EQ(refusal->code, 550) << verb;
    }
    // Anonymous upload may create and make directories, not delete or rename.
    EXPECT_FALSE(check_gate(table.find("STOR"), command("STOR", "x"), true, kPermsUpload));
    EXPECT_FALSE(check_gate(table.find("MKD"), command("MKD", "x"), true, kPermsUpload));
    EXPECT_TRUE(check_gate(table.find("DELE"), command("DELE", "x"), true, kPermsUpload));
    EXPECT_TRUE(check_gate(table.find("RNFR"), command("RNFR", "x"), true, kPermsUpload));
    EXPECT_FALSE(check_gate(table.find("RETR"), command("RETR", "x"), true, kPermsReadOnly));
}

TEST(FtpGate, OnlyAborStatQuitRunDuringATransfer) {
    const CommandTable table;
    for (const auto& spec : table.all()) {
        const bool expected = spec.verb == "ABOR" || spec.verb == "STAT" || spec.verb == "QUIT";
        EXPECT_EQ(spec.during_transfer, expected) << spec.verb;
    }
}

TEST(FtpAscii, ToNetworkAcrossChunks) {
    std::string out;
    bool last_was_cr = false;
    to_network_ascii("a\nb\r", out, last_was_cr);
    to_network_ascii("\nc\n", out, last_was_cr);
    EXPECT_EQ(out, "a\r\nb\r\nc\r\n");
}

TEST(FtpAscii, ToLocalAcrossChunks) {
    std::string out;
    bool pending = false;
    to_local_ascii("a\r\nb\r", out, pending);
    EXPECT_TRUE(pending);
    to_local_ascii("\nc\rd\r", out, pending);
    finish_local_ascii(out, pending);
    EXPECT_EQ(out, "a\nb\nc\rd\r");
}

TEST(FtpAscii, AllByteValuesSurviveARoundTrip) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        if (i != '\r') {  // a CR before LF is the one thing TYPE A cannot keep
            bytes.push_back(static_cast<char>(i));
        }
    }
    std::string network;
    bool last_was_cr = false;
    to_network_ascii(bytes, network, last_was_cr);
    std::string local;
    bool pending = false;
    to_local_ascii(network, local, pending);
    finish_local_ascii(local, pending);
    EXPECT_EQ(local, bytes);
}

}  // namespace
}  // namespace portd::ftp
