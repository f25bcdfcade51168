"""The supervisor's process model through the real portd: one worker process per service,
privilege drop, respawn, reload (SIGHUP and portctl), graceful stop and portctl.

What a test looks at is what an operator would: /proc (pids, titles, ids, open sockets),
/proc/net/tcp (which process holds which listening socket), the log, portctl's output, and real
bytes through real connections. All traffic stays on the loopback; every loop is bounded in
count and time and every socket has a timeout, so a broken daemon fails these tests instead of
hanging them.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from portd_harness import (PORTD_BIN, PortdProcess, child_pids, connect, free_ports,
                           manifest_text, process_title, recv_all, recv_exactly)

PORTCTL_BIN = os.environ.get("PORTCTL_BIN", "")

PRINTABLE = bytes(range(32, 127))  # RFC 864's ring of 95 characters
LINE = 74  # 72 characters and CRLF
# One whole chargen cycle (95 lines); the stream is this, over and over.
CHARGEN_CYCLE = b"".join(
    bytes(PRINTABLE[(n + i) % 95] for i in range(72)) + b"\r\n" for n in range(95))

# portctl's exit codes (daemon/control/cli.hpp).
EXIT_OK, EXIT_FAILED, EXIT_NOT_RUNNING, EXIT_PERMISSION = 0, 1, 3, 4


# -- manifests -----------------------------------------------------------------------------------

def inetd(name, port, options, extra=""):
    """One inetd service on 127.0.0.1:`port`; `options` is the inside of its options map."""
    return """
{name}:
  module: inetd
  listen: ["127.0.0.1:{port}"]
  options: {{ {options} }}
{extra}""".format(name=name, port=port, options=options, extra=extra)


# -- /proc ---------------------------------------------------------------------------------------

def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls `predicate` until it returns something true (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def single_workers(portd, names, timeout=10.0):
    """{name: pid} once each service in `names` has exactly one worker; fails otherwise."""
    def ready():
        workers = portd.worker_pids()
        if all(len(workers.get(n, [])) == 1 for n in names):
            return {n: workers[n][0] for n in names}
        return None
    found = wait_until(ready, timeout)
    if found is None:
        raise AssertionError("workers %s not found; have %r\n%s" % (
            names, portd.worker_pids(), portd.stderr()))
    return found


def new_worker(portd, name, old_pids, timeout=10.0):
    """The pid of a worker for `name` that is none of `old_pids` (waits for it)."""
    def find():
        fresh = [p for p in portd.worker_pids().get(name, []) if p not in old_pids]
        return fresh[0] if fresh else None
    pid = wait_until(find, timeout)
    if pid is None:
        raise AssertionError("no new worker for %s (old %r, now %r)\n%s" % (
            name, old_pids, portd.worker_pids(), portd.stderr()))
    return pid


def is_worker_alive(pid):
    """True while `pid` exists as a portd worker (not gone, not reaped, not reused)."""
    title = process_title(pid)
    if title is None or not title.startswith("portd: "):
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def proc_status(pid):
    """/proc/PID/status as {key: [fields]}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.split()
    return out


def socket_inodes(pid):
    """The inodes of every socket `pid` holds open."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue  # closed meanwhile
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(int(match.group(1)))
    return inodes


def listening_tcp_inodes(port=None):
    """Inodes of the TCP sockets in LISTEN state (on `port` if given), IPv4 and IPv6."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue  # no IPv6 in this kernel
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if state != "0A":  # TCP_LISTEN
                continue
            if port is None or int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def unix_socket_inode(path):
    """The inode of the listening unix socket bound to `path` (from /proc/net/unix)."""
    with open("/proc/net/unix") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == path:
                return int(fields[6])
    return None


# -- traffic -------------------------------------------------------------------------------------

def echo_once(port, payload=None, timeout=10.0):
    """One echo round trip on a fresh connection; returns what came back."""
    payload = payload if payload is not None else os.urandom(64)
    with connect(port, timeout=timeout) as s:
        s.sendall(payload)
        return payload, recv_exactly(s, len(payload))


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False


class ChargenReader(threading.Thread):
    """Reads a chargen stream to its end, checking every byte against RFC 864's pattern as it
    goes (nothing is kept, so a fast stream costs no memory)."""

    def __init__(self, sock, limit_bytes=1 << 30, limit_seconds=30.0):
        super().__init__(daemon=True)
        self.sock = sock
        self.limit_bytes = limit_bytes
        self.limit_seconds = limit_seconds
        self.count = 0
        self.first_mismatch = None
        self.ended_by = None  # "eof", "error: ...", "limit"
        self._window = CHARGEN_CYCLE * (65536 // len(CHARGEN_CYCLE) + 2)

    def run(self):
        deadline = time.monotonic() + self.limit_seconds
        try:
            while time.monotonic() < deadline and self.count < self.limit_bytes:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.ended_by = "eof"
                    return
                start = self.count % len(CHARGEN_CYCLE)
                if (self.first_mismatch is None and
                        chunk != self._window[start:start + len(chunk)]):
                    self.first_mismatch = self.count
                self.count += len(chunk)
            self.ended_by = "limit"
        except OSError as e:
            self.ended_by = "error: %r" % e


# -- portctl -------------------------------------------------------------------------------------

def portctl(*args, socket_path=None, env=None, prefix=(), timeout=30.0):
    """Runs portctl; returns (exit code, stdout, stderr)."""
    argv = list(prefix) + [PORTCTL_BIN] + (["--socket", socket_path] if socket_path else [])
    run_env = dict(os.environ)
    run_env.pop("PORTD_CONTROL_SOCKET", None)
    run_env.update(env or {})
    p = subprocess.run(argv + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, env=run_env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def parse_table(text):
    """A table of whitespace-separated columns under an upper-case header: [{column: value}].
    The last column takes the rest of the line (LISTEN may name several addresses); the table
    ends at the first line with fewer columns (what follows it is a summary)."""
    lines = [l for l in text.splitlines() if l.strip()]
    header = lines[0].split()
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(header) - 1)
        if len(fields) < len(header):
            break
        rows.append(dict(zip(header, fields)))
    return rows


def status_rows(socket_path):
    code, out, err = portctl("status", socket_path=socket_path)
    if code != EXIT_OK:
        raise AssertionError("portctl status: exit %d\n%s%s" % (code, out, err))
    return {row["SERVICE"]: row for row in parse_table(out)}, out


SETPRIV_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run_to_exit(services, timeout=30):
    """portd --foreground on `services`, expected to exit by itself: (exit code, stderr)."""
    with tempfile.TemporaryDirectory(prefix="portd-test-") as d:
        path = os.path.join(d, "portd.yaml")
        with open(path, "w") as f:
            # Its own control socket, should it get that far: never the system's.
            f.write(manifest_text(services, "control_socket: %s\n" %
                                  os.path.join(d, "control.sock")))
        p = subprocess.run([PORTD_BIN, "--foreground", "-c", path], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stderr.decode("utf-8", "replace")


# -- tests ---------------------------------------------------------------------------------------

class ProcessModel(unittest.TestCase):

    def test_one_worker_per_service_holding_only_its_own_listeners(self):
        echo, daytime = free_ports(2)
        services = inetd("echo", echo, "service: echo") + inetd("daytime", daytime,
                                                                 "service: daytime")
        with PortdProcess(services) as portd:
            pids = single_workers(portd, ["echo", "daytime"])
            supervisor = portd.proc.pid
            self.assertNotIn(supervisor, pids.values())
            self.assertNotEqual(pids["echo"], pids["daytime"])
            # Both are the supervisor's children, titled after their service (what ps shows).
            self.assertEqual(sorted(pids.values()),
                             sorted(p for p in child_pids(supervisor)
                                    if (process_title(p) or "").startswith("portd: ")))
            for name, pid in pids.items():
                self.assertEqual(process_title(pid), "portd: " + name)

            # Each worker holds its own service's listener and no other service's: a crash or
            # compromise of one module cannot accept on another service's port.
            echo_socks = listening_tcp_inodes(echo)
            daytime_socks = listening_tcp_inodes(daytime)
            self.assertEqual(len(echo_socks), 1, "one listening socket on the echo port")
            self.assertEqual(len(daytime_socks), 1)
            all_listening = listening_tcp_inodes()
            self.assertEqual(socket_inodes(pids["echo"]) & all_listening, echo_socks)
            self.assertEqual(socket_inodes(pids["daytime"]) & all_listening, daytime_socks)
            # The supervisor keeps every listener (so a respawn loses no connection) and the
            # control socket, which no worker may reach.
            self.assertLessEqual(echo_socks | daytime_socks, socket_inodes(supervisor))
            control = unix_socket_inode(portd.control_socket)
            self.assertIsNotNone(control, "control socket not in /proc/net/unix")
            self.assertIn(control, socket_inodes(supervisor))
            for pid in pids.values():
                self.assertNotIn(control, socket_inodes(pid))

            # And the workers really serve: real bytes from each.
            payload, got = echo_once(echo)
            self.assertEqual(got, payload)
            with connect(daytime) as s:
                self.assertRegex(recv_all(s), rb"^[A-Z][a-z]+day, .+\r\n$")


@unittest.skipUnless(os.geteuid() == 0, "privilege drop needs portd to run as root; "
                     "as non-root portd skips `user:` (run the suite as root to test it)")
class Privileges(unittest.TestCase):

    def test_user_nobody_runs_with_every_id_dropped(self):
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user 'nobody' on this system")
        group = grp.getgrgid(nobody.pw_gid).gr_name  # nogroup on Debian, nobody elsewhere
        a, b, c = free_ports(3)
        services = (inetd("grouped", a, "service: echo",
                          "  user: nobody\n  group: %s\n" % group) +
                    inetd("usered", b, "service: echo", "  user: nobody\n") +
                    inetd("rooted", c, "service: echo"))
        with PortdProcess(services) as portd:
            pids = single_workers(portd, ["grouped", "usered", "rooted"])
            for name in ("grouped", "usered"):
                status = proc_status(pids[name])
                # real, effective, saved and filesystem ids: none left at root.
                self.assertEqual(status["Uid"], [str(nobody.pw_uid)] * 4, name)
                self.assertEqual(status["Gid"], [str(nobody.pw_gid)] * 4, name)
                self.assertNotIn("0", status.get("Groups", []), name + ": kept root's group")
            rooted = proc_status(pids["rooted"])
            self.assertEqual(rooted["Uid"], ["0"] * 4)
            self.assertEqual(rooted["Gid"], ["0"] * 4)
            for port in (a, b, c):  # and each still serves after the drop
                payload, got = echo_once(port)
                self.assertEqual(got, payload)

    def test_unknown_user_is_a_startup_error_naming_it(self):
        port = free_ports(1)[0]
        code, err = run_to_exit(inetd("small", port, "service: echo",
                                      "  user: portd-no-such-user\n"))
        self.assertEqual(code, 1, err)
        self.assertIn("portd-no-such-user", err)
        self.assertIn("services.small.user", err)
        self.assertTrue(refused(port), "a port was opened although portd did not start")


class Respawn(unittest.TestCase):

    def test_killed_worker_is_respawned_and_no_connection_is_refused(self):
        echo, daytime = free_ports(2)
        services = inetd("echo", echo, "service: echo") + inetd("daytime", daytime,
                                                                 "service: daytime")
        with PortdProcess(services) as portd:
            pids = single_workers(portd, ["echo", "daytime"])
            os.kill(pids["echo"], signal.SIGKILL)
            # While no worker runs (about 1 s of backoff), the supervisor's listening socket
            # stays open, so the kernel completes handshakes and queues the connections: every
            # connect succeeds and the next worker answers them all. Connections are kept open
            # (not one at a time) so that many wait in the backlog together.
            pending = []
            failures = []
            in_gap = 0  # connections made while no echo worker existed at all
            started = time.monotonic()
            while time.monotonic() - started < 2.0 and len(pending) < 150:
                payload = b"%d:" % len(pending) + os.urandom(100)
                no_worker = not [p for p in portd.worker_pids().get("echo", [])
                                 if is_worker_alive(p)]
                try:
                    s = connect(echo, timeout=10)
                    s.sendall(payload)
                    pending.append((s, payload))
                    in_gap += no_worker
                except OSError as e:
                    failures.append(repr(e))
                time.sleep(0.01)
            deadline = time.monotonic() + 10  # for all the answers together, not each
            try:
                for s, payload in pending:
                    try:
                        s.settimeout(max(0.1, deadline - time.monotonic()))
                        got = recv_exactly(s, len(payload))
                        if got != payload:
                            failures.append("%r echoed as %r" % (payload[:8], got[:8]))
                    except OSError as e:
                        failures.append(repr(e))
            finally:
                for s, _ in pending:
                    s.close()
            self.assertEqual(failures, [], portd.stderr())
            self.assertGreater(in_gap, 0, "no connection was made while the worker was down")

            self.assertRegex(portd.stderr(), r"service echo: worker pid %d .*killed by signal 9"
                             % pids["echo"])
            fresh = new_worker(portd, "echo", [pids["echo"]])
            self.assertNotEqual(fresh, portd.proc.pid)
            self.assertFalse(is_worker_alive(pids["echo"]))
            payload, got = echo_once(echo)
            self.assertEqual(got, payload)
            # The other service never noticed.
            self.assertEqual(portd.worker_pids().get("daytime"), [pids["daytime"]])
            with connect(daytime) as s:
                self.assertTrue(recv_all(s).endswith(b"\r\n"))


    @unittest.skipUnless(os.geteuid() == 0, "runs portd as another user, whose process limit "
                         "the test may then lower and raise again")
    def test_worker_that_cannot_be_forked_is_tried_again(self):
        # The supervisor runs as a user out of processes (RLIMIT_NPROC; TasksMax does the same
        # to a systemd unit): fork fails. It must try again with the backoff, not leave the
        # service down until the next reload.
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user 'nobody' on this system")
        (port,) = free_ports(1)

        def limit_processes(pid, soft):
            """Sets the soft RLIMIT_NPROC of `pid`; returns the old one. By a process of portd's
            own user: root here may lack CAP_SYS_RESOURCE, which another user's limits take.
            The hard limit stays, so the soft one can go back."""
            as_nobody = dict(user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                             check=True, capture_output=True, text=True)
            old = subprocess.run(["prlimit", "--pid", str(pid), "--nproc", "--raw",
                                  "--noheadings", "--output=SOFT"], **as_nobody).stdout.strip()
            subprocess.run(["prlimit", "--pid", str(pid), "--nproc=%s:" % soft], **as_nobody)
            return old

        with PortdProcess(inetd("echo", port, "service: echo"), user=nobody) as portd:
            pids = single_workers(portd, ["echo"])
            old_limit = limit_processes(portd.proc.pid, 1)
            mark = portd.log_mark()
            os.kill(pids["echo"], signal.SIGKILL)
            self.assertTrue(portd.wait_for_log("service echo: cannot start a worker: fork", 10,
                                               since=mark), portd.stderr(mark))
            self.assertRegex(portd.stderr(mark), r"fork: .*; trying again in 2000 ms")
            limit_processes(portd.proc.pid, old_limit)
            fresh = new_worker(portd, "echo", [pids["echo"]])
            self.assertNotEqual(fresh, portd.proc.pid)
            payload, got = echo_once(port)
            self.assertEqual(got, payload)


class Reload(unittest.TestCase):

    def reload_by_signal(self, portd, expect="reloaded:"):
        mark = portd.log_mark()
        portd.signal(signal.SIGHUP)
        self.assertTrue(portd.wait_for_log(expect, 20, since=mark),
                        "no %r after SIGHUP:\n%s" % (expect, portd.stderr()))
        return mark

    def wait_retired(self, portd, name, pid, since):
        """The old worker drained and exited (logged, reaped, gone from /proc)."""
        self.assertTrue(portd.wait_for_log("service %s: worker pid %d draining" % (name, pid),
                                           10, since=since), portd.stderr())
        self.assertTrue(portd.wait_for_log("service %s: old worker pid %d finished" % (name, pid),
                                           15, since=since), portd.stderr())
        self.assertIsNotNone(wait_until(lambda: not is_worker_alive(pid), 5),
                             "old worker %d still runs" % pid)

    def test_unchanged_service_keeps_its_worker_changed_ones_are_replaced(self):
        kept, opts, threads = free_ports(3)

        def services(idle, n_threads):
            return (inetd("kept", kept, "service: echo") +
                    inetd("opts", opts, "service: echo, idle_timeout: %s" % idle) +
                    inetd("threads", threads, "service: echo", "  threads: %d\n" % n_threads))

        with PortdProcess(services("5m", 1)) as portd:
            before = single_workers(portd, ["kept", "opts", "threads"])
            old_threads = int(proc_status(before["threads"])["Threads"][0])
            portd.write_manifest(services("1s", 3))
            mark = self.reload_by_signal(portd)

            fresh = {n: new_worker(portd, n, [before[n]]) for n in ("opts", "threads")}
            for name in ("opts", "threads"):
                self.assertTrue(portd.wait_for_log(
                    "service %s: worker pid %d serving" % (name, fresh[name]), 10, since=mark),
                    portd.stderr())
                self.wait_retired(portd, name, before[name], mark)
            # The unchanged service was not touched at all.
            self.assertEqual(portd.worker_pids().get("kept"), [before["kept"]])

            for port in (kept, opts, threads):
                payload, got = echo_once(port, os.urandom(10000))
                self.assertEqual(got, payload)
            # The new workers run the new settings: three threads instead of one...
            self.assertGreater(int(proc_status(fresh["threads"])["Threads"][0]), old_threads)
            # ...and idle_timeout 1s instead of 5m.
            with connect(opts) as s:
                s.sendall(b"ping")
                self.assertEqual(recv_exactly(s, 4), b"ping")
                started = time.monotonic()
                self.assertEqual(recv_all(s), b"")
                self.assertLess(time.monotonic() - started, 5)

    def test_added_port_opens_and_removed_port_closes(self):
        stay, gone, added = free_ports(3)
        with PortdProcess(inetd("stay", stay, "service: echo") +
                          inetd("gone", gone, "service: echo")) as portd:
            before = single_workers(portd, ["stay", "gone"])
            portd.write_manifest(inetd("stay", stay, "service: echo") +
                                 inetd("added", added, "service: daytime"))
            mark = self.reload_by_signal(portd)

            # The new port is bound by the time the reload is logged: a connection made now is
            # queued and answered by the new worker.
            with connect(added) as s:
                self.assertRegex(recv_all(s), rb"^[A-Z][a-z]+day, .+\r\n$")
            self.assertIn("added", portd.worker_pids())
            # The removed service's worker drains and exits; then nothing holds its port.
            self.wait_retired(portd, "gone", before["gone"], mark)
            self.assertTrue(refused(gone), "port %d of a removed service still accepts" % gone)
            self.assertEqual(listening_tcp_inodes(gone), set())
            self.assertNotIn("gone", portd.worker_pids())
            self.assertEqual(portd.worker_pids().get("stay"), [before["stay"]])
            payload, got = echo_once(stay)
            self.assertEqual(got, payload)

    def test_invalid_manifest_is_refused_and_nothing_changes(self):
        a, b, extra = free_ports(3)
        good = inetd("a", a, "service: echo") + inetd("b", b, "service: chargen")
        with PortdProcess(good) as portd:
            before = single_workers(portd, ["a", "b"])
            with socket.socket() as holder:
                holder.bind(("127.0.0.1", 0))
                holder.listen()
                taken = holder.getsockname()[1]
                broken = {
                    # An unclosed flow sequence: a YAML syntax error.
                    "syntax error": (good.replace('["127.0.0.1:%d"]' % a, '["127.0.0.1:%d"' % a),
                                     [r"portd\.yaml:\d+:\d+"]),
                    # A typo of `threads`, and a service change that must not half-apply.
                    "unknown key": (good.replace("service: chargen", "service: echo") +
                                    "  thraeds: 2\n",
                                    [r"services\.b\.thraeds", r"did you mean 'threads'"]),
                    # A new service on a port someone else holds: the whole reload fails,
                    # including the other new service that could have started.
                    "port taken": (good + inetd("c", taken, "service: echo") +
                                   inetd("d", extra, "service: echo"),
                                   ["127.0.0.1:%d" % taken]),
                }
                for what, (text, needles) in broken.items():
                    with self.subTest(what):
                        portd.write_manifest(text)
                        mark = self.reload_by_signal(portd, expect="reload refused")
                        log = portd.stderr(since=mark)
                        for needle in needles:
                            self.assertRegex(log, needle)
                        self.assertNotIn("reloaded:", log)
                        self.assertEqual(portd.worker_pids(), {n: [p] for n, p in
                                                               before.items()})
                        payload, got = echo_once(a)
                        self.assertEqual(got, payload)
                        with connect(b) as s:  # still chargen, not the refused echo
                            self.assertEqual(recv_exactly(s, LINE), CHARGEN_CYCLE[:LINE])
                        self.assertTrue(refused(extra))
            # The refusals left the supervisor able to reload: the good manifest again keeps
            # every worker as it is.
            portd.write_manifest(good)
            self.reload_by_signal(portd)
            time.sleep(0.3)
            self.assertEqual(portd.worker_pids(), {n: [p] for n, p in before.items()})

    def test_chargen_stream_across_a_reload_ends_on_a_whole_cycle(self):
        # The service changes under a running stream: the old worker is told to drain, lets
        # the write in flight finish and closes. What the client got must be exact RFC 864 up
        # to a clean end (FIN, not a reset, never a torn line), so nothing was cut mid-write.
        port = free_ports(1)[0]
        with PortdProcess(inetd("chargen", port, "service: chargen")) as portd:
            old = single_workers(portd, ["chargen"])["chargen"]
            s = connect(port, timeout=20)
            reader = ChargenReader(s)
            reader.start()
            try:
                self.assertTrue(wait_until(lambda: reader.count >= 2 << 20 or
                                           not reader.is_alive(), 10))
                self.assertIsNone(reader.ended_by, "the stream ended before the reload")
                at_reload = reader.count
                portd.write_manifest(inetd("chargen", port,
                                           "service: chargen, idle_timeout: 4m"))
                mark = self.reload_by_signal(portd)
                new_worker(portd, "chargen", [old])
                self.wait_retired(portd, "chargen", old, mark)
                reader.join(20)
            finally:
                s.close()
            self.assertEqual(reader.ended_by, "eof")
            self.assertIsNone(reader.first_mismatch, "wrong byte at offset %s" %
                              reader.first_mismatch)
            self.assertGreater(reader.count, at_reload)
            self.assertEqual(reader.count % LINE, 0, "the stream ended inside a line")
            # The new worker serves the stream from its start.
            with connect(port) as s2:
                self.assertEqual(recv_exactly(s2, len(CHARGEN_CYCLE)), CHARGEN_CYCLE)

    def test_echo_transfer_across_a_reload_completes_byte_exact(self):
        # Draining means finishing what is in flight: an echo client in the middle of a few
        # MiB when its service is replaced must get every byte back, from the old worker.
        port = free_ports(1)[0]
        size, chunk = 4 << 20, 64 << 10
        payload = os.urandom(size)
        with PortdProcess(inetd("echo", port, "service: echo")) as portd:
            old = single_workers(portd, ["echo"])["echo"]
            s = connect(port, timeout=20)
            errors = []
            received = bytearray()

            def send():
                try:
                    for offset in range(0, size, chunk):
                        s.sendall(payload[offset:offset + chunk])
                        time.sleep(0.01)  # about 0.7 s in all, so the reload lands mid-way
                    s.shutdown(socket.SHUT_WR)
                except OSError as e:
                    errors.append("send: %r" % e)

            def receive():
                try:
                    while len(received) < size:
                        data = s.recv(65536)
                        if not data:
                            break
                        received.extend(data)
                except OSError as e:
                    errors.append("recv: %r" % e)

            sender = threading.Thread(target=send, daemon=True)
            receiver = threading.Thread(target=receive, daemon=True)
            sender.start()
            receiver.start()
            try:
                self.assertTrue(wait_until(lambda: len(received) >= 512 << 10, 10))
                portd.write_manifest(inetd("echo", port, "service: echo, idle_timeout: 4m"))
                mark = self.reload_by_signal(portd)
                sender.join(20)
                receiver.join(20)
            finally:
                s.close()
            self.assertEqual(len(received), size, "echo stopped after %d of %d bytes (%s):\n%s"
                             % (len(received), size, errors, portd.stderr(since=mark)))
            self.assertEqual(errors, [], portd.stderr(since=mark))
            self.assertTrue(bytes(received) == payload, "echo differs")
            self.wait_retired(portd, "echo", old, mark)


class Stop(unittest.TestCase):

    def test_sigterm_waits_for_an_open_echo_connection(self):
        # shutdown_timeout is long, so an exit before the client closes is not the deadline.
        port = free_ports(1)[0]
        with PortdProcess(inetd("echo", port, "service: echo"),
                          settings="shutdown_timeout: 20s") as portd:
            workers = single_workers(portd, ["echo"])
            with connect(port) as s:
                s.sendall(b"before")
                self.assertEqual(recv_exactly(s, 6), b"before")
                portd.signal(signal.SIGTERM)
                self.assertTrue(portd.wait_for_log("stopping", 5), portd.stderr())
                # The connection is still served after SIGTERM, for as long as it lasts.
                for word in (b"after SIGTERM", b"still here"):
                    time.sleep(0.5)
                    s.sendall(word)
                    self.assertEqual(recv_exactly(s, len(word)), word,
                                     "echo connection ended by SIGTERM:\n" + portd.stderr())
                self.assertIsNone(portd.proc.poll(), "portd exited with a connection open")
                # The client leaves: now portd ends promptly, with success.
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(recv_all(s), b"")
            closed = time.monotonic()
            self.assertEqual(portd.proc.wait(10), 0, portd.stderr())
            self.assertLess(time.monotonic() - closed, 5)
            self.assertIsNotNone(wait_until(
                lambda: not any(is_worker_alive(p) for p in workers.values()), 3),
                "a worker outlived portd: %r" % workers)

    def test_connection_past_shutdown_timeout_does_not_hold_the_exit(self):
        echo, chargen = free_ports(2)
        with PortdProcess(inetd("echo", echo, "service: echo") +
                          inetd("chargen", chargen, "service: chargen"),
                          settings="shutdown_timeout: 1s") as portd:
            workers = single_workers(portd, ["echo", "chargen"])
            held = connect(echo)
            # A chargen client that never reads: the server's write in flight cannot complete,
            # so draining alone would never end this connection; only shutdown_timeout does.
            stalled = socket.socket()
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.settimeout(10)
            stalled.connect(("127.0.0.1", chargen))
            try:
                held.sendall(b"x")
                self.assertEqual(recv_exactly(held, 1), b"x")
                time.sleep(0.5)  # let the stalled connection's buffers fill
                started = time.monotonic()
                portd.signal(signal.SIGTERM)
                self.assertEqual(portd.proc.wait(10), 0, portd.stderr())
                elapsed = time.monotonic() - started
                # 1s of drain plus the supervisor's grace; never the 10 s we would wait.
                self.assertLess(elapsed, 6, portd.stderr())
                self.assertGreater(elapsed, 0.8, "did not wait for the stalled connection")
                # The held connection was closed, not left to a process that outlived portd.
                held.settimeout(5)
                try:
                    self.assertEqual(recv_all(held), b"")
                except ConnectionResetError:
                    pass  # closed with a reset: closed all the same
            finally:
                held.close()
                stalled.close()
            self.assertIsNotNone(wait_until(
                lambda: not any(is_worker_alive(p) for p in workers.values()), 3),
                "workers left after portd exited: %r" % workers)


@unittest.skipUnless(PORTCTL_BIN, "PORTCTL_BIN not set")
class Portctl(unittest.TestCase):

    def test_status_shows_the_real_workers_restarts_and_counts(self):
        echo, daytime = free_ports(2)
        with PortdProcess(inetd("echo", echo, "service: echo") +
                          inetd("daytime", daytime, "service: daytime")) as portd:
            pids = single_workers(portd, ["echo", "daytime"])
            rows, out = status_rows(portd.control_socket)
            self.assertEqual(set(rows), {"echo", "daytime"}, out)
            for name, port in (("echo", echo), ("daytime", daytime)):
                self.assertEqual(rows[name]["MODULE"], "inetd", out)
                self.assertEqual(rows[name]["PID"], str(pids[name]), out)
                self.assertEqual(rows[name]["RESTARTS"], "0", out)
                self.assertEqual(rows[name]["LISTEN"], "127.0.0.1:%d" % port, out)
                self.assertEqual(rows[name]["ACCEPTED"], "0", out)

            for _ in range(5):
                payload, got = echo_once(echo)
                self.assertEqual(got, payload)
            for _ in range(3):
                with connect(daytime) as s:
                    self.assertTrue(recv_all(s).endswith(b"\r\n"))
            held = connect(echo)
            try:
                held.sendall(b"open")
                self.assertEqual(recv_exactly(held, 4), b"open")
                # The five closed connections leave OPEN as soon as the worker sees them end.
                def one_open():
                    rows, out = status_rows(portd.control_socket)
                    return (rows, out) if rows["echo"]["OPEN"] == "1" else None

                rows, out = wait_until(one_open, 5) or status_rows(portd.control_socket)
                self.assertEqual(rows["echo"]["OPEN"], "1", out)
                self.assertEqual(rows["echo"]["ACCEPTED"], "6", out)
                self.assertEqual(rows["daytime"]["ACCEPTED"], "3", out)
            finally:
                held.close()

            # A crash: the new pid, one restart, and the dead worker's count is not lost.
            os.kill(pids["echo"], signal.SIGKILL)
            fresh = new_worker(portd, "echo", [pids["echo"]])
            self.assertTrue(portd.wait_for_log("service echo: worker pid %d serving" % fresh))
            for _ in range(2):
                payload, got = echo_once(echo)
                self.assertEqual(got, payload)
            rows, out = status_rows(portd.control_socket)
            self.assertEqual(rows["echo"]["PID"], str(fresh), out)
            self.assertEqual(rows["echo"]["RESTARTS"], "1", out)
            self.assertEqual(rows["echo"]["ACCEPTED"], "8", out)
            self.assertEqual(rows["daytime"]["PID"], str(pids["daytime"]), out)
            self.assertEqual(rows["daytime"]["RESTARTS"], "0", out)

    def test_status_columns_stay_apart_for_a_long_service_name(self):
        # Service names are free text; one longer than the SERVICE column must not run into
        # MODULE, or the line can no longer be read (by eye or by a script).
        port = free_ports(1)[0]
        name = "archive-mirror-echo"
        with PortdProcess(inetd(name, port, "service: echo")) as portd:
            pid = single_workers(portd, [name])[name]
            rows, out = status_rows(portd.control_socket)
            self.assertIn(name, rows, out)
            self.assertEqual(rows[name]["MODULE"], "inetd", out)
            self.assertEqual(rows[name]["PID"], str(pid), out)
            self.assertEqual(rows[name]["LISTEN"], "127.0.0.1:%d" % port, out)

    def test_ports_prints_the_port_table(self):
        echo, chargen = free_ports(2)
        with PortdProcess(inetd("echo", echo, "service: echo") +
                          inetd("chargen", chargen, "service: chargen")) as portd:
            # The socket named by the environment, as an operator's shell would.
            code, out, err = portctl("ports", env={"PORTD_CONTROL_SOCKET":
                                                   portd.control_socket})
            self.assertEqual(code, EXIT_OK, err)
            rows = {row["PORT"]: row for row in parse_table(out)}
            for port, name in ((echo, "echo"), (chargen, "chargen")):
                row = rows.get(str(port))
                self.assertIsNotNone(row, out)
                self.assertEqual(row["PROTO"], "tcp", out)
                self.assertEqual(row["ADDRESS"], "127.0.0.1", out)
                self.assertEqual(row["SERVICE"], name, out)
                self.assertEqual(row["MODULE"], "inetd", out)
                self.assertEqual(row["RANGE"], "registered" if port < 49152 else "dynamic", out)

    def test_reload_applies_a_good_manifest_and_refuses_a_broken_one(self):
        echo, added = free_ports(2)
        with PortdProcess(inetd("echo", echo, "service: echo")) as portd:
            before = single_workers(portd, ["echo"])
            portd.write_manifest(inetd("echo", echo, "service: echo") +
                                 inetd("added", added, "service: echo"))
            code, out, err = portctl("reload", socket_path=portd.control_socket)
            self.assertEqual(code, EXIT_OK, out + err)
            self.assertIn("reloaded", out)
            payload, got = echo_once(added)
            self.assertEqual(got, payload)
            rows, status = status_rows(portd.control_socket)
            self.assertEqual(rows["added"]["LISTEN"], "127.0.0.1:%d" % added, status)
            after = single_workers(portd, ["echo", "added"])
            self.assertEqual(after["echo"], before["echo"])

            portd.write_manifest(inetd("echo", echo, "service: echo", "  thraeds: 2\n"))
            code, out, err = portctl("reload", socket_path=portd.control_socket)
            self.assertEqual(code, EXIT_FAILED, out + err)
            self.assertIn("services.echo.thraeds", out + err)  # the errors themselves
            self.assertIn("reload refused", err)
            # Nothing changed: the service the broken manifest dropped still runs and serves.
            self.assertEqual(portd.worker_pids(), {n: [p] for n, p in after.items()})
            payload, got = echo_once(added)
            self.assertEqual(got, payload)

    def test_control_socket_is_private_to_root(self):
        with PortdProcess(inetd("echo", free_ports(1)[0], "service: echo")) as portd:
            info = os.stat(portd.control_socket)
            self.assertTrue(stat.S_ISSOCK(info.st_mode))
            self.assertEqual(stat.S_IMODE(info.st_mode), 0o600)
            self.assertEqual(info.st_uid, os.geteuid())
            code, out, err = portctl("status", socket_path=portd.control_socket)
            self.assertEqual(code, EXIT_OK, err)

            if os.geteuid() != 0 or not shutil.which("setpriv"):
                self.skipTest("needs root and setpriv to run portctl as another user")
            # Let anyone reach the directory, so that it is the socket's own mode that says no.
            os.chmod(portd.dir.name, 0o711)
            code, out, err = portctl("--version", prefix=SETPRIV_NOBODY)
            if code != 0:
                self.skipTest("portctl cannot run as nobody here: %s" % err.strip())
            code, out, err = portctl("status", socket_path=portd.control_socket,
                                     prefix=SETPRIV_NOBODY)
            self.assertEqual(code, EXIT_PERMISSION, out + err)
            self.assertIn("permission denied", err)
            self.assertEqual(out, "")

    def test_nothing_listening_exits_3(self):
        with tempfile.TemporaryDirectory(prefix="portd-test-") as d:
            missing = os.path.join(d, "control.sock")
            code, out, err = portctl("status", socket_path=missing)
            self.assertEqual(code, EXIT_NOT_RUNNING, out + err)
            self.assertIn("not running", err)
            self.assertIn(missing, err)
            # A socket file left behind by a portd that is gone: connection refused, same answer.
            stale = os.path.join(d, "stale.sock")
            left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            left.bind(stale)
            left.close()
            code, out, err = portctl("status", socket_path=stale)
            self.assertEqual(code, EXIT_NOT_RUNNING, out + err)
            self.assertIn("not running", err)


if __name__ == "__main__":
    unittest.main()
