// Helpers shared by the manifest tests: find a diagnostic by its printed prefix
// ("file:line:col: key: ") and a piece of its message, and print all of them when none matches.
#pragma once

#include "manifest/loader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace portd::manifest::testing {

inline std::string dump(const std::vector<Diagnostic>& list) {
    std::string out;
    for (const auto& d : list) {
        out += "  " + to_string(d) + "\n";
    }
    return out.empty() ? "  (none)\n" : out;
}

/// Whether a diagnostic prints as "<prefix>...<part>...".
inline ::testing::AssertionResult has(const std::vector<Diagnostic>& list, std::string_view prefix,
                                      std::string_view part = {}) {
    for (const auto& d : list) {
        const auto text = to_string(d);
        if (text.starts_with(prefix) && text.find(part) != std::string::npos) {
            return ::testing::AssertionSuccess();
        }
    }
    return ::testing::AssertionFailure()
           << "no diagnostic starting with '" << prefix << "' and containing '" << part << "' in:\n"
           << dump(list);
}

/// The manifest file name the inline tests use; it need not exist.
inline constexpr const char* kFile = "portd.yaml";

inline LoadResult load(std::string_view yaml) {
    return load_string(yaml, kFile);
}

}  // namespace portd::manifest::testing
