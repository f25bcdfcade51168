#include "ftp/reply.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

TEST(FtpFormatReply, SingleLine) {
    EXPECT_EQ(format_reply(200, "OK"), "200 OK\r\n");
}

TEST(FtpFormatReply, MultiLine) {
    EXPECT_EQ(format_reply(211, "Features:\n EPSV\n UTF8\nEnd"),
              "211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n");
}

TEST(FtpFormatReply, TrailingNewlineIgnored) {
    EXPECT_EQ(format_reply(214, "a\nb\n"), "214-a\r\n214 b\r\n");
}

TEST(FtpFormatReply, MiddleLineStartingWithDigitIndented) {
    EXPECT_EQ(format_reply(213, "Status\n226 fake\nEnd"), "213-Status\r\n 226 fake\r\n213 End\r\n");
}

TEST(FtpFormatReply, CarriageReturnsDropped) {
    EXPECT_EQ(format_reply(550, "a\rb: No such file"), "550 ab: No such file\r\n");
}

TEST(FtpQuotePath, DoublesQuotes) {
    EXPECT_EQ(quote_path("/a\"b"), "\"/a\"\"b\"");
    EXPECT_EQ(quote_path("/"), "\"/\"");
}

TEST(FtpPrintableName, ReplacesLineBreaks) {
    EXPECT_EQ(printable_name("a\nb\rc"), "a?b?c");
}

}  // namespace
}  // namespace portd::ftp
