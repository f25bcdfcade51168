// The ftp module's entry point: options → FtpConfig + Authorizer → FtpService.
#include "ftp/config.hpp"
#include "ftp/service.hpp"

#include <portd/module.hpp>

namespace {

std::unique_ptr<portd::Service> create(portd::ServiceContext context) {
    portd::ftp::Authorizer authorizer;
    auto config = portd::ftp::load_config(context, authorizer);
    auto state = std::make_shared<portd::ftp::ServiceState>(std::move(config),
                                                            std::move(authorizer), context);
    return std::make_unique<portd::ftp::FtpService>(std::move(state));
}

constexpr portd::ModuleInfo kInfo{
    portd::kAbiVersion,
    PORTD_ABI_SIGNATURE,
    "ftp",
    "FTP server (RFC 959, 2389, 2428, 3659, 2640, 7151): virtual users, jails, passive ports",
    &create,
};

}  // namespace

PORTD_MODULE(kInfo)
