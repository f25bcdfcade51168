// The control protocol between portd and portctl: one request line, one reply, then close.
//
//   client: "status\n" (a command word, maybe arguments), then half-closes
//   server: "ok\n" + body        or        "error: <one line>\n" + body (usually empty)
//
// Pure functions over bytes, so both sides and the tests share one definition.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portd::control {

/// The longest request line accepted, without its newline.
inline constexpr std::size_t kMaxRequestLine = 4096;

enum class Command { status, ports, reload };

struct Request {
    Command command = Command::status;
    /// Words after the command. Every command takes none today; the table in protocol.cpp says
    /// how many each may take, so adding one is a one-line change.
    std::vector<std::string> args;

    bool operator==(const Request&) const = default;
};

struct Reply {
    bool ok = true;
    /// Why the request failed, when !ok. Sent on one line: newlines become spaces.
    std::string error;
    /// What portctl prints: the status table, the port table, ...
    std::string body;

    static Reply success(std::string body = {});
    static Reply failure(std::string message, std::string body = {});

    bool operator==(const Reply&) const = default;
};

/// A decoded value, or why there is none.
template <typename T>
struct Decoded {
    std::optional<T> value;
    std::string error;

    explicit operator bool() const { return value.has_value(); }
};

/// "status", "ports", "reload".
std::string_view command_name(Command command);
/// "status, ports or reload": for messages.
std::string command_list();

/// Where the request line stands in the bytes received so far (the tri-state of a parser).
enum class LineStatus { complete, incomplete, too_long };

struct LineScan {
    LineStatus status = LineStatus::incomplete;
    /// The line without its newline, when complete. Points into `received`.
    std::string_view line;
};

/// Finds the request line in `received`. `eof` means the client half-closed: what came is the
/// whole line, newline or not. Anything after the first newline is ignored.
LineScan scan_request_line(std::string_view received, bool eof);

/// "status\n". Throws std::invalid_argument for an argument that is empty or holds whitespace
/// or control characters (it could not be decoded back as one word).
std::string encode_request(const Request& request);

/// Parses one request line (without its newline; a trailing '\r' is allowed). The error names
/// what was wrong: empty, too long, control characters, unknown command, arguments.
Decoded<Request> decode_request(std::string_view line);

std::string encode_reply(const Reply& reply);

/// Parses everything the server sent before closing.
Decoded<Reply> decode_reply(std::string_view bytes);

}  // namespace portd::control
