// TYPE A (RFC 959 §3.1.1.1): the network form of text ends lines with CR LF. Conversions that
// work chunk by chunk, carrying one byte of state across chunk boundaries.
#pragma once

#include <string>
#include <string_view>

namespace portd::ftp {

/// Local text → network: every LF not already preceded by CR gets one.
inline void to_network_ascii(std::string_view in, std::string& out, bool& last_was_cr) {
    for (const char c : in) {
        if (c == '\n' && !last_was_cr) {
            out.push_back('\r');
        }
        out.push_back(c);
        last_was_cr = c == '\r';
    }
}

/// Network text → local: CR LF becomes LF; a lone CR stays. `pending_cr` holds a CR whose
/// next byte has not arrived yet; call finish_local_ascii at the end of the stream.
inline void to_local_ascii(std::string_view in, std::string& out, bool& pending_cr) {
    for (const char c : in) {
        if (pending_cr) {
            pending_cr = false;
            if (c == '\n') {
                out.push_back('\n');
                continue;
            }
            out.push_back('\r');
        }
        if (c == '\r') {
            pending_cr = true;
            continue;
        }
        out.push_back(c);
    }
}

inline void finish_local_ascii(std::string& out, bool& pending_cr) {
    if (pending_cr) {
        out.push_back('\r');
        pending_cr = false;
    }
}

}  // namespace portd::ftp
