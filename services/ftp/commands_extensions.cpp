// RFC 2389 FEAT/OPTS, RFC 2640 UTF8, RFC 7151 HOST, MFMT (draft-somers-ftp-mfxx), and AUTH
// (refused: no TLS here, so clients fall back to plain FTP at once).
#include "ftp/command_table.hpp"
#include "ftp/commands_common.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "ftp/service.hpp"
#include "ftp/session.hpp"

namespace portd::ftp {

namespace {

std::string upper(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

net::awaitable<void> cmd_feat(Session& s, std::string) {
    co_await s.reply(211, "Features:\n EPRT\n EPSV\n HOST\n MDTM\n MFMT\n " +
                              mlst_feature(s.state().mlst_facts) +
                              "\n PASV\n REST STREAM\n SIZE\n TVFS\n UTF8\nEnd");
}

net::awaitable<void> cmd_opts(Session& s, std::string argument) {
    const auto space = argument.find(' ');
    const auto option = upper(std::string_view(argument).substr(0, space));
    const auto value = space == std::string::npos ? std::string() : argument.substr(space + 1);
    if (option == "UTF8" || option == "UTF-8") {
        // Names are passed through as bytes; UTF-8 clients see UTF-8 names.
        co_await s.reply(200, "Always in UTF8 mode.");
    } else if (option == "MLST") {
        s.state().mlst_facts = parse_fact_list(value);
        co_await s.reply(200, "MLST OPTS " + fact_list(s.state().mlst_facts));
    } else {
        co_await s.reply(501, "Option not understood.");
    }
}

net::awaitable<void> cmd_host(Session& s, std::string) {
    if (s.state().logged_in() || !s.state().pending_user.empty()) {
        co_await s.reply(503, "HOST must come before USER.");
        co_return;
    }
    // One set of users serves every host name; the name is accepted and not otherwise used.
    s.state().host_given = true;
    co_await s.reply(220, "Host accepted.");
}

net::awaitable<void> cmd_mfmt(Session& s, std::string argument) {
    const auto space = argument.find(' ');
    const auto when = parse_mdtm(std::string_view(argument).substr(0, space));
    if (space == std::string::npos || !when) {
        co_await s.reply(501, "Syntax: MFMT <sp> YYYYMMDDHHMMSS <sp> path");
        co_return;
    }
    const auto path = resolve_path(s, std::string_view(argument).substr(space + 1));
    if (const int err = s.state().vfs.set_modification_time(path, *when); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(213, "Modify=" + format_mdtm(*when) + "; " + printable_name(path));
}

net::awaitable<void> cmd_auth(Session& s, std::string) {
    co_await s.reply(502, "TLS is not offered by this server.");
}

}  // namespace

void add_extension_commands(std::vector<CommandSpec>& t) {
    using A = ArgRule;
    t.push_back({"FEAT", cmd_feat, false, A::none, 0, "Syntax: FEAT (list extensions)", false});
    t.push_back(
        {"OPTS", cmd_opts, false, A::required, 0, "Syntax: OPTS <sp> UTF8 ON | MLST facts", false});
    t.push_back({"HOST", cmd_host, false, A::required, 0, "Syntax: HOST <sp> host-name", false});
    t.push_back({"MFMT", cmd_mfmt, true, A::required, kPermMtime,
                 "Syntax: MFMT <sp> time <sp> path", false});
    t.push_back(
        {"AUTH", cmd_auth, false, A::optional, 0, "Syntax: AUTH <sp> TLS (not offered)", false});
}

}  // namespace portd::ftp
