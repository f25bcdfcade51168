// RFC 959 commands that move data: RETR, STOR, STOU, APPE, LIST, NLST, and STAT (status, or a
// listing over the control connection).
//
// Uploads never show a half-written file: STOR, STOU and APPE write into a hidden temporary
// file in the target's directory and rename it over the final name only when the transfer
// completed; an aborted or broken upload removes the temporary and leaves the old file as it
// was. A restarted upload (REST+STOR) and APPE first copy the old content into the temporary.
#include "ftp/command_table.hpp"
#include "ftp/commands_common.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "ftp/service.hpp"
#include "ftp/session.hpp"
#include "ftp/xferlog.hpp"

#include <fcntl.h>

#include <chrono>
#include <memory>

namespace portd::ftp {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kListingChunk = 64U << 10;
constexpr int kMaxUniqueAttempts = 100;
constexpr std::uint64_t kCopyPiece = 16U << 20;  // REST+STOR/APPE copy the old file in these

std::uint64_t seconds_since(Clock::time_point start) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count());
}

// Removes the temporary upload unless it was renamed into place; it holds its own handle on the
// jail, so it works whenever the transfer body is dropped (even if it never ran).
class PendingUpload {
public:
    PendingUpload(Vfs vfs, std::string temp) : vfs_(std::move(vfs)), temp_(std::move(temp)) {}
    PendingUpload(const PendingUpload&) = delete;
    PendingUpload& operator=(const PendingUpload&) = delete;
    ~PendingUpload() { discard(); }
    /// Removes the temporary now, so it is gone before the failure reply reaches the client.
    void discard() {
        if (!committed_ && !discarded_) {
            discarded_ = true;
            (void)vfs_.remove_file(temp_);
        }
    }
    int commit(std::string_view final_path, bool no_replace) {
        const int err = vfs_.rename(temp_, final_path, no_replace);
        committed_ = err == 0;
        return err;
    }
    UniqueFd file;

private:
    Vfs vfs_;
    std::string temp_;
    bool committed_ = false;
    bool discarded_ = false;
};

// Strips ls-style options ("-la") that clients put before the path of LIST/NLST/STAT.
std::string_view listing_path(std::string_view argument) {
    for (int guard = 0; guard < 16 && !argument.empty() && argument.front() == '-'; ++guard) {
        const auto space = argument.find(' ');
        argument =
            space == std::string_view::npos ? std::string_view{} : argument.substr(space + 1);
        while (!argument.empty() && argument.front() == ' ') {
            argument.remove_prefix(1);
        }
    }
    return argument;
}

net::awaitable<void> cmd_retr(Session& s, std::string argument) {
    const auto path = resolve_path(s, argument);
    auto file = std::make_shared<UniqueFd>();
    if (const int err = s.state().vfs.open(path, O_RDONLY, 0, *file); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    struct stat st {};
    if (::fstat(file->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        co_await s.reply(550, "Not a plain file.");
        co_return;
    }
    if (!data_prepared(s)) {
        co_await s.reply(425, "Use PORT, PASV, EPRT or EPSV first.");
        co_return;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto offset = std::min(s.state().rest_offset, size);
    const bool ascii = s.state().ascii;
    const auto opening = std::string("Opening ") + (ascii ? "ASCII" : "BINARY") +
                         " mode data connection for " + printable_name(path) + " (" +
                         std::to_string(size) + " bytes).";
    const auto started = Clock::now();
    s.start_transfer(opening,
                     [&s, file, offset, size, ascii, path,
                      started](DataChannel& data) -> net::awaitable<TransferOutcome> {
                         RateLimiter limiter(s.service().config().download_rate);
                         auto progress = [&s](std::size_t n) {
                             s.data_progress(n);
                         };
                         const auto result =
                             ascii
                                 ? co_await data.send_file_ascii(
                                       file->get(), static_cast<off_t>(offset), limiter, progress)
                                 : co_await data.send_file(file->get(), static_cast<off_t>(offset),
                                                           size - offset, limiter, progress);
                         TransferRecord record;
                         record.finished = std::time(nullptr);
                         record.seconds = seconds_since(started);
                         record.bytes = result.bytes;
                         record.path = path;
                         record.binary = !ascii;
                         record.complete = result.ok();
                         s.log_transfer(std::move(record));
                         co_return outcome_of(result, "Transfer complete.");
                     });
}

enum class StoreKind { store, unique, append };

net::awaitable<void> store(Session& s, std::string argument, StoreKind kind) {
    auto& st = s.state();
    auto path = resolve_path(s, argument.empty() ? std::string("upload") : argument);
    struct stat old {};
    int err = st.vfs.stat(path, old);
    if (kind == StoreKind::unique) {
        // STOU: the first of name, name.1, name.2, ... that does not exist yet.
        const auto base = path;
        for (int i = 1; err == 0 && i < kMaxUniqueAttempts; ++i) {
            path = base + "." + std::to_string(i);
            err = st.vfs.stat(path, old);
        }
        if (err == 0) {
            co_await s.reply(553, "Could not find a unique file name.");
            co_return;
        }
    }
    const bool exists = err == 0;
    if (err != 0 && err != ENOENT) {
        co_await reply_errno(s, err);
        co_return;
    }
    if (exists && S_ISDIR(old.st_mode)) {
        co_await s.reply(550, "Is a directory.");
        co_return;
    }
    const bool may_replace = (st.permissions() & kPermOverwrite) != 0;
    if (exists && !may_replace) {
        co_await s.reply(550, "Permission denied: the file exists.");
        co_return;
    }
    std::uint64_t keep = kind == StoreKind::append && exists
                             ? static_cast<std::uint64_t>(old.st_size)
                             : st.rest_offset;
    if (kind == StoreKind::store && keep > 0 &&
        (!exists || keep > static_cast<std::uint64_t>(old.st_size))) {
        co_await s.reply(554, "Restart offset is past the end of the file.");
        co_return;
    }
    if (kind == StoreKind::unique) {
        keep = 0;
    }
    if (!data_prepared(s)) {
        co_await s.reply(425, "Use PORT, PASV, EPRT or EPSV first.");
        co_return;
    }
    UniqueFd temp;
    std::string temp_name;
    if (err = st.vfs.create_temporary(path, temp, temp_name); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    auto upload = std::make_shared<PendingUpload>(st.vfs.clone(), temp_name);
    upload->file = std::move(temp);
    if (exists) {
        (void)set_file_mode(upload->file.get(), old.st_mode);
    }
    if (keep > 0) {
        UniqueFd previous;
        err = st.vfs.open(path, O_RDONLY, 0, previous);
        // In pieces, letting the other sessions of this thread run between them: where the
        // file system cannot share extents (ext4), copying a large file takes a while.
        for (std::uint64_t done = 0; err == 0 && done < keep;) {
            const auto piece = std::min<std::uint64_t>(keep - done, kCopyPiece);
            err = copy_file_part(previous.get(), upload->file.get(), done, piece);
            done += piece;
            if (err == 0 && done < keep) {
                co_await net::post(s.executor(), net::use_awaitable);
            }
        }
        if (!err && s.closed()) {
            co_return;  // the client left meanwhile; the temporary goes with `upload`
        }
        if (err != 0) {
            co_await reply_errno(s, err);
            co_return;
        }
    }
    const bool ascii = st.ascii;
    // Without overwrite rights the rename must not replace a file that appeared meanwhile.
    const bool no_replace = !may_replace || kind == StoreKind::unique;
    const auto opening = kind == StoreKind::unique ? "FILE: " + printable_name(path)
                                                   : std::string("Ok to send data.");
    const auto started = Clock::now();
    s.start_transfer(
        opening,
        [&s, upload, path, ascii, no_replace, kind,
         started](DataChannel& data) -> net::awaitable<TransferOutcome> {
            RateLimiter limiter(s.service().config().upload_rate);
            auto progress = [&s](std::size_t n) {
                s.data_progress(n);
            };
            const auto result =
                co_await data.receive_file(upload->file.get(), ascii, limiter, progress);
            upload->file.reset();
            auto outcome = outcome_of(
                result, kind == StoreKind::unique
                            ? "Transfer complete; stored as " + printable_name(path) + "."
                            : std::string("Transfer complete."));
            bool complete = result.ok();
            if (complete) {
                if (const int rename_err = upload->commit(path, no_replace); rename_err != 0) {
                    const auto [code, text] = errno_reply(rename_err);
                    outcome = {code == 550 ? 553 : code, text};
                    complete = false;
                }
            }
            if (!complete) {
                upload->discard();
            }
            TransferRecord record;
            record.finished = std::time(nullptr);
            record.seconds = seconds_since(started);
            record.bytes = result.bytes;
            record.path = path;
            record.binary = !ascii;
            record.incoming = true;
            record.complete = complete;
            s.log_transfer(std::move(record));
            co_return outcome;
        });
}

net::awaitable<void> cmd_stor(Session& s, std::string argument) {
    co_await store(s, std::move(argument), StoreKind::store);
}
net::awaitable<void> cmd_stou(Session& s, std::string argument) {
    co_await store(s, std::move(argument), StoreKind::unique);
}
net::awaitable<void> cmd_appe(Session& s, std::string argument) {
    co_await store(s, std::move(argument), StoreKind::append);
}

net::awaitable<void> list_over_data(Session& s, std::string argument,
                                    ListingStream::Format format) {
    auto stream =
        std::make_shared<ListingStream>(format, s.state().mlst_facts, s.state().permissions());
    const auto path =
        resolve_path(s, format == ListingStream::Format::mlsd ? std::string_view(argument)
                                                              : listing_path(argument));
    if (const int err = stream->open(s.state().vfs, path); err != 0) {
        if (err == ENOTDIR) {
            co_await s.reply(501, "Not a directory.");
        } else {
            co_await reply_errno(s, err);
        }
        co_return;
    }
    if (!data_prepared(s)) {
        co_await s.reply(425, "Use PORT, PASV, EPRT or EPSV first.");
        co_return;
    }
    s.start_transfer("Here comes the directory listing.",
                     [&s, stream](DataChannel& data) -> net::awaitable<TransferOutcome> {
                         std::string chunk;
                         TransferResult result;
                         for (bool more = true; more;) {
                             chunk.clear();
                             more = stream->next(chunk, kListingChunk);
                             if (chunk.empty()) {
                                 // Nothing matched in this stretch of a large directory:
                                 // let the other sessions of this thread run first.
                                 co_await net::post(s.executor(), net::use_awaitable);
                                 continue;
                             }
                             result.network = co_await data.send(chunk);
                             if (result.network) {
                                 break;
                             }
                             s.data_progress(chunk.size());
                             result.bytes += chunk.size();
                         }
                         co_return outcome_of(result, "Directory send OK.");
                     });
}

net::awaitable<void> cmd_list(Session& s, std::string argument) {
    co_await list_over_data(s, std::move(argument), ListingStream::Format::list);
}
net::awaitable<void> cmd_nlst(Session& s, std::string argument) {
    co_await list_over_data(s, std::move(argument), ListingStream::Format::names);
}
net::awaitable<void> cmd_mlsd(Session& s, std::string argument) {
    co_await list_over_data(s, std::move(argument), ListingStream::Format::mlsd);
}

net::awaitable<void> cmd_stat(Session& s, std::string argument) {
    auto& st = s.state();
    if (argument.empty()) {
        std::string text = "FTP server status:\n";
        text += "     Connected to " + normalize(s.peer().address()).to_string() + "\n";
        text += "     Logged in as " + printable_name(st.account->name) + "\n";
        text += std::string("     TYPE: ") + (st.ascii ? "ASCII" : "BINARY") + "\n";
        if (s.transfer_active()) {
            text +=
                "     Transfer in progress: " + std::to_string(st.transferred) + " bytes so far\n";
        } else {
            text += "     No data connection\n";
        }
        text += "End of status";
        co_await s.reply(211, text);
        co_return;
    }
    if ((st.permissions() & kPermList) == 0) {
        co_await s.reply(550, "Permission denied.");
        co_return;
    }
    ListingStream stream(ListingStream::Format::list, st.mlst_facts, st.permissions());
    const auto path = resolve_path(s, listing_path(argument));
    if (const int err = stream.open(st.vfs, path); err != 0) {
        co_await reply_errno(s, err);
        co_return;
    }
    co_await s.send_raw("213-Status of " + printable_name(path) + ":\r\n");
    std::string chunk;
    // Each line starts with a space, so that no listing line looks like the end of the reply.
    for (bool more = true; more && !s.closed();) {
        chunk.clear();
        more = stream.next(chunk, kListingChunk, " ");
        if (!chunk.empty()) {
            co_await s.send_raw(std::move(chunk));
        } else {
            co_await net::post(s.executor(), net::use_awaitable);  // as in list_over_data
        }
    }
    co_await s.reply(213, "End of status");
}

}  // namespace

void add_transfer_commands(std::vector<CommandSpec>& t) {
    using A = ArgRule;
    t.push_back(
        {"RETR", cmd_retr, true, A::required, kPermRead, "Syntax: RETR <sp> file-name", false});
    t.push_back(
        {"STOR", cmd_stor, true, A::required, kPermCreate, "Syntax: STOR <sp> file-name", false});
    t.push_back(
        {"STOU", cmd_stou, true, A::optional, kPermCreate, "Syntax: STOU [<sp> file-name]", false});
    t.push_back(
        {"APPE", cmd_appe, true, A::required, kPermCreate, "Syntax: APPE <sp> file-name", false});
    t.push_back(
        {"LIST", cmd_list, true, A::optional, kPermList, "Syntax: LIST [<sp> path]", false});
    t.push_back(
        {"NLST", cmd_nlst, true, A::optional, kPermList, "Syntax: NLST [<sp> path]", false});
    t.push_back(
        {"MLSD", cmd_mlsd, true, A::optional, kPermList, "Syntax: MLSD [<sp> dir-name]", false});
    t.push_back({"STAT", cmd_stat, true, A::optional, 0, "Syntax: STAT [<sp> path]", true});
}

}  // namespace portd::ftp
