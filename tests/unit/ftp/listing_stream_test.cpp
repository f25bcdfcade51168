// ListingStream over a real directory: a 10,000-entry directory comes out in bounded pieces,
// a pattern that matches nothing still returns between pieces, and upload temporaries never
// show.
#include "ftp/listing.hpp"

#include "ftp/authorizer.hpp"
#include "temp_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace portd::ftp {
namespace {

using testing::TempTree;

constexpr std::size_t kEntries = 10'000;

class FtpListingStream : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(tree_.path() / "big");
        for (std::size_t i = 0; i < kEntries; ++i) {
            char name[64];
            std::snprintf(name, sizeof name, "big/file%05zu.dat", i);
            const int fd = ::open((tree_.path() / name).c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            ASSERT_GE(fd, 0);
            ::close(fd);
        }
        ASSERT_EQ(Vfs::open_root(tree_.path(), vfs_), 0);
    }

    static std::size_t lines(const std::string& text) {
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    }

    TempTree tree_;
    Vfs vfs_;
};

TEST_F(FtpListingStream, ALargeDirectoryComesOutInBoundedPieces) {
    for (const auto format :
         {ListingStream::Format::list, ListingStream::Format::names, ListingStream::Format::mlsd}) {
        ListingStream stream(format, kAllFacts, kPermsReadWrite);
        ASSERT_EQ(stream.open(vfs_, "/big"), 0);
        constexpr std::size_t kMax = 16U << 10;
        std::size_t total = 0;
        std::size_t pieces = 0;
        std::size_t largest = 0;
        std::string chunk;
        for (bool more = true; more && pieces < 100'000; ++pieces) {
            chunk.clear();
            more = stream.next(chunk, kMax);
            total += lines(chunk);
            largest = std::max(largest, chunk.size());
        }
        EXPECT_EQ(total, kEntries);
        // Never the whole listing at once: at most the limit plus one batch of 256 lines.
        EXPECT_LE(largest, kMax + 256 * 200);
        EXPECT_GT(pieces, 3u);
    }
}

TEST_F(FtpListingStream, APatternThatMatchesNothingStillReturnsBetweenPieces) {
    ListingStream stream(ListingStream::Format::list, kAllFacts, kPermsReadWrite);
    ASSERT_EQ(stream.open(vfs_, "/big/*.nomatch"), 0);
    std::size_t calls = 0;
    std::string chunk;
    for (bool more = true; more && calls < 100'000; ++calls) {
        more = stream.next(chunk, 64U << 10);
    }
    EXPECT_TRUE(chunk.empty());
    EXPECT_GE(calls, kEntries / kListingEntriesPerCall);
}

TEST_F(FtpListingStream, AMatchingPatternFindsItsEntries) {
    ListingStream stream(ListingStream::Format::names, kAllFacts, kPermsReadWrite);
    ASSERT_EQ(stream.open(vfs_, "/big/file0[0-1]*9.dat"), 0);
    std::string out;
    for (int guard = 0; guard < 1000 && stream.next(out, 64U << 10); ++guard) {
    }
    EXPECT_EQ(lines(out), 200u);  // file00009 .. file01999, one in ten
}

TEST_F(FtpListingStream, UploadTemporariesAreNotListed) {
    UniqueFd fd;
    std::string temp;
    ASSERT_EQ(vfs_.create_temporary("/small/up.bin", fd, temp), ENOENT);  // no such directory
    tree_.write("small/kept.txt", "x");
    tree_.write("small/.in.lookalike", "x");  // not one of ours: listed
    ASSERT_EQ(vfs_.create_temporary("/small/up.bin", fd, temp), 0);
    EXPECT_TRUE(is_upload_temporary(split_virtual(temp).second));
    std::set<std::string> names;
    for (const auto format :
         {ListingStream::Format::list, ListingStream::Format::names, ListingStream::Format::mlsd}) {
        ListingStream stream(format, kAllFacts, kPermsReadWrite);
        ASSERT_EQ(stream.open(vfs_, "/small"), 0);
        std::string out;
        for (int guard = 0; guard < 100 && stream.next(out, 64U << 10); ++guard) {
        }
        EXPECT_EQ(lines(out), 2u) << out;
        EXPECT_EQ(out.find(".in.up.bin"), std::string::npos) << out;
    }
}

TEST(FtpUploadTemporary, Names) {
    EXPECT_TRUE(is_upload_temporary(".in.a.txt.0123456789ab"));
    EXPECT_TRUE(is_upload_temporary(".in.x.ffffffff0000"));
    EXPECT_FALSE(is_upload_temporary(".in.a.txt.0123456789aB"));  // not our hex
    EXPECT_FALSE(is_upload_temporary(".in.a.txt.0123456789a"));   // too short
    EXPECT_FALSE(is_upload_temporary(".in..0123456789ab"));       // no name
    EXPECT_FALSE(is_upload_temporary("in.a.txt.0123456789ab"));
    EXPECT_FALSE(is_upload_temporary("a.txt"));
}

}  // namespace
}  // namespace portd::ftp
