#include "http/mime_types.hpp"

#include <fstream>
#include <sstream>
#include <utility>

namespace portd::http {

namespace {

constexpr std::string_view kDefault = "application/octet-stream";

constexpr std::pair<std::string_view, std::string_view> kBuiltIn[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"shtml", "text/html"},
    {"css", "text/css"},
    {"xml", "text/xml"},
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"js", "application/javascript"},
    {"mjs", "application/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"zst", "application/zstd"},
    {"br", "application/octet-stream"},
    {"tar", "application/x-tar"},
    {"7z", "application/x-7z-compressed"},
    {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"},
    {"xhtml", "application/xhtml+xml"},
    {"rtf", "application/rtf"},
    {"deb", "application/vnd.debian.binary-package"},
    {"iso", "application/x-iso9660-image"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"svg", "image/svg+xml"},
    {"svgz", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"m4a", "audio/mp4"},
    {"mp4", "video/mp4"},
    {"m4v", "video/mp4"},
    {"webm", "video/webm"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"avi", "video/x-msvideo"},
    {"bin", "application/octet-stream"},
    {"exe", "application/octet-stream"},
};

std::string lowered(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace

MimeTypes::MimeTypes() {
    for (const auto& [ext, type] : kBuiltIn) {
        types_.emplace(ext, type);
    }
}

void MimeTypes::load_system_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#') {
            continue;
        }
        std::istringstream words(line);
        std::string type;
        std::string ext;
        words >> type;
        while (words >> ext) {
            types_.emplace(lowered(ext), type);  // emplace: the built-in entry stays
        }
    }
}

void MimeTypes::set(std::string extension, std::string type) {
    if (!extension.empty() && extension.front() == '.') {
        extension.erase(0, 1);
    }
    types_[lowered(extension)] = std::move(type);
}

std::string_view MimeTypes::lookup(std::string_view name) const {
    const auto slash = name.rfind('/');
    if (slash != std::string_view::npos) {
        name.remove_prefix(slash + 1);
    }
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot + 1 == name.size()) {
        return kDefault;
    }
    const auto it = types_.find(lowered(name.substr(dot + 1)));
    return it == types_.end() ? kDefault : std::string_view(it->second);
}

}  // namespace portd::http
