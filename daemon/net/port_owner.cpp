#include "net/port_owner.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace portd::network {

namespace {

constexpr const char* kListenState = "0A";  // TCP_LISTEN in /proc/net/tcp

/// Inodes of listening sockets on `port` from /proc/net/tcp or tcp6.
void listening_inodes(const char* table, unsigned port, std::set<std::string>& inodes) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode;
        const auto colon = local.rfind(':');
        if (colon == std::string::npos || state != kListenState) {
            continue;
        }
        if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) {
            inodes.insert(inode);
        }
    }
}

}  // namespace

std::string find_port_owner(const tcp::endpoint& endpoint) {
    std::set<std::string> inodes;
    try {
        listening_inodes("/proc/net/tcp", endpoint.port(), inodes);
        listening_inodes("/proc/net/tcp6", endpoint.port(), inodes);
        if (inodes.empty()) {
            return {};
        }
        namespace fs = std::filesystem;
        for (const auto& process : fs::directory_iterator("/proc")) {
            const auto pid = process.path().filename().string();
            if (pid.find_first_not_of("0123456789") != std::string::npos) {
                continue;
            }
            std::error_code ec;
            fs::directory_iterator fds(process.path() / "fd", ec);
            // A process may exit while we look: skip it rather than give up.
            for (; !ec && fds != fs::directory_iterator(); fds.increment(ec)) {
                std::error_code link_error;
                auto target = fs::read_symlink(fds->path(), link_error).string();
                if (link_error || !target.starts_with("socket:[")) {
                    continue;
                }
                if (inodes.count(target.substr(8, target.size() - 9)) != 0) {
                    std::ifstream comm(process.path() / "comm");
                    std::string name;
                    std::getline(comm, name);
                    return "pid " + pid + " (" + name + ")";
                }
            }
        }
    } catch (const std::exception&) {
        // /proc is best effort: the message without an owner is still right.
    }
    return {};
}

}  // namespace portd::network
