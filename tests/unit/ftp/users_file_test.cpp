#include "ftp/users_file.hpp"

#include "temp_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace portd::ftp {
namespace {

using testing::TempTree;

// openssl passwd -6 -salt abcdefgh secret
constexpr const char* kSecret =
    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/"
    "O6IND4WQhG.";
// openssl passwd -6 -salt abcdefgh changed (same length as kSecret)
constexpr const char* kChanged =
    "$6$abcdefgh$gYJzhpg52sHV3/KAxB1IoGD348YuslgdBmCfIthgn7QcnY.adX5dbbcw/"
    "2UMkdEPSFI.QACXg0W7jQBxYar."
    "B/";

struct Reported {
    bool error;
    std::string message;
};

class FtpUsersFileWatcher : public ::testing::Test {
protected:
    FtpUsersFileWatcher() {
        tree.write("homes/alice/.keep", "");
        tree.write("homes/bob/.keep", "");
        tree.write("homes/carol/.keep", "");
    }

    std::filesystem::path users() const { return tree.path() / "ftp-users"; }

    static std::string line(const std::string& name, const char* hash, const char* mode = "rw") {
        return name + ":" + hash + ":homes/" + name + ":" + mode + "\n";
    }

    // Starts the watcher as the service does: from what load_config read.
    std::unique_ptr<UsersFileWatcher> start(const std::string& text) {
        tree.write("ftp-users", text);
        auto snapshot = read_users_file(users());
        EXPECT_EQ(snapshot.error, 0);
        EXPECT_TRUE(snapshot.problems.empty());
        auto initial = std::make_shared<const Authorizer>(AnonymousMode::read_only, tree.path(),
                                                          std::move(snapshot.users));
        return std::make_unique<UsersFileWatcher>(
            initial, users(), snapshot.identity,
            [this](bool error, const std::string& message) { report(error, message); });
    }

    void report(bool error, const std::string& message) {
        const std::lock_guard lock(reports_mutex);  // threads report in ManyThreadsDuringEdits
        reports.push_back({error, message});
    }

    // Sets the file's modification time to `seconds` after the epoch (nanoseconds 0).
    void set_mtime(const std::filesystem::path& path, time_t seconds) const {
        timespec times[2]{};
        times[0].tv_nsec = UTIME_OMIT;
        times[1].tv_sec = seconds;
        ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    }

    bool logs_in(UsersFileWatcher& watcher, const std::string& user, const std::string& password) {
        return watcher.current()->authenticate(user, password).has_value();
    }

    std::size_t errors() const {
        return static_cast<std::size_t>(std::count_if(reports.begin(), reports.end(),
                                                      [](const Reported& r) { return r.error; }));
    }

    TempTree tree;
    std::mutex reports_mutex;
    std::vector<Reported> reports;
};

TEST_F(FtpUsersFileWatcher, AnUnchangedFileIsNotReadAgain) {
    auto watcher = start(line("alice", kSecret));
    const auto first = watcher->current();
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(watcher->current(), first);  // the same table, not a re-read copy
    }
    EXPECT_TRUE(reports.empty());
    EXPECT_TRUE(first->authenticate("alice", "secret"));
}

TEST_F(FtpUsersFileWatcher, AddChangeAndRemoveUsers) {
    auto watcher = start(line("alice", kSecret));
    EXPECT_FALSE(logs_in(*watcher, "bob", "secret"));

    // Add a user (the file grows).
    tree.write("ftp-users", line("alice", kSecret) + line("bob", kSecret, "ro"));
    EXPECT_TRUE(logs_in(*watcher, "bob", "secret"));
    EXPECT_TRUE(logs_in(*watcher, "alice", "secret"));
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_FALSE(reports[0].error);
    EXPECT_NE(reports[0].message.find("read 2 users"), std::string::npos) << reports[0].message;

    // Change a password: same size, so only the modification time tells.
    tree.write("ftp-users", line("alice", kChanged) + line("bob", kSecret, "ro"));
    set_mtime(users(), 1'000'000'000);
    EXPECT_FALSE(logs_in(*watcher, "alice", "secret"));
    EXPECT_TRUE(logs_in(*watcher, "alice", "changed"));

    // Remove a user.
    tree.write("ftp-users", line("alice", kChanged));
    EXPECT_FALSE(logs_in(*watcher, "bob", "secret"));
    EXPECT_TRUE(logs_in(*watcher, "alice", "changed"));
    EXPECT_EQ(errors(), 0u);
}

TEST_F(FtpUsersFileWatcher, ANewInodeAloneIsAChange) {
    auto watcher = start(line("alice", kSecret));
    set_mtime(users(), 1'000'000'000);
    (void)watcher->current();  // the mtime change: re-read
    reports.clear();
    // An editor that writes a new file and renames it over the old one: same size, same
    // modification time, another inode.
    tree.write("ftp-users.new", line("alice", kChanged));
    set_mtime(tree.path() / "ftp-users.new", 1'000'000'000);
    std::filesystem::rename(tree.path() / "ftp-users.new", users());
    EXPECT_TRUE(logs_in(*watcher, "alice", "changed"));
    EXPECT_FALSE(logs_in(*watcher, "alice", "secret"));
    EXPECT_EQ(reports.size(), 1u);
}

TEST_F(FtpUsersFileWatcher, ABrokenVersionKeepsTheOldTableAndIsReportedOnce) {
    auto watcher = start(line("alice", kSecret));
    const auto before = watcher->current();
    tree.write("ftp-users", line("alice", kChanged) + "bob:not-a-hash:homes/bob:rw\n" +
                                "carol:" + kSecret + ":homes/carol:xx\n");
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(watcher->current(), before);
    }
    EXPECT_TRUE(logs_in(*watcher, "alice", "secret"));  // the old password still works
    EXPECT_FALSE(logs_in(*watcher, "alice", "changed"));
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(reports[0].error);
    const auto where = users().string() + ":2: ";
    EXPECT_NE(reports[0].message.find(where), std::string::npos) << reports[0].message;
    EXPECT_NE(reports[0].message.find("1 more problem"), std::string::npos) << reports[0].message;
    EXPECT_NE(reports[0].message.find("keeping the 1 users"), std::string::npos);

    // Another broken version: one more error.
    tree.write("ftp-users", "only one field\n");
    (void)watcher->current();
    (void)watcher->current();
    EXPECT_EQ(errors(), 2u);
    EXPECT_NE(reports.back().message.find(users().string() + ":1: "), std::string::npos);

    // Fixed: used at once, and said so.
    tree.write("ftp-users", line("alice", kChanged) + line("bob", kSecret));
    EXPECT_TRUE(logs_in(*watcher, "alice", "changed"));
    EXPECT_TRUE(logs_in(*watcher, "bob", "secret"));
    EXPECT_EQ(errors(), 2u);
    EXPECT_FALSE(reports.back().error);
}

TEST_F(FtpUsersFileWatcher, AMissingFileKeepsTheOldTableAndIsReportedOnce) {
    auto watcher = start(line("alice", kSecret));
    std::filesystem::rename(users(), tree.path() / "ftp-users.moved");
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(logs_in(*watcher, "alice", "secret"));
    }
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(reports[0].error);
    EXPECT_NE(reports[0].message.find(users().string()), std::string::npos);
    // Back in place (the very version that was loaded): nothing to re-read.
    std::filesystem::rename(tree.path() / "ftp-users.moved", users());
    EXPECT_TRUE(logs_in(*watcher, "alice", "secret"));
    EXPECT_EQ(reports.size(), 1u);
    // Missing again is reported again: it is another change.
    std::filesystem::remove(users());
    EXPECT_TRUE(logs_in(*watcher, "alice", "secret"));
    EXPECT_EQ(errors(), 2u);
}

TEST_F(FtpUsersFileWatcher, AMissingHomeIsANoteNotARejection) {
    auto watcher = start(line("alice", kSecret));
    tree.write("ftp-users", line("alice", kSecret) + line("dave", kSecret));  // no homes/dave
    const auto auth = watcher->current();
    EXPECT_TRUE(auth->authenticate("dave", "secret"));  // the login then fails at open_root
    EXPECT_EQ(errors(), 0u);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_NE(reports[1].message.find("'dave'"), std::string::npos) << reports[1].message;
}

TEST_F(FtpUsersFileWatcher, AnonymousSettingsSurviveAReload) {
    auto watcher = start(line("alice", kSecret));
    tree.write("ftp-users", line("alice", kSecret) + line("bob", kSecret));
    const auto anonymous = watcher->current()->authenticate("anonymous", "me@example.com");
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->home, tree.path());
    EXPECT_EQ(anonymous->permissions, kPermsReadOnly);
}

TEST_F(FtpUsersFileWatcher, WithoutAUsersFileThereIsNothingToWatch) {
    auto initial = std::make_shared<const Authorizer>(AnonymousMode::read_only, tree.path(),
                                                      std::vector<UserEntry>{});
    UsersFileWatcher watcher(
        initial, std::nullopt, FileIdentity{},
        [this](bool error, const std::string& message) { report(error, message); });
    EXPECT_EQ(watcher.current(), initial);
    EXPECT_TRUE(reports.empty());
}

// After a reload an unknown user still costs a crypt(3), as a known one does: the time of a
// failed login says nothing about whether the name exists.
TEST_F(FtpUsersFileWatcher, UnknownUsersStillCostACryptAfterAReload) {
    auto watcher = start(line("alice", kSecret));
    tree.write("ftp-users", line("alice", kSecret) + line("bob", kSecret));
    const auto auth = watcher->current();
    ASSERT_EQ(auth->user_count(), 2u);
    auto fastest = [&](const char* user) {
        auto best = std::chrono::nanoseconds::max();
        for (int i = 0; i < 5; ++i) {
            const auto start = std::chrono::steady_clock::now();
            EXPECT_FALSE(auth->authenticate(user, "wrong"));
            best = std::min(best, std::chrono::steady_clock::now() - start);
        }
        return best;
    };
    const auto known = fastest("bob");
    const auto unknown = fastest("nobody");
    EXPECT_GT(unknown * 4, known) << "known " << known.count() << "ns, unknown " << unknown.count()
                                  << "ns";
}

TEST_F(FtpUsersFileWatcher, ManyThreadsDuringEdits) {
    auto watcher = start(line("alice", kSecret));
    std::atomic<bool> stop{false};
    std::atomic<int> null_tables{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100000 && !stop; ++i) {
                if (!watcher->current()) {
                    ++null_tables;
                }
            }
        });
    }
    for (int i = 0; i < 20; ++i) {
        tree.write("ftp-users", line("alice", kSecret) + (i % 2 == 0 ? line("bob", kSecret) : ""));
    }
    stop = true;
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(null_tables, 0);
    // Whatever the threads saw, the next look finds the last version.
    EXPECT_TRUE(logs_in(*watcher, "alice", "secret"));
    EXPECT_FALSE(logs_in(*watcher, "bob", "secret"));
    EXPECT_EQ(errors(), 0u);
}

}  // namespace
}  // namespace portd::ftp
