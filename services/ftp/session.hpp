// One control connection: greeting, the read → parse → gate → handler loop, replies, the
// idle/data watchdog, and the transfer that runs beside the loop (so that ABOR and STAT are
// read while data moves). Command handlers live in commands_*.cpp and use the public part.
#pragma once

#include "ftp/authorizer.hpp"
#include "ftp/command_parser.hpp"
#include "ftp/data_channel.hpp"
#include "ftp/signal.hpp"
#include "ftp/vfs.hpp"

#include <portd/module.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portd::ftp {

class ServiceState;
struct TransferRecord;

/// What a command handler sees of a session: who is logged in and the protocol state.
struct SessionState {
    std::string pending_user;  // from USER, waiting for PASS
    std::optional<Account> account;
    std::string anonymous_id;  // what an anonymous user gave as password (for the logs)
    Vfs vfs;
    std::string cwd = "/";
    bool ascii = false;             // TYPE A (else TYPE I)
    std::uint64_t rest_offset = 0;  // REST, consumed by the next RETR/STOR
    std::string rename_from;        // RNFR, consumed by RNTO
    bool epsv_all = false;          // after EPSV ALL only EPSV may set up data connections
    std::uint32_t mlst_facts = 0;   // set in the constructor
    std::uint64_t login_failures = 0;
    bool host_given = false;
    std::uint64_t transferred = 0;  // bytes of the running transfer, for STAT

    bool logged_in() const { return account.has_value(); }
    std::uint32_t permissions() const { return account ? account->permissions : 0; }
};

/// The final reply of a transfer.
struct TransferOutcome {
    int code = 226;
    std::string text = "Transfer complete.";
};

class Session : public std::enable_shared_from_this<Session> {
public:
    using TransferBody = std::function<net::awaitable<TransferOutcome>(DataChannel&)>;

    Session(std::shared_ptr<ServiceState> service, Connection connection);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Starts the command loop and the watchdog. Call on the connection's executor.
    void start();
    /// drain(): 421 and close now if between commands, else after the command or transfer.
    void drain();
    /// stop(): close everything now.
    void stop();

    // ---- for command handlers ----

    ServiceState& service() { return *service_; }
    SessionState& state() { return state_; }
    DataChannel& data() { return data_; }
    const tcp::endpoint& peer() const { return peer_; }
    const tcp::endpoint& local() const { return local_; }
    net::any_io_executor executor() { return socket_.get_executor(); }

    /// Sends one reply (multi-line if `text` has newlines) and waits until it is written.
    net::awaitable<void> reply(int code, std::string_view text);
    /// Sends bytes already in reply format (for streamed multi-line replies).
    net::awaitable<void> send_raw(std::string bytes);
    /// Waits `delay` (failed-login back-off) without blocking the thread.
    net::awaitable<void> sleep(std::chrono::milliseconds delay);

    /// Runs `body` over the data connection beside the command loop: opens the connection,
    /// replies 150 `opening`, runs the body, closes, and replies with its outcome (425 when
    /// the connection cannot be opened, 426 when it is aborted).
    void start_transfer(std::string opening, TransferBody body);
    bool transfer_active() const { return transfer_active_; }
    /// Waits for the running transfer (if any) to end and send its reply.
    net::awaitable<void> wait_transfer();
    /// ABOR: closes the data connection; the transfer then ends with 426.
    void abort_transfer();
    /// Marks data progress (resets the data timeout).
    void data_progress(std::size_t bytes);

    /// Logs a finished transfer (xferlog) and a login attempt.
    void log_transfer(TransferRecord record);
    void log_login(std::string_view user, bool ok, std::string_view anonymous_password = {});

    /// Closes the control connection after the pending replies are written.
    net::awaitable<void> close_after_reply(int code, std::string_view text);
    void close();
    bool closed() const { return closed_; }

private:
    net::awaitable<void> run(std::shared_ptr<Session> self);
    net::awaitable<void> watchdog(std::shared_ptr<Session> self);
    net::awaitable<void> transfer(std::shared_ptr<Session> self, std::string opening,
                                  TransferBody body);
    net::awaitable<void> goodbye(std::shared_ptr<Session> self, int code, std::string text);
    net::awaitable<std::optional<Line>> read_line();
    net::awaitable<void> handle(Line line);
    net::awaitable<void> write_out();

    std::shared_ptr<ServiceState> service_;
    tcp::socket socket_;
    tcp::endpoint peer_;
    tcp::endpoint local_;
    ConnectionLease lease_;
    SessionState state_;
    DataChannel data_;
    LineSplitter splitter_;
    std::array<char, 4096> read_buffer_{};
    std::string outbox_;
    bool writing_ = false;
    Signal written_;
    Signal transfer_done_;
    net::steady_timer watchdog_timer_;
    net::steady_timer sleep_timer_;
    std::chrono::steady_clock::time_point idle_deadline_;
    std::chrono::steady_clock::time_point data_deadline_;
    std::chrono::steady_clock::time_point write_deadline_;  // a reply the client does not read
    bool busy_ = false;                                     // a command is being handled
    bool transfer_active_ = false;
    bool draining_ = false;
    bool closed_ = false;
};

}  // namespace portd::ftp
