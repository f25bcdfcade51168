// Opens every listening socket of a manifest before any service starts: bound here, or
// adopted from systemd's socket activation (LISTEN_FDS / LISTEN_FDNAMES).
#pragma once

#include "manifest/manifest.hpp"

#include <map>
#include <string>
#include <vector>

namespace portd::network {

/// A listening socket and the manifest entry it serves.
struct Listener {
    std::string service;
    manifest::ListenSpec spec;
    int fd = -1;
    bool inherited = false;  // came from systemd rather than bound by portd
};

/// Descriptors systemd passed in, by FileDescriptorName= (unnamed ones are "unknown").
struct InheritedSockets {
    std::multimap<std::string, int> by_name;
};

/// Takes the descriptors passed by systemd, if any, and unsets LISTEN_* so that children do not
/// see them.
InheritedSockets take_inherited_sockets();

struct OpenResult {
    std::vector<Listener> listeners;
    std::vector<std::string> errors;    // one line each, naming the address and the fix
    std::vector<std::string> warnings;  // e.g. inherited sockets that no service uses
};

/// Binds (SO_REUSEADDR; IPV6_V6ONLY for IPv6) or adopts the listener of every `listen:` entry.
/// On any error, every socket opened so far is closed again.
OpenResult open_listeners(const manifest::Manifest& manifest, InheritedSockets inherited);

/// Binds one address; returns the fd or throws std::runtime_error saying why and what to do.
int bind_listener(const manifest::ListenSpec& spec, int backlog);

/// Why binding `endpoint` failed with `error`, in words an operator can act on.
std::string explain_bind_error(const manifest::ListenSpec& spec, int error);

}  // namespace portd::network
