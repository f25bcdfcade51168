// Setting up data connections: PORT and PASV (RFC 959), EPRT and EPSV (RFC 2428).
//
// Passive listeners take ports from passive_ports and accept only the control connection's
// peer address. Active connections go only to the client's own address and never to a port
// below 1024, so the server cannot be used to reach third parties (the FTP bounce attack).
#include "ftp/address.hpp"
#include "ftp/command_table.hpp"
#include "ftp/commands_common.hpp"
#include "ftp/service.hpp"
#include "ftp/session.hpp"

#include <spdlog/logger.h>

namespace portd::ftp {

namespace {

constexpr std::uint16_t kLowestActivePort = 1024;

bool control_is_v4(Session& s) {
    return normalize(s.local().address()).is_v4();
}

net::awaitable<bool> open_passive(Session& s, std::uint16_t& port) {
    const auto& config = s.service().config();
    if (const auto ec = s.data().listen(config.passive_low, config.passive_high, port)) {
        s.service().log().warn("ftp: no passive port free in {}-{}: {}", config.passive_low,
                               config.passive_high, ec.message());
        co_await s.reply(425, "Cannot open a passive connection.");
        co_return false;
    }
    co_return true;
}

net::awaitable<void> cmd_pasv(Session& s, std::string) {
    if (s.state().epsv_all) {
        co_await s.reply(503, "PASV not allowed after EPSV ALL.");
        co_return;
    }
    if (!control_is_v4(s)) {
        co_await s.reply(425, "PASV cannot describe an IPv6 address; use EPSV.");
        co_return;
    }
    std::uint16_t port = 0;
    if (!co_await open_passive(s, port)) {
        co_return;
    }
    const auto& config = s.service().config();
    const auto address = advertised_address(s.peer().address(), config.passive_address_map,
                                            config.passive_address, s.local().address());
    co_await s.reply(227, pasv_reply_text(address, port));
}

net::awaitable<void> cmd_epsv(Session& s, std::string argument) {
    if (argument.size() == 3 && (argument[0] | 0x20) == 'a' && (argument[1] | 0x20) == 'l' &&
        (argument[2] | 0x20) == 'l') {  // "ALL" in any case
        s.state().epsv_all = true;
        co_await s.reply(200, "EPSV ALL ok.");
        co_return;
    }
    const char* family = control_is_v4(s) ? "1" : "2";
    if (!argument.empty() && argument != family) {
        if (argument == "1" || argument == "2") {
            co_await s.reply(522,
                             std::string("Network protocol not supported, use (") + family + ")");
        } else {
            co_await s.reply(501, "Syntax: EPSV [<sp> 1 | 2 | ALL]");
        }
        co_return;
    }
    std::uint16_t port = 0;
    if (!co_await open_passive(s, port)) {
        co_return;
    }
    co_await s.reply(229, epsv_reply_text(port));
}

// The checks shared by PORT and EPRT; replies and returns false when the target is refused.
net::awaitable<bool> accept_active(Session& s, const tcp::endpoint& target, const char* verb) {
    if (s.state().epsv_all) {
        co_await s.reply(503, std::string(verb) + " not allowed after EPSV ALL.");
        co_return false;
    }
    if (!s.service().config().active_mode) {
        co_await s.reply(502, "Active mode is disabled here; use PASV or EPSV.");
        co_return false;
    }
    if (normalize(target.address()) != normalize(s.peer().address()) ||
        target.port() < kLowestActivePort) {
        s.service().log().info("ftp: {} from {} to {}:{} refused (bounce protection)", verb,
                               normalize(s.peer().address()).to_string(),
                               target.address().to_string(), target.port());
        co_await s.reply(500, std::string("Illegal ") + verb + " command.");
        co_return false;
    }
    s.data().set_active(target);
    co_return true;
}

net::awaitable<void> cmd_port(Session& s, std::string argument) {
    const auto target = parse_port_argument(argument);
    if (!target) {
        co_await s.reply(501, "Syntax: PORT <sp> h1,h2,h3,h4,p1,p2");
        co_return;
    }
    if (co_await accept_active(s, *target, "PORT")) {
        co_await s.reply(200, "PORT command successful. Consider using PASV.");
    }
}

net::awaitable<void> cmd_eprt(Session& s, std::string argument) {
    const auto target = parse_eprt_argument(argument);
    if (!target) {
        // An unknown family number gets 522 with the one we speak (RFC 2428 §2).
        if (argument.size() > 3 && argument[2] == argument[0] && argument[1] != '1' &&
            argument[1] != '2') {
            co_await s.reply(522, control_is_v4(s) ? "Network protocol not supported, use (1)"
                                                   : "Network protocol not supported, use (2)");
        } else {
            co_await s.reply(501, "Syntax: EPRT <sp> |family|address|port|");
        }
        co_return;
    }
    if (co_await accept_active(s, *target, "EPRT")) {
        co_await s.reply(200, "EPRT command successful. Consider using EPSV.");
    }
}

}  // namespace

void add_rfc2428_commands(std::vector<CommandSpec>& t) {
    using A = ArgRule;
    t.push_back(
        {"PORT", cmd_port, true, A::required, 0, "Syntax: PORT <sp> h1,h2,h3,h4,p1,p2", false});
    t.push_back({"PASV", cmd_pasv, true, A::none, 0, "Syntax: PASV", false});
    t.push_back(
        {"EPRT", cmd_eprt, true, A::required, 0, "Syntax: EPRT <sp> |proto|addr|port|", false});
    t.push_back({"EPSV", cmd_epsv, true, A::optional, 0, "Syntax: EPSV [<sp> proto | ALL]", false});
}

}  // namespace portd::ftp
