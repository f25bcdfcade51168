// The one way portd code includes Boost.Asio.
//
// Boost 1.74's boost/asio/awaitable.hpp uses std::exchange without including <utility>, so every
// coroutine translation unit fails to compile unless <utility> comes first. The blank line keeps
// clang-format from sorting the two includes (IncludeBlocks: Preserve).
#pragma once

#include <utility>

#include <boost/asio.hpp>

namespace portd {
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
}  // namespace portd
