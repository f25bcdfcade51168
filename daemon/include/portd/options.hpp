// Reading a YAML mapping of options with portd's rules: typed values, defaults, every problem
// collected (not only the first), and unknown keys refused with the nearest known key
// suggested. portd reads its own manifest with this class, and modules read their `options:`.
//
//     portd::OptionReader opts(context.options);
//     auto root = opts.path("root", context.base_dir);             // required
//     auto index = opts.strings("index", {"index.html"});
//     auto timeout = opts.duration("timeout", std::chrono::seconds(60));
//     opts.finish();   // throws ConfigError with every problem, unknown keys included
#pragma once

#include <portd/module.hpp>
#include <portd/units.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace portd {

/// Edit distance, for "did you mean" suggestions.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/// The candidate nearest to `word`, if it is near enough to be a plausible typo.
inline std::optional<std::string> nearest(std::string_view word,
                                          const std::vector<std::string>& candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
    for (const auto& candidate : candidates) {
        const auto distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

/// Reads one YAML mapping. Each accessor marks its key as known; finish() reports the rest.
class OptionReader {
public:
    /// `prefix` is the key path of `node` itself ("services.web"), or empty for a module's
    /// options (portd adds "services.NAME.options" in front).
    explicit OptionReader(YAML::Node node, std::string prefix = {})
        : node_(std::move(node)), prefix_(std::move(prefix)) {
        if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
            problem(node_, prefix_, "must be a mapping of key: value");
            node_ = YAML::Node(YAML::NodeType::Map);
        }
    }

    /// The key path of `key` under this mapping, for messages.
    std::string key_path(std::string_view key) const {
        return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    }

    bool has(std::string_view key) {
        known_.emplace(key);
        return present(key);
    }

    /// The raw node, for structures the accessors below do not cover. Marks the key known.
    YAML::Node node(std::string_view key) {
        known_.emplace(key);
        return present(key) ? node_[std::string(key)] : YAML::Node(YAML::NodeType::Undefined);
    }

    std::optional<std::string> optional_string(std::string_view key) {
        auto n = node(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n.IsScalar()) {
            problem(n, key_path(key), "must be a single value, not a list or mapping");
            return std::nullopt;
        }
        return n.Scalar();
    }

    std::string string(std::string_view key, std::string fallback) {
        return optional_string(key).value_or(std::move(fallback));
    }

    std::string required_string(std::string_view key, std::string_view hint = {}) {
        if (!has(key)) {
            missing(key, hint);
            return {};
        }
        return optional_string(key).value_or(std::string());
    }

    /// A path; relative ones are taken relative to `base`.
    std::optional<std::filesystem::path> optional_path(std::string_view key,
                                                       const std::filesystem::path& base) {
        auto text = optional_string(key);
        if (!text) {
            return std::nullopt;
        }
        if (text->empty()) {
            problem(node_[std::string(key)], key_path(key), "must not be empty");
            return std::nullopt;
        }
        std::filesystem::path p(*text);
        return p.is_absolute() ? p : (base / p).lexically_normal();
    }

    std::filesystem::path path(std::string_view key, const std::filesystem::path& base,
                               std::string_view hint = {}) {
        if (!has(key)) {
            missing(key, hint);
            return {};
        }
        return optional_path(key, base).value_or(std::filesystem::path());
    }

    bool boolean(std::string_view key, bool fallback) {
        auto n = node(key);
        if (!n) {
            return fallback;
        }
        bool value = fallback;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
            problem(n, key_path(key), "must be true or false");
            return fallback;
        }
        return value;
    }

    std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                         std::int64_t max) {
        auto n = node(key);
        if (!n) {
            return fallback;
        }
        std::int64_t value = 0;
        if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, value)) {
            problem(n, key_path(key), "must be a whole number");
            return fallback;
        }
        if (value < min || value > max) {
            problem(n, key_path(key),
                    "must be between " + std::to_string(min) + " and " + std::to_string(max));
            return fallback;
        }
        return value;
    }

    std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds fallback) {
        return parsed(key, fallback, &parse_duration);
    }

    std::uint64_t size(std::string_view key, std::uint64_t fallback) {
        return parsed(key, fallback, &parse_size);
    }

    std::optional<Rate> rate(std::string_view key) {
        auto n = node(key);
        if (!n) {
            return std::nullopt;
        }
        return parsed(key, Rate{}, &parse_rate);
    }

    /// One of a fixed set of words.
    std::string choice(std::string_view key, std::string fallback,
                       std::initializer_list<std::string_view> allowed) {
        auto value = optional_string(key);
        if (!value) {
            return fallback;
        }
        for (auto a : allowed) {
            if (*value == a) {
                return *value;
            }
        }
        std::string list;
        std::vector<std::string> words;
        for (auto a : allowed) {
            list += (list.empty() ? "" : ", ") + std::string(a);
            words.emplace_back(a);
        }
        std::string message = "'" + *value + "' is not one of: " + list;
        if (auto near = nearest(*value, words)) {
            message += " (did you mean '" + *near + "'?)";
        }
        problem(node_[std::string(key)], key_path(key), message);
        return fallback;
    }

    /// A list of strings; a single string is taken as a list of one.
    std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback) {
        auto n = node(key);
        if (!n) {
            return fallback;
        }
        if (n.IsScalar()) {
            return {n.Scalar()};
        }
        if (!n.IsSequence()) {
            problem(n, key_path(key), "must be a list of strings, e.g. [a, b]");
            return fallback;
        }
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            if (!n[i].IsScalar()) {
                problem(n[i], key_path(key) + "[" + std::to_string(i) + "]", "must be a string");
                continue;
            }
            out.push_back(n[i].Scalar());
        }
        return out;
    }

    /// Records a problem found by the caller's own checks.
    void problem(const YAML::Node& at, std::string key, std::string message) {
        problems_.push_back({at.Mark(), std::move(key), std::move(message)});
    }
    void problem_at(std::string_view key, std::string message) {
        auto n = present(key) ? node_[std::string(key)] : node_;
        problem(n, key_path(key), std::move(message));
    }

    /// Problems found so far, plus one per unknown key.
    std::vector<ConfigProblem> take_problems() {
        if (node_.IsMap()) {
            std::vector<std::string> known(known_.begin(), known_.end());
            for (const auto& entry : node_) {
                const auto key = entry.first.Scalar();
                if (known_.count(key) != 0) {
                    continue;
                }
                std::string message = "unknown key '" + key + "'";
                if (auto near = nearest(key, known)) {
                    message += ": did you mean '" + *near + "'?";
                } else if (!known.empty()) {
                    std::string list;
                    for (const auto& k : known) {
                        list += (list.empty() ? "" : ", ") + k;
                    }
                    message += ": known keys here are " + list;
                }
                problems_.push_back({entry.first.Mark(), key_path(key), message});
            }
            known_.clear();  // report unknown keys once
            for (const auto& entry : node_) {
                known_.insert(entry.first.Scalar());
            }
        }
        return std::exchange(problems_, {});
    }

    /// Throws ConfigError with every problem found, if there is any.
    void finish() {
        auto problems = take_problems();
        if (!problems.empty()) {
            throw ConfigError(std::move(problems));
        }
    }

private:
    bool present(std::string_view key) const {
        return node_.IsMap() && node_[std::string(key)].IsDefined();
    }

    void missing(std::string_view key, std::string_view hint) {
        std::string message = "is required";
        if (!hint.empty()) {
            message += ": " + std::string(hint);
        }
        problem(node_, key_path(key), message);
    }

    template <typename T, typename Parse>
    T parsed(std::string_view key, T fallback, Parse parse) {
        auto n = node(key);
        if (!n) {
            return fallback;
        }
        if (!n.IsScalar()) {
            problem(n, key_path(key), "must be a single value");
            return fallback;
        }
        try {
            return parse(n.Scalar());
        } catch (const std::invalid_argument& e) {
            problem(n, key_path(key), e.what());
            return fallback;
        }
    }

    YAML::Node node_;
    std::string prefix_;
    std::set<std::string, std::less<>> known_;
    std::vector<ConfigProblem> problems_;
};

}  // namespace portd
