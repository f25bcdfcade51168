// The supervisor: owns every listening socket, forks one worker process per service, respawns
// workers that die, reloads the manifest without dropping a connection, and stops gracefully.
// It never loads module code and never serves traffic (nginx's master, postfix's master).
#pragma once

#include <portd/net.hpp>

#include "cli/options.hpp"
#include "manifest/manifest.hpp"
#include "supervisor/config_file_state.hpp"
#include "worker/service_counters.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portd::supervisor {

class Supervisor {
public:
    Supervisor(net::io_context& io, cli::Options options);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    /// Loads, validates, opens every listener and starts the workers. Returns false (having
    /// logged why) if portd cannot start.
    bool start();

    /// Re-reads the manifest and applies it; on any error the running set stays as it is.
    /// Returns the errors (empty on success).
    std::vector<std::string> reload();

    /// Drains every worker (up to shutdown_timeout), then kills what is left; `done` runs once
    /// every worker has exited.
    void stop(std::function<void()> done);

    /// A child exited (SIGCHLD): reap it and respawn it if it should not have.
    void reap_children();

    /// `portctl status` and `portctl ports`.
    std::string status_text() const;
    std::string ports_text() const;
    /// One line for systemd's STATUS=.
    std::string summary() const;

    /// The manifest in force (after start() succeeded).
    const manifest::Manifest& manifest() const { return manifest_; }

    /// Called once every worker of the first start is serving.
    std::function<void()> on_ready;
    /// Called once a successful reload has settled: every worker it started is serving, or
    /// has failed (and waits for its respawn). Not called for a refused reload.
    std::function<void()> on_reloaded;

private:
    struct Worker {
        pid_t pid = -1;
        std::shared_ptr<worker::ServiceCounters> counters;
        std::unique_ptr<net::posix::stream_descriptor> ready_pipe;
        bool ready = false;
        bool retiring = false;  // asked to drain: its exit is expected
        std::chrono::steady_clock::time_point started;
    };
    struct Service {
        manifest::ServiceSpec spec;
        std::shared_ptr<Worker> current;
        std::vector<std::shared_ptr<Worker>> retiring;
        std::shared_ptr<Worker> replaced;  // the old worker waiting for `current` to be ready
        unsigned restarts = 0;
        std::chrono::milliseconds backoff{1000};
        std::unique_ptr<net::steady_timer> respawn_timer;
        worker::CounterTotals exited;  // what workers that have exited counted
        std::chrono::system_clock::time_point since;
    };

    /// Every live worker of a service: the current one, one being replaced, those draining.
    static std::vector<std::shared_ptr<Worker>> workers_of(const Service& service);
    /// Sends `signal` to every worker of every service.
    void signal_all(int signal, bool warn_each = false);

    /// Lets every module check its options (in a child) and checks the users; fills
    /// `config_files` with the state of the files each service's configuration is read from.
    std::vector<std::string> validate(const manifest::Manifest& m,
                                      ServiceConfigFiles& config_files);
    static void apply_log_settings(const manifest::Settings& settings);
    /// Forks a worker for `service`; when that fails, schedule_respawn() tries again.
    void spawn(Service& service);
    /// spawn() again after the service's backoff (which doubles, up to a minute); counted as a
    /// restart. Returns the delay.
    std::chrono::milliseconds schedule_respawn(Service& service);
    void worker_ready(const std::string& name, const std::shared_ptr<Worker>& worker);
    void worker_exited(pid_t pid, int status);
    void retire(Service& service, const std::shared_ptr<Worker>& worker);
    void check_all_ready();
    void check_reload_settled();
    void close_unused_listeners();
    void maybe_finish_stop();

    net::io_context& io_;
    cli::Options options_;
    manifest::Manifest manifest_;
    std::map<std::string, int> listeners_;  // listener_key → fd, held across worker restarts
    std::map<std::string, Service> services_;
    // The files each service's configuration was read from, as they were when the manifest in
    // force was checked: a reload replaces the workers whose files differ from these.
    ServiceConfigFiles config_files_;
    bool started_ = false;
    bool initial_ready_ = false;
    bool reload_pending_ = false;
    bool stopping_ = false;
    std::function<void()> stopped_;
    std::unique_ptr<net::steady_timer> kill_timer_;
};

}  // namespace portd::supervisor
