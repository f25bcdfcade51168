// The module's options, read and validated once at create() (also under `portd --check`).
//
//     options:
//       root: ftp/pub            # the anonymous users' jail (required unless anonymous: off)
//       anonymous: read-only     # off | read-only | upload
//       users_file: ftp-users    # name:crypt-hash:home:ro|rw per line; re-read when changed
//       passive_ports: 50000-50100         # PASV/EPSV listen here (default: any free port)
//       passive_address: 203.0.113.7       # advertised by PASV (default: the address the
//                                          # client reached)
//       passive_address_map: { "10.0.0.0/8": 10.0.0.5 }   # per client network, most
//                                                         # specific wins
//       active_mode: true        # allow PORT/EPRT (only ever to the client's own address)
//       idle_timeout: 5m
//       data_timeout: 2m
//       max_sessions: 0          # 0: no limit of the module's own
//       max_per_source: 0
//       upload_rate: 0           # bytes per second per session, e.g. 10M; 0: unlimited
//       download_rate: 0
//       max_login_failures: 3    # then the connection is closed (421)
//       login_failure_delay: 1s
//       xferlog: /var/log/portd-xferlog    # default: lines go to the journal as events
//       banner: "portd FTP server ready."
#pragma once

#include "ftp/address.hpp"
#include "ftp/authorizer.hpp"
#include "ftp/users_file.hpp"

#include <portd/module.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portd::ftp {

struct FtpConfig {
    AnonymousMode anonymous = AnonymousMode::off;
    std::filesystem::path anonymous_root;
    std::optional<std::filesystem::path> users_file;
    FileIdentity users_file_identity;  // the version read at startup (see users_file.hpp)
    std::uint16_t passive_low = 0;     // 0: let the kernel choose
    std::uint16_t passive_high = 0;
    std::optional<Address> passive_address;
    std::vector<std::pair<Cidr, Address>> passive_address_map;
    bool active_mode = true;
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds data_timeout{std::chrono::minutes(2)};
    std::uint64_t max_sessions = 0;
    std::uint64_t max_per_source = 0;
    std::uint64_t upload_rate = 0;
    std::uint64_t download_rate = 0;
    std::uint64_t max_login_failures = 3;
    std::chrono::milliseconds login_failure_delay{std::chrono::seconds(1)};
    std::optional<std::filesystem::path> xferlog;
    std::string banner = "portd FTP server ready.";
};

/// Reads and checks every option (roots exist, the users file parses and its homes exist, the
/// passive range is sane) and builds the authorizer. Throws ConfigError with every problem.
FtpConfig load_config(const ServiceContext& context, Authorizer& authorizer);

}  // namespace portd::ftp
