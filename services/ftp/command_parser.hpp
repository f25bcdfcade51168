// The control connection's byte stream → lines → commands. Pure: no sockets, no files, so the
// parser is unit-tested and fuzzed on its own (tests/fuzz/ftp_command.cpp).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace portd::ftp {

/// Longest accepted command line, CRLF excluded. Paths are limited to PATH_MAX (4096) by the
/// kernel anyway; a longer line is either a mistake or an attack on the buffer.
inline constexpr std::size_t kMaxLine = 4096;

/// One line taken from the control stream.
struct Line {
    std::string text;        // Telnet commands removed, CR LF removed
    bool too_long = false;   // the line passed the limit; `text` is empty, the rest is discarded
    bool interrupt = false;  // a Telnet IP (interrupt process) came before this line (ABOR)
};

/// Splits the control stream into lines, applying RFC 959's Telnet rules: IAC IAC is a literal
/// 0xFF, IAC WILL/WONT/DO/DONT x and every other IAC command are dropped, NUL is dropped, and a
/// line ends at LF (a CR before it is removed; bare LF is accepted as most servers do).
class LineSplitter {
public:
    explicit LineSplitter(std::size_t max_line = kMaxLine) : max_line_(max_line) {}

    /// Consumes all of `bytes`. Complete lines queue up for next().
    void feed(std::string_view bytes);

    /// The next complete line, if there is one.
    std::optional<Line> next();

    /// Lines waiting in the queue (bounded by what one feed() can hold).
    std::size_t pending() const { return lines_.size(); }

private:
    enum class State { text, iac, option };
    void end_line();

    std::size_t max_line_;
    State state_ = State::text;
    std::string current_;
    bool discarding_ = false;
    bool interrupt_ = false;
    std::deque<Line> lines_;
};

/// What a line says.
enum class LineKind {
    command,       // verb + argument
    empty,         // nothing but spaces
    bad_verb,      // the verb is not 1-8 letters
    http_request,  // an HTTP request line: a cross-protocol attempt, end the session
};

struct Command {
    LineKind kind = LineKind::empty;
    std::string verb;      // upper-cased
    std::string argument;  // everything after the first space after the verb, as sent
};

/// Splits "retr my file.txt" into {"RETR", "my file.txt"}. The argument keeps inner and trailing
/// spaces: they may be part of a file name.
Command parse_command(std::string_view line);

}  // namespace portd::ftp
