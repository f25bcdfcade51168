// The syntax of a Host field value and of the authority of an absolute-form target:
// uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3). A server must answer 400 to an
// invalid one (RFC 9112 §3.2); no userinfo is allowed (RFC 9110 §4.2.4).
#pragma once

#include <string_view>

namespace portd::http {

/// Whether `value` is uri-host [":" port]: a registered name or IPv4 address (unreserved,
/// percent-encoded and sub-delims characters), or an IPv6 or IPvFuture literal in brackets;
/// the port all digits (it may be empty). An empty value is valid syntax (RFC 9112 §3.2 has
/// clients send it when the target URI has no authority); whether a request may have it is the
/// parser's call.
bool valid_host(std::string_view value);

}  // namespace portd::http
