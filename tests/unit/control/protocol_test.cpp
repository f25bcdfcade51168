#include "control/protocol.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace portd::control {
namespace {

TEST(ControlProtocol, EncodesRequestsAsOneLine) {
    EXPECT_EQ(encode_request(Request{Command::status, {}}), "status\n");
    EXPECT_EQ(encode_request(Request{Command::ports, {}}), "ports\n");
    EXPECT_EQ(encode_request(Request{Command::reload, {}}), "reload\n");
    EXPECT_EQ(encode_request(Request{Command::status, {"web", "ftp"}}), "status web ftp\n");
}

TEST(ControlProtocol, RefusesArgumentsThatCannotBeDecodedBack) {
    EXPECT_THROW(encode_request(Request{Command::status, {""}}), std::invalid_argument);
    EXPECT_THROW(encode_request(Request{Command::status, {"a b"}}), std::invalid_argument);
    EXPECT_THROW(encode_request(Request{Command::status, {"a\nb"}}), std::invalid_argument);
}

TEST(ControlProtocol, DecodesEveryCommand) {
    for (auto command : {Command::status, Command::ports, Command::reload}) {
        auto line = encode_request(Request{command, {}});
        line.pop_back();
        const auto decoded = decode_request(line);
        ASSERT_TRUE(decoded) << decoded.error;
        EXPECT_EQ(*decoded.value, (Request{command, {}}));
    }
}

TEST(ControlProtocol, ToleratesBlanksAndCarriageReturn) {
    const auto decoded = decode_request("  \tports \r");
    ASSERT_TRUE(decoded) << decoded.error;
    EXPECT_EQ(decoded.value->command, Command::ports);
}

TEST(ControlProtocol, RefusesUnknownCommand) {
    const auto decoded = decode_request("frobnicate");
    EXPECT_FALSE(decoded);
    EXPECT_EQ(decoded.error, "unknown command 'frobnicate': expected status, ports or reload");
}

TEST(ControlProtocol, CommandsAreCaseSensitive) {
    EXPECT_FALSE(decode_request("STATUS"));
}

TEST(ControlProtocol, RefusesEmptyLine) {
    for (const char* line : {"", "   ", "\r"}) {
        const auto decoded = decode_request(line);
        EXPECT_FALSE(decoded) << "'" << line << "'";
        EXPECT_EQ(decoded.error, "empty request: expected status, ports or reload");
    }
}

TEST(ControlProtocol, RefusesArgumentsToday) {
    const auto decoded = decode_request("status web");
    EXPECT_FALSE(decoded);
    EXPECT_EQ(decoded.error, "'status' takes no arguments");
}

TEST(ControlProtocol, RefusesControlCharacters) {
    const auto decoded = decode_request(std::string("sta\0tus", 7));
    EXPECT_FALSE(decoded);
    EXPECT_EQ(decoded.error, "request contains control characters");
    EXPECT_FALSE(decode_request("status\x1b[2J"));
}

TEST(ControlProtocol, RefusesOverlongLine) {
    const auto decoded = decode_request(std::string(kMaxRequestLine + 1, 'a'));
    EXPECT_FALSE(decoded);
    EXPECT_EQ(decoded.error, "request line longer than 4096 bytes");
}

TEST(ControlProtocol, EchoesOnlyThePrefixOfALongUnknownWord) {
    const auto decoded = decode_request(std::string(kMaxRequestLine, 'x'));
    EXPECT_FALSE(decoded);
    EXPECT_LT(decoded.error.size(), 200U);
}

TEST(ControlProtocol, ScanWaitsForTheNewlineOrTheHalfClose) {
    EXPECT_EQ(scan_request_line("", false).status, LineStatus::incomplete);
    EXPECT_EQ(scan_request_line("stat", false).status, LineStatus::incomplete);

    const auto with_newline = scan_request_line("status\nignored", false);
    EXPECT_EQ(with_newline.status, LineStatus::complete);
    EXPECT_EQ(with_newline.line, "status");

    const auto at_eof = scan_request_line("ports", true);
    EXPECT_EQ(at_eof.status, LineStatus::complete);
    EXPECT_EQ(at_eof.line, "ports");

    const auto empty_eof = scan_request_line("", true);
    EXPECT_EQ(empty_eof.status, LineStatus::complete);
    EXPECT_EQ(empty_eof.line, "");
}

TEST(ControlProtocol, ScanAcceptsExactly4KiBAndNoMore) {
    const std::string longest(kMaxRequestLine, 'a');
    EXPECT_EQ(scan_request_line(longest, false).status, LineStatus::incomplete);
    EXPECT_EQ(scan_request_line(longest + "\n", false).status, LineStatus::complete);
    EXPECT_EQ(scan_request_line(longest, true).status, LineStatus::complete);
    // Refused as soon as the cap is passed: the server never buffers more than it must.
    EXPECT_EQ(scan_request_line(longest + "a", false).status, LineStatus::too_long);
    EXPECT_EQ(scan_request_line(longest + "a\n", false).status, LineStatus::too_long);
    EXPECT_EQ(scan_request_line(longest + "a", true).status, LineStatus::too_long);
}

TEST(ControlProtocol, EncodesReplies) {
    EXPECT_EQ(encode_reply(Reply::success("a\nb\n")), "ok\na\nb\n");
    EXPECT_EQ(encode_reply(Reply::success()), "ok\n");
    EXPECT_EQ(encode_reply(Reply::failure("bad manifest")), "error: bad manifest\n");
    // A multi-line message would end the status line early.
    EXPECT_EQ(encode_reply(Reply::failure("line one\nline two")), "error: line one line two\n");
    EXPECT_EQ(encode_reply(Reply::failure("")), "error: unspecified error\n");
}

TEST(ControlProtocol, ReplyRoundTrip) {
    for (const auto& reply :
         {Reply::success("SERVICE  MODULE\nweb      http\n"), Reply::success(),
          Reply::failure("reload failed"), Reply::failure("reload failed", "details\n")}) {
        const auto decoded = decode_reply(encode_reply(reply));
        ASSERT_TRUE(decoded) << decoded.error;
        EXPECT_EQ(*decoded.value, reply);
    }
}

TEST(ControlProtocol, RefusesMeaninglessReplies) {
    EXPECT_EQ(decode_reply("").error, "portd closed the connection without replying");
    EXPECT_EQ(decode_reply("ok").error, "portd's reply has no status line");
    EXPECT_EQ(decode_reply("HTTP/1.1 200 OK\r\n").error,
              "unexpected status line in portd's reply: 'HTTP/1.1 200 OK\r'");
}

TEST(ControlProtocol, NamesCommands) {
    EXPECT_EQ(command_name(Command::status), "status");
    EXPECT_EQ(command_name(Command::ports), "ports");
    EXPECT_EQ(command_name(Command::reload), "reload");
    EXPECT_EQ(command_list(), "status, ports or reload");
}

}  // namespace
}  // namespace portd::control
