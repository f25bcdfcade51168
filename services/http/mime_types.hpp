// File name → Content-Type: a built-in table, /etc/mime.types where present, and the manifest's
// `mime_types:` on top.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portd::http {

class MimeTypes {
public:
    /// The built-in table only.
    MimeTypes();

    /// Adds the "type ext ext..." lines of a mime.types file; the built-in entries win, so
    /// that what portd serves does not change with the distribution's file.
    void load_system_file(const std::filesystem::path& path);

    /// Adds or replaces one extension (without the dot, case-insensitive).
    void set(std::string extension, std::string type);

    /// The type for `name`, by its last extension; application/octet-stream when unknown.
    std::string_view lookup(std::string_view name) const;

private:
    std::unordered_map<std::string, std::string> types_;
};

}  // namespace portd::http
