// `include:` globs, resolved against the including file's directory.
#include "diagnostics_matchers.hpp"
#include "manifest/loader.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace portd::manifest {
namespace {

namespace fs = std::filesystem;
using testing::has;

class Include : public ::testing::Test {
protected:
    fs::path write(const fs::path& relative, std::string_view text) {
        return temp_.write(relative, text);
    }
    std::string name(const fs::path& relative) const { return (dir_ / relative).string(); }

    portd::testing::TempDir temp_;
    const fs::path dir_ = temp_.path();
};

TEST_F(Include, GlobRelativeToTheManifestInNameOrder) {
    write("services.d/b.yaml", "services:\n  b: { module: inetd, listen: [\"127.0.0.1:8\"] }\n");
    write("services.d/a.yaml", "services:\n  a: { module: inetd, listen: [\"127.0.0.1:7\"] }\n");
    write("services.d/notes.txt", "not yaml: [");
    const auto main = write("portd.yaml", R"(portd:
  include: [ services.d/*.yaml ]
services:
  web: { module: http, listen: ["0.0.0.0:80"] }
)");
    const auto r = load_file(main);
    ASSERT_TRUE(r.ok()) << testing::dump(r.errors);
    ASSERT_EQ(r.manifest.services.size(), 3u);
    EXPECT_EQ(r.manifest.services[0].name, "web");
    EXPECT_EQ(r.manifest.services[1].name, "a");
    EXPECT_EQ(r.manifest.services[2].name, "b");
    EXPECT_EQ(r.manifest.services[1].base_dir, dir_ / "services.d");
    EXPECT_EQ(to_string(r.manifest.services[1].where), name("services.d/a.yaml") + ":2:3");
    EXPECT_EQ(r.manifest.files, (std::vector<std::string>{main.string(), name("services.d/a.yaml"),
                                                          name("services.d/b.yaml")}));
}

TEST_F(Include, SingleStringAndAbsolutePath) {
    const auto extra =
        write("other/x.yaml", "services:\n  x: { module: inetd, listen: [\"127.0.0.1:7\"] }\n");
    const auto main = write("portd.yaml", "portd:\n  include: " + extra.string() + "\n");
    const auto r = load_file(main);
    ASSERT_TRUE(r.ok()) << testing::dump(r.errors);
    ASSERT_EQ(r.manifest.services.size(), 1u);
}

TEST_F(Include, GlobMatchingNothingIsFine) {
    const auto main = write("portd.yaml", R"(portd:
  include: [ "services.d/*.yaml" ]
services:
  web: { module: http, listen: ["0.0.0.0:80"] }
)");
    const auto r = load_file(main);
    EXPECT_TRUE(r.ok()) << testing::dump(r.errors);
}

TEST_F(Include, MissingPlainPathIsAnError) {
    write("services.d/a.yaml", "services: {}\n");
    const auto main = write("portd.yaml", R"(portd:
  include: [ services.d/a.yaml, services.d/missing.yaml, services.d ]
)");
    const auto r = load_file(main);
    EXPECT_TRUE(has(r.errors, main.string() + ":2:33: portd.include[1]: ", "does not exist"));
    EXPECT_TRUE(
        has(r.errors, main.string() + ":2:58: portd.include[2]: ", "\"services.d/*.yaml\""));
    EXPECT_EQ(r.errors.size(), 2u) << testing::dump(r.errors);
}

TEST_F(Include, IncludedFilesHoldOnlyServices) {
    write("services.d/a.yaml", R"(portd:
  log: { level: debug }
services:
  a: { module: inetd, listen: ["127.0.0.1:7"], thread: 2 }
extra: 1
)");
    const auto main = write("portd.yaml", "portd:\n  include: [ services.d/*.yaml ]\n");
    const auto r = load_file(main);
    const auto file = name("services.d/a.yaml");
    EXPECT_TRUE(has(r.errors, file + ":2:3: portd: ", "only the main manifest"));
    EXPECT_TRUE(has(r.errors, file + ":4:48: services.a.thread: ", "did you mean 'threads'"));
    EXPECT_TRUE(has(r.errors, file + ":5:1: extra: ", "unknown key"));
    EXPECT_EQ(r.manifest.settings.log_level, "info");
}

TEST_F(Include, ErrorsInIncludedFilesNameThatFile) {
    write("services.d/bad.yaml", "services:\n  a: { module: inetd, listen: [\"127.0.0.1:7\"\n");
    write("services.d/dup.yaml",
          "services:\n  web: { module: inetd, listen: [\"127.0.0.1:7000\"] }\n");
    const auto main = write("portd.yaml", R"(portd:
  include: [ services.d/*.yaml ]
services:
  web: { module: http, listen: ["0.0.0.0:80"] }
)");
    const auto r = load_file(main);
    EXPECT_TRUE(has(r.errors, name("services.d/bad.yaml") + ":", "YAML syntax error"));
    EXPECT_TRUE(has(r.errors, name("services.d/dup.yaml") + ":2:3: services.web: ",
                    "already defined at " + main.string() + ":4:3"));
    EXPECT_EQ(r.errors.size(), 2u) << testing::dump(r.errors);
}

TEST_F(Include, ConflictsAcrossFilesNameBothPlaces) {
    write("services.d/a.yaml", "services:\n  a: { module: inetd, listen: [\"127.0.0.1:80\"] }\n");
    const auto main = write("portd.yaml", R"(portd:
  include: [ services.d/*.yaml ]
services:
  web: { module: http, listen: ["0.0.0.0:80"] }
)");
    const auto r = load_file(main);
    EXPECT_TRUE(has(r.errors, name("services.d/a.yaml") + ":2:32: services.a.listen[0]: ",
                    "services.web.listen[0] (" + main.string() + ":4:33)"));
}

TEST_F(Include, OverlappingGlobsReadAFileOnceAndSkipTheMainFile) {
    write("a.yaml", "services:\n  a: { module: inetd, listen: [\"127.0.0.1:7\"] }\n");
    const auto main = write("portd.yaml", "portd:\n  include: [ \"*.yaml\", a.yaml ]\n");
    const auto r = load_file(main);
    EXPECT_TRUE(r.ok()) << testing::dump(r.errors);
    EXPECT_EQ(r.manifest.services.size(), 1u);
}

TEST_F(Include, LoadStringResolvesAgainstItsFileName) {
    write("services.d/a.yaml", "services:\n  a: { module: inetd, listen: [\"127.0.0.1:7\"] }\n");
    const auto r = load_string("portd: { include: [ services.d/*.yaml ] }\n", name("portd.yaml"));
    ASSERT_TRUE(r.ok()) << testing::dump(r.errors);
    EXPECT_EQ(r.manifest.services.size(), 1u);
}

}  // namespace
}  // namespace portd::manifest
