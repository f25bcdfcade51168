// Makes openat2(2) fail in the calling process, as under a container runtime's system call
// filter that predates it (EPERM) or on a kernel before 5.6 (ENOSYS): for tests of the
// fallbacks that must then keep the same jail. Call it in a child (a death test), never in
// the test process itself: a seccomp filter cannot be removed.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <iterator>

namespace portd::testing {

/// From now on openat2 fails with `error` in this process. The filter does not check the
/// architecture: it lives only in a short-lived test child.
inline bool refuse_openat2(int error) {
    sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & 0xffff)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog filter{static_cast<unsigned short>(std::size(program)), program};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) == 0;
}

/// Whether refuse_openat2() works here (tried in a child): a container may forbid seccomp
/// filters, and the tests then skip rather than fail.
inline bool can_refuse_openat2() {
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(refuse_openat2(EPERM) && ::syscall(SYS_openat2, -1, "", nullptr, 0) < 0 &&
                        errno == EPERM
                    ? 0
                    : 1);
    }
    int status = 0;
    return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

}  // namespace portd::testing
