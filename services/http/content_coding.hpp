// Content negotiation: Accept-Encoding for precompressed siblings (RFC 9110 §12.5.3), and
// Accept for the format of a directory listing (§12.5.1).
#pragma once

#include <span>
#include <string_view>

namespace portd::http {

/// A precompressed sibling: "file.br" served with Content-Encoding: br.
struct Coding {
    std::string_view name;    // the content-coding token
    std::string_view suffix;  // the sibling's file suffix
};

/// br, zstd, gzip: smallest first, which breaks ties between equal q-values.
std::span<const Coding> precompressed_codings();

/// The acceptable codings of `available` in the order to try them: q-value descending, the
/// order of `available` on ties, only those with q > 0 and not less acceptable than identity.
/// Writes at most available.size() indexes into `order`, returns how many.
std::size_t acceptable_codings(std::string_view accept_encoding, std::span<const Coding> available,
                               std::span<std::size_t> order);

/// How acceptable `Accept` makes a media type ("application/json"), in thousandths: the q of
/// the most specific range that matches it (type/subtype over type/* over */*), 1000 when
/// Accept is empty (RFC 9110 §12.5.1), 0 when no range matches.
int media_type_quality(std::string_view accept, std::string_view media_type);

}  // namespace portd::http
