#include "supervisor/module_check_child.hpp"

#include "worker/module_check.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>

namespace portd::supervisor {

namespace {

// One record per line, fields separated by a character messages do not contain; the first
// field says what the line is: a diagnostic ("D", five fields follow) or a service's
// configuration file ("F": service, path).
constexpr char kSeparator = '\x1f';

std::string one_line(std::string text) {
    for (auto& c : text) {
        if (c == '\n' || c == kSeparator) {
            c = ' ';
        }
    }
    return text;
}

std::string encode(const manifest::Diagnostic& d) {
    return std::string("D") + kSeparator + d.where.file + kSeparator +
           std::to_string(d.where.line) + kSeparator + std::to_string(d.where.column) + kSeparator +
           d.key + kSeparator + one_line(d.message) + "\n";
}

std::string encode(const std::string& service, const std::filesystem::path& file) {
    return std::string("F") + kSeparator + service + kSeparator + one_line(file.string()) + "\n";
}

void decode(const std::string& line, ModulesCheck& out) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, kSeparator)) {
        fields.push_back(field);
    }
    if (fields.size() == 3 && fields[0] == "F") {
        out.config_files[fields[1]].emplace_back(fields[2]);
        return;
    }
    manifest::Diagnostic d;
    if (fields.size() != 6 || fields[0] != "D") {
        d.message = line;
        out.problems.push_back(std::move(d));
        return;
    }
    d.where.file = fields[1];
    d.where.line = std::stoi(fields[2]);
    d.where.column = std::stoi(fields[3]);
    d.key = fields[4];
    d.message = fields[5];
    out.problems.push_back(std::move(d));
}

void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace

ModulesCheck check_modules_in_child(const manifest::Manifest& m) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return {{{{}, "portd", std::string("cannot check modules: pipe: ") + std::strerror(errno)}},
                {}};
    }
    spdlog::default_logger()->flush();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return {{{{}, "portd", std::string("cannot check modules: fork: ") + std::strerror(errno)}},
                {}};
    }
    if (pid == 0) {
        ::close(fds[0]);
        for (const auto& service : m.services) {
            const auto check = worker::check_service_module(service, m.settings.modules_dir);
            for (const auto& d : check.problems) {
                write_all(fds[1], encode(d));
            }
            for (const auto& file : check.config_files) {
                write_all(fds[1], encode(service.name, file));
            }
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string output;
    char buffer[4096];
    for (;;) {
        auto n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        output.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ModulesCheck out;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        decode(line, out);
    }
    if (WIFSIGNALED(status)) {
        out.problems.push_back({{},
                                "services",
                                "a module crashed while checking its options (signal " +
                                    std::to_string(WTERMSIG(status)) +
                                    "); run `portd --check` to see which"});
    }
    return out;
}

}  // namespace portd::supervisor
