// Reading the manifest: `portd.yaml` and the files its `include:` globs name, validated against
// the schema in conf/README.md. Every problem is collected, so that `portd --check` can print
// them all at once, each as `file:line:col: key: message`.
#pragma once

#include "manifest/manifest.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace portd::manifest {

struct LoadResult {
    Manifest manifest;  // filled as far as possible even when there are errors
    std::vector<Diagnostic> errors;
    std::vector<Diagnostic> warnings;
    bool ok() const { return errors.empty(); }
};

/// The main manifest and its includes. `path` appears in messages as given; relative paths in
/// the manifest are resolved against its directory made absolute, because the daemon may chdir.
LoadResult load_file(const std::filesystem::path& path);

/// The same from text, for tests and fuzzing; includes and relative paths resolve against the
/// directory of `file_name`, which need not exist itself.
LoadResult load_string(std::string_view yaml, const std::string& file_name);

}  // namespace portd::manifest
