// What the modules' tests of a long send share: a big file that costs no disk, and another
// piece of work on the same event loop that counts the turns it gets meanwhile.
#pragma once

#include <portd/net.hpp>

#include "temp_dir.hpp"

#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>

namespace portd::testing {

/// A sparse file of `size` bytes in `dir` (no disk; it reads as zeros), opened read-only.
inline int open_sparse_file(const TempDir& dir, std::uint64_t size) {
    const auto path = dir.path() / "sparse.bin";
    std::ofstream(path).close();
    std::filesystem::resize_file(path, size);
    return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

/// Work for another connection on `io`, one piece per turn until `done()`, counted in
/// `turns`: how often the event loop let others run meanwhile.
inline void count_turns_until(net::io_context& io, std::function<bool()> done, int& turns) {
    net::co_spawn(
        io,
        [&io, done = std::move(done), &turns]() -> net::awaitable<void> {
            while (!done()) {
                ++turns;
                co_await net::post(io, net::use_awaitable);
            }
        },
        net::detached);
}

}  // namespace portd::testing
