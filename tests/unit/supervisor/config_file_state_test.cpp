// A reload replaces a worker when a file its configuration came from reads differently.
#include "supervisor/config_file_state.hpp"

#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace portd::supervisor {
namespace {

namespace fs = std::filesystem;

class ConfigFileStateTest : public ::testing::Test {
protected:
    void write(const fs::path& file, const std::string& text) {
        std::ofstream(file, std::ios::trunc) << text;
    }

    portd::testing::TempDir temp_;
    const fs::path dir_ = temp_.path();
};

TEST_F(ConfigFileStateTest, AnUntouchedFileReadsTheSame) {
    const auto file = dir_ / "mime.types";
    write(file, "text/x-a a\n");
    EXPECT_EQ(first_changed_file(config_file_states({file}), config_file_states({file})),
              std::nullopt);
}

TEST_F(ConfigFileStateTest, AFileRewrittenInPlaceReadsDifferently) {
    const auto file = dir_ / "mime.types";
    write(file, "text/x-a a\n");
    const auto before = config_file_states({file});
    write(file, "text/x-b b\n");  // same size, and likely within the same clock tick
    EXPECT_EQ(first_changed_file(before, config_file_states({file})), file);
}

TEST_F(ConfigFileStateTest, AFileReplacedByTheSameBytesReadsTheSame) {
    const auto file = dir_ / "mime.types";
    write(file, "text/x-a a\n");
    const auto before = config_file_states({file});
    const auto staged = dir_ / "mime.types.new";
    write(staged, "text/x-a a\n");
    fs::rename(staged, file);  // a new inode, new times, the same bytes
    EXPECT_EQ(first_changed_file(before, config_file_states({file})), std::nullopt);
}

TEST_F(ConfigFileStateTest, AFileReplacedByARenameReadsDifferently) {
    const auto file = dir_ / "mime.types";
    write(file, "text/x-a a\n");
    const auto before = config_file_states({file});
    const auto staged = dir_ / "mime.types.new";
    write(staged, "text/x-a b\n");
    fs::rename(staged, file);
    EXPECT_EQ(first_changed_file(before, config_file_states({file})), file);
}

TEST_F(ConfigFileStateTest, AFileThatAppearsOrGoesReadsDifferently) {
    const auto file = dir_ / "mime.types";
    const auto absent = config_file_states({file});
    EXPECT_EQ(absent[0].second, "absent");
    write(file, "text/x-a a\n");
    const auto present = config_file_states({file});
    EXPECT_EQ(first_changed_file(absent, present), file);
    fs::remove(file);
    EXPECT_EQ(first_changed_file(present, config_file_states({file})), file);
}

TEST_F(ConfigFileStateTest, TheOrderOfTheFilesDoesNotMatter) {
    const auto a = dir_ / "a";
    const auto b = dir_ / "b";
    write(a, "a");
    write(b, "b");
    EXPECT_EQ(first_changed_file(config_file_states({a, b}), config_file_states({b, a})),
              std::nullopt);
}

}  // namespace
}  // namespace portd::supervisor
