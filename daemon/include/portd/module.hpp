// The portd module SDK. A module includes <portd/module.hpp> (and, for reading its options,
// <portd/options.hpp>) and nothing else from portd; these headers are the whole interface.
//
// A module is a shared object in `modules_dir` that exports one C symbol, portd_module_info(),
// returning a static ModuleInfo. portd checks the ABI version and signature before it touches
// anything else, calls create() once per service with that service's `options:` block, then
// hands every accepted TCP connection to Service::accept() (or, for a service that asks for bare
// descriptors, to Service::accept_descriptor()).
//
// The contract, in five lines:
//   1. Every call arrives on one of portd's threads; nothing a module does may block.
//   2. A connection's socket is bound to an executor that runs one thread, so handlers of one
//      connection never run concurrently. Different connections may run on different threads.
//   3. drain() and stop() arrive on ServiceContext::executor; reach each connection with post().
//   4. No exception leaves accept(), refuse(), drain() or stop().
//   5. No globals: all state hangs off the Service, which portd destroys after the last handler.
//
// services/inetd is the smallest complete module; copy it to start a new one.
#pragma once

#include <portd/net.hpp>

#include <spdlog/logger.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <portd/abi_signature.hpp>

namespace portd {

/// Bumped on every change to this header or to the types it exposes.
inline constexpr std::uint32_t kAbiVersion = 5;

/// One thing wrong with the configuration: where, which key, what.
struct ConfigProblem {
    YAML::Mark mark;      // line/column (0-based, as yaml-cpp keeps them); file is added by portd
    std::string key;      // key path relative to the service's options, e.g. "index[1]"
    std::string message;  // what is wrong and how to fix it
};

/// Thrown by ServiceFactory (create) for bad options. Carries every problem found, so that
/// `portd --check` can report them all at once. portd prints each as
/// `file:line:col: services.NAME.options.KEY: message`.
class ConfigError : public std::runtime_error {
public:
    ConfigError(const YAML::Node& at, std::string key, const std::string& message)
        : std::runtime_error(message), problems_{{at.Mark(), std::move(key), message}} {}
    explicit ConfigError(std::vector<ConfigProblem> problems)
        : std::runtime_error(problems.empty() ? std::string("configuration error")
                                              : problems.front().message),
          problems_(std::move(problems)) {}

    const std::vector<ConfigProblem>& problems() const noexcept { return problems_; }

private:
    std::vector<ConfigProblem> problems_;
};

/// Keeps a connection counted by portd (limits, `portctl status`) for as long as the module
/// holds it. Store it next to the socket and let it go when the connection is closed.
class ConnectionLease {
public:
    ConnectionLease() = default;
    explicit ConnectionLease(std::shared_ptr<void> token) : token_(std::move(token)) {}
    /// Tells portd the connection is gone, before the lease itself is destroyed.
    void release() noexcept { token_.reset(); }

private:
    std::shared_ptr<void> token_;
};

/// An accepted TCP connection, handed over to the module. The socket is already non-blocking
/// (O_NONBLOCK, which Asio's native_non_blocking() reports; its non_blocking() stays false, so
/// Asio's blocking calls still wait) and has TCP_NODELAY set: a module need not spend a system
/// call on either.
struct Connection {
    tcp::socket socket;     // connected; its executor is the shard this connection lives on
    tcp::endpoint peer;     // the client
    tcp::endpoint local;    // the address and port the client connected to
    ConnectionLease lease;  // keep until the connection is closed
};

/// An accepted TCP connection as a bare descriptor, for a service that waits for readiness
/// itself (Service::takes_descriptors). The same promises as Connection: the socket is
/// non-blocking, close-on-exec and has TCP_NODELAY. It is registered with nothing yet, so a
/// module with its own epoll set spends no system call taking it out of Asio's.
struct DescriptorConnection {
    int fd = -1;                 // the module's from now on: it closes it
    net::any_io_executor shard;  // the shard the connection lives on (an io_context's, one thread)
    tcp::endpoint peer;          // the client
    tcp::endpoint local;         // the address and port the client connected to
    ConnectionLease lease;       // keep until the connection is closed
};

/// A field of an event's own, for the journal: HTTP_STATUS=404, FTP_USER=anna. `name` is
/// upper case as journald requires (A-Z, 0-9 and '_', starting with a letter, at most 64
/// characters); `value` may be any bytes.
struct EventField {
    std::string_view name;
    std::string_view value;
};

/// What happened, for logs that operators filter on: PORTD_EVENT=... in the journal.
/// portd adds PORTD_SERVICE, PORTD_MODULE, REMOTE_ADDR, REMOTE_PORT and LOCAL_PORT.
class EventLog {
public:
    virtual ~EventLog() = default;
    /// `event` is a short lowercase word: "request", "login", "transfer", "refuse", ...
    /// `fields` go into the journal record next to portd's own (`journalctl HTTP_STATUS=404`);
    /// one with an invalid name, or with a name portd sets itself, is left out. Elsewhere the
    /// message is the whole record.
    virtual void event(spdlog::level::level_enum level, std::string_view event,
                       const tcp::endpoint& peer, const tcp::endpoint& local,
                       std::string_view message,
                       std::span<const EventField> fields = {}) noexcept = 0;
};

/// What a service is created with.
struct ServiceContext {
    std::string name;                     // key under `services:`, e.g. "web"
    YAML::Node options;                   // the `options:` block; Null when absent
    std::filesystem::path base_dir;       // relative paths in options are relative to this
                                          // (the directory of the manifest file)
    std::shared_ptr<spdlog::logger> log;  // plain log lines, already tagged with the service
    std::shared_ptr<EventLog> events;     // structured per-connection events
    net::any_io_executor executor;        // service-wide work; drain() and stop() arrive here
    unsigned threads = 1;                 // how many threads run connections
    bool check_only = false;  // `portd --check`: validate options, open nothing, start nothing
};

/// One running service. portd calls these methods; none of them may block or throw.
class Service {
public:
    virtual ~Service() = default;

    /// Own this connection from now on.
    virtual void accept(Connection connection) noexcept = 0;

    /// True: portd hands this service's admitted connections to accept_descriptor() instead of
    /// accept(). Asked once, when the service has been created. Refused connections still go
    /// to refuse().
    virtual bool takes_descriptors() const noexcept { return false; }

    /// True: in this service's protocol the client speaks first (HTTP, not FTP), so a
    /// connection is of no use before its first bytes arrive. portd then asks the kernel to
    /// hand connections over only once they have (TCP_DEFER_ACCEPT): the module can read at
    /// once, and a client that connects and says nothing costs the service nothing until about
    /// a second has passed, when it is handed over anyway. Asked once, when the service has
    /// been created.
    virtual bool client_speaks_first() const noexcept { return false; }

    /// Files besides the manifest that the service's configuration is read from (a MIME table,
    /// later a certificate), absolute. portd asks the service created with check_only before
    /// every start and reload and compares the files' bytes: when one of them holds something
    /// else (or appeared, or went) since the service's worker started, a reload gives the
    /// service a new worker, as a change to its options would. A file need not exist.
    virtual std::vector<std::filesystem::path> config_files() const { return {}; }

    /// Own this connection from now on (only when takes_descriptors()). The default closes it.
    virtual void accept_descriptor(DescriptorConnection connection) noexcept {
        ::close(connection.fd);
    }

    /// The connection is over a limit (`reason` says which); answer in the protocol
    /// ("421 ...", "HTTP/1.1 503 ...") and close. The default closes without a word.
    virtual void refuse(Connection connection, std::string_view reason) noexcept {
        (void)reason;
        boost::system::error_code ignored;
        connection.socket.close(ignored);
    }

    /// Take no new work; let in-flight requests finish and close idle connections at the next
    /// safe point (between requests or commands). Call `done` (on any thread, once) when the
    /// last connection has closed.
    virtual void drain(std::function<void()> done) noexcept = 0;

    /// The drain deadline passed: close every socket now. Pending handlers then complete with
    /// operation_aborted, and the module must treat that as silence.
    virtual void stop() noexcept = 0;
};

/// Static data returned by portd_module_info(); the first two fields never move, so that any
/// portd can read them from any module and refuse it cleanly.
struct ModuleInfo {
    std::uint32_t abi_version;  // kAbiVersion
    const char* abi_signature;  // PORTD_ABI_SIGNATURE
    const char* name;           // what the manifest's `module:` names
    const char* description;    // one line, shown by `portd --check`
    /// Validates the options (throwing ConfigError) and returns the service. With
    /// context.check_only it must validate everything it can and start nothing.
    std::unique_ptr<Service> (*create)(ServiceContext context);
};

/// The name of the one symbol a module exports.
inline constexpr const char* kEntryPointSymbol = "portd_module_info";

}  // namespace portd

/// Ends every module: PORTD_MODULE(kInfo) exports portd_module_info() returning &kInfo.
#define PORTD_MODULE(info)                                                       \
    extern "C" __attribute__((visibility("default"))) const ::portd::ModuleInfo* \
    portd_module_info() noexcept {                                               \
        return &(info);                                                          \
    }
