#include "ftp/vfs.hpp"

#include "refuse_openat2.hpp"
#include "temp_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace portd::ftp {
namespace {

using testing::TempTree;
namespace fs = std::filesystem;

TEST(FtpResolveVirtual, RelativeAndAbsolute) {
    EXPECT_EQ(resolve_virtual("/", "a"), "/a");
    EXPECT_EQ(resolve_virtual("/pub", "a/b"), "/pub/a/b");
    EXPECT_EQ(resolve_virtual("/pub", "/etc/passwd"), "/etc/passwd");
    EXPECT_EQ(resolve_virtual("/pub", ""), "/pub");
    EXPECT_EQ(resolve_virtual("/pub", "."), "/pub");
}

TEST(FtpResolveVirtual, DotDotStopsAtRoot) {
    EXPECT_EQ(resolve_virtual("/", ".."), "/");
    EXPECT_EQ(resolve_virtual("/a/b", "../../../../etc"), "/etc");
    EXPECT_EQ(resolve_virtual("/a", "b/../c"), "/a/c");
    EXPECT_EQ(resolve_virtual("/a", "//b///c/"), "/b/c");
}

TEST(FtpSplitVirtual, ParentAndName) {
    EXPECT_EQ(split_virtual("/a/b"), std::make_pair(std::string("/a"), std::string("b")));
    EXPECT_EQ(split_virtual("/a"), std::make_pair(std::string("/"), std::string("a")));
    EXPECT_EQ(split_virtual("/"), std::make_pair(std::string("/"), std::string("")));
}

// Every test runs against the kernel's resolution (openat2) and the walk that stands in for it
// where openat2 is missing: the two must agree.
class FtpVfsTest : public ::testing::TestWithParam<Resolver> {
protected:
    void SetUp() override {
        outside_.write("secret.txt", "outside");
        tree_.write("home/pub/a.txt", "hello");
        fs::create_symlink("/", tree_.path() / "home/root_link");
        fs::create_symlink("../..", tree_.path() / "home/pub/up_link");
        fs::create_symlink(outside_.path() / "secret.txt", tree_.path() / "home/abs_link");
        fs::create_symlink("pub/a.txt", tree_.path() / "home/inside_link");
        ASSERT_EQ(Vfs::open_root(tree_.path() / "home", vfs_, GetParam()), 0);
    }

    std::string read(std::string_view path, int* error = nullptr) {
        UniqueFd fd;
        const int err = vfs_.open(path, O_RDONLY, 0, fd);
        if (error != nullptr) {
            *error = err;
        }
        if (err != 0) {
            return {};
        }
        char buf[256];
        const auto n = ::read(fd.get(), buf, sizeof buf);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

    TempTree outside_;
    TempTree tree_;
    Vfs vfs_;
};

TEST_P(FtpVfsTest, ReadsInsideTheJail) {
    EXPECT_EQ(read("/pub/a.txt"), "hello");
    EXPECT_EQ(read("/inside_link"), "hello");
}

TEST_P(FtpVfsTest, DotDotAndAbsolutePathsStayInside) {
    int err = 0;
    // Even a raw path handed to open (not normalised first) cannot climb out.
    const auto escape = "../../../../../../.." + outside_.path().string() + "/secret.txt";
    EXPECT_EQ(read(escape, &err), "");
    EXPECT_EQ(err, ENOENT);
    EXPECT_EQ(read(outside_.path().string() + "/secret.txt", &err), "");
    EXPECT_EQ(err, ENOENT);
}

TEST_P(FtpVfsTest, SymlinksThatLeaveTheHomeStayInside) {
    int err = 0;
    // An absolute link to a file outside is resolved inside the home, where it does not exist.
    EXPECT_EQ(read("/abs_link", &err), "");
    EXPECT_EQ(err, ENOENT);
    // "/" through a link is the home itself.
    EXPECT_EQ(read("/root_link/pub/a.txt"), "hello");
    EXPECT_EQ(read("/pub/up_link/pub/a.txt"), "hello");
    struct stat st {};
    ASSERT_EQ(vfs_.stat("/root_link", st), 0);
    struct stat home {};
    ASSERT_EQ(::stat((tree_.path() / "home").c_str(), &home), 0);
    EXPECT_EQ(st.st_ino, home.st_ino);
}

TEST_P(FtpVfsTest, ListingNeverFollowsLinksOut) {
    DirReader reader;
    ASSERT_EQ(vfs_.open_directory("/root_link/..", reader), 0);
    std::vector<DirEntry> entries;
    while (reader.next_batch(entries, 2)) {
    }
    std::vector<std::string> names;
    for (const auto& e : entries) {
        names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"abs_link", "inside_link", "pub", "root_link"}));
    const auto link = std::find_if(entries.begin(), entries.end(),
                                   [](const DirEntry& e) { return e.name == "abs_link"; });
    EXPECT_TRUE(S_ISLNK(link->st.st_mode));
}

TEST_P(FtpVfsTest, WritesThroughLinksStayInside) {
    UniqueFd fd;
    // O_CREAT through an absolute link to an outside file resolves inside the home, where the
    // link's directories do not exist: refused, and the outside file is untouched.
    EXPECT_EQ(vfs_.open("/abs_link", O_WRONLY | O_CREAT | O_TRUNC, 0644, fd), ENOENT);
    EXPECT_EQ(outside_.read("secret.txt"), "outside");
    // A link to "/" writes into the home.
    ASSERT_EQ(vfs_.open("/root_link/new.txt", O_WRONLY | O_CREAT, 0644, fd), 0);
    EXPECT_TRUE(fs::exists(tree_.path() / "home/new.txt"));
}

TEST_P(FtpVfsTest, DirectoryOperations) {
    EXPECT_EQ(vfs_.make_directory("/new", 0755), 0);
    EXPECT_EQ(vfs_.make_directory("/new", 0755), EEXIST);
    EXPECT_EQ(vfs_.rename("/new", "/pub/moved"), 0);
    EXPECT_TRUE(fs::is_directory(tree_.path() / "home/pub/moved"));
    EXPECT_EQ(vfs_.remove_file("/pub/moved"), EISDIR);
    EXPECT_EQ(vfs_.remove_directory("/pub/moved"), 0);
    EXPECT_EQ(vfs_.remove_directory("/"), EBUSY);
    EXPECT_EQ(vfs_.remove_file("/pub/a.txt"), 0);
    EXPECT_FALSE(fs::exists(tree_.path() / "home/pub/a.txt"));
}

TEST_P(FtpVfsTest, RemovingALinkRemovesTheLinkOnly) {
    EXPECT_EQ(vfs_.remove_file("/abs_link"), 0);
    EXPECT_EQ(outside_.read("secret.txt"), "outside");
}

TEST_P(FtpVfsTest, ModeAndTimeChangesThroughLinksStayInside) {
    const auto secret = outside_.path() / "secret.txt";
    fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
    fs::create_symlink(secret, tree_.path() / "home/pub/chmod_link");
    EXPECT_EQ(vfs_.change_mode("/pub/chmod_link", 0777), ENOENT);
    EXPECT_EQ(fs::status(secret).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(vfs_.change_mode("/pub/a.txt", 0600), 0);
    struct stat st {};
    ASSERT_EQ(vfs_.stat("/pub/a.txt", st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(vfs_.set_modification_time("/pub/a.txt", 1'000'000'000), 0);
    ASSERT_EQ(vfs_.stat("/pub/a.txt", st), 0);
    EXPECT_EQ(st.st_mtime, 1'000'000'000);
}

TEST_P(FtpVfsTest, TemporaryFileSitsNextToTheTarget) {
    UniqueFd fd;
    std::string name;
    ASSERT_EQ(vfs_.create_temporary("/pub/up.bin", fd, name), 0);
    EXPECT_EQ(name.rfind("/pub/.in.up.bin.", 0), 0u);
    EXPECT_EQ(vfs_.rename(name, "/pub/up.bin"), 0);
    EXPECT_TRUE(fs::exists(tree_.path() / "home/pub/up.bin"));
}

TEST_P(FtpVfsTest, LinksToDirectoriesAreDirectories) {
    fs::create_symlink("pub", tree_.path() / "home/pub_link");
    DirReader reader;
    ASSERT_EQ(vfs_.open_directory("/pub_link", reader), 0);
    std::vector<DirEntry> entries;
    while (reader.next_batch(entries, 8)) {
    }
    EXPECT_TRUE(std::any_of(entries.begin(), entries.end(),
                            [](const DirEntry& e) { return e.name == "a.txt"; }));
    EXPECT_EQ(vfs_.make_directory("/pub_link/made", 0755), 0);
    EXPECT_TRUE(fs::is_directory(tree_.path() / "home/pub/made"));
    EXPECT_EQ(vfs_.open_directory("/inside_link", reader), ENOTDIR);  // a link to a file
}

TEST_P(FtpVfsTest, LstatSeesTheLinkAndStatItsTarget) {
    struct stat st {};
    ASSERT_EQ(vfs_.lstat("/inside_link", st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    ASSERT_EQ(vfs_.stat("/inside_link", st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, 5);
    UniqueFd fd;
    EXPECT_EQ(vfs_.open("/inside_link", O_RDONLY | O_NOFOLLOW, 0, fd), ELOOP);
}

TEST_P(FtpVfsTest, LinkLoopsAndFilesInThePathAreRefused) {
    fs::create_symlink("loop_b", tree_.path() / "home/loop_a");
    fs::create_symlink("loop_a", tree_.path() / "home/loop_b");
    int err = 0;
    EXPECT_EQ(read("/loop_a", &err), "");
    EXPECT_EQ(err, ELOOP);
    EXPECT_EQ(read("/loop_a/x", &err), "");
    EXPECT_EQ(err, ELOOP);
    EXPECT_EQ(read("/pub/a.txt/x", &err), "");
    EXPECT_EQ(err, ENOTDIR);
    EXPECT_EQ(read("/pub/missing.txt", &err), "");
    EXPECT_EQ(err, ENOENT);
}

TEST_P(FtpVfsTest, CreatingThroughADanglingLinkCreatesItsTargetInside) {
    fs::create_symlink("/pub/made.txt", tree_.path() / "home/dangling");
    UniqueFd fd;
    ASSERT_EQ(vfs_.open("/dangling", O_WRONLY | O_CREAT, 0644, fd), 0);
    EXPECT_TRUE(fs::is_regular_file(tree_.path() / "home/pub/made.txt"));
    EXPECT_EQ(vfs_.open("/pub/made.txt", O_WRONLY | O_CREAT | O_EXCL, 0644, fd), EEXIST);
}

TEST_P(FtpVfsTest, CopyFilePartAppendsPiecesInOrder) {
    tree_.write("home/old.bin", "0123456789");
    UniqueFd from;
    ASSERT_EQ(vfs_.open("/old.bin", O_RDONLY, 0, from), 0);
    UniqueFd to;
    std::string temp;
    ASSERT_EQ(vfs_.create_temporary("/old.bin", to, temp), 0);
    EXPECT_EQ(copy_file_part(from.get(), to.get(), 0, 4), 0);
    EXPECT_EQ(copy_file_part(from.get(), to.get(), 4, 3), 0);
    EXPECT_EQ(copy_file_part(from.get(), to.get(), 7, 0), 0);
    EXPECT_EQ(copy_file_part(from.get(), to.get(), 8, 5), EINVAL);  // past the end
    to.reset();
    EXPECT_EQ(tree_.read("home" + temp).substr(0, 7), "0123456");
}

INSTANTIATE_TEST_SUITE_P(KernelAndWalk, FtpVfsTest,
                         ::testing::Values(Resolver::kernel, Resolver::walk),
                         [](const ::testing::TestParamInfo<Resolver>& param) {
                             return param.param == Resolver::kernel ? "openat2" : "walk";
                         });

TEST(FtpInRootWalk, HoldsBoundedlyManyDirectoriesOpen) {
    TempTree tree;
    std::string deep;
    for (int i = 0; i < 300; ++i) {
        deep += "/d";
    }
    fs::create_directories(tree.path().string() + deep);
    tree.write(deep.substr(1) + "/f", "deep");
    Vfs walk;
    ASSERT_EQ(Vfs::open_root(tree.path(), walk, Resolver::walk), 0);
    UniqueFd fd;
    EXPECT_EQ(walk.open(deep + "/f", O_RDONLY, 0, fd), ENAMETOOLONG);
    EXPECT_EQ(walk.open(deep.substr(0, 2 * 200) + "/../d", O_RDONLY | O_DIRECTORY, 0, fd), 0);
}

/// Exit status 0 if, with openat2 refused with `error`, the jail still reads inside and
/// refuses the way out; the failed check's number otherwise.
int jail_holds_without_openat2(const fs::path& home, const fs::path& outside, int error) {
    if (!portd::testing::refuse_openat2(error)) {
        return 10;
    }
    Vfs vfs;
    if (Vfs::open_root(home, vfs, Resolver::kernel) != 0) {
        return 11;
    }
    for (int round = 0; round < 2; ++round) {  // ENOSYS is remembered after the first open
        UniqueFd fd;
        char buf[16] = {};
        if (vfs.open("/pub/a.txt", O_RDONLY, 0, fd) != 0 || ::read(fd.get(), buf, 5) != 5 ||
            std::string(buf) != "hello") {
            return 12;
        }
        if (vfs.open("/abs_link", O_RDONLY, 0, fd) != ENOENT) {
            return 13;
        }
        if (vfs.open("/../../../../.." + (outside / "secret.txt").string(), O_RDONLY, 0, fd) !=
            ENOENT) {
            return 14;
        }
    }
    return 0;
}

// Where openat2 is missing (ENOSYS, before Linux 5.6) or filtered (EPERM), the default
// resolver walks instead, and the jail holds.
TEST(FtpVfsWithoutOpenat2, FallsBackToTheWalk) {
    if (!portd::testing::can_refuse_openat2()) {
        GTEST_SKIP() << "seccomp filters cannot be installed here";
    }
    TempTree outside;
    TempTree tree;
    outside.write("secret.txt", "outside");
    tree.write("home/pub/a.txt", "hello");
    fs::create_symlink(outside.path() / "secret.txt", tree.path() / "home/abs_link");
    for (const int error : {ENOSYS, EPERM}) {
        EXPECT_EXIT(
            std::exit(jail_holds_without_openat2(tree.path() / "home", outside.path(), error)),
            ::testing::ExitedWithCode(0), "")
            << "openat2 refused with " << std::strerror(error);
    }
}

}  // namespace
}  // namespace portd::ftp
