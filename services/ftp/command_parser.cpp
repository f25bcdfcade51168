#include "ftp/command_parser.hpp"

#include <algorithm>
#include <array>

namespace portd::ftp {

namespace {

constexpr unsigned char kIac = 255;
constexpr unsigned char kIp = 244;    // interrupt process, sent before ABOR
constexpr unsigned char kWill = 251;  // WILL, WONT, DO, DONT (251..254) carry one option byte
constexpr unsigned char kDont = 254;

// Methods that open an HTTP request line. None of them is an FTP verb, so a line starting with
// one came from a browser or from a cross-protocol attack (a web page POSTing to port 21).
constexpr std::array<std::string_view, 9> kHttpMethods = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

char upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool looks_like_http_version(std::string_view argument) {
    const auto at = argument.rfind(" HTTP/");
    return at != std::string_view::npos && at + 6 < argument.size() && argument[at + 6] >= '0' &&
           argument[at + 6] <= '9';
}

}  // namespace

void LineSplitter::feed(std::string_view bytes) {
    for (const char ch : bytes) {
        const auto byte = static_cast<unsigned char>(ch);
        switch (state_) {
            case State::iac:
                if (byte == kIac) {
                    state_ = State::text;
                    break;  // IAC IAC: a literal 0xFF data byte, handled below
                }
                if (byte == kIp) {
                    interrupt_ = true;
                }
                state_ = byte >= kWill && byte <= kDont ? State::option : State::text;
                continue;
            case State::option:
                state_ = State::text;
                continue;
            case State::text:
                if (byte == kIac) {
                    state_ = State::iac;
                    continue;
                }
                break;
        }
        if (ch == '\n') {
            end_line();
            continue;
        }
        if (ch == '\0' || discarding_) {
            continue;
        }
        if (current_.size() >= max_line_ + 1) {  // +1: room for the CR before LF
            lines_.push_back(Line{{}, true, interrupt_});
            interrupt_ = false;
            current_.clear();
            discarding_ = true;
            continue;
        }
        current_.push_back(ch);
    }
}

void LineSplitter::end_line() {
    if (discarding_) {
        discarding_ = false;  // the too-long line was reported when it passed the limit
        current_.clear();
        return;
    }
    if (!current_.empty() && current_.back() == '\r') {
        current_.pop_back();
    }
    if (current_.size() > max_line_) {
        lines_.push_back(Line{{}, true, interrupt_});
    } else {
        lines_.push_back(Line{std::move(current_), false, interrupt_});
    }
    interrupt_ = false;
    current_.clear();
}

std::optional<Line> LineSplitter::next() {
    if (lines_.empty()) {
        return std::nullopt;
    }
    Line line = std::move(lines_.front());
    lines_.pop_front();
    return line;
}

Command parse_command(std::string_view line) {
    Command command;
    while (!line.empty() && line.front() == ' ') {
        line.remove_prefix(1);
    }
    if (line.empty()) {
        return command;
    }
    const auto space = line.find(' ');
    const auto verb = line.substr(0, space);
    const auto argument =
        space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    command.verb.reserve(verb.size());
    for (const char c : verb) {
        command.verb.push_back(upper(c));
    }
    command.argument = std::string(argument);
    const bool http =
        std::find(kHttpMethods.begin(), kHttpMethods.end(), command.verb) != kHttpMethods.end();
    if (http || looks_like_http_version(argument)) {
        command.kind = LineKind::http_request;
    } else if (verb.size() > 8 || !std::all_of(verb.begin(), verb.end(), is_alpha)) {
        command.kind = LineKind::bad_verb;
    } else {
        command.kind = LineKind::command;
    }
    return command;
}

}  // namespace portd::ftp
