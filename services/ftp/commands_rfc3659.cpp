// RFC 3659: SIZE, MDTM, REST (STREAM), MLST (MLSD is with the other listings).
#include "ftp/command_table.hpp"
#include "ftp/commands_common.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "ftp/service.hpp"
#include "ftp/session.hpp"

#include <charconv>

namespace portd::ftp {

namespace {

net::awaitable<void> cmd_size(Session& s, std::string argument) {
    struct stat st {};
    if (const int err = s.state().vfs.stat(resolve_path(s, argument), st); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    if (!S_ISREG(st.st_mode)) {
        co_await s.reply(550, "Could not get file size.");
        co_return;
    }
    co_await s.reply(213, std::to_string(st.st_size));
}

net::awaitable<void> cmd_mdtm(Session& s, std::string argument) {
    struct stat st {};
    if (const int err = s.state().vfs.stat(resolve_path(s, argument), st); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.reply(213, format_mdtm(st.st_mtime));
}

net::awaitable<void> cmd_rest(Session& s, std::string argument) {
    std::uint64_t offset = 0;
    const auto* end = argument.data() + argument.size();
    const auto [ptr, ec] = std::from_chars(argument.data(), end, offset);
    if (ec != std::errc() || ptr != end) {
        co_await s.reply(501, "REST requires a byte count.");
        co_return;
    }
    s.state().rest_offset = offset;
    co_await s.reply(350, "Restart position accepted (" + std::to_string(offset) + ").");
}

net::awaitable<void> cmd_mlst(Session& s, std::string argument) {
    const auto path = resolve_path(s, argument);
    DirEntry entry;
    if (const int err = s.state().vfs.stat(path, entry.st); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    entry.name = path;  // MLST names the object by its full path
    co_await s.reply(250, "Listing " + printable_name(path) + "\n " +
                              mlsx_line(entry, s.state().mlst_facts, s.state().permissions()) +
                              "\nEnd.");
}

}  // namespace

void add_rfc3659_commands(std::vector<CommandSpec>& t) {
    using A = ArgRule;
    t.push_back(
        {"SIZE", cmd_size, true, A::required, kPermList, "Syntax: SIZE <sp> file-name", false});
    t.push_back({"MDTM", cmd_mdtm, true, A::required, kPermList, "Syntax: MDTM <sp> path", false});
    t.push_back({"REST", cmd_rest, true, A::required, 0, "Syntax: REST <sp> offset", false});
    t.push_back(
        {"MLST", cmd_mlst, true, A::optional, kPermList, "Syntax: MLST [<sp> path]", false});
}

}  // namespace portd::ftp
