// Whether a service takes one more connection: `limits:` (connections, per_source, rate) and the
// `allow:`/`deny:` address lists, decided before the module sees the connection.
//
// Pure logic: no I/O, no logging, no clock of its own. The caller passes the time, so tests run
// on invented time, and does the logging (see log_throttle.hpp) and the talking.
//
// Limits never close the door (DESIGN.md): over a limit the accept loop either pauses (the
// connection waits in the kernel backlog) or the module refuses the one connection in its own
// protocol. Nothing here ever disables the service; a burst costs at most a pause of one token's
// refill time or until a connection closes.
#pragma once

#include "manifest/manifest.hpp"

#include <portd/net.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace portd::worker {

enum class Verdict {
    admit,   // hand the connection to the module
    refuse,  // over a limit: hand it to the module to refuse in its protocol (421, 503)
    deny,    // the address lists exclude the peer: close without a word
};

/// Why a connection was not admitted; `acl` is the reason of every Verdict::deny.
enum class RefuseReason { connections, per_source, rate, acl };

inline constexpr std::size_t kRefuseReasons = 4;

/// "connections", "per_source", "rate", "acl": the names portctl status and the log use.
const char* to_string(RefuseReason reason);
/// "admit", "refuse", "deny".
const char* to_string(Verdict verdict);

class Admission {
public:
    using Clock = std::chrono::steady_clock;

    /// A `rate` with a zero count or interval counts as no rate limit: the manifest refuses
    /// such rates, and "nothing per second" would close the door for good.
    Admission(const manifest::Limits& limits, std::vector<manifest::Cidr> allow,
              std::vector<manifest::Cidr> deny);

    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

    /// Asked before accept(). With `over_limit: defer`, while the service is at `connections`
    /// this returns Clock::duration::max(), meaning "until a release": the caller waits until
    /// release() returns true. While the rate bucket is empty it returns the time until the
    /// next token. Otherwise, and always with `over_limit: refuse`, std::nullopt: accept now.
    std::optional<Clock::duration> pause_before_accept(Clock::time_point now);

    struct Decision {
        Verdict verdict = Verdict::admit;
        RefuseReason reason = RefuseReason::connections;  // meaningful unless verdict is admit
    };

    /// Asked after accept(), in this order: the address lists (deny wins over allow; an empty
    /// allow list allows everyone), per_source, connections, rate. An admitted connection is
    /// counted (open, open from its source, a rate token taken) and must be release()d once
    /// when it closes; a refused or denied one is only counted under its reason.
    ///
    /// per_source refuses even with `over_limit: defer`: the peer's address is known only once
    /// the connection is accepted, so it can no longer wait in the backlog, and pausing the
    /// accept loop would make every other client wait for one busy source.
    ///
    /// With defer, connections and rate refuse only when the pause was skipped or raced (two
    /// accept loops both saw the last free slot); the second one is refused rather than let
    /// the service exceed its limit.
    Decision admit(const net::ip::address& peer, Clock::time_point now);

    /// The connection admitted for `peer` closed. True when this freed the slot that a paused
    /// accept loop waits for (pause_before_accept returned duration::max()); the caller then
    /// resumes every loop it paused. A release without a matching admit is ignored.
    bool release(const net::ip::address& peer);

    /// Counters for portctl status.
    std::uint64_t open() const;
    /// Open connections from `peer`; a v4-mapped IPv6 address counts as its IPv4 address.
    std::uint64_t open_from(const net::ip::address& peer) const;
    /// Connections not admitted for `reason` since the start (acl: denied by the lists).
    std::uint64_t refused(RefuseReason reason) const;
    /// Connections admitted since the start.
    std::uint64_t accepted_total() const;
    /// Distinct sources with open connections: the size of the per-source table.
    std::size_t sources() const;

    /// Every counter under one lock, so a status line adds up.
    struct Counters {
        std::uint64_t open = 0;
        std::uint64_t accepted_total = 0;
        std::array<std::uint64_t, kRefuseReasons> refused{};  // indexed by RefuseReason
        std::size_t sources = 0;
    };
    Counters counters() const;

private:
    // The token bucket in exact integers: one token is `per_ns_` units, and every nanosecond
    // adds `count_` units, so "count per interval" refills without rounding. The products
    // reach count * per in nanoseconds, which can pass 64 bits (1000000/d), hence 128.
    __extension__ using Units = unsigned __int128;

    bool allowed_by_lists(const net::ip::address& peer) const;
    void refill(Clock::time_point now);
    bool has_token() const { return level_ >= per_ns_; }
    Clock::duration until_token() const;
    bool at_connections() const { return connections_ != 0 && open_ >= connections_; }

    const std::uint64_t connections_;
    const std::uint64_t per_source_;
    const bool defer_;
    const bool rated_;
    const std::uint64_t count_;  // tokens per interval, and the bucket's capacity
    const Units per_ns_;         // the interval in nanoseconds: the units of one token
    const Units capacity_;       // count_ tokens
    const std::vector<manifest::Cidr> allow_;
    const std::vector<manifest::Cidr> deny_;

    mutable std::mutex mutex_;
    Units level_;  // starts full
    std::optional<Clock::time_point> last_refill_;
    bool waiting_for_release_ = false;
    std::uint64_t open_ = 0;
    std::map<net::ip::address, std::uint64_t> per_source_open_;  // no zero entries
    std::uint64_t accepted_total_ = 0;
    std::array<std::uint64_t, kRefuseReasons> refused_{};
};

}  // namespace portd::worker
