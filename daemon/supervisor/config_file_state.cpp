#include "supervisor/config_file_state.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string_view>

namespace portd::supervisor {

namespace {

// Configuration files are small; anything larger (a device, a mistake) is told apart by its
// identity and times instead of being read.
constexpr std::uintmax_t kMaxHashed = 16U << 20;

std::string state_of(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        // A file that cannot be looked at now (a directory on the way lost its permission)
        // reads as that error, so that it reads differently again once it is back.
        return errno == ENOENT ? std::string("absent") : std::string(std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || static_cast<std::uintmax_t>(st.st_size) > kMaxHashed) {
        return "inode " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) +
               ", modified " + std::to_string(st.st_mtim.tv_sec) + "." +
               std::to_string(st.st_mtim.tv_nsec);
    }
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        return "unreadable";
    }
    return std::to_string(bytes.size()) + " bytes, hash " +
           std::to_string(std::hash<std::string_view>{}(bytes));
}

}  // namespace

ConfigFileStates config_file_states(const std::vector<std::filesystem::path>& files) {
    ConfigFileStates states;
    states.reserve(files.size());
    for (const auto& file : files) {
        states.emplace_back(file, state_of(file));
    }
    return states;
}

std::optional<std::filesystem::path> first_changed_file(const ConfigFileStates& before,
                                                        const ConfigFileStates& after) {
    for (const auto& entry : after) {
        if (std::find(before.begin(), before.end(), entry) == before.end()) {
            return entry.first;
        }
    }
    for (const auto& entry : before) {
        if (std::find(after.begin(), after.end(), entry) == after.end()) {
            return entry.first;
        }
    }
    return std::nullopt;
}

}  // namespace portd::supervisor
