// The connections' read buffers, kept for reuse on each shard's thread.
//
// A connection holds its 8 KiB buffer only while it reads or answers: it gives it back when it
// parks between requests and when it ends, and takes one when input arrives. A keep-alive
// client thus costs a buffer per request and a churning one per connection. From malloc(3)
// that was an allocation and a free each time (too large for glibc's per-thread cache), which
// showed in profiles of both; from here it is a pop and a push on this thread's list.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace portd::http {

class BufferPool {
public:
    static constexpr std::size_t kBufferSize = 8 * 1024;
    /// Buffers kept per thread at most; more given back are freed. Enough for the connections
    /// a shard serves at once under load, small next to the memory they hold themselves.
    static constexpr std::size_t kKept = 32;

    /// A buffer of kBufferSize bytes (contents undefined).
    static std::unique_ptr<char[]> take() {
        auto& kept = pool();
        if (kept.empty()) {
            return std::make_unique_for_overwrite<char[]>(kBufferSize);
        }
        auto buffer = std::move(kept.back());
        kept.pop_back();
        return buffer;
    }

    /// Gives `buffer` (one from take(), or null) back to this thread's pool.
    static void give(std::unique_ptr<char[]> buffer) noexcept {
        auto& kept = pool();
        if (buffer && kept.size() < kKept) {
            kept.push_back(std::move(buffer));  // never reallocates: reserved below
        }
    }

    /// Buffers kept on this thread (for tests).
    static std::size_t kept() { return pool().size(); }

private:
    static std::vector<std::unique_ptr<char[]>>& pool() {
        thread_local std::vector<std::unique_ptr<char[]>> kept = [] {
            std::vector<std::unique_ptr<char[]>> v;
            v.reserve(kKept);
            return v;
        }();
        return kept;
    }
};

}  // namespace portd::http
