#include "http/path_resolver.hpp"

#include "refuse_openat2.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string_view>

namespace portd::http {
namespace {

namespace fs = std::filesystem;

class PathResolver : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = dir_.path() / "root";
        fs::create_directories(root_ / "sub");
        dir_.write("root/a.txt", "A");
        dir_.write("root/sub/b.txt", "BB");
        dir_.write("secret.txt", "outside");
        fs::create_symlink("../secret.txt", root_ / "escape");
        fs::create_symlink("/etc/passwd", root_ / "absolute");
        fs::create_symlink("sub/b.txt", root_ / "inside");
        fs::create_directory_symlink("..", root_ / "up");
        ::mkfifo((root_ / "fifo").c_str(), 0600);
        root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root_fd_);
    }

    int status(std::string_view path) { return open_beneath(root_fd_.get(), path).status; }

    testing::TempDir dir_;
    fs::path root_;
    UniqueFd root_fd_;
};

TEST_F(PathResolver, OpensFilesAndDirectories) {
    auto f = open_beneath(root_fd_.get(), "/sub/b.txt");
    ASSERT_EQ(f.status, 0);
    EXPECT_TRUE(S_ISREG(f.st.st_mode));
    EXPECT_EQ(f.st.st_size, 2);
    auto d = open_beneath(root_fd_.get(), "/");
    ASSERT_EQ(d.status, 0);
    EXPECT_TRUE(S_ISDIR(d.st.st_mode));
    EXPECT_EQ(status("/sub/"), 0);
}

TEST_F(PathResolver, SymlinksInsideAreFollowed) {
    auto f = open_beneath(root_fd_.get(), "/inside");
    ASSERT_EQ(f.status, 0);
    EXPECT_EQ(f.st.st_size, 2);
}

TEST_F(PathResolver, NothingOutsideTheRoot) {
    EXPECT_EQ(status("/escape"), 403);
    EXPECT_EQ(status("/absolute"), 403);
    EXPECT_EQ(status("/up/secret.txt"), 403);
    EXPECT_EQ(status("/../secret.txt"), 403);
}

TEST_F(PathResolver, MissingAndSpecialFiles) {
    EXPECT_EQ(status("/nope"), 404);
    EXPECT_EQ(status("/a.txt/x"), 404);
    EXPECT_EQ(status("/fifo"), 403);
}

TEST(StatusFromErrno, Table) {
    EXPECT_EQ(status_from_errno(ENOENT), 404);
    EXPECT_EQ(status_from_errno(EACCES), 403);
    EXPECT_EQ(status_from_errno(EMFILE), 503);
    EXPECT_EQ(status_from_errno(EIO), 500);
}

}  // namespace
}  // namespace portd::http

namespace portd::http {
namespace {

TEST_F(PathResolver, FallbackWalkAnswersAsTheKernelDoes) {
    for (const std::string_view path :
         {"/sub/b.txt", "/", "/sub/", "/nope", "/escape", "/absolute", "/up/secret.txt", "/inside",
          "/../secret.txt", "/fifo", "/a.txt/x"}) {
        const auto kernel = open_beneath(root_fd_.get(), path, Resolver::kernel);
        const auto walk = open_beneath(root_fd_.get(), path, Resolver::walk);
        EXPECT_EQ(walk.status, kernel.status) << path;
        EXPECT_EQ(walk.st.st_ino, kernel.st.st_ino) << path;
    }
    EXPECT_EQ(open_beneath(root_fd_.get(), "/inside", Resolver::walk).st.st_size, 2);
}

/// Exit status 0 if, with openat2 refused with `error`, the default resolver still serves
/// what is inside and refuses what is not; the failed check's number otherwise.
int jail_holds_without_openat2(int root_fd, int error) {
    if (!portd::testing::refuse_openat2(error)) {
        return 10;
    }
    if (open_beneath(root_fd, "/sub/b.txt").status != 0 ||
        open_beneath(root_fd, "/inside").status != 0) {
        return 11;
    }
    if (open_beneath(root_fd, "/escape").status != 403 ||
        open_beneath(root_fd, "/up/secret.txt").status != 403) {
        return 12;
    }
    return open_beneath(root_fd, "/nope").status == 404 ? 0 : 13;
}

TEST_F(PathResolver, FallsBackToTheWalkWhereOpenat2IsMissing) {
    if (!portd::testing::can_refuse_openat2()) {
        GTEST_SKIP() << "seccomp filters cannot be installed here";
    }
    EXPECT_EXIT(std::exit(jail_holds_without_openat2(root_fd_.get(), ENOSYS)),
                ::testing::ExitedWithCode(0), "");
}

TEST_F(PathResolver, FallsBackToTheWalkWhereAFilterRefusesOpenat2) {
    if (!portd::testing::can_refuse_openat2()) {
        GTEST_SKIP() << "seccomp filters cannot be installed here";
    }
    EXPECT_EXIT(std::exit(jail_holds_without_openat2(root_fd_.get(), EPERM)),
                ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace portd::http
