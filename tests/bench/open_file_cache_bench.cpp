// What a lookup through the http module's open-file cache costs, in a loop without a server:
// a site of FILES 1 KiB files, 100 to a directory, opened in turn or at random through caches of
// several sizes, the cache off among them. It shows whether a cache too small for the files in
// use costs more than none (it must not: a file is kept at its second use). No peer to compare
// with, so not part of http.sh; never run by ctest.
//
//   build/tests/open_file_cache_bench [FILES] [OPENS]      (default 3000 files, 300000 opens)
#include "http/open_file_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using portd::http::OpenFileCache;

struct Site {
    fs::path root;
    std::vector<std::string> paths;

    explicit Site(int files) {
        root = fs::temp_directory_path() / ("portd-cache-bench-" + std::to_string(::getpid()));
        for (int n = 0; n < files; ++n) {
            char path[64];
            std::snprintf(path, sizeof path, "d%02d/f%04d.bin", n / 100, n);
            fs::create_directories((root / path).parent_path());
            std::ofstream(root / path) << std::string(1024, 'x');
            paths.emplace_back(path);
        }
    }
    ~Site() { fs::remove_all(root); }
    Site(const Site&) = delete;
    Site& operator=(const Site&) = delete;
};

/// Microseconds per open of `opens` opens through a cache of `capacity`, after one round of as
/// many to fill it.
double micros_per_open(const Site& site, int root_fd, std::size_t capacity, bool random,
                       int opens) {
    OpenFileCache cache(capacity);
    std::mt19937 generator(1);
    std::uniform_int_distribution<std::size_t> pick(0, site.paths.size() - 1);
    double micros = 0;
    for (int round = 0; round < 2; ++round) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < opens; ++i) {
            const auto n =
                random ? pick(generator) : static_cast<std::size_t>(i) % site.paths.size();
            if (cache.open(1, root_fd, site.paths[n]).status != 0) {
                throw std::runtime_error("cannot open " + site.paths[n]);
            }
        }
        micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count();
    }
    return micros / opens;
}

}  // namespace

int main(int argc, char** argv) {
    const int files = argc > 1 ? std::atoi(argv[1]) : 3000;
    const int opens = argc > 2 ? std::atoi(argv[2]) : 300000;
    if (files <= 0 || opens <= 0) {
        std::fprintf(stderr, "usage: %s [FILES] [OPENS]\n", argv[0]);
        return 2;
    }
    const Site site(files);
    const int root_fd = ::open(site.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0 || !portd::http::changes_are_watchable(root_fd)) {
        std::fprintf(stderr, "%s: not a file system the cache keeps files of\n", site.root.c_str());
        return 1;
    }
    std::printf("%d files, %d opens each; microseconds per open\n", files, opens);
    std::printf("| open_file_cache | in turn | at random |\n|---:|---:|---:|\n");
    const std::size_t capacities[] = {0, static_cast<std::size_t>(files) / 3,
                                      static_cast<std::size_t>(files) * 2};
    try {
        for (const auto capacity : capacities) {
            std::printf("| %zu | %.2f | %.2f |\n", capacity,
                        micros_per_open(site, root_fd, capacity, false, opens),
                        micros_per_open(site, root_fd, capacity, true, opens));
        }
    } catch (const std::runtime_error& error) {  // the site is removed on the way out
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
    ::close(root_fd);
}
