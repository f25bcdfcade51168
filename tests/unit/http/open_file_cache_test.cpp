#include "http/open_file_cache.hpp"
#include "http/shard_file_cache.hpp"

#include "temp_dir.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <spdlog/sinks/ostream_sink.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace portd::http {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kOwner = 1;

/// The bytes the descriptor reads now, from offset 0 (as sendfile would send them).
std::string contents(const OpenedFile& file) {
    std::string out(static_cast<std::size_t>(file.st.st_size), '\0');
    const auto n = ::pread(file.fd->get(), out.data(), out.size(), 0);
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

/// Opens `path` through `cache` twice, so that it is kept (a file is kept at its second use);
/// the second.
OpenedFile open_twice(OpenFileCache& cache, int root_fd, std::string_view path) {
    cache.open(kOwner, root_fd, path);
    return cache.open(kOwner, root_fd, path);
}

class OpenFileCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = dir_.path() / "root";
        fs::create_directories(root_ / "a");
        dir_.write("root/index.html", "old index");
        dir_.write("root/a/page.html", "old page");
        dir_.write("secret.txt", "outside");
        root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root_fd_);
        if (!changes_are_watchable(root_fd_.get())) {
            GTEST_SKIP() << "the temp directory is on a file system the cache does not keep "
                            "files of (inotify would miss changes there)";
        }
    }

    OpenedFile open(std::string_view path) { return cache_.open(kOwner, root_fd_.get(), path); }

    /// Opens `path` twice, so that it is kept; the second.
    OpenedFile keep(std::string_view path) { return open_twice(cache_, root_fd_.get(), path); }

    /// What `path` reads through the cache, or its status when it cannot be opened.
    std::string fetch(std::string_view path) {
        const auto file = open(path);
        return file.status != 0 ? std::to_string(file.status) : contents(file);
    }

    testing::TempDir dir_;
    fs::path root_;
    UniqueFd root_fd_;
    OpenFileCache cache_{16};
};

TEST_F(OpenFileCacheTest, AFileIsKeptAtItsSecondUseAndItsDescriptorReused) {
    const auto first = open("/a/page.html");
    ASSERT_EQ(first.status, 0);
    EXPECT_EQ(cache_.size(), 0u);  // opened as with the cache off: nothing kept, nothing watched
    EXPECT_EQ(cache_.changes_fd(), -1);
    const auto second = open("a/page.html");  // the same path, as open_beneath reads it
    ASSERT_EQ(second.status, 0);
    EXPECT_NE(second.fd, first.fd);
    EXPECT_EQ(cache_.size(), 1u);
    EXPECT_GE(cache_.changes_fd(), 0);
    const auto third = open("/a/page.html");
    EXPECT_EQ(third.fd, second.fd);
    EXPECT_EQ(contents(third), "old page");
}

TEST_F(OpenFileCacheTest, FilesAskedForOnceInALongRunAreNeverKept) {
    // More files in turn than the cache holds: each is asked for again only after as many
    // others as the cache has room for. Kept at each first use, every request would evict the
    // file asked for next and set watches for it: dearer than no cache.
    OpenFileCache small(2);
    for (int i = 0; i < 6; ++i) {
        dir_.write("root/a/" + std::to_string(i) + ".html", std::to_string(i));
    }
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 6; ++i) {
            const auto file =
                small.open(kOwner, root_fd_.get(), "/a/" + std::to_string(i) + ".html");
            EXPECT_EQ(contents(file), std::to_string(i));
        }
    }
    EXPECT_EQ(small.size(), 0u);
    EXPECT_EQ(small.changes_fd(), -1);  // and nothing was ever watched
}

TEST_F(OpenFileCacheTest, FilesAskedForOnceDoNotPushOutTheFilesInUse) {
    OpenFileCache small(2);
    dir_.write("root/b.html", "b");
    const auto fetch = [&](std::string_view path) {
        return small.open(kOwner, root_fd_.get(), path);
    };
    fetch("/index.html");
    const auto a = fetch("/index.html");
    fetch("/b.html");
    const auto b = fetch("/b.html");
    for (int i = 0; i < 10; ++i) {
        dir_.write("root/a/" + std::to_string(i) + ".html", "once");
        EXPECT_EQ(contents(fetch("/a/" + std::to_string(i) + ".html")), "once");
    }
    EXPECT_EQ(fetch("/index.html").fd, a.fd);
    EXPECT_EQ(fetch("/b.html").fd, b.fd);
}

TEST_F(OpenFileCacheTest, AFileRewrittenInPlaceIsServedAsItIsNow) {
    const auto first = keep("/index.html");
    dir_.write("root/index.html", "the new, longer index");  // truncates and writes: no rename
    const auto second = open("/index.html");
    EXPECT_EQ(second.fd, first.fd);  // the same file: still kept
    EXPECT_EQ(second.st.st_size, 21);
    EXPECT_EQ(contents(second), "the new, longer index");
}

TEST_F(OpenFileCacheTest, AFileRenamedOverTheNameIsSeenAtOnce) {
    // How deploy tools replace a file atomically: write a temporary one, rename it over.
    EXPECT_EQ(contents(keep("/a/page.html")), "old page");
    dir_.write("root/a/.page.tmp", "new page");
    fs::rename(root_ / "a/.page.tmp", root_ / "a/page.html");
    EXPECT_EQ(fetch("/a/page.html"), "new page");
}

TEST_F(OpenFileCacheTest, ADeletedFileIsGoneAndItsDescriptorLetGo) {
    auto first = keep("/a/page.html");
    std::weak_ptr<const UniqueFd> kept = first.fd;
    first = OpenedFile{};
    fs::remove(root_ / "a/page.html");
    EXPECT_EQ(fetch("/a/page.html"), "404");
    EXPECT_TRUE(kept.expired());  // closed: the file system gets the space back
    EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(OpenFileCacheTest, ADirectoryOnThePathReplacedIsSeen) {
    EXPECT_EQ(contents(keep("/a/page.html")), "old page");
    fs::rename(root_ / "a", root_ / "a.old");
    dir_.write("root/a/page.html", "page in the new directory");
    EXPECT_EQ(fetch("/a/page.html"), "page in the new directory");
    ASSERT_EQ(cache_.size(), 1u);  // kept again at once: the path was used before
    // The new directory has a watch of its own: a change in it is seen too.
    dir_.write("root/a/.page.tmp", "newer page");
    fs::rename(root_ / "a/.page.tmp", root_ / "a/page.html");
    EXPECT_EQ(fetch("/a/page.html"), "newer page");
}

TEST_F(OpenFileCacheTest, ASymlinkPointedOutsideTheRootIsRefusedAtOnce) {
    fs::create_symlink("index.html", root_ / "link.html");
    EXPECT_EQ(contents(keep("/link.html")), "old index");
    fs::remove(root_ / "link.html");
    fs::create_symlink("../secret.txt", root_ / "link.html");
    EXPECT_EQ(fetch("/link.html"), "403");
}

TEST_F(OpenFileCacheTest, APermissionChangeEmptiesTheCache) {
    // Tests may run as root, whom a mode does not stop: what is checked is that the next open
    // asks the kernel again, which for anyone else answers 403.
    const auto first = keep("/index.html");
    fs::permissions(root_ / "index.html", fs::perms::none);
    const auto second = open("/index.html");
    EXPECT_NE(second.fd, first.fd);
}

TEST_F(OpenFileCacheTest, AnyNameChangedInAWatchedDirectoryEmptiesTheCache) {
    // Events are not matched to entries: the whole cache goes. Only the directories on the way
    // to a kept file are watched, so a change in another one keeps it.
    const auto first = keep("/index.html");
    fs::rename(root_ / "a/page.html", root_ / "a/moved.html");  // `a` is not watched
    EXPECT_EQ(open("/index.html").fd, first.fd);
    fs::rename(root_ / "a", root_ / "b");  // the root is
    EXPECT_NE(open("/index.html").fd, first.fd);
}

TEST_F(OpenFileCacheTest, NewFilesAndWritesDoNotEmptyIt) {
    // A log or an upload written under the root must not cost every request an open.
    const auto first = keep("/index.html");
    dir_.write("root/a/new.html", "new");
    dir_.write("root/a/page.html", "rewritten");
    EXPECT_EQ(open("/index.html").fd, first.fd);
    EXPECT_EQ(fetch("/a/new.html"), "new");
}

TEST_F(OpenFileCacheTest, FailuresAreNotKept) {
    for (int use = 0; use < 2; ++use) {
        EXPECT_EQ(open("/missing.html").status, 404);
        EXPECT_EQ(open("/a/missing/x.html").status, 404);
        EXPECT_EQ(open("/index.html/x").status, 404);
    }
    EXPECT_EQ(cache_.size(), 0u);
    dir_.write("root/missing.html", "here now");
    EXPECT_EQ(fetch("/missing.html"), "here now");
}

TEST_F(OpenFileCacheTest, DirectoriesAreKeptAndTheirRenameSeen) {
    const auto root = keep("/");
    const auto a = keep("/a");
    ASSERT_EQ(a.status, 0);
    EXPECT_TRUE(S_ISDIR(a.st.st_mode));
    EXPECT_EQ(open("/").fd, root.fd);
    EXPECT_EQ(open("/a/").fd, a.fd);
    EXPECT_EQ(cache_.size(), 2u);
    fs::rename(root_ / "a", root_ / "gone");
    EXPECT_EQ(open("/a").status, 404);
}

TEST_F(OpenFileCacheTest, TheLeastRecentlyUsedGoesWhenFull) {
    OpenFileCache small(2);
    dir_.write("root/b.html", "b");
    const auto a = open_twice(small, root_fd_.get(), "/index.html");
    const auto b = open_twice(small, root_fd_.get(), "/b.html");
    EXPECT_EQ(small.open(kOwner, root_fd_.get(), "/index.html").fd, a.fd);  // a used last now
    open_twice(small, root_fd_.get(), "/a/page.html");                      // b goes
    EXPECT_EQ(small.size(), 2u);
    EXPECT_EQ(small.open(kOwner, root_fd_.get(), "/index.html").fd, a.fd);
    EXPECT_NE(small.open(kOwner, root_fd_.get(), "/b.html").fd, b.fd);
}

TEST_F(OpenFileCacheTest, CapacityZeroKeepsNothing) {
    OpenFileCache off(0);
    const auto a = open_twice(off, root_fd_.get(), "/index.html");
    EXPECT_EQ(a.status, 0);
    EXPECT_EQ(off.size(), 0u);
    EXPECT_EQ(off.changes_fd(), -1);
}

TEST_F(OpenFileCacheTest, RootsAndOwnersDoNotShareEntries) {
    dir_.write("other/index.html", "other index");
    UniqueFd other(::open((dir_.path() / "other").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(other);
    for (int use = 0; use < 2; ++use) {
        EXPECT_EQ(fetch("/index.html"), "old index");
        EXPECT_EQ(contents(cache_.open(kOwner, other.get(), "/index.html")), "other index");
        // Another owner with a root that got the same descriptor number.
        EXPECT_EQ(contents(cache_.open(kOwner + 1, other.get(), "/index.html")), "other index");
    }
    EXPECT_EQ(cache_.size(), 3u);
}

TEST_F(OpenFileCacheTest, ClearClosesTheKeptDescriptorsAndTellsOfTheWatchOnce) {
    std::vector<int> watching;
    OpenFileCache cache(4);
    cache.on_watching = [&](int fd) {
        watching.push_back(fd);
    };
    cache.open(kOwner, root_fd_.get(), "/index.html");
    EXPECT_TRUE(watching.empty());  // nothing is watched for a file used once
    std::weak_ptr<const UniqueFd> kept = cache.open(kOwner, root_fd_.get(), "/index.html").fd;
    EXPECT_FALSE(kept.expired());
    cache.clear();
    EXPECT_TRUE(kept.expired());
    open_twice(cache, root_fd_.get(), "/a/page.html");
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(watching, std::vector<int>{cache.changes_fd()});
    EXPECT_GE(cache.changes_fd(), 0);
}

TEST_F(OpenFileCacheTest, CachesSharingWatchesShareOneInotifyDescriptorAndSeeEachChange) {
    auto watches = std::make_shared<DirectoryWatches>();
    OpenFileCache one(4, watches);
    OpenFileCache two(4, watches);
    const auto fetch = [&](OpenFileCache& cache, std::string_view path) {
        return contents(cache.open(kOwner, root_fd_.get(), path));
    };
    for (int use = 0; use < 2; ++use) {
        EXPECT_EQ(fetch(one, "/a/page.html"), "old page");
        EXPECT_EQ(fetch(two, "/a/page.html"), "old page");
    }
    EXPECT_EQ(one.changes_fd(), two.changes_fd());
    EXPECT_EQ(one.size(), 1u);
    EXPECT_EQ(two.size(), 1u);
    dir_.write("root/a/.page.tmp", "new page");
    fs::rename(root_ / "a/.page.tmp", root_ / "a/page.html");
    // The first look reads the events away; the second cache learns of them from the
    // generation.
    EXPECT_EQ(fetch(one, "/a/page.html"), "new page");
    EXPECT_EQ(fetch(two, "/a/page.html"), "new page");
    // And the watches were set again after the reset: the next change is seen too, by both.
    fs::rename(root_ / "index.html", root_ / "a/page.html");
    EXPECT_EQ(fetch(two, "/a/page.html"), "old index");
    EXPECT_EQ(fetch(one, "/a/page.html"), "old index");
}

TEST_F(OpenFileCacheTest, AShardThatIsNotLookingLetsGoOfADeletedFileToo) {
    // Two shards keep the file. The first to run reads the deletion's events away; the other's
    // poller then finds nothing to collect, and is told by the first.
    auto log = std::make_shared<spdlog::logger>("web");
    net::io_context first_shard;
    net::io_context second_shard;
    auto& first = ShardFileCache::of(first_shard.get_executor(), 4, log);
    auto& second = ShardFileCache::of(second_shard.get_executor(), 4, log);
    std::weak_ptr<const UniqueFd> kept_first = open_twice(first, root_fd_.get(), "/a/page.html").fd;
    std::weak_ptr<const UniqueFd> kept_second =
        open_twice(second, root_fd_.get(), "/a/page.html").fd;
    ASSERT_EQ(first.changes_fd(), second.changes_fd());  // one inotify instance
    ASSERT_FALSE(kept_first.expired());
    ASSERT_FALSE(kept_second.expired());
    fs::remove(root_ / "a/page.html");
    first_shard.poll();
    EXPECT_TRUE(kept_first.expired());
    EXPECT_FALSE(kept_second.expired());  // nothing has run on the second shard yet
    second_shard.poll();
    EXPECT_TRUE(kept_second.expired());
}

TEST_F(OpenFileCacheTest, ChangesMadeWhileOtherThreadsLookAreNeverMissed) {
    // Two shards' threads look the same file up without pause while this one replaces it
    // by renames; after each rename, both must serve the new version at their next lookup.
    auto watches = std::make_shared<DirectoryWatches>();
    std::atomic<int> version{0};
    std::atomic<bool> stop{false};
    std::atomic<int> stale{0};
    const auto shard = [&] {
        OpenFileCache cache(4, watches);
        while (!stop.load()) {
            const int before = version.load();  // renamed into place before this was stored
            const auto file = cache.open(kOwner, root_fd_.get(), "/a/page.html");
            const auto got = contents(file);
            if (got.rfind("version ", 0) == 0 && std::stoi(got.substr(8)) < before) {
                ++stale;
            }
        }
    };
    std::thread first(shard);
    std::thread second(shard);
    for (int v = 1; v <= 200; ++v) {
        dir_.write("root/a/.page.tmp", "version " + std::to_string(v));
        fs::rename(root_ / "a/.page.tmp", root_ / "a/page.html");
        version.store(v);
    }
    stop.store(true);
    first.join();
    second.join();
    EXPECT_EQ(stale.load(), 0);
}

/// How many watches the kernel holds for the inotify instance `fd`.
int kernel_watches(int fd) {
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
    int count = 0;
    for (std::string line; std::getline(info, line);) {
        count += line.rfind("inotify wd:", 0) == 0 ? 1 : 0;
    }
    return count;
}

TEST_F(OpenFileCacheTest, WatchesAreBoundedAndStartingAfreshEmptiesEveryCache) {
    // Without a bound, every directory ever served from keeps a watch, and its inode in memory.
    auto watches = std::make_shared<DirectoryWatches>();
    OpenFileCache holder(2, watches);  // allows 8 watches
    OpenFileCache other(1, watches);
    const auto keep = [&](OpenFileCache& cache, std::string_view path) {
        return contents(open_twice(cache, root_fd_.get(), path));
    };
    EXPECT_EQ(keep(holder, "/index.html"), "old index");  // watches the root
    ASSERT_EQ(holder.size(), 1u);
    // The root and seven directories fill the eight; the eighth directory starts afresh, and
    // nothing watches the root after it.
    for (int i = 0; i < 8; ++i) {
        const auto directory = "d" + std::to_string(i);
        dir_.write("root/" + directory + "/f.html", directory);
        EXPECT_EQ(keep(other, "/" + directory + "/f.html"), directory);
        EXPECT_LE(watches->size(), 8u);
        EXPECT_LE(kernel_watches(other.changes_fd()), 8);
    }
    // The root's watch went with the others: a rename there raises no event now, and the
    // holder must not trust the file it kept.
    dir_.write("root/.index.tmp", "new index");
    fs::rename(root_ / ".index.tmp", root_ / "index.html");
    EXPECT_EQ(contents(holder.open(kOwner, root_fd_.get(), "/index.html")), "new index");
    // Kept again at once, with the root watched again: the next rename is seen too.
    ASSERT_EQ(holder.size(), 1u);
    dir_.write("root/.index.tmp", "newer index");
    fs::rename(root_ / ".index.tmp", root_ / "index.html");
    EXPECT_EQ(contents(holder.open(kOwner, root_fd_.get(), "/index.html")), "newer index");
}

TEST_F(OpenFileCacheTest, AWatchTheKernelRemovedNoLongerCounts) {
    auto watches = std::make_shared<DirectoryWatches>();
    OpenFileCache cache(4, watches);
    dir_.write("root/gone/f.html", "f");
    open_twice(cache, root_fd_.get(), "/gone/f.html");
    ASSERT_EQ(watches->size(), 2u);  // the root and "gone"
    fs::remove_all(root_ / "gone");
    EXPECT_EQ(cache.open(kOwner, root_fd_.get(), "/gone/f.html").status, 404);
    // The kernel removes the watch once the directory's inode goes, which the kept file held
    // until that lookup let go of it: the next look reads the removal.
    cache.look();
    EXPECT_EQ(watches->size(), 1u);
    EXPECT_EQ(kernel_watches(cache.changes_fd()), 1);
}

/// What a cache reports as out of reach: how often, and whether the last was `call` failing
/// with `error`.
struct Reports {
    int told = 0;
    bool as_expected = false;
};

std::shared_ptr<Reports> count_reports(OpenFileCache& cache, std::string_view call, int error) {
    auto reports = std::make_shared<Reports>();
    cache.on_unavailable = [reports, call, error](const char* made, int failed) {
        ++reports->told;
        reports->as_expected = made == call && failed == error;
    };
    return reports;
}

/// UBSan checks the object of a virtual call by writing it to a pipe the first time it meets
/// that type: with no descriptor left it would report a false error. The calls the children
/// below make with none left are made once before.
void warm_up_sanitizer(int root_fd) {
    OpenFileCache cache(4);
    cache.open(kOwner, root_fd, "/index.html");
}

/// In a child (EXPECT_EXIT): with no descriptor left, neither inotify nor the file can be had.
/// The cache answers 503 and does not report inotify: the shortage of descriptors is the news.
int stays_quiet_with_no_descriptor_left(int root_fd) {
    OpenFileCache cache(4);
    const auto reports = count_reports(cache, "", 0);
    warm_up_sanitizer(root_fd);
    rlimit before{};
    ::getrlimit(RLIMIT_NOFILE, &before);
    const int next = ::dup(0);
    ::close(next);
    const rlimit none{static_cast<rlim_t>(next), before.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &none) != 0) {
        return 10;
    }
    // The first use opens without the cache; the second is the one that tries inotify.
    const int first = cache.open(kOwner, root_fd, "/index.html").status;
    const int second = cache.open(kOwner, root_fd, "/index.html").status;
    // Descriptors back before the exit, whose calls the sanitizer would check without any.
    ::setrlimit(RLIMIT_NOFILE, &before);
    if (first != 503 || second != 503) {
        return 11;
    }
    return reports->told == 0 && cache.size() == 0 ? 0 : 12;
}

TEST_F(OpenFileCacheTest, WithNoDescriptorLeftItAnswers503AndDoesNotBlameInotify) {
    EXPECT_EXIT(std::exit(stays_quiet_with_no_descriptor_left(root_fd_.get())),
                ::testing::ExitedWithCode(0), "");
}

/// Whether a child can reach the per-user limit of inotify instances as `nobody` (a user of its
/// own for the count, with nothing of the system's changed); the reason when not.
std::string why_instances_cannot_run_out() {
    if (::geteuid() != 0) {
        return "needs root, to become nobody";
    }
    if (::getpwnam("nobody") == nullptr) {
        return "no user nobody";
    }
    std::ifstream limit("/proc/sys/fs/inotify/max_user_instances");
    int instances = 0;
    if (!(limit >> instances) || instances > 1000) {
        return "fs.inotify.max_user_instances is above 1000";
    }
    return {};
}

/// In a child: becomes nobody and takes every inotify instance nobody may have. Then only
/// inotify is out of reach, not descriptors. 0 when done.
int run_out_of_inotify_instances() {
    const passwd* nobody = ::getpwnam("nobody");
    if (::setgroups(0, nullptr) != 0 || ::setgid(nobody->pw_gid) != 0 ||
        ::setuid(nobody->pw_uid) != 0) {
        return 20;
    }
    for (int i = 0; i < 1000; ++i) {
        if (::inotify_init1(IN_CLOEXEC) < 0) {
            return errno == EMFILE ? 0 : 21;
        }
    }
    return 22;
}

/// In a child: the cache says once that inotify is out of reach, opens straight through, and
/// does not try inotify again at the next request; the shard's cache says it in the service's
/// log, as a warning. (One child for both: instances freed by another would spoil the count.)
int reports_inotify_out_of_reach(int root_fd) {
    if (const int failed = run_out_of_inotify_instances()) {
        return failed;
    }
    OpenFileCache cache(4);
    const auto reports = count_reports(cache, "inotify_init1", EMFILE);
    if (open_twice(cache, root_fd, "/index.html").status != 0) {
        return 11;
    }
    if (reports->told != 1 || !reports->as_expected) {
        return 12;
    }
    if (open_twice(cache, root_fd, "/a/page.html").status != 0 || reports->told != 1 ||
        cache.size() != 0) {
        return 13;
    }
    std::ostringstream out;
    auto log = std::make_shared<spdlog::logger>(
        "web", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    log->set_pattern("%l %v");
    net::io_context shard;
    open_twice(ShardFileCache::of(shard.get_executor(), 4, log), root_fd, "/index.html");
    return out.str().rfind("warning open-file cache: inotify_init1: Too many open files", 0) == 0
               ? 0
               : 14;
}

TEST_F(OpenFileCacheTest, InotifyOutOfReachIsReportedOnceAndNotRetriedAtEveryRequest) {
    if (const auto why = why_instances_cannot_run_out(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    EXPECT_EXIT(std::exit(reports_inotify_out_of_reach(root_fd_.get())),
                ::testing::ExitedWithCode(0), "");
}

/// Whether `attempt` returns true in a child process (what it changes of the process, such as
/// a namespace, goes with the child): to skip a test this system cannot run.
bool succeeds_in_a_child(const std::function<bool()>& attempt) {
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(attempt() ? 0 : 1);
    }
    int status = 0;
    return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/// In a child: a user namespace of its own, where this process may set the per-user limit of
/// inotify watches (it counts there as well as in the system's, and nothing of the system's
/// changes). 0 when done.
int limit_inotify_watches_to(int watches) {
    if (::unshare(CLONE_NEWUSER) != 0) {
        return 40;
    }
    std::ofstream limit("/proc/sys/user/max_inotify_watches");
    limit << watches << '\n';
    limit.close();
    return limit ? 0 : 41;
}

/// In a child: with watches for the root and one directory only, a file one level deeper is
/// served but not kept (a directory on its path would go unwatched), the shortage is reported
/// once, and what was kept before stays kept. 0 when so.
int keeps_nothing_it_cannot_watch(const fs::path& root) {
    fs::create_directories(root / "a/b");
    std::ofstream(root / "a/b/deep.html") << "deep page";
    const UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (const int failed = limit_inotify_watches_to(2)) {
        return failed;
    }
    OpenFileCache cache(4);
    const auto reports = count_reports(cache, "inotify_add_watch", ENOSPC);
    const auto fetch = [&](std::string_view path) {
        const auto file = cache.open(kOwner, root_fd.get(), path);
        return file.status != 0 ? std::to_string(file.status) : contents(file);
    };
    if (fetch("/a/page.html") != "old page" || fetch("/a/page.html") != "old page" ||
        cache.size() != 1 || reports->told != 0) {
        return 42;  // two watches: the root and "a"
    }
    if (fetch("/a/b/deep.html") != "deep page" || fetch("/a/b/deep.html") != "deep page" ||
        cache.size() != 1) {
        return 43;
    }
    if (reports->told != 1 || !reports->as_expected) {
        return 44;
    }
    if (fetch("/a/b/deep.html") != "deep page" || fetch("/a/page.html") != "old page" ||
        cache.size() != 1 || reports->told != 1) {
        return 45;
    }
    return 0;
}

TEST_F(OpenFileCacheTest, AFileWhosePathCannotAllBeWatchedIsNotKept) {
    if (!succeeds_in_a_child([] { return ::unshare(CLONE_NEWUSER) == 0; })) {
        GTEST_SKIP() << "cannot make a user namespace (unprivileged user namespaces are off)";
    }
    EXPECT_EXIT(std::exit(keeps_nothing_it_cannot_watch(root_)), ::testing::ExitedWithCode(0), "");
}

/// In a child: a mount namespace of its own, where nothing mounted reaches the system's.
bool in_a_mount_namespace_of_its_own() {
    return ::unshare(CLONE_NEWNS) == 0 &&
           ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
}

/// Whether this process may mount a tmpfs over `where` in a mount namespace of its own; the
/// reason when not.
std::string why_mounts_cannot_be_made(const fs::path& where) {
    if (!succeeds_in_a_child([&] {
            return in_a_mount_namespace_of_its_own() &&
                   ::mount("portd-test", where.c_str(), "tmpfs", 0, "size=64k") == 0;
        })) {
        return "cannot mount in a mount namespace of its own (needs CAP_SYS_ADMIN)";
    }
    return {};
}

/// In a child: a file system mounted over a directory on a kept file's path is seen at the next
/// lookup, and so is its unmounting. Neither is an inotify event of the directory, nor is the
/// file created on the new file system. What the cache serves from that file system it does not
/// keep, so the unmount is not refused as busy. 0 when so.
int sees_mounts_on_the_path(const fs::path& root) {
    if (!in_a_mount_namespace_of_its_own()) {
        return 30;
    }
    // Opened here: a descriptor opened before unshare(2) walks the old namespace's mounts.
    const UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // Two shards' caches: each sees a mount in its own look, and none raises the generation
    // for the others.
    auto watches = std::make_shared<DirectoryWatches>();
    OpenFileCache cache(4, watches);
    OpenFileCache other(4, watches);
    const auto fetch = [&](OpenFileCache& through, std::string_view path) {
        const auto file = through.open(kOwner, root_fd.get(), path);
        return file.status != 0 ? std::to_string(file.status) : contents(file);
    };
    for (int use = 0; use < 2; ++use) {
        if (fetch(cache, "/a/page.html") != "old page" ||
            fetch(other, "/a/page.html") != "old page") {
            return 31;
        }
    }
    if (cache.size() != 1 || other.size() != 1) {
        return 31;
    }
    const auto generation = watches->generation();
    const auto directory = root / "a";
    if (::mount("portd-test", directory.c_str(), "tmpfs", 0, "size=64k") != 0) {
        return 32;
    }
    std::ofstream(directory / "page.html") << "page on the mounted file system";
    if (fetch(cache, "/a/page.html") != "page on the mounted file system" || cache.size() != 0 ||
        fetch(other, "/a/page.html") != "page on the mounted file system") {
        return 33;
    }
    if (::umount(directory.c_str()) != 0) {
        return 34;
    }
    if (fetch(cache, "/a/page.html") != "old page" || cache.size() != 1 ||
        fetch(other, "/a/page.html") != "old page") {
        return 35;
    }
    return watches->generation() == generation ? 0 : 36;
}

TEST_F(OpenFileCacheTest, AFileSystemMountedOnThePathIsSeenAtOnce) {
    if (const auto why = why_mounts_cannot_be_made(root_ / "a"); !why.empty()) {
        GTEST_SKIP() << why;
    }
    EXPECT_EXIT(std::exit(sees_mounts_on_the_path(root_)), ::testing::ExitedWithCode(0), "");
}

TEST(OpenFileCacheFileSystems, ProcIsNotWatchable) {
    // Files there change without an event; remote file systems likewise.
    UniqueFd proc(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(proc);
    EXPECT_FALSE(changes_are_watchable(proc.get()));
}

TEST(OpenFileCacheFileSystems, TellsMountsApart) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd proc(::open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd status(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(root && proc && status);
    EXPECT_NE(mount_of(status.get()), 0u);
    EXPECT_EQ(mount_of(status.get()), mount_of(proc.get()));
    EXPECT_NE(mount_of(status.get()), mount_of(root.get()));
}

TEST(OpenFileCacheFileSystems, FilesOnAnUnwatchableFileSystemAreNotKept) {
    UniqueFd proc(::open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(proc);
    OpenFileCache cache(4);
    const auto status = open_twice(cache, proc.get(), "/status");
    ASSERT_EQ(status.status, 0);
    EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace portd::http
