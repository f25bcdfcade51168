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

// One diagnostic per line, fields separated by a character messages do not contain.
constexpr char kSeparator = '\x1f';

std::string encode(const manifest::Diagnostic& d) {
    std::string message = d.message;
    for (auto& c : message) {
        if (c == '\n' || c == kSeparator) {
            c = ' ';
        }
    }
    return d.where.file + kSeparator + std::to_string(d.where.line) + kSeparator +
           std::to_string(d.where.column) + kSeparator + d.key + kSeparator + message + "\n";
}

manifest::Diagnostic decode(const std::string& line) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, kSeparator)) {
        fields.push_back(field);
    }
    manifest::Diagnostic d;
    if (fields.size() != 5) {
        d.message = line;
        return d;
    }
    d.where.file = fields[0];
    d.where.line = std::stoi(fields[1]);
    d.where.column = std::stoi(fields[2]);
    d.key = fields[3];
    d.message = fields[4];
    return d;
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

std::vector<manifest::Diagnostic> check_modules_in_child(const manifest::Manifest& m) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return {{{}, "portd", std::string("cannot check modules: pipe: ") + std::strerror(errno)}};
    }
    spdlog::default_logger()->flush();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return {{{}, "portd", std::string("cannot check modules: fork: ") + std::strerror(errno)}};
    }
    if (pid == 0) {
        ::close(fds[0]);
        for (const auto& service : m.services) {
            for (const auto& d : worker::check_service_module(service, m.settings.modules_dir)) {
                write_all(fds[1], encode(d));
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
    std::vector<manifest::Diagnostic> out;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        out.push_back(decode(line));
    }
    if (WIFSIGNALED(status)) {
        out.push_back({{},
                       "services",
                       "a module crashed while checking its options (signal " +
                           std::to_string(WTERMSIG(status)) +
                           "); run `portd --check` to see which"});
    }
    return out;
}

}  // namespace portd::supervisor
