#include "sys/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace portd::sys {

namespace {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<std::string> lookup(const std::string& user, const std::string& group,
                                  Identity& out) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr) {
        return "user '" + user + "' does not exist: create it (e.g. with systemd-sysusers or " +
               "adduser --system) or change `user:`";
    }
    out.uid = pw.pw_uid;
    out.gid = pw.pw_gid;
    if (!group.empty()) {
        struct group gr {};
        struct group* found_group = nullptr;
        if (getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found_group) != 0 ||
            found_group == nullptr) {
            return "group '" + group + "' does not exist: create it or change `group:`";
        }
        out.gid = gr.gr_gid;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> check_identity(const std::string& user, const std::string& group) {
    Identity identity;
    return lookup(user, group, identity);
}

std::optional<std::string> drop_privileges(const std::string& user, const std::string& group) {
    Identity id;
    if (auto error = lookup(user, group, id)) {
        return error;
    }
    if (::initgroups(user.c_str(), id.gid) != 0) {
        return "initgroups(" + user + "): " + std::strerror(errno);
    }
    if (::setgid(id.gid) != 0) {
        return "setgid(" + std::to_string(id.gid) + "): " + std::strerror(errno);
    }
    if (::setuid(id.uid) != 0) {
        return "setuid(" + std::to_string(id.uid) + "): " + std::strerror(errno);
    }
    // Proof, not trust: if root can still be had back, the drop did not happen.
    if (id.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
        return "could regain root after dropping to '" + user + "': refusing to serve";
    }
    if (::getuid() != id.uid || ::geteuid() != id.uid || ::getgid() != id.gid ||
        ::getegid() != id.gid) {
        return "the user and group did not change as asked";
    }
    // No setuid binary or file capability can raise this process or its children again.
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    return std::nullopt;
}

}  // namespace portd::sys
