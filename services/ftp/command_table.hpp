// verb → {login needed, argument rule, permission, handler, help} and the one pre-dispatch gate
// every command passes through (pyftpdlib's proto_cmds + pre_process_command).
#pragma once

#include "ftp/command_parser.hpp"

#include <portd/net.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portd::ftp {

class Session;

enum class ArgRule { none, optional, required };

using Handler = net::awaitable<void> (*)(Session& session, std::string argument);

struct CommandSpec {
    std::string_view verb;
    Handler handler = nullptr;
    bool needs_login = true;
    ArgRule argument = ArgRule::optional;
    std::uint32_t permission = 0;  // Permission bits the user must have; 0: none
    std::string_view help;         // "Syntax: RETR <sp> file-name"
    bool during_transfer = false;  // may run while a transfer is going (ABOR, STAT, QUIT)
};

/// Every command the module knows.
class CommandTable {
public:
    CommandTable();
    const CommandSpec* find(std::string_view verb) const;
    const std::vector<CommandSpec>& all() const { return commands_; }

private:
    std::vector<CommandSpec> commands_;
};

/// Why the gate stopped a command: the reply to send instead of running it.
struct Refusal {
    int code;
    std::string text;
};

/// The pre-dispatch gate: unknown verb, login required, argument rules, permission.
std::optional<Refusal> check_gate(const CommandSpec* spec, const Command& command, bool logged_in,
                                  std::uint32_t permissions);

// Each commands_*.cpp adds its verbs.
void add_rfc959_commands(std::vector<CommandSpec>& table);
void add_transfer_commands(std::vector<CommandSpec>& table);
void add_rfc2428_commands(std::vector<CommandSpec>& table);
void add_rfc3659_commands(std::vector<CommandSpec>& table);
void add_extension_commands(std::vector<CommandSpec>& table);

}  // namespace portd::ftp
