#include "ftp/authorizer.hpp"

#include <crypt.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

namespace portd::ftp {

namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    for (int guard = 0; guard < 8; ++guard) {
        const auto colon = line.find(':');
        fields.push_back(line.substr(0, colon));
        if (colon == std::string_view::npos) {
            return fields;
        }
        line.remove_prefix(colon + 1);
    }
    fields.push_back(line);
    return fields;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

// A SHA-512 setting with the default rounds: unknown users pay what "openssl passwd -6" users
// pay. Known users with other methods differ, which reveals the method, not the user.
constexpr std::string_view kDummySetting = "$6$portdftpdummysa$";

}  // namespace

std::vector<UserEntry> parse_users_file(std::string_view text, const std::filesystem::path& base,
                                        std::vector<UsersFileProblem>& problems) {
    std::vector<UserEntry> users;
    std::set<std::string, std::less<>> seen;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto nl = text.find('\n');
        const auto line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto fields = split_fields(line);
        if (fields.size() != 4) {
            problems.push_back({number,
                                "expected name:hash:home:ro|rw (4 fields separated by "
                                "':'), found " +
                                    std::to_string(fields.size())});
            continue;
        }
        UserEntry entry;
        entry.name = std::string(fields[0]);
        entry.hash = std::string(fields[1]);
        const auto home = fields[2];
        const auto mode = fields[3];
        bool ok = true;
        if (entry.name.empty() || std::any_of(entry.name.begin(), entry.name.end(), [](char c) {
                return c == ' ' || c == '\t' || c < 0x20;
            })) {
            problems.push_back({number, "the user name must be non-empty, without spaces"});
            ok = false;
        } else if (!seen.insert(entry.name).second) {
            problems.push_back({number, "user '" + entry.name + "' appears twice"});
            ok = false;
        }
        if (entry.hash.size() < 4 || entry.hash.front() != '$' ||
            crypt_hash("", entry.hash).empty()) {
            problems.push_back({number, "the hash of '" + entry.name +
                                            "' is not a crypt(3) hash; make one with "
                                            "`openssl passwd -6` or `mkpasswd`"});
            ok = false;
        }
        if (home.empty()) {
            problems.push_back({number, "the home directory of '" + entry.name + "' is empty"});
            ok = false;
        }
        if (mode == "rw") {
            entry.writable = true;
        } else if (mode != "ro") {
            problems.push_back(
                {number, "the last field must be ro or rw, not '" + std::string(mode) + "'"});
            ok = false;
        }
        if (!ok) {
            continue;
        }
        std::filesystem::path home_path{std::string(home)};
        entry.home = home_path.is_absolute() ? home_path : (base / home_path).lexically_normal();
        users.push_back(std::move(entry));
    }
    return users;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Walk the longer length so that a length mismatch costs the same as a content mismatch.
    const std::size_t n = std::max(a.size(), b.size());
    unsigned diff = a.size() == b.size() ? 0U : 1U;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0U;
        const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0U;
        diff |= x ^ y;
    }
    // volatile keeps the compiler from turning the loop into an early-exit comparison.
    volatile unsigned result = diff;
    return result == 0;
}

std::string crypt_hash(std::string_view password, std::string_view setting) {
    // crypt_data is large (~32 KiB); keep it off the coroutine stack.
    auto data = std::make_unique<crypt_data>();
    std::memset(data.get(), 0, sizeof(crypt_data));
    const std::string pw(password);
    const std::string set(setting);
    const char* out = ::crypt_r(pw.c_str(), set.c_str(), data.get());
    // libcrypt signals failure with NULL or with a string starting with '*'.
    if (out == nullptr || out[0] == '*') {
        return {};
    }
    return out;
}

bool is_anonymous_name(std::string_view user) {
    return user == "anonymous" || user == "ftp";
}

Authorizer::Authorizer(AnonymousMode anonymous, std::filesystem::path anonymous_root,
                       std::vector<UserEntry> users)
    : anonymous_(anonymous),
      anonymous_root_(std::move(anonymous_root)),
      users_(std::move(users)),
      dummy_hash_(crypt_hash("portd", kDummySetting)) {}

std::optional<Account> Authorizer::authenticate(std::string_view user,
                                                std::string_view password) const {
    if (anonymous_ != AnonymousMode::off && is_anonymous_name(user)) {
        return Account{std::string(user), anonymous_root_,
                       anonymous_ == AnonymousMode::upload ? kPermsUpload : kPermsReadOnly, true};
    }
    const auto found = std::find_if(users_.begin(), users_.end(),
                                    [&](const UserEntry& e) { return e.name == user; });
    if (found == users_.end()) {
        (void)constant_time_equal(crypt_hash(password, dummy_hash_), dummy_hash_);
        return std::nullopt;
    }
    const auto computed = crypt_hash(password, found->hash);
    if (computed.empty() || !constant_time_equal(computed, found->hash)) {
        return std::nullopt;
    }
    return Account{found->name, found->home, found->writable ? kPermsReadWrite : kPermsReadOnly,
                   false};
}

}  // namespace portd::ftp
