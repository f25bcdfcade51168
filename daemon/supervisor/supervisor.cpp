#include "supervisor/supervisor.hpp"

#include "cli/text_table.hpp"
#include "manifest/loader.hpp"
#include "manifest/port_table.hpp"
#include "net/listeners.hpp"
#include "supervisor/module_check_child.hpp"
#include "supervisor/reload_plan.hpp"
#include "sys/logging.hpp"
#include "sys/privileges.hpp"
#include "worker/event_log.hpp"
#include "worker/worker_main.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iomanip>
#include <set>
#include <sstream>

namespace portd::supervisor {

namespace {

constexpr std::chrono::milliseconds kMaxBackoff{60'000};
constexpr std::chrono::milliseconds kHealthyRun{60'000};
/// After shutdown_timeout the workers close what is left themselves; this is how much longer
/// the supervisor waits before SIGKILL.
constexpr std::chrono::milliseconds kKillGrace{3'000};

std::string describe_exit(int status) {
    if (WIFEXITED(status)) {
        const int code = WEXITSTATUS(status);
        if (code == worker::kExitConfig) {
            return "exited with status 78 (configuration: the module or the user was refused)";
        }
        return "exited with status " + std::to_string(code);
    }
    if (WIFSIGNALED(status)) {
        return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    }
    return "ended (status " + std::to_string(status) + ")";
}

std::string format_duration(std::chrono::seconds s) {
    const auto total = s.count();
    std::ostringstream out;
    if (total >= 86400) {
        out << total / 86400 << "d" << (total % 86400) / 3600 << "h";
    } else if (total >= 3600) {
        out << total / 3600 << "h" << (total % 3600) / 60 << "m";
    } else if (total >= 60) {
        out << total / 60 << "m" << total % 60 << "s";
    } else {
        out << total << "s";
    }
    return out.str();
}

}  // namespace

Supervisor::Supervisor(net::io_context& io, cli::Options options)
    : io_(io), options_(std::move(options)) {}

Supervisor::~Supervisor() {
    for (auto& [key, fd] : listeners_) {
        ::close(fd);
    }
}

std::vector<std::string> Supervisor::validate(const manifest::Manifest& m,
                                              ServiceConfigFiles& config_files) {
    std::vector<std::string> errors;
    auto check = check_modules_in_child(m);
    for (const auto& d : check.problems) {
        errors.push_back(manifest::to_string(d));
    }
    config_files.clear();
    for (const auto& [service, files] : check.config_files) {
        config_files[service] = config_file_states(files);
    }
    if (::geteuid() == 0) {
        for (const auto& service : m.services) {
            if (service.user.empty()) {
                continue;
            }
            if (auto error = sys::check_identity(service.user, service.group)) {
                errors.push_back(manifest::to_string(service.where) + ": services." + service.name +
                                 ".user: " + *error);
            }
        }
    }
    return errors;
}

void Supervisor::apply_log_settings(const manifest::Settings& settings) {
    try {
        sys::set_target(settings.log_target);
        if (auto level = sys::parse_level(settings.log_level)) {
            sys::set_level(*level);
        }
    } catch (const std::exception& e) {
        spdlog::warn("log settings not applied: {}", e.what());
    }
}

bool Supervisor::start() {
    auto loaded = manifest::load_file(options_.config);
    if (loaded.errors.empty()) {
        apply_log_settings(loaded.manifest.settings);
    }
    for (const auto& w : loaded.warnings) {
        spdlog::warn("{}", manifest::to_string(w));
    }
    std::vector<std::string> errors;
    for (const auto& e : loaded.errors) {
        errors.push_back(manifest::to_string(e));
    }
    ServiceConfigFiles config_files;
    if (errors.empty()) {
        errors = validate(loaded.manifest, config_files);
    }
    if (!errors.empty()) {
        for (const auto& e : errors) {
            spdlog::error("{}", e);
        }
        spdlog::error("{}: {} error(s); not started (`portd --check -c {}` lists them too)",
                      options_.config, errors.size(), options_.config);
        return false;
    }
    manifest_ = std::move(loaded.manifest);
    config_files_ = std::move(config_files);

    // Every listener is open before any worker starts, so a port conflict stops everything
    // instead of leaving half the services up.
    auto opened = network::open_listeners(manifest_, network::take_inherited_sockets());
    for (const auto& warning : opened.warnings) {
        spdlog::warn("{}", warning);
    }
    if (!opened.errors.empty()) {
        for (const auto& error : opened.errors) {
            spdlog::error("{}", error);
        }
        return false;
    }
    for (auto& listener : opened.listeners) {
        listeners_[listener_key(listener.spec)] = listener.fd;
        spdlog::info("listening on {} for {}{}", listener.spec.text, listener.service,
                     listener.inherited ? " (socket from systemd)" : "");
    }
    for (const auto& spec : manifest_.services) {
        auto& service = services_[spec.name];
        service.spec = spec;
        service.since = std::chrono::system_clock::now();
        spawn(service);
    }
    started_ = true;
    check_all_ready();
    return true;
}

void Supervisor::spawn(Service& service) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {  // out of descriptors: also worth another try
        const int err = errno;
        const auto delay = schedule_respawn(service);
        spdlog::error("service {}: cannot start a worker: pipe: {}; trying again in {} ms",
                      service.spec.name, std::strerror(err), delay.count());
        return;
    }
    auto w = std::make_shared<Worker>();
    w->counters = worker::make_shared_counters();
    w->started = std::chrono::steady_clock::now();
    std::vector<int> fds;
    for (const auto& l : service.spec.listen) {
        fds.push_back(listeners_.at(listener_key(l)));
    }

    spdlog::default_logger()->flush();
    const pid_t pid = ::fork();
    if (pid < 0) {
        // Out of processes or memory (TasksMax, RLIMIT_NPROC) is often brief: try again, as
        // after a crash, rather than leave the service down until the next reload.
        const int err = errno;
        ::close(ready[0]);
        ::close(ready[1]);
        const auto delay = schedule_respawn(service);
        spdlog::error("service {}: cannot start a worker: fork: {}; trying again in {} ms",
                      service.spec.name, std::strerror(err), delay.count());
        return;
    }
    if (pid == 0) {
        ::close(ready[0]);
        worker::WorkerStart start;
        start.manifest = &manifest_;
        start.service = &service.spec;
        start.listen_fds = fds;
        start.ready_fd = ready[1];
        start.counters = w->counters;
        worker::worker_main(std::move(start));
    }
    ::close(ready[1]);
    w->pid = pid;
    w->ready_pipe = std::make_unique<net::posix::stream_descriptor>(io_, ready[0]);
    service.current = w;
    spdlog::debug("service {}: worker pid {} started", service.spec.name, pid);

    auto byte = std::make_shared<char>(0);
    w->ready_pipe->async_read_some(net::buffer(byte.get(), 1),
                                   [this, name = service.spec.name, weak = std::weak_ptr<Worker>(w),
                                    byte](boost::system::error_code ec, std::size_t n) {
                                       auto worker = weak.lock();
                                       if (!worker) {
                                           return;
                                       }
                                       boost::system::error_code ignored;
                                       worker->ready_pipe->close(ignored);
                                       if (!ec && n == 1 && *byte == 'R') {
                                           worker_ready(name, worker);
                                       }
                                       // Otherwise it exited before serving; SIGCHLD tells the
                                       // rest.
                                   });
}

void Supervisor::worker_ready(const std::string& name, const std::shared_ptr<Worker>& worker) {
    auto it = services_.find(name);
    if (it == services_.end() || it->second.current != worker) {
        return;
    }
    auto& service = it->second;
    worker->ready = true;
    spdlog::info("service {}: worker pid {} serving", name, worker->pid);
    // A replacement is serving: now the old worker may stop taking connections.
    if (service.replaced) {
        retire(service, std::exchange(service.replaced, nullptr));
    }
    check_all_ready();
    check_reload_settled();
}

void Supervisor::check_reload_settled() {
    if (!reload_pending_) {
        return;
    }
    for (const auto& spec : manifest_.services) {
        const auto& service = services_.at(spec.name);
        // No current worker: it failed and waits for its respawn; the failure is logged, and
        // the reload is as done as it will get.
        if (service.current && !service.current->ready) {
            return;
        }
    }
    reload_pending_ = false;
    if (on_reloaded) {
        on_reloaded();
    }
}

void Supervisor::check_all_ready() {
    if (!started_ || initial_ready_ || stopping_) {
        return;
    }
    for (const auto& [name, service] : services_) {
        if (!service.current || !service.current->ready) {
            return;
        }
    }
    initial_ready_ = true;
    spdlog::info("portd ready: {} service{}, {} listener{}", services_.size(),
                 services_.size() == 1 ? "" : "s", listeners_.size(),
                 listeners_.size() == 1 ? "" : "s");
    if (on_ready) {
        on_ready();
    }
}

void Supervisor::retire(Service& service, const std::shared_ptr<Worker>& worker) {
    if (!worker || worker->retiring) {
        return;
    }
    worker->retiring = true;
    service.retiring.push_back(worker);
    spdlog::info("service {}: worker pid {} draining", service.spec.name, worker->pid);
    ::kill(worker->pid, SIGTERM);
}

void Supervisor::reap_children() {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            return;
        }
        worker_exited(pid, status);
    }
}

void Supervisor::worker_exited(pid_t pid, int status) {
    for (auto& [name, service] : services_) {
        // An old worker that finished draining (reload, or a removed service).
        for (auto it = service.retiring.begin(); it != service.retiring.end(); ++it) {
            if ((*it)->pid == pid) {
                service.exited.add(*(*it)->counters);
                spdlog::info("service {}: old worker pid {} finished ({})", name, pid,
                             describe_exit(status));
                service.retiring.erase(it);
                if (service.replaced && service.replaced->pid == pid) {
                    service.replaced.reset();
                }
                maybe_finish_stop();
                return;
            }
        }
        if (service.replaced && service.replaced->pid == pid) {
            // The old worker died before its replacement was ready: the new one carries on.
            service.exited.add(*service.replaced->counters);
            spdlog::warn("service {}: old worker pid {} {}", name, pid, describe_exit(status));
            service.replaced.reset();
            return;
        }
        if (!service.current || service.current->pid != pid) {
            continue;
        }
        auto worker = std::exchange(service.current, nullptr);
        service.exited.add(*worker->counters);
        if (stopping_) {
            spdlog::info("service {}: worker pid {} stopped", name, pid);
            maybe_finish_stop();
            return;
        }
        const auto ran = std::chrono::steady_clock::now() - worker->started;
        if (ran >= kHealthyRun) {
            service.backoff = std::chrono::milliseconds(1000);
        }
        const auto delay = schedule_respawn(service);
        spdlog::error("service {}: worker pid {} {}; restarting in {} ms (restart {})", name, pid,
                      describe_exit(status), delay.count(), service.restarts);
        check_reload_settled();
        return;
    }
    // A child that is no worker (the module check child is reaped where it runs).
}

std::chrono::milliseconds Supervisor::schedule_respawn(Service& service) {
    const auto delay = service.backoff;
    service.backoff = std::min(service.backoff * 2, kMaxBackoff);
    ++service.restarts;
    // The listening sockets stay open meanwhile: the kernel queues new connections and the
    // next worker serves them.
    service.respawn_timer = std::make_unique<net::steady_timer>(io_, delay);
    service.respawn_timer->async_wait(
        [this, name = service.spec.name](boost::system::error_code ec) {
            auto it = services_.find(name);
            if (ec || stopping_ || it == services_.end() || it->second.current) {
                return;
            }
            spawn(it->second);
        });
    return delay;
}

std::vector<std::string> Supervisor::reload() {
    if (stopping_) {
        return {"portd is stopping"};
    }
    spdlog::info("reloading {}", options_.config);
    auto loaded = manifest::load_file(options_.config);
    std::vector<std::string> errors;
    for (const auto& e : loaded.errors) {
        errors.push_back(manifest::to_string(e));
    }
    ServiceConfigFiles config_files;
    if (errors.empty()) {
        errors = validate(loaded.manifest, config_files);
    }
    // New listeners are bound before anything changes, so a taken port fails the whole reload.
    std::map<std::string, int> opened;
    if (errors.empty()) {
        for (const auto& service : loaded.manifest.services) {
            for (const auto& l : service.listen) {
                const auto key = listener_key(l);
                if (listeners_.count(key) != 0 || opened.count(key) != 0) {
                    continue;
                }
                if (l.kind == manifest::ListenSpec::Kind::systemd) {
                    errors.push_back(manifest::to_string(l.where) + ": " + l.key + ": " +
                                     "a systemd socket can only be added by restarting portd");
                    continue;
                }
                try {
                    opened[key] = network::bind_listener(l, service.backlog);
                } catch (const std::exception& e) {
                    errors.push_back(manifest::to_string(l.where) + ": " + l.key + ": " + e.what());
                }
            }
        }
    }
    if (!errors.empty()) {
        for (const auto& [key, fd] : opened) {
            ::close(fd);
        }
        for (const auto& e : errors) {
            spdlog::error("{}", e);
        }
        spdlog::error("reload refused: {} error(s); the running services are unchanged",
                      errors.size());
        return errors;
    }
    for (const auto& w : loaded.warnings) {
        spdlog::warn("{}", manifest::to_string(w));
    }

    auto plan = plan_reload(manifest_, loaded.manifest);
    for (const auto& [name, file] :
         replace_where_config_files_changed(plan, config_files_, config_files)) {
        spdlog::info("service {}: {} has changed", name, file.string());
    }
    manifest_ = std::move(loaded.manifest);
    config_files_ = std::move(config_files);
    apply_log_settings(manifest_.settings);
    for (auto& [key, fd] : opened) {
        listeners_[key] = fd;
        spdlog::info("listening on {}", key);
    }
    for (const auto& name : plan.stop) {
        auto& service = services_.at(name);
        if (service.respawn_timer) {
            service.respawn_timer->cancel();
        }
        if (service.current) {
            retire(service, std::exchange(service.current, nullptr));
        }
        if (service.replaced) {
            retire(service, std::exchange(service.replaced, nullptr));
        }
        spdlog::info("service {}: removed", name);
    }
    for (const auto& spec : manifest_.services) {
        auto& service = services_[spec.name];
        service.spec = spec;
    }
    for (const auto& name : plan.replace) {
        auto& service = services_.at(name);
        spdlog::info("service {}: changed; starting a new worker", name);
        if (service.current) {
            // The old worker keeps serving until the new one is ready; both share the sockets.
            if (service.replaced) {
                retire(service, std::exchange(service.replaced, nullptr));
            }
            service.replaced = std::exchange(service.current, nullptr);
        }
        if (service.respawn_timer) {
            service.respawn_timer->cancel();
        }
        service.restarts = 0;
        service.backoff = std::chrono::milliseconds(1000);
        service.since = std::chrono::system_clock::now();
        spawn(service);
    }
    for (const auto& name : plan.start) {
        auto& service = services_.at(name);
        service.since = std::chrono::system_clock::now();
        spdlog::info("service {}: added", name);
        spawn(service);
    }
    close_unused_listeners();
    // Services removed from the manifest leave the table once their old workers are gone;
    // their entries keep those workers visible to reaping meanwhile.
    spdlog::info("reloaded: {} kept, {} replaced, {} started, {} stopped", plan.keep.size(),
                 plan.replace.size(), plan.start.size(), plan.stop.size());
    reload_pending_ = true;
    // Settled at once when nothing new had to start; otherwise when the last new worker is
    // serving (worker_ready) or has failed (worker_exited). Posted, so a caller that sets up
    // its wait after reload() returns does not miss it.
    net::post(io_, [this] { check_reload_settled(); });
    return {};
}

void Supervisor::close_unused_listeners() {
    std::set<std::string> used;
    for (const auto& service : manifest_.services) {
        for (const auto& l : service.listen) {
            used.insert(listener_key(l));
        }
    }
    for (auto it = listeners_.begin(); it != listeners_.end();) {
        if (used.count(it->first) == 0) {
            // Workers still draining hold their own copy until they exit; then the port closes.
            spdlog::info("closing {}", it->first);
            ::close(it->second);
            it = listeners_.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<std::shared_ptr<Supervisor::Worker>> Supervisor::workers_of(const Service& service) {
    std::vector<std::shared_ptr<Worker>> workers = service.retiring;
    for (const auto& w : {service.current, service.replaced}) {
        if (w) {
            workers.push_back(w);
        }
    }
    return workers;
}

void Supervisor::signal_all(int signal, bool warn_each) {
    for (const auto& [name, service] : services_) {
        for (const auto& w : workers_of(service)) {
            if (warn_each) {
                spdlog::warn("service {}: worker pid {} did not stop; killing it", name, w->pid);
            }
            ::kill(w->pid, signal);
        }
    }
}

void Supervisor::stop(std::function<void()> done) {
    if (stopping_) {
        signal_all(SIGKILL);  // a second request: stop waiting
        return;
    }
    stopping_ = true;
    stopped_ = std::move(done);
    // Stop accepting: once the draining workers have closed their copies too, a new client is
    // refused at once rather than left waiting in a queue nobody will serve. (A socket from
    // systemd stays open in systemd, which queues for the next start.)
    for (auto& [key, fd] : listeners_) {
        ::close(fd);
    }
    listeners_.clear();
    for (auto& [name, service] : services_) {
        if (service.respawn_timer) {
            service.respawn_timer->cancel();
        }
    }
    signal_all(SIGTERM);
    kill_timer_ =
        std::make_unique<net::steady_timer>(io_, manifest_.settings.shutdown_timeout + kKillGrace);
    kill_timer_->async_wait([this](boost::system::error_code ec) {
        if (!ec) {
            signal_all(SIGKILL, true);
        }
    });
    maybe_finish_stop();
}

void Supervisor::maybe_finish_stop() {
    if (!stopping_) {
        // Forget removed services whose last worker is gone.
        for (auto it = services_.begin(); it != services_.end();) {
            const auto& s = it->second;
            bool in_manifest = false;
            for (const auto& spec : manifest_.services) {
                in_manifest = in_manifest || spec.name == it->first;
            }
            if (!in_manifest && !s.current && !s.replaced && s.retiring.empty()) {
                it = services_.erase(it);
            } else {
                ++it;
            }
        }
        return;
    }
    for (const auto& [name, service] : services_) {
        if (service.current || service.replaced || !service.retiring.empty()) {
            return;
        }
    }
    if (kill_timer_) {
        kill_timer_->cancel();
    }
    if (stopped_) {
        net::post(io_, std::exchange(stopped_, nullptr));
    }
}

std::string Supervisor::summary() const {
    std::uint64_t open = 0;
    std::size_t serving = 0;
    for (const auto& [name, service] : services_) {
        if (service.current && service.current->ready) {
            ++serving;
        }
        for (const auto& w : workers_of(service)) {
            open += w->counters->open.load();
        }
    }
    return std::to_string(serving) + "/" + std::to_string(manifest_.services.size()) +
           " services serving, " + std::to_string(listeners_.size()) + " ports, " +
           std::to_string(open) + " open connections";
}

std::string Supervisor::status_text() const {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"SERVICE", "MODULE", "PID", "UPTIME", "RESTARTS", "OPEN", "ACCEPTED", "REFUSED",
                    "LISTEN"});
    std::string refusals;
    for (const auto& spec : manifest_.services) {
        const auto& service = services_.at(spec.name);
        auto totals = service.exited;
        totals.open = 0;  // exited workers hold no connection
        for (const auto& w : workers_of(service)) {
            totals.add(*w->counters);
        }
        std::string pid = "-";
        std::string uptime = "-";
        if (service.current) {
            pid = std::to_string(service.current->pid) + (service.current->ready ? "" : "*");
            uptime = format_duration(std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::steady_clock::now() - service.current->started));
        }
        std::string listen;
        for (const auto& l : spec.listen) {
            listen += (listen.empty() ? "" : " ") + l.text;
        }
        rows.push_back({spec.name, spec.module, pid, uptime, std::to_string(service.restarts),
                        std::to_string(totals.open), std::to_string(totals.accepted),
                        std::to_string(totals.refused()), listen});
        if (totals.refused() != 0 || totals.deferred != 0) {
            refusals += "  " + spec.name +
                        ": connections=" + std::to_string(totals.refused_connections) +
                        " per_source=" + std::to_string(totals.refused_per_source) +
                        " rate=" + std::to_string(totals.refused_rate) +
                        " acl=" + std::to_string(totals.denied) +
                        " deferred=" + std::to_string(totals.deferred) + "\n";
        }
    }
    std::ostringstream out;
    out << cli::format_columns(rows);
    if (!refusals.empty()) {
        out << "refused by reason (acl: by allow/deny; deferred: times accepting paused "
               "at a limit):\n"
            << refusals;
    }
    out << summary() << "\n";
    return out.str();
}

std::string Supervisor::ports_text() const {
    return manifest::format_port_table(manifest::port_table(manifest_));
}

}  // namespace portd::supervisor
