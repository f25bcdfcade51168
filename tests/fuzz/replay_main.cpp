// A main() for the fuzz targets without libFuzzer: replays every file of the seed corpus, then
// a bounded number of deterministic mutations of them (byte flips, inserts, deletes, splices),
// so every build's ctest (the ASan+UBSan one above all) exercises each target's invariants.
// For open-ended fuzzing, build the same target with clang and -fsanitize=fuzzer (README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Input = std::vector<std::uint8_t>;

void run(const Input& input) {
    LLVMFuzzerTestOneInput(input.data(), input.size());
}

Input read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Input(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Input mutate(const std::vector<Input>& seeds, std::mt19937& random) {
    Input out = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < edits; ++i) {
        const std::size_t at = out.empty() ? 0 : random() % (out.size() + 1);
        switch (random() % 5) {
            case 0:  // flip a byte
                if (!out.empty()) {
                    out[at % out.size()] ^= static_cast<std::uint8_t>(1U << (random() % 8));
                }
                break;
            case 1:  // insert a byte that parsers care about
            {
                static constexpr char kSpecial[] = "\r\n :;,-=/%.\0\xff\t0aZ";
                out.insert(out.begin() + static_cast<std::ptrdiff_t>(at),
                           static_cast<std::uint8_t>(kSpecial[random() % (sizeof kSpecial - 1)]));
                break;
            }
            case 2:  // delete a run
                if (!out.empty()) {
                    const auto from = at % out.size();
                    const auto count = std::min<std::size_t>(out.size() - from, 1 + random() % 16);
                    out.erase(out.begin() + static_cast<std::ptrdiff_t>(from),
                              out.begin() + static_cast<std::ptrdiff_t>(from + count));
                }
                break;
            case 3:  // repeat a run (long lines, many headers)
                if (!out.empty()) {
                    const auto from = at % out.size();
                    const auto count = std::min<std::size_t>(out.size() - from, 1 + random() % 64);
                    const Input run_copy(out.begin() + static_cast<std::ptrdiff_t>(from),
                                         out.begin() + static_cast<std::ptrdiff_t>(from + count));
                    const auto times = 1 + random() % 32;
                    for (std::size_t t = 0; t < times && out.size() < 65536; ++t) {
                        out.insert(out.begin() + static_cast<std::ptrdiff_t>(from),
                                   run_copy.begin(), run_copy.end());
                    }
                }
                break;
            default:  // splice the tail of another seed
            {
                const auto& other = seeds[random() % seeds.size()];
                if (!other.empty()) {
                    const auto from = random() % other.size();
                    out.resize(std::min(at, out.size()));
                    out.insert(out.end(), other.begin() + static_cast<std::ptrdiff_t>(from),
                               other.end());
                }
                break;
            }
        }
    }
    return out;
}

}  // namespace

/// fuzz_NAME CORPUS_DIR [ITERATIONS]
int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
        return 2;
    }
    std::vector<Input> seeds{Input{}};
    for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
        if (entry.is_regular_file()) {
            seeds.push_back(read_file(entry.path()));
            run(seeds.back());
        }
    }
    const long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
    std::mt19937 random(20261129);  // fixed: a failure reproduces on every run
    for (long i = 0; i < iterations; ++i) {
        run(mutate(seeds, random));
    }
    std::printf("%zu seeds and %ld mutations: no invariant broken\n", seeds.size() - 1, iterations);
    return 0;
}
