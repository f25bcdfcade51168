#include "http/launch_here.hpp"

namespace portd::http {

void launch_here(const net::any_io_executor& executor, net::awaitable<void> task) {
#if BOOST_ASIO_VERSION == 101800
    // Asio 1.18's co_spawn is this launch behind a post (impl/co_spawn.hpp). The class is an
    // implementation detail, so it is used only with the version it was read in.
    net::detail::awaitable_handler<net::any_io_executor>(std::move(task), executor).launch();
#else
    net::co_spawn(executor, std::move(task), net::detached);
#endif
}

}  // namespace portd::http
