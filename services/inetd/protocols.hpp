// The five protocols. Each file (echo.cpp, ...) holds one RFC: the pure function behind it,
// unit-tested without a socket, and the coroutine that serves one connection with it.
#pragma once

#include <portd/net.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace portd::inetd {

class Session;

/// RFC 864: line `n` of the chargen pattern: 72 of the 95 printable ASCII characters, starting
/// at character n mod 95, then CRLF. The pattern repeats every kChargenCycle lines.
std::string chargen_line(std::uint64_t n);
inline constexpr std::uint64_t kChargenCycle = 95;

/// RFC 868: seconds since 1900-01-01 00:00 UTC, modulo 2^32 (so it wraps in February 2036).
std::uint32_t rfc868_seconds(std::chrono::system_clock::time_point t);
inline constexpr std::uint32_t kRfc868EpochOffset = 2'208'988'800;  // 1900-01-01 → 1970-01-01

/// RFC 867 leaves the format free and suggests "Tuesday, February 22, 1982 17:37:43-PST".
/// This writes that, CRLF-terminated, in English whatever the locale (clients parse it).
std::string daytime_line(const std::tm& local_time);

// One connection each; they return when the connection is over, and Session closes it.
net::awaitable<void> serve_echo(Session& session);
net::awaitable<void> serve_discard(Session& session);
net::awaitable<void> serve_chargen(Session& session);
net::awaitable<void> serve_daytime(Session& session);
net::awaitable<void> serve_time(Session& session);

}  // namespace portd::inetd
