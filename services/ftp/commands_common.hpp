// Small helpers the command handlers share: argument → virtual path, errno → reply.
#pragma once

#include "ftp/data_channel.hpp"
#include "ftp/session.hpp"
#include "ftp/vfs.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace portd::ftp {

/// The virtual path an argument names, from the session's working directory.
inline std::string resolve_path(Session& session, std::string_view argument) {
    return resolve_virtual(session.state().cwd, argument);
}

/// The reply for a failed file operation (nginx's errno → status table, in FTP codes).
inline std::pair<int, std::string> errno_reply(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return {550, "No such file or directory."};
        case EACCES:
        case EPERM:
        case EROFS:
            return {550, "Permission denied."};
        case EEXIST:
            return {550, "File exists."};
        case ENOTEMPTY:
            return {550, "Directory not empty."};
        case EISDIR:
            return {550, "Is a directory."};
        case EBUSY:
            return {550, "Resource busy."};
        case ELOOP:
            return {550, "Too many levels of symbolic links."};
        case ENOSPC:
        case EDQUOT:
            return {452, "Insufficient storage space."};
        case ENAMETOOLONG:
            return {553, "File name too long."};
        case EINVAL:
            return {550, "Invalid file name."};
        default:
            return {451, std::string("Local error: ") + std::strerror(err) + "."};
    }
}

inline net::awaitable<void> reply_errno(Session& session, int err) {
    const auto [code, text] = errno_reply(err);
    co_await session.reply(code, text);
}

/// The final reply of a transfer from how it ended.
inline TransferOutcome outcome_of(const TransferResult& result, std::string ok_text) {
    if (result.file_error != 0) {
        const auto [code, text] = errno_reply(result.file_error);
        return {code == 550 ? 451 : code, text};
    }
    if (result.network) {
        return {426, "Connection closed; transfer aborted."};
    }
    return {226, std::move(ok_text)};
}

/// "Use PORT or PASV first." when no data connection is prepared.
inline bool data_prepared(Session& session) {
    return session.data().prepared();
}

}  // namespace portd::ftp
