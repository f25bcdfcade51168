// Parsing of one `listen:` entry: "0.0.0.0:80", "[::1]:8080" or "systemd:NAME".
#pragma once

#include "manifest/manifest.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace portd::manifest {

/// The entry as data, or a message that says what is wrong and what to write instead. The
/// result's `key` and `where` are left empty for the caller, who knows them.
std::variant<ListenSpec, std::string /*error message*/> parse_listen(std::string_view text);

/// "127.0.0.1:80", "[::1]:80" or "systemd:NAME": how a listen entry is written back in messages.
std::string to_string(const ListenSpec& listen);

}  // namespace portd::manifest
