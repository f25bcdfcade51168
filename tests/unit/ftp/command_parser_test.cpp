#include "ftp/command_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace portd::ftp {
namespace {

std::vector<Line> split(std::string_view bytes, std::size_t max = kMaxLine) {
    LineSplitter splitter(max);
    splitter.feed(bytes);
    std::vector<Line> out;
    while (auto line = splitter.next()) {
        out.push_back(*line);
    }
    return out;
}

TEST(FtpLineSplitter, SplitsOnCrlfAndBareLf) {
    auto lines = split("USER a\r\nPASS b\nNOOP\r\n");
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].text, "USER a");
    EXPECT_EQ(lines[1].text, "PASS b");
    EXPECT_EQ(lines[2].text, "NOOP");
}

TEST(FtpLineSplitter, KeepsPartialLineUntilLf) {
    LineSplitter splitter;
    splitter.feed("RE");
    EXPECT_FALSE(splitter.next());
    splitter.feed("TR x\r");
    EXPECT_FALSE(splitter.next());
    splitter.feed("\n");
    auto line = splitter.next();
    ASSERT_TRUE(line);
    EXPECT_EQ(line->text, "RETR x");
}

TEST(FtpLineSplitter, TelnetIacIacIsLiteral) {
    auto lines =
        split(std::string("RETR a\xff\xff"
                          "b\r\n"));
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, std::string("RETR a\xff"
                                         "b"));
}

TEST(FtpLineSplitter, TelnetNegotiationAndInterruptDropped) {
    // IAC DO ECHO, then IAC IP IAC DM before ABOR, the way clients abort a transfer.
    auto lines =
        split(std::string("\xff\xfd\x01NOOP\r\n\xff\xf4\xff\xf2"
                          "ABOR\r\n"));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].text, "NOOP");
    EXPECT_FALSE(lines[0].interrupt);
    EXPECT_EQ(lines[1].text, "ABOR");
    EXPECT_TRUE(lines[1].interrupt);
}

TEST(FtpLineSplitter, NulDropped) {
    auto lines = split(std::string("NO\0OP\r\0\n", 9));
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, "NOOP");
}

TEST(FtpLineSplitter, TooLongReportedOnceThenDiscardedToEndOfLine) {
    std::string bytes(10'000, 'A');
    bytes += "\r\nNOOP\r\n";
    auto lines = split(bytes, 100);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[0].too_long);
    EXPECT_TRUE(lines[0].text.empty());
    EXPECT_FALSE(lines[1].too_long);
    EXPECT_EQ(lines[1].text, "NOOP");
}

TEST(FtpLineSplitter, TooLongReportedBeforeTheLineEnds) {
    LineSplitter splitter(100);
    splitter.feed(std::string(500, 'A'));
    auto line = splitter.next();
    ASSERT_TRUE(line);
    EXPECT_TRUE(line->too_long);
}

TEST(FtpLineSplitter, ExactlyAtLimitIsAccepted) {
    auto lines = split(std::string(100, 'A') + "\r\n" + std::string(101, 'B') + "\n", 100);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_FALSE(lines[0].too_long);
    EXPECT_TRUE(lines[1].too_long);
}

TEST(FtpParseCommand, VerbUpperCasedArgumentKept) {
    auto c = parse_command("retr  my file.txt ");
    EXPECT_EQ(c.kind, LineKind::command);
    EXPECT_EQ(c.verb, "RETR");
    EXPECT_EQ(c.argument, " my file.txt ");
}

TEST(FtpParseCommand, NoArgument) {
    auto c = parse_command("PWD");
    EXPECT_EQ(c.kind, LineKind::command);
    EXPECT_EQ(c.verb, "PWD");
    EXPECT_EQ(c.argument, "");
}

TEST(FtpParseCommand, EmptyAndSpaces) {
    EXPECT_EQ(parse_command("").kind, LineKind::empty);
    EXPECT_EQ(parse_command("   ").kind, LineKind::empty);
}

TEST(FtpParseCommand, BadVerb) {
    EXPECT_EQ(parse_command("RE7R x").kind, LineKind::bad_verb);
    EXPECT_EQ(parse_command("ABCDEFGHI").kind, LineKind::bad_verb);
    EXPECT_EQ(parse_command("Host: example.com").kind, LineKind::bad_verb);
}

TEST(FtpParseCommand, HttpRequestLines) {
    EXPECT_EQ(parse_command("GET / HTTP/1.1").kind, LineKind::http_request);
    EXPECT_EQ(parse_command("POST /x HTTP/1.0").kind, LineKind::http_request);
    EXPECT_EQ(parse_command("HEAD /").kind, LineKind::http_request);
    EXPECT_EQ(parse_command("CONNECT example.com:443 HTTP/1.1").kind, LineKind::http_request);
    EXPECT_EQ(parse_command("get /").kind, LineKind::http_request);
    EXPECT_EQ(parse_command("FOO /bar HTTP/2").kind, LineKind::http_request);
    // An FTP file name that merely contains "HTTP" is not a request line.
    EXPECT_EQ(parse_command("RETR HTTP/notes.txt").kind, LineKind::command);
}

}  // namespace
}  // namespace portd::ftp
