// The log file follows logrotate by itself: moved away or deleted, it is opened again under its
// name at the next second's first line; within a second the name is not looked at.
#include "common/log_file.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace portd::common {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

TEST(LogFile, OpensForAppendAndCreates) {
    testing::TempDir dir;
    const auto path = dir.path() / "x.log";
    { std::ofstream(path) << "kept\n"; }
    LogFile log;
    ASSERT_EQ(log.open(path), 0);
    EXPECT_TRUE(log.is_open());
    log.append("added\n", 1000);
    EXPECT_EQ(read_file(path), "kept\nadded\n");
    struct stat st {};
    LogFile created;
    ASSERT_EQ(created.open(dir.path() / "new.log"), 0);
    ASSERT_EQ(::stat((dir.path() / "new.log").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0007, 0u);  // not for everyone to read
    LogFile missing;
    EXPECT_EQ(missing.open(dir.path() / "no/such/dir/x.log"), ENOENT);
    EXPECT_FALSE(missing.is_open());
    missing.append("nowhere\n", 1000);  // harmless
}

/// A log file opened in a directory of its own: `log_` writes to `path_`.
class OpenLogFile : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(log_.open(path_), 0); }

    testing::TempDir dir_;
    const fs::path path_ = dir_.path() / "x.log";
    LogFile log_;
};

TEST_F(OpenLogFile, FollowsARenameAtTheNextSecond) {
    log_.append("first\n", 1000);
    fs::rename(path_, dir_.path() / "x.log.1");
    log_.append("same second\n", 1000);  // not looked at yet: still the moved file
    log_.append("next second\n", 1001);
    EXPECT_EQ(read_file(dir_.path() / "x.log.1"), "first\nsame second\n");
    EXPECT_EQ(read_file(path_), "next second\n");
}

TEST_F(OpenLogFile, FollowsADeletion) {
    log_.append("gone\n", 1000);
    fs::remove(path_);
    log_.append("back\n", 1001);
    EXPECT_EQ(read_file(path_), "back\n");
}

TEST_F(OpenLogFile, LinesFromManyThreadsStayWhole) {
    const std::string line = std::string(500, 'a') + "\n";
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                log_.append(line, 1000 + t * 1000 + i);  // seconds change: reopen checks race too
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::istringstream in(read_file(path_));
    int count = 0;
    for (std::string got; std::getline(in, got); ++count) {
        ASSERT_EQ(got, line.substr(0, 500));
    }
    EXPECT_EQ(count, 800);
}

}  // namespace
}  // namespace portd::common
