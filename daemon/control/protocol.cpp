#include "control/protocol.hpp"

#include <array>
#include <stdexcept>

namespace portd::control {

namespace {

struct CommandInfo {
    Command command;
    std::string_view name;
    std::size_t max_args;
};

constexpr std::array kCommands{
    CommandInfo{Command::status, "status", 0},
    CommandInfo{Command::ports, "ports", 0},
    CommandInfo{Command::reload, "reload", 0},
};

// An unknown word is echoed back in the error; a client sending garbage gets a short line.
constexpr std::size_t kMaxEchoed = 64;

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
}

std::string echoed(std::string_view word) {
    if (word.size() <= kMaxEchoed) {
        return std::string(word);
    }
    return std::string(word.substr(0, kMaxEchoed)) + "...";
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) {
            ++i;
        }
        if (i > start) {
            words.push_back(line.substr(start, i - start));
        }
    }
    return words;
}

// The error travels on the status line: a newline in it would end the line early.
std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return out;
}

template <typename T>
Decoded<T> refuse(std::string message) {
    return Decoded<T>{std::nullopt, std::move(message)};
}

}  // namespace

Reply Reply::success(std::string body) {
    return Reply{true, {}, std::move(body)};
}

Reply Reply::failure(std::string message, std::string body) {
    return Reply{false, std::move(message), std::move(body)};
}

std::string_view command_name(Command command) {
    for (const auto& info : kCommands) {
        if (info.command == command) {
            return info.name;
        }
    }
    return "?";
}

std::string command_list() {
    std::string out;
    for (std::size_t i = 0; i < kCommands.size(); ++i) {
        if (i > 0) {
            out += i + 1 == kCommands.size() ? " or " : ", ";
        }
        out += kCommands[i].name;
    }
    return out;
}

LineScan scan_request_line(std::string_view received, bool eof) {
    const auto newline = received.find('\n');
    if (newline != std::string_view::npos) {
        if (newline > kMaxRequestLine) {
            return {LineStatus::too_long, {}};
        }
        return {LineStatus::complete, received.substr(0, newline)};
    }
    if (received.size() > kMaxRequestLine) {
        return {LineStatus::too_long, {}};
    }
    if (eof) {
        return {LineStatus::complete, received};
    }
    return {LineStatus::incomplete, {}};
}

std::string encode_request(const Request& request) {
    std::string out(command_name(request.command));
    for (const auto& arg : request.args) {
        if (arg.empty()) {
            throw std::invalid_argument("control request argument is empty");
        }
        for (char c : arg) {
            if (is_blank(c) || is_control(c)) {
                throw std::invalid_argument("control request argument '" + echoed(arg) +
                                            "' holds whitespace or control characters");
            }
        }
        out += ' ';
        out += arg;
    }
    out += '\n';
    return out;
}

Decoded<Request> decode_request(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    if (line.size() > kMaxRequestLine) {
        return refuse<Request>("request line longer than " + std::to_string(kMaxRequestLine) +
                               " bytes");
    }
    for (char c : line) {
        if (is_control(c)) {
            return refuse<Request>("request contains control characters");
        }
    }
    const auto words = split_words(line);
    if (words.empty()) {
        return refuse<Request>("empty request: expected " + command_list());
    }
    for (const auto& info : kCommands) {
        if (info.name != words.front()) {
            continue;
        }
        const std::size_t arg_count = words.size() - 1;
        if (arg_count > info.max_args) {
            if (info.max_args == 0) {
                return refuse<Request>("'" + std::string(info.name) + "' takes no arguments");
            }
            return refuse<Request>("'" + std::string(info.name) + "' takes at most " +
                                   std::to_string(info.max_args) + " arguments");
        }
        return Decoded<Request>{Request{info.command, {words.begin() + 1, words.end()}}, {}};
    }
    return refuse<Request>("unknown command '" + echoed(words.front()) + "': expected " +
                           command_list());
}

std::string encode_reply(const Reply& reply) {
    std::string out;
    if (reply.ok) {
        out = "ok\n";
    } else {
        out = "error: " + one_line(reply.error.empty() ? "unspecified error" : reply.error) + "\n";
    }
    out += reply.body;
    return out;
}

Decoded<Reply> decode_reply(std::string_view bytes) {
    if (bytes.empty()) {
        return refuse<Reply>("portd closed the connection without replying");
    }
    const auto newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
        return refuse<Reply>("portd's reply has no status line");
    }
    const auto status = bytes.substr(0, newline);
    const auto body = std::string(bytes.substr(newline + 1));
    if (status == "ok") {
        return Decoded<Reply>{Reply::success(body), {}};
    }
    constexpr std::string_view kErrorPrefix = "error: ";
    if (status.starts_with(kErrorPrefix)) {
        auto message = std::string(status.substr(kErrorPrefix.size()));
        if (message.empty()) {
            message = "unspecified error";
        }
        return Decoded<Reply>{Reply::failure(std::move(message), body), {}};
    }
    return refuse<Reply>("unexpected status line in portd's reply: '" + echoed(status) + "'");
}

}  // namespace portd::control
