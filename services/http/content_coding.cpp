#include "http/content_coding.hpp"

#include "http/request.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace portd::http {

namespace {

constexpr std::array<Coding, 3> kCodings = {{{"br", ".br"}, {"zstd", ".zst"}, {"gzip", ".gz"}}};

/// "0.5" → 500; q-values have at most three decimals (RFC 9110 §12.4.2).
std::optional<int> parse_qvalue(std::string_view text) {
    text = trim(text);
    if (text.empty() || (text[0] != '0' && text[0] != '1')) {
        return std::nullopt;
    }
    int value = (text[0] - '0') * 1000;
    if (text.size() > 1) {
        if (text[1] != '.' || text.size() > 5) {
            return std::nullopt;
        }
        int scale = 100;
        for (char c : text.substr(2)) {
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            value += (c - '0') * scale;
            scale /= 10;
        }
    }
    return value > 1000 ? std::nullopt : std::optional<int>(value);
}

/// The q of a list member's parameters ("; charset=x; q=0.5"): 1000 when it has none, nullopt
/// when it is malformed, in which case the member is skipped.
std::optional<int> member_quality(std::string_view params) {
    for (auto rest = params; !rest.empty();) {
        const auto semi = rest.find(';');
        const auto param = trim(rest.substr(0, semi));
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
        if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
            return parse_qvalue(param.substr(2));
        }
    }
    return 1000;
}

}  // namespace

int media_type_quality(std::string_view accept, std::string_view media_type) {
    if (trim(accept).empty()) {
        return 1000;
    }
    const auto slash = media_type.find('/');
    const auto type = media_type.substr(0, slash);
    int best_specificity = -1;
    int quality = 0;
    for (auto item : split_list(accept)) {
        const auto semi = item.find(';');
        const auto range = trim(item.substr(0, semi));
        const auto range_slash = range.find('/');
        if (range_slash == std::string_view::npos) {
            continue;
        }
        const auto range_type = range.substr(0, range_slash);
        const auto range_subtype = range.substr(range_slash + 1);
        int specificity = -1;
        if (iequals(range, media_type)) {
            specificity = 2;
        } else if (range_subtype == "*" && iequals(range_type, type)) {
            specificity = 1;
        } else if (range == "*/*") {
            specificity = 0;
        }
        if (specificity <= best_specificity) {
            continue;
        }
        const auto q = member_quality(semi == std::string_view::npos ? std::string_view()
                                                                     : item.substr(semi + 1));
        if (q) {
            best_specificity = specificity;
            quality = *q;
        }
    }
    return quality;
}

std::span<const Coding> precompressed_codings() {
    return kCodings;
}

std::size_t acceptable_codings(std::string_view accept_encoding, std::span<const Coding> available,
                               std::span<std::size_t> order) {
    constexpr int kUnlisted = -1;
    std::array<int, 8> q{};
    std::fill(q.begin(), q.end(), kUnlisted);
    int star = kUnlisted;
    int identity = kUnlisted;
    for (auto item : split_list(accept_encoding)) {
        const auto semi = item.find(';');
        const auto name = trim(item.substr(0, semi));
        int value = 1000;
        if (semi != std::string_view::npos) {
            auto param = trim(item.substr(semi + 1));
            if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') {
                continue;
            }
            const auto parsed = parse_qvalue(param.substr(2));
            if (!parsed) {
                continue;
            }
            value = *parsed;
        }
        if (name == "*") {
            star = value;
        } else if (iequals(name, "identity")) {
            identity = value;
        } else {
            for (std::size_t i = 0; i < available.size() && i < q.size(); ++i) {
                // x-gzip is gzip (RFC 9110 §8.4.1.3).
                if (iequals(name, available[i].name) ||
                    (available[i].name == "gzip" && iequals(name, "x-gzip"))) {
                    q[i] = value;
                }
            }
        }
    }
    if (identity == kUnlisted) {
        identity = star == kUnlisted ? 1 : star;  // identity is acceptable unless excluded
    }
    std::size_t n = 0;
    for (std::size_t i = 0; i < available.size() && i < q.size() && n < order.size(); ++i) {
        if (q[i] == kUnlisted) {
            q[i] = star == kUnlisted ? 0 : star;
        }
        if (q[i] > 0 && q[i] >= identity) {
            order[n++] = i;
        }
    }
    std::stable_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
                     [&](std::size_t a, std::size_t b) { return q[a] > q[b]; });
    return n;
}

}  // namespace portd::http
