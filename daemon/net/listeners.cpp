#include "net/listeners.hpp"

#include "net/port_owner.hpp"

#include <systemd/sd-daemon.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace portd::network {

namespace {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

SocketAddress to_sockaddr(const manifest::ListenSpec& spec) {
    SocketAddress out;
    const auto endpoint = spec.endpoint();
    std::memcpy(&out.storage, endpoint.data(), endpoint.size());
    out.length = static_cast<socklen_t>(endpoint.size());
    return out;
}

bool same_address(int fd, const manifest::ListenSpec& spec) {
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
        return false;
    }
    const auto wanted = to_sockaddr(spec);
    if (bound.ss_family != wanted.storage.ss_family) {
        return false;
    }
    if (bound.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&bound);
        const auto* b = reinterpret_cast<const sockaddr_in*>(&wanted.storage);
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&bound);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&wanted.storage);
    return a->sin6_port == b->sin6_port &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

void close_all(std::vector<Listener>& listeners) {
    for (auto& l : listeners) {
        if (l.fd >= 0) {
            ::close(l.fd);
            l.fd = -1;
        }
    }
    listeners.clear();
}

}  // namespace

InheritedSockets take_inherited_sockets() {
    InheritedSockets out;
    char** names = nullptr;
    const int count = sd_listen_fds_with_names(1, &names);
    for (int i = 0; i < count; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        std::string name = names != nullptr && names[i] != nullptr ? names[i] : "unknown";
        // Inherited descriptors must not leak into children other than their own worker.
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        out.by_name.emplace(std::move(name), fd);
    }
    if (names != nullptr) {
        for (int i = 0; i < count; ++i) {
            std::free(names[i]);
        }
        std::free(names);
    }
    return out;
}

std::string explain_bind_error(const manifest::ListenSpec& spec, int error) {
    const auto where = spec.text;
    const auto port = std::to_string(spec.port);
    switch (error) {
        case EACCES:
        case EPERM:
            if (spec.port < 1024) {
                return "cannot bind " + where + ": port " + port +
                       " is in the well-known range 0-1023, which needs root or "
                       "CAP_NET_BIND_SERVICE; run portd as root (it drops privileges per "
                       "service), grant it the capability (AmbientCapabilities="
                       "CAP_NET_BIND_SERVICE in the unit) or choose a port of 1024 or more";
            }
            return "cannot bind " + where + ": permission denied (" + std::strerror(error) + ")";
        case EADDRINUSE: {
            auto owner = find_port_owner(spec.endpoint());
            return "cannot bind " + where + ": the address is already in use" +
                   (owner.empty() ? "" : " by " + owner) + "; see `ss -ltnp 'sport = :" + port +
                   "'` for who holds it, then stop it or choose another port";
        }
        case EADDRNOTAVAIL:
            return "cannot bind " + where + ": " + spec.address.to_string() +
                   " is not an address of this machine (see `ip address`); use 0.0.0.0 or "
                   "[::] for all addresses";
        default:
            return "cannot bind " + where + ": " + std::strerror(error);
    }
}

int bind_listener(const manifest::ListenSpec& spec, int backlog) {
    const auto address = to_sockaddr(spec);
    const int family = address.storage.ss_family;
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("cannot create a socket for " + spec.text + ": " +
                                 std::strerror(errno));
    }
    const int on = 1;
    // SO_REUSEADDR: a restart can bind while old connections sit in TIME_WAIT.
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (family == AF_INET6) {
        // [::]:80 serves IPv6 only, so it coexists with 0.0.0.0:80 instead of taking it.
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0 ||
        ::listen(fd, backlog) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error(explain_bind_error(spec, error));
    }
    return fd;
}

OpenResult open_listeners(const manifest::Manifest& manifest, InheritedSockets inherited) {
    OpenResult result;
    for (const auto& service : manifest.services) {
        for (const auto& spec : service.listen) {
            Listener listener{service.name, spec, -1, false};
            if (spec.kind == manifest::ListenSpec::Kind::systemd) {
                auto it = inherited.by_name.find(spec.systemd_name);
                if (it == inherited.by_name.end()) {
                    result.errors.push_back(
                        manifest::to_string(spec.where) + ": " + spec.key + ": " + spec.text +
                        ": systemd passed no socket named '" + spec.systemd_name +
                        "'; add ListenStream= with FileDescriptorName=" + spec.systemd_name +
                        " to portd.socket, or listen on an address instead");
                    continue;
                }
                if (sd_is_socket(it->second, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                    result.errors.push_back(manifest::to_string(spec.where) + ": " + spec.key +
                                            ": the socket named '" + spec.systemd_name +
                                            "' is not a listening TCP socket");
                    continue;
                }
                listener.fd = it->second;
                listener.inherited = true;
                inherited.by_name.erase(it);
                result.listeners.push_back(std::move(listener));
                continue;
            }
            // A plain address takes an inherited socket already bound to it, so that a
            // restart under socket activation loses no connection.
            for (auto it = inherited.by_name.begin(); it != inherited.by_name.end(); ++it) {
                if (same_address(it->second, spec)) {
                    listener.fd = it->second;
                    listener.inherited = true;
                    inherited.by_name.erase(it);
                    break;
                }
            }
            if (listener.fd < 0) {
                try {
                    listener.fd = bind_listener(spec, service.backlog);
                } catch (const std::runtime_error& e) {
                    result.errors.push_back(manifest::to_string(spec.where) + ": " + spec.key +
                                            ": " + e.what());
                    continue;
                }
            }
            result.listeners.push_back(std::move(listener));
        }
    }
    for (const auto& [name, fd] : inherited.by_name) {
        result.warnings.push_back("systemd passed a socket named '" + name + "' (fd " +
                                  std::to_string(fd) +
                                  ") that no service listens on; it is closed");
        ::close(fd);
    }
    if (!result.errors.empty()) {
        close_all(result.listeners);
    }
    return result;
}

}  // namespace portd::network
