// Dropping root for a service's worker: initgroups, setgid, setuid, then proof that root
// cannot be regained.
#pragma once

#include <optional>
#include <string>

namespace portd::sys {

/// Whether `user` (and `group`, if not empty) exist; an error message if not.
std::optional<std::string> check_identity(const std::string& user, const std::string& group);

/// Becomes `user` (with `group`, or the user's primary group, and the user's supplementary
/// groups) and sets no_new_privs. Returns an error message, or nullopt on success.
std::optional<std::string> drop_privileges(const std::string& user, const std::string& group);

}  // namespace portd::sys
