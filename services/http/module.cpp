// The http module's entry point.
#include "http/service.hpp"

#include <portd/module.hpp>

namespace {

constexpr portd::ModuleInfo kInfo{
    portd::kAbiVersion,
    PORTD_ABI_SIGNATURE,
    "http",
    "HTTP/1.1 static files: keep-alive, ranges, conditional requests, sendfile",
    &portd::http::create_service,
};

}  // namespace

PORTD_MODULE(kInfo)
