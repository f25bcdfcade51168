#include "worker/admission.hpp"

#include "net/cidr.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace portd::worker {

namespace {

using Nanoseconds = std::chrono::nanoseconds;

bool has_rate(const manifest::Limits& limits) {
    return limits.rate && limits.rate->count != 0 && limits.rate->per.count() > 0;
}

// At most what a nanosecond count holds (292 years), so that count * interval fits 128 bits.
std::uint64_t interval_ns(const manifest::Limits& limits) {
    if (!has_rate(limits)) {
        return 1;
    }
    constexpr auto kMaxMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(Nanoseconds::max()).count();
    const auto ms = std::min<std::int64_t>(limits.rate->per.count(), kMaxMs);
    return static_cast<std::uint64_t>(ms) * 1'000'000u;
}

std::size_t index(RefuseReason reason) {
    return static_cast<std::size_t>(reason);
}

}  // namespace

const char* to_string(RefuseReason reason) {
    switch (reason) {
        case RefuseReason::connections:
            return "connections";
        case RefuseReason::per_source:
            return "per_source";
        case RefuseReason::rate:
            return "rate";
        case RefuseReason::acl:
            return "acl";
    }
    return "unknown";
}

const char* to_string(Verdict verdict) {
    switch (verdict) {
        case Verdict::admit:
            return "admit";
        case Verdict::refuse:
            return "refuse";
        case Verdict::deny:
            return "deny";
    }
    return "unknown";
}

Admission::Admission(const manifest::Limits& limits, std::vector<manifest::Cidr> allow,
                     std::vector<manifest::Cidr> deny)
    : connections_(limits.connections),
      per_source_(limits.per_source),
      defer_(limits.over_limit == manifest::OverLimit::defer),
      rated_(has_rate(limits)),
      count_(rated_ ? limits.rate->count : 1),
      per_ns_(interval_ns(limits)),
      capacity_(Units{count_} * per_ns_),
      allow_(std::move(allow)),
      deny_(std::move(deny)),
      level_(capacity_) {}

bool Admission::allowed_by_lists(const net::ip::address& peer) const {
    const auto in = [&peer](const manifest::Cidr& block) {
        return network::contains(block, peer);
    };
    if (std::any_of(deny_.begin(), deny_.end(), in)) {
        return false;
    }
    return allow_.empty() || std::any_of(allow_.begin(), allow_.end(), in);
}

void Admission::refill(Clock::time_point now) {
    if (!last_refill_) {
        last_refill_ = now;
        return;
    }
    // Threads read the clock before taking the lock, so `now` may be a little behind the last
    // refill; time never runs backwards for the bucket.
    if (now <= *last_refill_) {
        return;
    }
    const auto elapsed = std::chrono::duration_cast<Nanoseconds>(now - *last_refill_).count();
    last_refill_ = now;
    // A whole interval refills the whole bucket; capping here also keeps the product small.
    const Units ns = std::min(Units{static_cast<std::uint64_t>(elapsed)}, per_ns_);
    level_ = std::min(capacity_, level_ + ns * count_);
}

Admission::Clock::duration Admission::until_token() const {
    const Units missing = per_ns_ - level_;
    // Round up: waking a nanosecond early would find the bucket still empty.
    const Units ns = (missing + count_ - 1) / count_;
    return std::chrono::ceil<Clock::duration>(Nanoseconds(static_cast<std::int64_t>(ns)));
}

std::optional<Admission::Clock::duration> Admission::pause_before_accept(Clock::time_point now) {
    if (!defer_) {
        return std::nullopt;
    }
    std::lock_guard lock(mutex_);
    if (at_connections()) {
        waiting_for_release_ = true;
        return Clock::duration::max();
    }
    if (rated_) {
        refill(now);
        if (!has_token()) {
            return until_token();
        }
    }
    return std::nullopt;
}

Admission::Decision Admission::admit(const net::ip::address& peer, Clock::time_point now) {
    const auto source = network::unmapped(peer);
    std::lock_guard lock(mutex_);
    const auto refuse = [this](Verdict verdict, RefuseReason reason) {
        ++refused_[index(reason)];
        return Decision{verdict, reason};
    };
    if (!allowed_by_lists(source)) {
        return refuse(Verdict::deny, RefuseReason::acl);
    }
    const auto found = per_source_open_.find(source);
    if (per_source_ != 0 && found != per_source_open_.end() && found->second >= per_source_) {
        return refuse(Verdict::refuse, RefuseReason::per_source);
    }
    if (at_connections()) {
        return refuse(Verdict::refuse, RefuseReason::connections);
    }
    if (rated_) {
        refill(now);
        if (!has_token()) {
            return refuse(Verdict::refuse, RefuseReason::rate);
        }
        level_ -= per_ns_;
    }
    ++open_;
    ++accepted_total_;
    if (found != per_source_open_.end()) {
        ++found->second;
    } else {
        per_source_open_.emplace(source, 1);
    }
    return Decision{Verdict::admit, RefuseReason::connections};
}

bool Admission::release(const net::ip::address& peer) {
    const auto source = network::unmapped(peer);
    std::lock_guard lock(mutex_);
    const auto found = per_source_open_.find(source);
    if (found == per_source_open_.end() || open_ == 0) {
        return false;
    }
    // Erase at zero: the table holds only sources with open connections, so a scan from many
    // addresses cannot grow it beyond the open connections.
    if (--found->second == 0) {
        per_source_open_.erase(found);
    }
    --open_;
    if (waiting_for_release_ && !at_connections()) {
        waiting_for_release_ = false;
        return true;
    }
    return false;
}

std::uint64_t Admission::open() const {
    std::lock_guard lock(mutex_);
    return open_;
}

std::uint64_t Admission::open_from(const net::ip::address& peer) const {
    const auto source = network::unmapped(peer);
    std::lock_guard lock(mutex_);
    const auto found = per_source_open_.find(source);
    return found == per_source_open_.end() ? 0 : found->second;
}

std::uint64_t Admission::refused(RefuseReason reason) const {
    std::lock_guard lock(mutex_);
    return refused_[index(reason)];
}

std::uint64_t Admission::accepted_total() const {
    std::lock_guard lock(mutex_);
    return accepted_total_;
}

std::size_t Admission::sources() const {
    std::lock_guard lock(mutex_);
    return per_source_open_.size();
}

Admission::Counters Admission::counters() const {
    std::lock_guard lock(mutex_);
    return Counters{open_, accepted_total_, refused_, per_source_open_.size()};
}

}  // namespace portd::worker
