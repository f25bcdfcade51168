// Validators and conditional requests (RFC 9110 §8.8, §13): strong ETag from the file's
// identity, and the precondition order of §13.2.2.
#pragma once

#include "http/request.hpp"

#include <sys/stat.h>

#include <ctime>
#include <string>
#include <string_view>

namespace portd::http {

/// A strong entity tag: inode, size and modification time (to the nanosecond), so any change
/// to the file, or its replacement by another, changes it. `suffix` tells apart the encoded
/// representations of one file (".br", ".gz").
std::string make_etag(const struct stat& st, std::string_view suffix = {});

enum class Precondition { proceed, not_modified, failed };

/// Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order
/// RFC 9110 §13.2.2 gives: 412 (failed), 304 (not_modified, GET/HEAD only) or proceed.
Precondition evaluate_preconditions(const Request& request, std::string_view etag,
                                    std::time_t last_modified);

/// Whether an If-Range field lets Range apply (RFC 9110 §13.1.5): a strong match of the
/// entity tag, or a date equal to Last-Modified.
bool if_range_matches(std::string_view if_range, std::string_view etag, std::time_t last_modified);

/// Whether a list field such as If-None-Match has `etag` (weak comparison when `weak`).
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak);

}  // namespace portd::http
