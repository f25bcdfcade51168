// A fresh directory under the system temp dir for one test, removed with everything in it
// (also what a test left unreadable). Its name is short because a unix socket path holds at
// most 107 bytes.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace portd::testing {

class TempDir {
public:
    TempDir() {
        std::string pattern = std::filesystem::temp_directory_path() / "portd-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ignored);
        std::filesystem::remove_all(path_, ignored);
    }

    const std::filesystem::path& path() const { return path_; }

    /// Writes `content` to `relative`, creating the directories on the way.
    std::filesystem::path write(const std::string& relative, std::string_view content) const {
        const auto full = path_ / relative;
        std::filesystem::create_directories(full.parent_path());
        std::ofstream(full, std::ios::binary) << content;
        return full;
    }

    /// The bytes of `relative`, or "" when it cannot be read.
    std::string read(const std::string& relative) const {
        // stdio rather than istreambuf_iterator: g++ 12 -Wnull-dereference misfires on the latter.
        std::string out;
        if (std::FILE* f = std::fopen((path_ / relative).c_str(), "rb")) {
            char buf[4096];
            for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
                out.append(buf, n);
            }
            std::fclose(f);
        }
        return out;
    }

private:
    std::filesystem::path path_;
};

}  // namespace portd::testing
