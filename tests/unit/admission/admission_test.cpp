#include "worker/admission.hpp"

#include "net/cidr.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace portd::worker {
namespace {

using namespace std::chrono_literals;
using Clock = Admission::Clock;

// Invented time: the tests never read the clock.
const Clock::time_point kT0{};

net::ip::address ip(const char* text) {
    return net::ip::make_address(text);
}

manifest::Cidr block(std::string_view text) {
    auto parsed = network::parse_cidr(text);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << "'" << text << "' was refused: " << *message;
        return {};
    }
    return std::get<manifest::Cidr>(parsed);
}

std::vector<manifest::Cidr> blocks(std::initializer_list<const char*> texts) {
    std::vector<manifest::Cidr> out;
    for (const char* text : texts) {
        out.push_back(block(text));
    }
    return out;
}

manifest::Limits limits(std::uint64_t connections, std::uint64_t per_source,
                        std::optional<Rate> rate = std::nullopt,
                        manifest::OverLimit over = manifest::OverLimit::refuse) {
    manifest::Limits l;
    l.connections = connections;
    l.per_source = per_source;
    l.rate = rate;
    l.over_limit = over;
    return l;
}

Verdict verdict(Admission& admission, const char* peer, Clock::time_point now = kT0) {
    return admission.admit(ip(peer), now).verdict;
}

TEST(RefuseReasonNames, AreTheStatusNames) {
    EXPECT_STREQ(to_string(RefuseReason::connections), "connections");
    EXPECT_STREQ(to_string(RefuseReason::per_source), "per_source");
    EXPECT_STREQ(to_string(RefuseReason::rate), "rate");
    EXPECT_STREQ(to_string(RefuseReason::acl), "acl");
    EXPECT_STREQ(to_string(Verdict::admit), "admit");
    EXPECT_STREQ(to_string(Verdict::refuse), "refuse");
    EXPECT_STREQ(to_string(Verdict::deny), "deny");
}

TEST(Admission, NoLimitsAdmitsEveryone) {
    Admission admission(manifest::Limits{}, {}, {});
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    }
    EXPECT_EQ(admission.open(), 1000u);
    EXPECT_EQ(admission.accepted_total(), 1000u);
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);
}

// --- address lists ----------------------------------------------------------------------------

TEST(AdmissionAcl, EmptyAllowAllowsEveryone) {
    Admission admission(manifest::Limits{}, {}, blocks({"10.0.0.0/8"}));
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "2001:db8::1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "10.1.2.3"), Verdict::deny);
}

TEST(AdmissionAcl, AllowListExcludesTheRest) {
    Admission admission(manifest::Limits{}, blocks({"192.168.0.0/16", "2001:db8::/32"}), {});
    EXPECT_EQ(verdict(admission, "192.168.4.5"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "2001:db8:1::7"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.169.0.1"), Verdict::deny);
    EXPECT_EQ(verdict(admission, "2001:db9::1"), Verdict::deny);
    const auto denied = admission.admit(ip("8.8.8.8"), kT0);
    EXPECT_EQ(denied.verdict, Verdict::deny);
    EXPECT_EQ(denied.reason, RefuseReason::acl);
    EXPECT_EQ(admission.refused(RefuseReason::acl), 3u);
    EXPECT_EQ(admission.open(), 2u);
}

TEST(AdmissionAcl, DenyWinsOverAllow) {
    Admission admission(manifest::Limits{}, blocks({"10.0.0.0/8", "2001:db8::/32"}),
                        blocks({"10.9.0.0/16", "2001:db8:bad::/48"}));
    EXPECT_EQ(verdict(admission, "10.1.0.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "10.9.0.1"), Verdict::deny);
    EXPECT_EQ(verdict(admission, "2001:db8:1::1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "2001:db8:bad::1"), Verdict::deny);
}

TEST(AdmissionAcl, DenyWinsForTheSameBlock) {
    Admission admission(manifest::Limits{}, blocks({"10.0.0.0/8"}), blocks({"10.0.0.0/8"}));
    EXPECT_EQ(verdict(admission, "10.0.0.1"), Verdict::deny);
}

TEST(AdmissionAcl, MappedPeersMatchIpv4Blocks) {
    Admission admission(manifest::Limits{}, blocks({"10.0.0.0/8"}), blocks({"10.66.0.0/16"}));
    EXPECT_EQ(verdict(admission, "::ffff:10.1.2.3"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "::ffff:10.66.0.1"), Verdict::deny);
    EXPECT_EQ(verdict(admission, "::ffff:11.0.0.1"), Verdict::deny);
}

TEST(AdmissionAcl, Ipv6BlocksDoNotMatchIpv4Peers) {
    Admission admission(manifest::Limits{}, {}, blocks({"::/0"}));
    EXPECT_EQ(verdict(admission, "2001:db8::1"), Verdict::deny);
    EXPECT_EQ(verdict(admission, "::1"), Verdict::deny);
    EXPECT_EQ(verdict(admission, "127.0.0.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "::ffff:127.0.0.1"), Verdict::admit);
}

TEST(AdmissionAcl, ComesBeforeTheLimits) {
    // A denied peer takes no slot and no token, and is counted as acl even when full.
    Admission admission(limits(1, 0, Rate{1, 1s}), {}, blocks({"203.0.113.0/24"}));
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    const auto d = admission.admit(ip("203.0.113.9"), kT0);
    EXPECT_EQ(d.verdict, Verdict::deny);
    EXPECT_EQ(d.reason, RefuseReason::acl);
    EXPECT_EQ(admission.refused(RefuseReason::connections), 0u);
    EXPECT_EQ(admission.refused(RefuseReason::rate), 0u);
}

// --- connections ------------------------------------------------------------------------------

TEST(AdmissionConnections, BoundaryAndRelease) {
    Admission admission(limits(3, 0), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.2"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "2001:db8::3"), Verdict::admit);
    const auto fourth = admission.admit(ip("192.0.2.4"), kT0);
    EXPECT_EQ(fourth.verdict, Verdict::refuse);
    EXPECT_EQ(fourth.reason, RefuseReason::connections);
    EXPECT_EQ(admission.open(), 3u);

    admission.release(ip("192.0.2.2"));
    EXPECT_EQ(admission.open(), 2u);
    EXPECT_EQ(verdict(admission, "192.0.2.4"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.5"), Verdict::refuse);
    EXPECT_EQ(admission.refused(RefuseReason::connections), 2u);
    EXPECT_EQ(admission.accepted_total(), 4u);
}

TEST(AdmissionConnections, ReleaseWithoutAdmitIsIgnored) {
    Admission admission(limits(1, 0), {}, {});
    EXPECT_FALSE(admission.release(ip("192.0.2.1")));
    EXPECT_EQ(admission.open(), 0u);
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_FALSE(admission.release(ip("192.0.2.99")));  // never admitted
    EXPECT_EQ(admission.open(), 1u);
    admission.release(ip("192.0.2.1"));
    EXPECT_FALSE(admission.release(ip("192.0.2.1")));  // released twice
    EXPECT_EQ(admission.open(), 0u);
}

// --- per_source -------------------------------------------------------------------------------

TEST(AdmissionPerSource, BoundaryAndRelease) {
    Admission admission(limits(0, 2), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    const auto third = admission.admit(ip("192.0.2.1"), kT0);
    EXPECT_EQ(third.verdict, Verdict::refuse);
    EXPECT_EQ(third.reason, RefuseReason::per_source);
    // Another source is not affected.
    EXPECT_EQ(verdict(admission, "192.0.2.2"), Verdict::admit);
    EXPECT_EQ(admission.open_from(ip("192.0.2.1")), 2u);
    EXPECT_EQ(admission.open_from(ip("192.0.2.2")), 1u);

    admission.release(ip("192.0.2.1"));
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(admission.refused(RefuseReason::per_source), 1u);
}

TEST(AdmissionPerSource, MappedPeerCountsAsItsIpv4Address) {
    Admission admission(limits(0, 2), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "::ffff:192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "::ffff:192.0.2.1"), Verdict::refuse);
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::refuse);
    EXPECT_EQ(admission.open_from(ip("192.0.2.1")), 2u);
    EXPECT_EQ(admission.open_from(ip("::ffff:192.0.2.1")), 2u);
    // Released under the other spelling.
    admission.release(ip("::ffff:192.0.2.1"));
    admission.release(ip("192.0.2.1"));
    EXPECT_EQ(admission.open_from(ip("192.0.2.1")), 0u);
    EXPECT_EQ(admission.sources(), 0u);
}

TEST(AdmissionPerSource, Ipv6SourcesAreDistinct) {
    Admission admission(limits(0, 1), {}, {});
    EXPECT_EQ(verdict(admission, "2001:db8::1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "2001:db8::2"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "2001:db8::1"), Verdict::refuse);
    // ::1 and 127.0.0.1 are different sources: only v4-mapped addresses fold.
    EXPECT_EQ(verdict(admission, "::1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "127.0.0.1"), Verdict::admit);
}

TEST(AdmissionPerSource, ComesBeforeConnections) {
    Admission admission(limits(2, 1), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.2"), Verdict::admit);
    EXPECT_EQ(admission.admit(ip("192.0.2.1"), kT0).reason, RefuseReason::per_source);
    EXPECT_EQ(admission.admit(ip("192.0.2.3"), kT0).reason, RefuseReason::connections);
}

TEST(AdmissionPerSource, TableShrinksToTheOpenSources) {
    Admission admission(limits(0, 3), {}, {});
    std::vector<net::ip::address> peers;
    for (unsigned i = 0; i < 500; ++i) {
        net::ip::address_v4::bytes_type b{198, 18, static_cast<unsigned char>(i / 256),
                                          static_cast<unsigned char>(i % 256)};
        peers.emplace_back(net::ip::address_v4(b));
    }
    peers.push_back(ip("2001:db8::1"));
    for (const auto& peer : peers) {
        ASSERT_EQ(admission.admit(peer, kT0).verdict, Verdict::admit);
        ASSERT_EQ(admission.admit(peer, kT0).verdict, Verdict::admit);
    }
    EXPECT_EQ(admission.sources(), peers.size());
    for (const auto& peer : peers) {
        admission.release(peer);
    }
    EXPECT_EQ(admission.sources(), peers.size());  // one connection each still open
    for (std::size_t i = 0; i < peers.size(); ++i) {
        admission.release(peers[i]);
        EXPECT_EQ(admission.sources(), peers.size() - i - 1);
    }
    EXPECT_EQ(admission.open(), 0u);
    // Sources are tracked for status even without a per_source limit, and shrink the same.
    Admission unlimited(manifest::Limits{}, {}, {});
    unlimited.admit(ip("192.0.2.1"), kT0);
    EXPECT_EQ(unlimited.open_from(ip("192.0.2.1")), 1u);
    unlimited.release(ip("192.0.2.1"));
    EXPECT_EQ(unlimited.sources(), 0u);
}

// --- rate -------------------------------------------------------------------------------------

TEST(AdmissionRate, BucketStartsFullAndRefillsContinuously) {
    Admission admission(limits(0, 0, Rate{10, 1s}), {}, {});
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit) << i;
    }
    const auto over = admission.admit(ip("192.0.2.1"), kT0);
    EXPECT_EQ(over.verdict, Verdict::refuse);
    EXPECT_EQ(over.reason, RefuseReason::rate);
    // One token per 100 ms: not a nanosecond earlier.
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 100ms - 1ns), Verdict::refuse);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 100ms), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 100ms), Verdict::refuse);
    // Half a token does not admit, the other half does.
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 150ms), Verdict::refuse);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 200ms), Verdict::admit);
    EXPECT_EQ(admission.refused(RefuseReason::rate), 4u);
    EXPECT_EQ(admission.accepted_total(), 12u);
}

TEST(AdmissionRate, BucketHoldsAtMostCount) {
    Admission admission(limits(0, 0, Rate{3, 1s}), {}, {});
    // An hour idle still leaves only three tokens.
    const auto later = kT0 + 1h;
    verdict(admission, "192.0.2.1", kT0);  // starts the clock
    int admitted = 0;
    for (int i = 0; i < 10; ++i) {
        admitted += verdict(admission, "192.0.2.1", later) == Verdict::admit ? 1 : 0;
    }
    EXPECT_EQ(admitted, 3);
}

TEST(AdmissionRate, ExplicitInterval) {
    // 2 per 5 s: a token every 2.5 s.
    Admission admission(limits(0, 0, Rate{2, 5s}), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 2499ms), Verdict::refuse);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 2500ms), Verdict::admit);
}

TEST(AdmissionRate, ClockBehindTheLastRefillTakesNothingBack) {
    // Threads read the clock before taking the lock, so a slightly older `now` can arrive.
    Admission admission(limits(0, 0, Rate{1, 1s}), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 10s), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 9s), Verdict::refuse);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 11s), Verdict::admit);
}

TEST(AdmissionRate, HugeRateDoesNotOverflow) {
    // count * interval in nanoseconds passes 64 bits.
    Admission admission(limits(0, 0, Rate{1'000'000, std::chrono::hours(24)}), {}, {});
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    }
    Admission tiny(limits(0, 0, Rate{1, std::chrono::hours(24 * 365)}), {}, {});
    EXPECT_EQ(verdict(tiny, "192.0.2.1", kT0), Verdict::admit);
    EXPECT_EQ(verdict(tiny, "192.0.2.1", kT0 + std::chrono::hours(24)), Verdict::refuse);
}

TEST(AdmissionRate, ZeroRateIsNoLimit) {
    Admission admission(limits(0, 0, Rate{0, 1s}), {}, {});
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    }
}

TEST(AdmissionRate, ComesAfterConnections) {
    Admission admission(limits(1, 0, Rate{1, 1s}), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    EXPECT_EQ(admission.admit(ip("192.0.2.2"), kT0).reason, RefuseReason::connections);
    admission.release(ip("192.0.2.1"));
    EXPECT_EQ(admission.admit(ip("192.0.2.2"), kT0).reason, RefuseReason::rate);
    // A refusal took no token.
    EXPECT_EQ(verdict(admission, "192.0.2.2", kT0 + 1s), Verdict::admit);
}

// --- pause_before_accept ----------------------------------------------------------------------

TEST(AdmissionPause, RefuseModeNeverPauses) {
    Admission admission(limits(1, 0, Rate{1, 1s}, manifest::OverLimit::refuse), {}, {});
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);  // full and out of tokens
    EXPECT_FALSE(admission.release(ip("192.0.2.1")));
}

TEST(AdmissionPause, DeferAtConnectionsWaitsForARelease) {
    Admission admission(limits(2, 0, std::nullopt, manifest::OverLimit::defer), {}, {});
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);
    EXPECT_EQ(verdict(admission, "192.0.2.2"), Verdict::admit);
    EXPECT_EQ(admission.pause_before_accept(kT0), Clock::duration::max());
    EXPECT_EQ(admission.pause_before_accept(kT0 + 1h), Clock::duration::max());
    EXPECT_TRUE(admission.release(ip("192.0.2.1")));
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);
    // Nobody waits now: a release wakes nobody.
    EXPECT_FALSE(admission.release(ip("192.0.2.2")));
}

TEST(AdmissionPause, ReleaseWithoutAPauseWakesNobody) {
    Admission admission(limits(1, 0, std::nullopt, manifest::OverLimit::defer), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_FALSE(admission.release(ip("192.0.2.1")));
}

TEST(AdmissionPause, DeferOutOfTokensPausesUntilTheNextToken) {
    Admission admission(limits(0, 0, Rate{10, 1s}, manifest::OverLimit::defer), {}, {});
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(admission.pause_before_accept(kT0), std::nullopt);
        ASSERT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    }
    EXPECT_EQ(admission.pause_before_accept(kT0), Clock::duration(100ms));
    EXPECT_EQ(admission.pause_before_accept(kT0 + 30ms), Clock::duration(70ms));
    EXPECT_EQ(admission.pause_before_accept(kT0 + 100ms), std::nullopt);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 100ms), Verdict::admit);
    EXPECT_EQ(admission.refused(RefuseReason::rate), 0u);
}

TEST(AdmissionPause, PauseRoundsUp) {
    // 3 per second: a token every 333333333.3 ns; waking after 333333333 would be too early.
    Admission admission(limits(0, 0, Rate{3, 1s}, manifest::OverLimit::defer), {}, {});
    for (int i = 0; i < 3; ++i) {
        verdict(admission, "192.0.2.1", kT0);
    }
    const auto pause = admission.pause_before_accept(kT0);
    ASSERT_TRUE(pause.has_value());
    EXPECT_EQ(*pause, Clock::duration(333'333'334ns));
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + 333'333'333ns), Verdict::refuse);
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0 + *pause), Verdict::admit);
}

TEST(AdmissionPause, ConnectionsPauseBeforeRatePause) {
    Admission admission(limits(1, 0, Rate{1, 1s}, manifest::OverLimit::defer), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1", kT0), Verdict::admit);
    EXPECT_EQ(admission.pause_before_accept(kT0), Clock::duration::max());
    EXPECT_TRUE(admission.release(ip("192.0.2.1")));
    EXPECT_EQ(admission.pause_before_accept(kT0 + 400ms), Clock::duration(600ms));
}

TEST(AdmissionPause, DeferStillRefusesPerSource) {
    // The peer is known only after accept(): too late for the backlog.
    Admission admission(limits(0, 1, std::nullopt, manifest::OverLimit::defer), {}, {});
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);
    const auto d = admission.admit(ip("192.0.2.1"), kT0);
    EXPECT_EQ(d.verdict, Verdict::refuse);
    EXPECT_EQ(d.reason, RefuseReason::per_source);
}

TEST(AdmissionPause, DeferRefusesWhenTwoLoopsRaceForTheLastSlot) {
    Admission admission(limits(1, 0, std::nullopt, manifest::OverLimit::defer), {}, {});
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);  // loop A
    EXPECT_EQ(admission.pause_before_accept(kT0), std::nullopt);  // loop B
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(admission.admit(ip("192.0.2.2"), kT0).reason, RefuseReason::connections);
    EXPECT_EQ(admission.open(), 1u);
}

// --- counters ---------------------------------------------------------------------------------

TEST(AdmissionCounters, PerReasonAndSnapshot) {
    Admission admission(limits(3, 2, Rate{4, 1s}), {}, blocks({"203.0.113.0/24"}));
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::admit);
    EXPECT_EQ(verdict(admission, "192.0.2.1"), Verdict::refuse);  // per_source
    EXPECT_EQ(verdict(admission, "203.0.113.1"), Verdict::deny);  // acl
    EXPECT_EQ(verdict(admission, "203.0.113.2"), Verdict::deny);  // acl
    EXPECT_EQ(verdict(admission, "192.0.2.2"), Verdict::admit);   // 3 open, 1 token left
    EXPECT_EQ(verdict(admission, "192.0.2.3"), Verdict::refuse);  // connections
    admission.release(ip("192.0.2.2"));
    EXPECT_EQ(verdict(admission, "192.0.2.3"), Verdict::admit);  // the last token
    admission.release(ip("192.0.2.3"));
    EXPECT_EQ(verdict(admission, "192.0.2.4"), Verdict::refuse);  // rate

    EXPECT_EQ(admission.refused(RefuseReason::per_source), 1u);
    EXPECT_EQ(admission.refused(RefuseReason::acl), 2u);
    EXPECT_EQ(admission.refused(RefuseReason::connections), 1u);
    EXPECT_EQ(admission.refused(RefuseReason::rate), 1u);
    EXPECT_EQ(admission.accepted_total(), 4u);
    EXPECT_EQ(admission.open(), 2u);

    const auto c = admission.counters();
    EXPECT_EQ(c.open, 2u);
    EXPECT_EQ(c.accepted_total, 4u);
    EXPECT_EQ(c.sources, 1u);
    EXPECT_EQ(c.refused[static_cast<std::size_t>(RefuseReason::connections)], 1u);
    EXPECT_EQ(c.refused[static_cast<std::size_t>(RefuseReason::per_source)], 1u);
    EXPECT_EQ(c.refused[static_cast<std::size_t>(RefuseReason::rate)], 1u);
    EXPECT_EQ(c.refused[static_cast<std::size_t>(RefuseReason::acl)], 2u);
}

// --- threads ----------------------------------------------------------------------------------

TEST(AdmissionThreads, AdmitAndReleaseFromSeveralThreads) {
    constexpr std::uint64_t kConnections = 8;
    constexpr int kThreads = 4;
    constexpr int kRounds = 5000;
    Admission admission(limits(kConnections, 3, Rate{1000, 1s}), {}, blocks({"10.0.0.0/8"}));
    std::atomic<std::uint64_t> admitted{0};
    std::atomic<std::uint64_t> not_admitted{0};
    std::atomic<bool> over_limit{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<net::ip::address> held;
            for (int i = 0; i < kRounds; ++i) {
                const auto peer = (i % 7 == 0) ? ip("10.0.0.1")
                                  : (i % 2 == 0)
                                      ? net::ip::address(net::ip::make_address_v4(
                                            net::ip::address_v4::uint_type(0xC0000200u + t)))
                                      : ip("::ffff:192.0.2.200");
                const auto now = kT0 + std::chrono::milliseconds(i);
                if (admission.admit(peer, now).verdict == Verdict::admit) {
                    ++admitted;
                    held.push_back(peer);
                } else {
                    ++not_admitted;
                }
                if (admission.open() > kConnections) {
                    over_limit = true;
                }
                if (held.size() > 1 || (i % 3 == 0 && !held.empty())) {
                    admission.release(held.front());
                    held.erase(held.begin());
                }
            }
            for (const auto& peer : held) {
                admission.release(peer);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_FALSE(over_limit);
    EXPECT_EQ(admission.open(), 0u);
    EXPECT_EQ(admission.sources(), 0u);
    EXPECT_EQ(admission.accepted_total(), admitted.load());
    const auto c = admission.counters();
    std::uint64_t refused = 0;
    for (auto n : c.refused) {
        refused += n;
    }
    EXPECT_EQ(refused, not_admitted.load());
    EXPECT_EQ(admitted + not_admitted, std::uint64_t{kThreads} * kRounds);
    EXPECT_GT(admitted.load(), 0u);
}

}  // namespace
}  // namespace portd::worker
