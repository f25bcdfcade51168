#include "ftp/command_table.hpp"

#include <algorithm>

namespace portd::ftp {

CommandTable::CommandTable() {
    add_rfc959_commands(commands_);
    add_transfer_commands(commands_);
    add_rfc2428_commands(commands_);
    add_rfc3659_commands(commands_);
    add_extension_commands(commands_);
    std::sort(commands_.begin(), commands_.end(),
              [](const CommandSpec& a, const CommandSpec& b) { return a.verb < b.verb; });
}

const CommandSpec* CommandTable::find(std::string_view verb) const {
    const auto it =
        std::lower_bound(commands_.begin(), commands_.end(), verb,
                         [](const CommandSpec& spec, std::string_view v) { return spec.verb < v; });
    return it != commands_.end() && it->verb == verb ? &*it : nullptr;
}

std::optional<Refusal> check_gate(const CommandSpec* spec, const Command& command, bool logged_in,
                                  std::uint32_t permissions) {
    if (spec == nullptr) {
        return Refusal{500, "Unknown command."};
    }
    if (spec->needs_login && !logged_in) {
        return Refusal{530, "Please login with USER and PASS."};
    }
    if (spec->argument == ArgRule::required && command.argument.empty()) {
        return Refusal{501, "Syntax error in parameters or arguments."};
    }
    if (spec->argument == ArgRule::none && !command.argument.empty()) {
        return Refusal{501, "Syntax error: " + std::string(spec->verb) + " takes no argument."};
    }
    if (spec->permission != 0 && (permissions & spec->permission) != spec->permission) {
        return Refusal{550, "Permission denied."};
    }
    return std::nullopt;
}

}  // namespace portd::ftp
