#include "http/byte_range.hpp"

#include "http/request.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace portd::http {

namespace {

std::optional<std::uint64_t> digits(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (end != text.data() + text.size()) {
        return std::nullopt;
    }
    if (ec == std::errc::result_out_of_range) {
        return UINT64_MAX;  // larger than any file: clamps like any other large number
    }
    if (ec != std::errc()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

RangeOutcome parse_range(std::string_view header, std::uint64_t size, std::size_t max_ranges,
                         std::vector<ByteRange>& out) {
    out.clear();
    header = trim(header);
    constexpr std::string_view kUnit = "bytes=";
    if (header.size() < kUnit.size() || !iequals(header.substr(0, kUnit.size()), kUnit)) {
        return RangeOutcome::ignore;
    }
    const auto specs = split_list(header.substr(kUnit.size()));
    if (specs.empty() || specs.size() > max_ranges) {
        return RangeOutcome::ignore;
    }
    for (auto spec : specs) {
        const auto dash = spec.find('-');
        if (dash == std::string_view::npos) {
            return RangeOutcome::ignore;
        }
        const auto first_text = trim(spec.substr(0, dash));
        const auto last_text = trim(spec.substr(dash + 1));
        if (first_text.empty()) {
            const auto suffix = digits(last_text);  // "-500": the last 500 bytes
            if (!suffix) {
                return RangeOutcome::ignore;
            }
            if (*suffix > 0 && size > 0) {
                out.push_back({size - std::min(*suffix, size), size - 1});
            }
            continue;
        }
        const auto first = digits(first_text);
        if (!first) {
            return RangeOutcome::ignore;
        }
        std::uint64_t last = UINT64_MAX;
        if (!last_text.empty()) {
            const auto parsed = digits(last_text);
            if (!parsed || *parsed < *first) {
                return RangeOutcome::ignore;  // invalid spec: the whole field is ignored
            }
            last = *parsed;
        }
        if (*first < size) {
            out.push_back({*first, std::min(last, size - 1)});
        }
    }
    if (out.empty()) {
        return RangeOutcome::unsatisfiable;
    }
    // Coalesce overlapping and adjacent ranges, then send the parts in the order the client
    // asked for them (RFC 9110 §14.6 SHOULD): a merged part takes the place of its earliest
    // member.
    std::vector<std::pair<ByteRange, std::size_t>> by_start;
    by_start.reserve(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        by_start.emplace_back(out[i], i);
    }
    std::sort(by_start.begin(), by_start.end(),
              [](const auto& a, const auto& b) { return a.first.first < b.first.first; });
    std::vector<std::pair<ByteRange, std::size_t>> merged;
    for (const auto& [range, asked] : by_start) {
        if (!merged.empty() && range.first <= merged.back().first.last + 1) {
            merged.back().first.last = std::max(merged.back().first.last, range.last);
            merged.back().second = std::min(merged.back().second, asked);
        } else {
            merged.emplace_back(range, asked);
        }
    }
    std::sort(merged.begin(), merged.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    out.clear();
    for (const auto& entry : merged) {
        out.push_back(entry.first);
    }
    return RangeOutcome::satisfiable;
}

}  // namespace portd::http
