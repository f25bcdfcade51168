// Fuzz target for the FTP control-stream splitter and command parser: the input fed at once
// and fed in two pieces (split at a point taken from the input) must give the same lines (and
// the same Telnet interrupts), no line may pass the length limit, and nothing may crash.
// Consecutive lines are also tried as a glob pattern and a name: a pattern without glob
// characters matches only itself, "*" matches everything, and a smaller step budget never
// turns a miss into a match.
#include "ftp/command_parser.hpp"
#include "ftp/listing.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

std::vector<portd::ftp::Line> lines_of(portd::ftp::LineSplitter& splitter) {
    std::vector<portd::ftp::Line> out;
    while (auto line = splitter.next()) {
        out.push_back(std::move(*line));
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace portd::ftp;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t kLimit = 64;

    LineSplitter whole(kLimit);
    whole.feed(input);
    const auto a = lines_of(whole);

    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    LineSplitter pieces(kLimit);
    pieces.feed(input.substr(0, split));
    auto b = lines_of(pieces);
    pieces.feed(input.substr(split));
    for (auto& line : lines_of(pieces)) {
        b.push_back(std::move(line));
    }

    if (a.size() != b.size()) {
        std::abort();
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].text != b[i].text || a[i].too_long != b[i].too_long ||
            a[i].interrupt != b[i].interrupt || a[i].text.size() > kLimit ||
            (a[i].too_long && !a[i].text.empty())) {
            std::abort();
        }
        const auto command = parse_command(a[i].text);
        for (const char c : command.verb) {
            if (command.kind == LineKind::command && (c < 'A' || c > 'Z')) {
                std::abort();
            }
        }
    }
    for (std::size_t i = 0; i + 1 < a.size(); ++i) {
        const std::string_view pattern = a[i].text;
        const std::string_view name = a[i + 1].text;
        const bool matched = glob_match(pattern, name);
        if (!has_glob(pattern) && matched != (pattern == name)) {
            std::abort();
        }
        if (!glob_match("*", name) || (glob_match(pattern, name, 50) && !matched)) {
            std::abort();
        }
    }
    return 0;
}
