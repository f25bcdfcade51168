// RFC 959 access control, navigation, file management and informational commands.
// (The data-moving commands are in commands_transfer.cpp.)
#include "ftp/command_table.hpp"
#include "ftp/commands_common.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "ftp/service.hpp"
#include "ftp/session.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <charconv>

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

net::awaitable<void> cmd_user(Session& s, std::string argument) {
    auto& st = s.state();
    if (st.logged_in()) {
        co_await s.reply(530, "Can't change to another user.");
        co_return;
    }
    st.pending_user = std::move(argument);
    // The same reply for every name, existing or not: USER reveals nothing.
    co_await s.reply(331, "Please specify the password.");
}

net::awaitable<void> cmd_pass(Session& s, std::string argument) {
    auto& st = s.state();
    if (st.logged_in()) {
        co_await s.reply(230, "Already logged in.");
        co_return;
    }
    if (st.pending_user.empty()) {
        co_await s.reply(503, "Login with USER first.");
        co_return;
    }
    const std::string user = std::exchange(st.pending_user, {});
    // Each attempt looks at the users file again, so edits count without a restart.
    const auto authorizer = s.service().authorizer();
    auto account = authorizer->authenticate(user, argument);
    if (account) {
        Vfs vfs;
        if (const int err = Vfs::open_root(account->home, vfs); err != 0) {
            s.service().log().error("ftp: home of '{}' ({}) cannot be opened: {}", user,
                                    account->home.string(), std::strerror(err));
            account.reset();
        } else {
            st.vfs = std::move(vfs);
        }
    }
    if (!account) {
        ++st.login_failures;
        s.log_login(user, false);
        // The delay makes guessing slow; it is the same for unknown users and wrong passwords.
        co_await s.sleep(s.service().config().login_failure_delay);
        co_await s.reply(530, "Login incorrect.");
        if (st.login_failures >= s.service().config().max_login_failures) {
            // A limit closes the door with a word, as every other limit does: 421.
            co_await s.close_after_reply(421, "Too many failed login attempts; closing.");
        }
        co_return;
    }
    st.account = std::move(account);
    st.cwd = "/";
    st.login_failures = 0;
    if (st.account->anonymous) {
        // The identification an anonymous user gives (by custom an e-mail address) is what
        // xferlog names them by; a real user's password is never logged.
        st.anonymous_id = argument.substr(0, 64);
        s.log_login(user, true, st.anonymous_id.empty() ? "?" : st.anonymous_id);
    } else {
        s.log_login(user, true);
    }
    co_await s.reply(230, "Login successful.");
}

net::awaitable<void> cmd_acct(Session& s, std::string) {
    co_await s.reply(502, "ACCT not implemented; no account is needed.");
}

net::awaitable<void> cmd_rein(Session& s, std::string) {
    auto& st = s.state();
    s.data().close();
    const auto facts = st.mlst_facts;
    st = SessionState{};
    st.mlst_facts = facts;
    co_await s.reply(220, "Service ready for new user.");
}

net::awaitable<void> cmd_quit(Session& s, std::string) {
    co_await s.wait_transfer();  // RFC 959: QUIT lets a running transfer finish first
    co_await s.close_after_reply(221, "Goodbye.");
}

net::awaitable<void> cmd_cwd(Session& s, std::string argument) {
    const auto path = resolve_path(s, argument);
    struct stat st {};
    if (const int err = s.state().vfs.stat(path, st); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    if (!S_ISDIR(st.st_mode)) {
        co_await s.reply(550, "Not a directory.");
        co_return;
    }
    s.state().cwd = path;
    co_await s.reply(250, "Directory successfully changed.");
}

net::awaitable<void> cmd_cdup(Session& s, std::string) {
    co_await cmd_cwd(s, "..");
}

net::awaitable<void> cmd_pwd(Session& s, std::string) {
    co_await s.reply(257, quote_path(s.state().cwd) + " is the current directory");
}

net::awaitable<void> cmd_mkd(Session& s, std::string argument) {
    const auto path = resolve_path(s, argument);
    if (const int err = s.state().vfs.make_directory(path, 0755); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(257, quote_path(path) + " created");
}

net::awaitable<void> cmd_rmd(Session& s, std::string argument) {
    const auto path = resolve_path(s, argument);
    if (path == s.state().cwd || s.state().cwd.rfind(path + "/", 0) == 0) {
        co_await s.reply(550, "Cannot remove the current directory.");
        co_return;
    }
    if (const int err = s.state().vfs.remove_directory(path); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(250, "Remove directory operation successful.");
}

net::awaitable<void> cmd_dele(Session& s, std::string argument) {
    if (const int err = s.state().vfs.remove_file(resolve_path(s, argument)); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(250, "Delete operation successful.");
}

net::awaitable<void> cmd_rnfr(Session& s, std::string argument) {
    const auto path = resolve_path(s, argument);
    struct stat st {};
    if (const int err = s.state().vfs.lstat(path, st); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    if (path == "/") {
        co_await s.reply(550, "Cannot rename the root directory.");
        co_return;
    }
    s.state().rename_from = path;
    co_await s.reply(350, "Ready for RNTO.");
}

net::awaitable<void> cmd_rnto(Session& s, std::string argument) {
    const auto from = std::exchange(s.state().rename_from, {});
    if (from.empty()) {
        co_await s.reply(503, "RNFR required first.");
        co_return;
    }
    if (const int err = s.state().vfs.rename(from, resolve_path(s, argument)); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(250, "Rename successful.");
}

net::awaitable<void> cmd_abor(Session& s, std::string) {
    if (s.transfer_active()) {
        s.abort_transfer();
        co_await s.wait_transfer();  // the transfer replies 426 first
        co_await s.reply(226, "ABOR successful.");
        co_return;
    }
    s.data().close();  // drops a prepared PASV listener or PORT target
    co_await s.reply(225, "No transfer to ABOR.");
}

net::awaitable<void> cmd_type(Session& s, std::string argument) {
    const auto type = upper(argument);
    if (type == "A" || type == "A N") {
        s.state().ascii = true;
        co_await s.reply(200, "Switching to ASCII mode.");
    } else if (type == "I" || type == "L 8" || type == "L8") {
        s.state().ascii = false;
        co_await s.reply(200, "Switching to Binary mode.");
    } else if (type == "E" || type == "A T" || type == "A C" || type.rfind("L ", 0) == 0) {
        co_await s.reply(504, "Command not implemented for that parameter.");
    } else {
        co_await s.reply(501, "Unrecognised TYPE command.");
    }
}

net::awaitable<void> cmd_stru(Session& s, std::string argument) {
    const auto stru = upper(argument);
    if (stru == "F") {
        co_await s.reply(200, "Structure set to F.");
    } else if (stru == "R" || stru == "P") {
        co_await s.reply(504, "Only file structure (F) is supported.");
    } else {
        co_await s.reply(501, "Unrecognised STRU command.");
    }
}

net::awaitable<void> cmd_mode(Session& s, std::string argument) {
    const auto mode = upper(argument);
    if (mode == "S") {
        co_await s.reply(200, "Mode set to S.");
    } else if (mode == "B" || mode == "C" || mode == "Z") {
        co_await s.reply(504, "Only stream mode (S) is supported.");
    } else {
        co_await s.reply(501, "Unrecognised MODE command.");
    }
}

net::awaitable<void> cmd_syst(Session& s, std::string) {
    co_await s.reply(215, "UNIX Type: L8");
}

net::awaitable<void> cmd_noop(Session& s, std::string) {
    co_await s.reply(200, "NOOP ok.");
}

net::awaitable<void> cmd_allo(Session& s, std::string) {
    co_await s.reply(202, "ALLO command ignored.");
}

net::awaitable<void> cmd_help(Session& s, std::string argument) {
    const auto& table = s.service().commands().all();
    if (!argument.empty()) {
        const auto* spec = s.service().commands().find(upper(argument));
        if (spec == nullptr) {
            co_await s.reply(502, "Unknown command " + printable_name(upper(argument)) + ".");
        } else {
            co_await s.reply(214, spec->help);
        }
        co_return;
    }
    std::string text = "The following commands are recognized.\n";
    std::size_t column = 0;
    for (const auto& spec : table) {
        text += " " + std::string(spec.verb);
        text.append(5 - std::min<std::size_t>(spec.verb.size(), 4), ' ');
        if (++column % 8 == 0) {
            text += "\n";
        }
    }
    if (column % 8 != 0) {
        text += "\n";
    }
    text += "Help OK.";
    co_await s.reply(214, text);
}

net::awaitable<void> cmd_site(Session& s, std::string argument) {
    const auto space = argument.find(' ');
    const auto sub = upper(std::string_view(argument).substr(0, space));
    if (sub == "HELP") {
        co_await s.reply(214, "SITE commands: CHMOD HELP");
        co_return;
    }
    if (sub != "CHMOD") {
        co_await s.reply(500, "Unknown SITE command.");
        co_return;
    }
    if ((s.state().permissions() & kPermChmod) == 0) {
        co_await s.reply(550, "Permission denied.");
        co_return;
    }
    // SITE CHMOD <octal mode> <path>
    const std::string_view rest = space == std::string::npos
                                      ? std::string_view{}
                                      : std::string_view(argument).substr(space + 1);
    const auto mode_end = rest.find(' ');
    unsigned mode = 0;
    const auto mode_text = rest.substr(0, mode_end);
    const auto [ptr, ec] =
        std::from_chars(mode_text.data(), mode_text.data() + mode_text.size(), mode, 8);
    if (mode_end == std::string_view::npos || mode_text.empty() || ec != std::errc() ||
        ptr != mode_text.data() + mode_text.size() || mode > 07777) {
        co_await s.reply(501, "Syntax: SITE CHMOD <octal mode> <path>");
        co_return;
    }
    const auto path = resolve_path(s, rest.substr(mode_end + 1));
    // Set-id bits on uploaded files are refused: they are nothing an FTP user needs.
    if (const int err = s.state().vfs.change_mode(path, mode & 0777); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(200, "SITE CHMOD command ok.");
}

}  // namespace

void add_rfc959_commands(std::vector<CommandSpec>& t) {
    using A = ArgRule;
    // verb, handler, login, argument, permission, help, during transfer
    t.push_back({"USER", cmd_user, false, A::required, 0, "Syntax: USER <sp> username", false});
    t.push_back({"PASS", cmd_pass, false, A::optional, 0, "Syntax: PASS <sp> password", false});
    t.push_back(
        {"ACCT", cmd_acct, false, A::optional, 0, "Syntax: ACCT <sp> info (not needed)", false});
    t.push_back({"REIN", cmd_rein, false, A::none, 0, "Syntax: REIN (log out, keep the connection)",
                 false});
    t.push_back({"QUIT", cmd_quit, false, A::none, 0, "Syntax: QUIT (close the connection)", true});
    t.push_back({"CWD", cmd_cwd, true, A::required, kPermList, "Syntax: CWD <sp> dir-name", false});
    t.push_back(
        {"XCWD", cmd_cwd, true, A::required, kPermList, "Syntax: XCWD <sp> dir-name", false});
    t.push_back({"CDUP", cmd_cdup, true, A::none, kPermList, "Syntax: CDUP (go to parent)", false});
    t.push_back({"XCUP", cmd_cdup, true, A::none, kPermList, "Syntax: XCUP (go to parent)", false});
    t.push_back({"PWD", cmd_pwd, true, A::none, 0, "Syntax: PWD (print working directory)", false});
    t.push_back(
        {"XPWD", cmd_pwd, true, A::none, 0, "Syntax: XPWD (print working directory)", false});
    t.push_back(
        {"MKD", cmd_mkd, true, A::required, kPermMkdir, "Syntax: MKD <sp> dir-name", false});
    t.push_back(
        {"XMKD", cmd_mkd, true, A::required, kPermMkdir, "Syntax: XMKD <sp> dir-name", false});
    t.push_back(
        {"RMD", cmd_rmd, true, A::required, kPermRmdir, "Syntax: RMD <sp> dir-name", false});
    t.push_back(
        {"XRMD", cmd_rmd, true, A::required, kPermRmdir, "Syntax: XRMD <sp> dir-name", false});
    t.push_back(
        {"DELE", cmd_dele, true, A::required, kPermDelete, "Syntax: DELE <sp> file-name", false});
    t.push_back(
        {"RNFR", cmd_rnfr, true, A::required, kPermRename, "Syntax: RNFR <sp> file-name", false});
    t.push_back(
        {"RNTO", cmd_rnto, true, A::required, kPermRename, "Syntax: RNTO <sp> file-name", false});
    t.push_back({"ABOR", cmd_abor, true, A::none, 0, "Syntax: ABOR (abort the transfer)", true});
    t.push_back({"TYPE", cmd_type, true, A::required, 0, "Syntax: TYPE <sp> A | I", false});
    t.push_back({"STRU", cmd_stru, true, A::required, 0, "Syntax: STRU <sp> F", false});
    t.push_back({"MODE", cmd_mode, true, A::required, 0, "Syntax: MODE <sp> S", false});
    t.push_back({"SYST", cmd_syst, false, A::none, 0, "Syntax: SYST (system type)", false});
    t.push_back({"NOOP", cmd_noop, false, A::none, 0, "Syntax: NOOP", false});
    t.push_back(
        {"ALLO", cmd_allo, true, A::optional, 0, "Syntax: ALLO <sp> bytes (ignored)", false});
    t.push_back({"HELP", cmd_help, false, A::optional, 0, "Syntax: HELP [<sp> command]", false});
    t.push_back({"SITE", cmd_site, true, A::required, 0,
                 "Syntax: SITE <sp> CHMOD <sp> mode <sp> path", false});
}

}  // namespace portd::ftp
