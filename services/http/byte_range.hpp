// Range: bytes=... (RFC 9110 §14.1-§14.2), resolved against a representation's length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace portd::http {

struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;  // inclusive

    std::uint64_t length() const { return last - first + 1; }
    friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

enum class RangeOutcome {
    ignore,         // no usable Range: send the whole representation (200)
    satisfiable,    // 206 with the ranges in `out`
    unsatisfiable,  // 416 with Content-Range: bytes */LEN
};

/// Parses `header` for a representation of `size` bytes. More than `max_ranges` specs, or a
/// syntax error, makes the field ignored (RFC 9110 §14.2 allows it); overlapping and adjacent
/// ranges are coalesced, so a request for many overlapping ranges ("Apache Killer") costs one
/// range; the ranges left are in the order of their first spec in the request.
RangeOutcome parse_range(std::string_view header, std::uint64_t size, std::size_t max_ranges,
                         std::vector<ByteRange>& out);

}  // namespace portd::http
