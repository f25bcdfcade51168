#include "ftp/vfs.hpp"

#include "temp_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

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

class FtpVfsTest : public ::testing::Test {
protected:
    void SetUp() override {
        outside_.write("secret.txt", "outside");
        tree_.write("home/pub/a.txt", "hello");
        fs::create_symlink("/", tree_.path() / "home/root_link");
        fs::create_symlink("../..", tree_.path() / "home/pub/up_link");
        fs::create_symlink(outside_.path() / "secret.txt", tree_.path() / "home/abs_link");
        fs::create_symlink("pub/a.txt", tree_.path() / "home/inside_link");
        ASSERT_EQ(Vfs::open_root(tree_.path() / "home", vfs_), 0);
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

TEST_F(FtpVfsTest, ReadsInsideTheJail) {
    EXPECT_EQ(read("/pub/a.txt"), "hello");
    EXPECT_EQ(read("/inside_link"), "hello");
}

TEST_F(FtpVfsTest, DotDotAndAbsolutePathsStayInside) {
    int err = 0;
    // Even a raw path handed to open (not normalised first) cannot climb out.
    const auto escape = "../../../../../../.." + outside_.path().string() + "/secret.txt";
    EXPECT_EQ(read(escape, &err), "");
    EXPECT_EQ(err, ENOENT);
    EXPECT_EQ(read(outside_.path().string() + "/secret.txt", &err), "");
    EXPECT_EQ(err, ENOENT);
}

TEST_F(FtpVfsTest, SymlinksThatLeaveTheHomeStayInside) {
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

TEST_F(FtpVfsTest, ListingNeverFollowsLinksOut) {
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

TEST_F(FtpVfsTest, WritesThroughLinksStayInside) {
    UniqueFd fd;
    // O_CREAT through an absolute link to an outside file resolves inside the home, where the
    // link's directories do not exist: refused, and the outside file is untouched.
    EXPECT_EQ(vfs_.open("/abs_link", O_WRONLY | O_CREAT | O_TRUNC, 0644, fd), ENOENT);
    EXPECT_EQ(outside_.read("secret.txt"), "outside");
    // A link to "/" writes into the home.
    ASSERT_EQ(vfs_.open("/root_link/new.txt", O_WRONLY | O_CREAT, 0644, fd), 0);
    EXPECT_TRUE(fs::exists(tree_.path() / "home/new.txt"));
}

TEST_F(FtpVfsTest, DirectoryOperations) {
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

TEST_F(FtpVfsTest, RemovingALinkRemovesTheLinkOnly) {
    EXPECT_EQ(vfs_.remove_file("/abs_link"), 0);
    EXPECT_EQ(outside_.read("secret.txt"), "outside");
}

TEST_F(FtpVfsTest, ModeAndTimeChangesThroughLinksStayInside) {
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

TEST_F(FtpVfsTest, TemporaryFileSitsNextToTheTarget) {
    UniqueFd fd;
    std::string name;
    ASSERT_EQ(vfs_.create_temporary("/pub/up.bin", fd, name), 0);
    EXPECT_EQ(name.rfind("/pub/.in.up.bin.", 0), 0u);
    EXPECT_EQ(vfs_.rename(name, "/pub/up.bin"), 0);
    EXPECT_TRUE(fs::exists(tree_.path() / "home/pub/up.bin"));
}

TEST_F(FtpVfsTest, CopyFilePartAppendsPiecesInOrder) {
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

}  // namespace
}  // namespace portd::ftp
