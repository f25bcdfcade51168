// The walk that stands in for openat2 must answer as the kernel does, in both scopes: the same
// file where the kernel opens one, the same error where it refuses.
#include "common/confined_open.hpp"

#include "common/unique_fd.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>

namespace portd::common {
namespace {

namespace fs = std::filesystem;

/// What an open came to: the opened file's inode, or the error.
struct Outcome {
    int error = 0;
    ino_t inode = 0;
    bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Outcome& o) {
    if (o.error != 0) {
        return out << std::strerror(o.error);
    }
    return out << "inode " << o.inode;
}

class ConfinedOpen : public ::testing::TestWithParam<std::tuple<Scope, Resolver>> {
protected:
    void SetUp() override {
        dir_.write("root/a.txt", "A");
        dir_.write("root/sub/b.txt", "BB");
        dir_.write("secret.txt", "outside");
        const auto root = dir_.path() / "root";
        fs::create_symlink("sub/b.txt", root / "inside");
        fs::create_symlink("../a.txt", root / "sub/up_inside");
        fs::create_directory_symlink("sub", root / "subdir_link");
        fs::create_symlink("../secret.txt", root / "escape");
        fs::create_symlink("/a.txt", root / "absolute");
        fs::create_directory_symlink("..", root / "up");
        fs::create_symlink("loop2", root / "loop1");
        fs::create_symlink("loop1", root / "loop2");
        fs::create_symlink("missing", root / "dangling");
        root_.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root_);
    }

    Outcome open(std::string_view path, int flags = O_RDONLY) const {
        const auto [scope, resolver] = GetParam();
        UniqueFd fd(open_confined(root_.get(), path, flags, 0, scope, resolver));
        Outcome out;
        struct stat st {};
        if (!fd) {
            out.error = errno;
        } else if (::fstat(fd.get(), &st) == 0) {
            out.inode = st.st_ino;
        }
        return out;
    }
    Outcome file(const fs::path& relative) const {
        struct stat st {};
        EXPECT_EQ(::stat((dir_.path() / relative).c_str(), &st), 0) << relative;
        return Outcome{0, st.st_ino};
    }
    Scope scope() const { return std::get<0>(GetParam()); }

    testing::TempDir dir_;
    UniqueFd root_;
};

TEST_P(ConfinedOpen, OpensWhatIsInside) {
    EXPECT_EQ(open("a.txt"), file("root/a.txt"));
    EXPECT_EQ(open("sub/b.txt"), file("root/sub/b.txt"));
    EXPECT_EQ(open(""), file("root"));
    EXPECT_EQ(open("."), file("root"));
    EXPECT_EQ(open("sub/.."), file("root"));
    EXPECT_EQ(open("sub/../a.txt"), file("root/a.txt"));
}

TEST_P(ConfinedOpen, FollowsSymlinksThatStayInside) {
    EXPECT_EQ(open("inside"), file("root/sub/b.txt"));
    EXPECT_EQ(open("sub/up_inside"), file("root/a.txt"));
    EXPECT_EQ(open("subdir_link/b.txt"), file("root/sub/b.txt"));
    EXPECT_EQ(open("subdir_link/up_inside"), file("root/a.txt"));
}

TEST_P(ConfinedOpen, NeverLeavesTheRoot) {
    if (scope() == Scope::beneath) {
        EXPECT_EQ(open("escape"), Outcome{EXDEV});
        EXPECT_EQ(open("absolute"), Outcome{EXDEV});
        EXPECT_EQ(open("up/secret.txt"), Outcome{EXDEV});
        EXPECT_EQ(open("../secret.txt"), Outcome{EXDEV});
        EXPECT_EQ(open("/a.txt"), Outcome{EXDEV});
    } else {
        // The root is "/": ".." stops there and an absolute target starts there.
        EXPECT_EQ(open("escape"), Outcome{ENOENT});
        EXPECT_EQ(open("absolute"), file("root/a.txt"));
        EXPECT_EQ(open("up/a.txt"), file("root/a.txt"));
        EXPECT_EQ(open("../../../a.txt"), file("root/a.txt"));
        EXPECT_EQ(open("/a.txt"), file("root/a.txt"));
    }
}

TEST_P(ConfinedOpen, RefusesLoopsAndMissesLikeTheKernel) {
    EXPECT_EQ(open("loop1"), Outcome{ELOOP});
    EXPECT_EQ(open("dangling"), Outcome{ENOENT});
    EXPECT_EQ(open("nope"), Outcome{ENOENT});
    EXPECT_EQ(open("a.txt/x"), Outcome{ENOTDIR});
    EXPECT_EQ(open("inside", O_RDONLY | O_NOFOLLOW), Outcome{ELOOP});
}

INSTANTIATE_TEST_SUITE_P(
    ScopesAndResolvers, ConfinedOpen,
    ::testing::Combine(::testing::Values(Scope::beneath, Scope::in_root),
                       ::testing::Values(Resolver::kernel, Resolver::walk)),
    [](const ::testing::TestParamInfo<std::tuple<Scope, Resolver>>& param) {
        return std::string(std::get<0>(param.param) == Scope::beneath ? "Beneath" : "InRoot") +
               (std::get<1>(param.param) == Resolver::kernel ? "Openat2" : "Walk");
    });

}  // namespace
}  // namespace portd::common
