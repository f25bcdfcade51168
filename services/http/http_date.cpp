#include "http/http_date.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <vector>

namespace portd::http {

namespace {

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view name) {
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        if (name == kMonths[i]) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool number(std::string_view text, int& out) {
    if (text.empty()) {
        return false;
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

/// "08:49:37"
bool clock(std::string_view text, std::tm& tm) {
    return text.size() == 8 && text[2] == ':' && text[5] == ':' &&
           number(text.substr(0, 2), tm.tm_hour) && number(text.substr(3, 2), tm.tm_min) &&
           number(text.substr(6, 2), tm.tm_sec);
}

std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && text[pos] == ' ') {
            ++pos;
        }
        const auto end = text.find(' ', pos);
        if (pos < text.size()) {
            out.push_back(text.substr(pos, end - pos));
        }
        pos = end == std::string_view::npos ? text.size() : end;
    }
    return out;
}

std::optional<std::time_t> finish(std::tm& tm) {
    if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60 || tm.tm_year < 70) {
        return std::nullopt;
    }
    return ::timegm(&tm);
}

}  // namespace

std::string format_http_date(std::time_t t) {
    // Written by hand: Last-Modified is formatted for every response, and snprintf's format
    // parsing showed up in profiles. The calendar is plain arithmetic, not gmtime_r(3): glibc
    // takes a process-wide lock in it, which every shard would contend for on every response.
    using namespace std::chrono;
    const sys_seconds when{seconds{t}};
    const auto day = floor<days>(when);
    const year_month_day date{day};
    const hh_mm_ss time{when - day};
    std::tm tm{};
    tm.tm_wday = static_cast<int>(weekday{day}.c_encoding());
    tm.tm_mday = static_cast<int>(static_cast<unsigned>(date.day()));
    tm.tm_mon = static_cast<int>(static_cast<unsigned>(date.month())) - 1;
    tm.tm_year = static_cast<int>(date.year()) - 1900;
    tm.tm_hour = static_cast<int>(time.hours().count());
    tm.tm_min = static_cast<int>(time.minutes().count());
    tm.tm_sec = static_cast<int>(time.seconds().count());
    const auto two = [](std::string& out, int value) {
        out += static_cast<char>('0' + value / 10 % 10);
        out += static_cast<char>('0' + value % 10);
    };
    std::string out;
    out.reserve(29);
    out += kDays[tm.tm_wday % 7];
    out += ", ";
    two(out, tm.tm_mday);
    out += ' ';
    out += kMonths[tm.tm_mon % 12];
    out += ' ';
    const int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {  // not representable in IMF-fixdate; never a file's mtime
        out += "0000";
    } else {
        two(out, year / 100);
        two(out, year % 100);
    }
    out += ' ';
    two(out, tm.tm_hour);
    out += ':';
    two(out, tm.tm_min);
    out += ':';
    two(out, tm.tm_sec);
    out += " GMT";
    return out;
}

std::string format_log_date(std::time_t t) {
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[64];
    const int offset = static_cast<int>(tm.tm_gmtoff / 60) % (24 * 60);
    std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", tm.tm_mday,
                  kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  offset < 0 ? '-' : '+', (offset < 0 ? -offset : offset) / 60,
                  (offset < 0 ? -offset : offset) % 60);
    return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
    const auto w = words(text);
    std::tm tm{};
    if (w.size() == 6 && w[0].size() == 4 && w[0].back() == ',' && w[5] == "GMT") {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        tm.tm_mon = month_index(w[2]);
        if (w[1].size() != 2 || !number(w[1], tm.tm_mday) || w[3].size() != 4 ||
            !number(w[3], tm.tm_year) || !clock(w[4], tm)) {
            return std::nullopt;
        }
        tm.tm_year -= 1900;
        return finish(tm);
    }
    if (w.size() == 4 && w[0].back() == ',' && w[3] == "GMT" && w[1].size() == 9) {
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        const auto d = w[1];
        if (d[2] != '-' || d[6] != '-' || !number(d.substr(0, 2), tm.tm_mday) ||
            !number(d.substr(7, 2), tm.tm_year) || !clock(w[2], tm)) {
            return std::nullopt;
        }
        tm.tm_mon = month_index(d.substr(3, 3));
        // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past.
        tm.tm_year += tm.tm_year < 70 ? 100 : 0;
        return finish(tm);
    }
    if (w.size() == 5) {
        // asctime: Sun Nov  6 08:49:37 1994
        tm.tm_mon = month_index(w[1]);
        if (!number(w[2], tm.tm_mday) || !clock(w[3], tm) || w[4].size() != 4 ||
            !number(w[4], tm.tm_year)) {
            return std::nullopt;
        }
        tm.tm_year -= 1900;
        return finish(tm);
    }
    return std::nullopt;
}

}  // namespace portd::http
