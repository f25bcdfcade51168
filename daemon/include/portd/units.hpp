// Parsing of the value forms the manifest uses everywhere: durations ("30s"), sizes ("64k") and
// rates ("200/s"). Part of the SDK so that modules read their own options with the same rules
// and the same error messages as portd reads its own.
//
// Each parser throws std::invalid_argument whose what() says what was wrong and what a valid
// value looks like; the caller adds the file:line:column and key path.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace portd {

namespace units_detail {

/// Splits "  30s " into 30 and "s"; throws if there is no leading decimal number.
inline std::uint64_t leading_number(std::string_view text, std::string_view& rest,
                                    std::string_view what, std::string_view example) {
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }
    std::uint64_t value = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec == std::errc::result_out_of_range) {
        throw std::invalid_argument("'" + std::string(text) + "' is too large for a " +
                                    std::string(what));
    }
    if (ec != std::errc() || end == first) {
        throw std::invalid_argument("'" + std::string(text) + "' is not a " + std::string(what) +
                                    ": write a whole number and a unit, e.g. " +
                                    std::string(example));
    }
    rest = std::string_view(end, static_cast<std::size_t>(last - end));
    return value;
}

inline std::uint64_t checked_multiply(std::uint64_t value, std::uint64_t factor,
                                      std::string_view text, std::string_view what) {
    if (factor != 0 && value > std::numeric_limits<std::uint64_t>::max() / factor) {
        throw std::invalid_argument("'" + std::string(text) + "' is too large for a " +
                                    std::string(what));
    }
    return value * factor;
}

}  // namespace units_detail

/// "250ms", "30s", "5m", "2h", "1d"; a bare number is refused because its unit would be a guess.
inline std::chrono::milliseconds parse_duration(std::string_view text) {
    std::string_view unit;
    const auto value = units_detail::leading_number(text, unit, "duration", "30s, 5m or 250ms");
    std::uint64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = 60'000;
    } else if (unit == "h") {
        factor = 3'600'000;
    } else if (unit == "d") {
        factor = 86'400'000;
    } else if (unit.empty()) {
        throw std::invalid_argument("'" + std::string(text) + "' has no unit: write e.g. " +
                                    std::string(text) + "s (units: ms, s, m, h, d)");
    } else {
        throw std::invalid_argument("'" + std::string(text) + "' has an unknown unit '" +
                                    std::string(unit) + "': use ms, s, m, h or d, e.g. 30s");
    }
    const auto ms = units_detail::checked_multiply(value, factor, text, "duration");
    if (ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw std::invalid_argument("'" + std::string(text) + "' is too large for a duration");
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

/// Bytes: "512", "64k", "10M", "1G", "1T" (binary multiples, as nginx reads them; "64K", "64KiB"
/// and "64kb" mean the same).
inline std::uint64_t parse_size(std::string_view text) {
    std::string_view unit;
    const auto value = units_detail::leading_number(text, unit, "size", "512, 64k or 10M");
    std::string lower;
    for (char c : unit) {
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (lower.size() > 1 && (lower.ends_with("ib") || lower.ends_with("b"))) {
        lower.resize(lower.ends_with("ib") ? lower.size() - 2 : lower.size() - 1);
    }
    std::uint64_t factor = 0;
    if (lower.empty() || lower == "b") {
        factor = 1;
    } else if (lower == "k") {
        factor = 1ULL << 10;
    } else if (lower == "m") {
        factor = 1ULL << 20;
    } else if (lower == "g") {
        factor = 1ULL << 30;
    } else if (lower == "t") {
        factor = 1ULL << 40;
    } else {
        throw std::invalid_argument("'" + std::string(text) + "' has an unknown unit '" +
                                    std::string(unit) + "': use k, M, G or T, e.g. 64k");
    }
    return units_detail::checked_multiply(value, factor, text, "size");
}

/// Events per interval, e.g. "200/s", "1000/m", "10/5s".
struct Rate {
    std::uint64_t count = 0;
    std::chrono::milliseconds per{1000};

    friend bool operator==(const Rate&, const Rate&) = default;
};

inline Rate parse_rate(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        throw std::invalid_argument("'" + std::string(text) +
                                    "' is not a rate: write count/interval, e.g. 200/s");
    }
    std::string_view rest;
    const auto count =
        units_detail::leading_number(text.substr(0, slash), rest, "rate", "200/s or 1000/m");
    if (!rest.empty()) {
        throw std::invalid_argument("'" + std::string(text) +
                                    "' is not a rate: write count/interval, e.g. 200/s");
    }
    if (count == 0) {
        throw std::invalid_argument("'" + std::string(text) +
                                    "' allows nothing: the count must be at least 1");
    }
    auto interval = text.substr(slash + 1);
    // "200/s" means one second; "10/5s" is an explicit interval.
    const bool bare_unit = !interval.empty() && (interval.front() < '0' || interval.front() > '9');
    const std::string spelled = bare_unit ? "1" + std::string(interval) : std::string(interval);
    std::chrono::milliseconds per{};
    try {
        per = parse_duration(spelled);
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument("'" + std::string(text) +
                                    "' has an unknown interval: use /s, /m, /h or e.g. /10s");
    }
    if (per.count() == 0) {
        throw std::invalid_argument("'" + std::string(text) + "' has a zero interval");
    }
    return Rate{count, per};
}

}  // namespace portd
