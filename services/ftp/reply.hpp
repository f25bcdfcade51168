// Reply formatting (RFC 959 §4.2): "CODE text" or the multi-line form "CODE-first ... CODE last".
#pragma once

#include <string>
#include <string_view>

namespace portd::ftp {

/// `text` may hold several lines separated by '\n'. CR and NUL in the text are dropped, so a
/// file name can never end a reply early or inject a second one. A middle line that starts
/// with a digit is indented by one space, so that no client takes it for the last line.
std::string format_reply(int code, std::string_view text);

/// A path inside a 257 reply: surrounded by quotes, with inner quotes doubled (RFC 959 App. II).
std::string quote_path(std::string_view path);

/// A name for one line of a listing or a reply: CR and LF become '?', as `ls -q` does.
std::string printable_name(std::string_view name);

}  // namespace portd::ftp
