// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out; IMF-fixdate, RFC 850 and asctime in.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace portd::http {

std::string format_http_date(std::time_t t);
std::optional<std::time_t> parse_http_date(std::string_view text);

/// "[10/Oct/2000:13:55:36 +0000]" without the brackets, for the access log.
std::string format_log_date(std::time_t t);

}  // namespace portd::http
