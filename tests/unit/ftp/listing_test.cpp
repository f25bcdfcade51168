#include "ftp/listing.hpp"

#include "ftp/authorizer.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

DirEntry entry(std::string name, mode_t mode, off_t size, std::time_t mtime) {
    DirEntry e;
    e.name = std::move(name);
    e.st.st_mode = mode;
    e.st.st_size = size;
    e.st.st_mtime = mtime;
    e.st.st_nlink = 1;
    e.st.st_uid = 1000;
    e.st.st_gid = 1000;
    e.st.st_ino = 0x1c;
    e.st.st_dev = 0x803;
    return e;
}

constexpr std::time_t kNow = 1'764'096'433;  // 2025-11-25 18:47:13 UTC

TEST(FtpListLine, RecentFile) {
    EXPECT_EQ(list_line(entry("a.txt", S_IFREG | 0644, 5, kNow - 60), kNow),
              "-rw-r--r--    1 1000     1000                5 Nov 25 18:46 a.txt");
}

TEST(FtpListLine, OldDirectoryShowsYear) {
    EXPECT_EQ(list_line(entry("pub", S_IFDIR | 0755, 4096, 1'000'000'000), kNow),
              "drwxr-xr-x    1 1000     1000             4096 Sep  9  2001 pub");
}

TEST(FtpListLine, SymlinkShowsTargetAndNamesAreSanitised) {
    auto e = entry("li\nnk", S_IFLNK | 0777, 4, kNow);
    e.link_target = "/etc";
    EXPECT_EQ(list_line(e, kNow),
              "lrwxrwxrwx    1 1000     1000                4 Nov 25 18:47 li?nk -> /etc");
}

TEST(FtpListLine, SpecialBits) {
    EXPECT_EQ(list_line(entry("t", S_IFDIR | 01777, 0, kNow), kNow).substr(0, 10), "drwxrwxrwt");
    EXPECT_EQ(list_line(entry("s", S_IFREG | 04755, 0, kNow), kNow).substr(0, 10), "-rwsr-xr-x");
}

TEST(FtpMlsxLine, FileFactsForReadWriteUser) {
    EXPECT_EQ(
        mlsx_line(entry("a.txt", S_IFREG | 0644, 5, kNow), kAllFacts, kPermsReadWrite),
        "type=file;size=5;modify=20251125184713;perm=rwadf;unique=803g1c;UNIX.mode=0644; a.txt");
}

TEST(FtpMlsxLine, DirectoryFactsForReadOnlyUser) {
    EXPECT_EQ(mlsx_line(entry("pub", S_IFDIR | 0755, 4096, kNow), kFactType | kFactPerm | kFactSize,
                        kPermsReadOnly),
              "type=dir;perm=el; pub");
}

TEST(FtpFacts, SelectAndEcho) {
    EXPECT_EQ(parse_fact_list("Type;SIZE;bogus;"), kFactType | kFactSize);
    EXPECT_EQ(fact_list(kFactType | kFactModify), "type;modify;");
    EXPECT_EQ(mlst_feature(kFactType), "MLST type*;size;modify;perm;unique;UNIX.mode;");
}

TEST(FtpMdtm, FormatAndParse) {
    EXPECT_EQ(format_mdtm(kNow), "20251125184713");
    EXPECT_EQ(parse_mdtm("20251125184713"), kNow);
    EXPECT_EQ(parse_mdtm("20251125184713.123"), kNow);
    EXPECT_FALSE(parse_mdtm("2025112518471"));
    EXPECT_FALSE(parse_mdtm("20251325184713"));
    EXPECT_FALSE(parse_mdtm("2025112518471x"));
    EXPECT_FALSE(parse_mdtm("20251125184713."));
}

TEST(FtpGlob, Basics) {
    EXPECT_TRUE(glob_match("*.txt", "a.txt"));
    EXPECT_FALSE(glob_match("*.txt", "a.txt.gz"));
    EXPECT_TRUE(glob_match("a?c", "abc"));
    EXPECT_TRUE(glob_match("[ab]*", "beta"));
    EXPECT_FALSE(glob_match("[!ab]*", "beta"));
    EXPECT_TRUE(glob_match("[a-c]x", "bx"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("[", "["));
    EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
}

TEST(FtpGlob, PathologicalPatternStaysCheap) {
    // Exponential for a naive recursive matcher; linear-ish here. Not timed: it simply returns.
    const std::string name(4000, 'a');
    const std::string pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    EXPECT_FALSE(glob_match(pattern, name));
    EXPECT_TRUE(has_glob(pattern));
    EXPECT_FALSE(has_glob("plain.txt"));
}

TEST(FtpGlob, EveryNameHasAStepBudget) {
    // Matches, but only after about 150 x 50 retries from the star.
    const std::string name = std::string(200, 'a') + "b";
    const std::string pattern = "*" + std::string(50, 'a') + "b";
    EXPECT_TRUE(glob_match(pattern, name, 100'000));
    EXPECT_FALSE(glob_match(pattern, name, 1'000));  // over the budget: no match
    // The worst patterns the length limit lets through stop at the default budget: classes
    // of 26 letters after a star, against the longest name, would take millions of steps.
    std::string classes = "*";
    while (classes.size() + 28 < kMaxGlobPattern) {
        classes += "[abcdefghijklmnopqrstuvwxyz]";
    }
    classes += "b";
    const std::string longest(255, 'a');
    EXPECT_FALSE(glob_match(classes, longest));
    EXPECT_FALSE(glob_match(classes, longest, 1'000'000));  // (it never matched anyway)
    // What people type stays well inside the budget, even on the longest names.
    std::string dotted;
    while (dotted.size() < 250) {
        dotted += "a.t";
    }
    dotted += ".txt";
    EXPECT_TRUE(glob_match("*.txt", dotted, 2'000));
    EXPECT_TRUE(glob_match("*a*t*.txt", dotted, 2'000));
    EXPECT_TRUE(glob_match("a.t[a-z].*t", "a.tx.longer.name.txt", 100));
}

}  // namespace
}  // namespace portd::ftp
