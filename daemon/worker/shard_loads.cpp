#include "worker/shard_loads.hpp"

#include <algorithm>

namespace portd::worker {

ShardLoads::ShardLoads(std::size_t shards)
    : slots_(new Slot[std::max<std::size_t>(shards, 1)]), size_(std::max<std::size_t>(shards, 1)) {}

std::size_t ShardLoads::place(std::size_t accepted_on) const {
    std::size_t least = accepted_on;
    auto least_open = open(accepted_on);
    for (std::size_t shard = 0; shard < size_; ++shard) {
        if (open(shard) < least_open) {
            least = shard;
            least_open = open(shard);
        }
    }
    // A close may be counted before its open for a moment (the counts are relaxed).
    least_open = std::max<std::int64_t>(least_open, 0);
    return open(accepted_on) > least_open + 2 + least_open / 16 ? least : accepted_on;
}

}  // namespace portd::worker
