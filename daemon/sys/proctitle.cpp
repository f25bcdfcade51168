#include "sys/proctitle.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

namespace portd::sys {

namespace {
char* area_begin = nullptr;
std::size_t area_size = 0;
// Every copied environment string, kept here as well: unsetenv() drops entries from environ
// (LISTEN_FDS, NOTIFY_SOCKET), and the strings must stay reachable rather than leak.
std::vector<std::unique_ptr<char, decltype(&std::free)>>* environment_copies = nullptr;
}  // namespace

void proctitle_init(int argc, char** argv) {
    if (argc <= 0 || argv == nullptr || argv[0] == nullptr) {
        return;
    }
    // argv strings and then environ strings are laid out back to back by the kernel; the
    // title may use all of it once the environment lives elsewhere.
    char* end = argv[0] + std::strlen(argv[0]) + 1;
    for (int i = 1; i < argc; ++i) {
        if (argv[i] == end) {
            end = argv[i] + std::strlen(argv[i]) + 1;
        }
    }
    std::size_t count = 0;
    while (environ != nullptr && environ[count] != nullptr) {
        ++count;
    }
    char** moved = new char*[count + 1];
    environment_copies = new std::vector<std::unique_ptr<char, decltype(&std::free)>>();
    for (std::size_t i = 0; i < count; ++i) {
        if (environ[i] == end) {
            end = environ[i] + std::strlen(environ[i]) + 1;
        }
        moved[i] = strdup(environ[i]);
        environment_copies->emplace_back(moved[i], &std::free);
    }
    moved[count] = nullptr;
    environ = moved;  // never freed, like environment_copies: it lives as long as the process
    area_begin = argv[0];
    area_size = static_cast<std::size_t>(end - argv[0]);
}

void proctitle_set(std::string_view title) {
    const std::string name(title.substr(0, 15));
    ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
    if (area_begin == nullptr || area_size < 2) {
        return;
    }
    const std::size_t length = std::min(title.size(), area_size - 1);
    std::memcpy(area_begin, title.data(), length);
    std::memset(area_begin + length, 0, area_size - length);
}

}  // namespace portd::sys
