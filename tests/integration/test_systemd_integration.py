"""portd and systemd, seen from systemd's side of each interface.

- sd_notify: a test-owned NOTIFY_SOCKET collects what portd tells its service manager
  (READY, RELOADING, STOPPING, STATUS, WATCHDOG) and who sent it (SCM_CREDENTIALS).
- socket activation: Debian's systemd-socket-activate opens the listeners and execs portd with
  LISTEN_FDS / LISTEN_FDNAMES, as systemd does for portd.socket.
- the journal: portd's records go to /run/systemd/journal/socket; in a private mount namespace
  that path is this test's own datagram socket, so the native journal protocol can be read
  without a journald (none runs in a build container).

Each interface is what `systemctl` and `journalctl` rely on, and none of them shows in portd's
stderr, so a regression here would go unnoticed by the other integration tests.
"""

import collections
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from portd_harness import (PORTD_BIN, connect, free_port, free_ports, manifest_text, recv_all,
                           recv_exactly)

SOCKET_ACTIVATE = "/usr/bin/systemd-socket-activate"
JOURNAL_SOCKET = "/run/systemd/journal/socket"

# What a service manager may have put into this test's own environment; portd must see only
# what each test gives it, or a CI job running under systemd would change the results.
SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                     "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in SYSTEMD_VARIABLES}
    env.update(extra)
    return env


def monotonic_usec():
    # CLOCK_MONOTONIC is one clock for every process, so portd's MONOTONIC_USEC= compares with it.
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1_000_000)


def echo_service(name, listen):
    return '{}:\n  module: inetd\n  listen: ["{}"]\n  options: {{service: echo}}\n'.format(
        name, listen)


def http_service(name, listen, root):
    return '{}:\n  module: http\n  listen: ["{}"]\n  options: {{root: "{}"}}\n'.format(
        name, listen, root)


def write_manifest(directory, services, settings=""):
    """The manifest file in `directory`, with its own control socket (never /run/portd's)."""
    path = os.path.join(directory, "portd.yaml")
    with open(path, "w") as f:
        f.write(manifest_text(services, "control_socket: {}\n{}".format(
            os.path.join(directory, "control.sock"), settings)))
    return path


def echo_round_trip(test, port, payload, timeout=2.0):
    with connect(port, timeout=timeout) as s:
        s.sendall(payload)
        test.assertEqual(recv_exactly(s, len(payload)), payload)
        return s.getsockname()[1]


def http_get(test, port, path, body, timeout=2.0):
    """GET `path` with Connection: close; returns the client's own port (for log fields)."""
    with connect(port, timeout=timeout) as s:
        s.sendall("GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".format(
            path).encode())
        response = recv_all(s)
        test.assertTrue(response.startswith(b"HTTP/1.1 200"), response[:200])
        test.assertTrue(response.endswith(body), response[-200:])
        return s.getsockname()[1]


# -- a datagram socket that records who sent what ------------------------------------------------

Datagram = collections.namedtuple("Datagram", "time pid fields")


def parse_notify(data):
    """sd_notify's "KEY=VALUE\\n..." as a dict."""
    fields = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if line:
            key, _, value = line.partition("=")
            fields[key] = value
    return fields


def parse_journal(data):
    """The journal's native protocol: "KEY=VALUE\\n", or for values that may hold newlines
    "KEY\\n" + 64-bit little-endian length + value + "\\n". A repeated key keeps its last value.
    """
    fields = {}
    i = 0
    while i < len(data):
        end = data.index(b"\n", i)
        line = data[i:end]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = end + 1
        else:
            key = line
            (length,) = struct.unpack("<Q", data[end + 1:end + 9])
            value = data[end + 9:end + 9 + length]
            i = end + 9 + length + 1
        fields[key.decode()] = value.decode("utf-8", "replace")
    return fields


class DatagramSink:
    """An AF_UNIX datagram socket at `path`; a thread records each datagram with its sender's pid.

    SO_PASSCRED makes the kernel attach the sending process's pid to every datagram, whatever
    the sender claims, which is how systemd itself tells the main process from its children.
    A datagram too large for the socket may come as a memfd (SCM_RIGHTS) holding the payload,
    as libsystemd's sd_journal_sendv() does: the memfd's content is read instead.
    """

    def __init__(self, path, parse):
        self.path = path
        self._parse = parse
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(path)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.settimeout(0.05)
        self._items = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        ancillary = socket.CMSG_SPACE(struct.calcsize("iII")) + socket.CMSG_SPACE(
            16 * struct.calcsize("i"))
        while not self._stop.is_set():
            try:
                data, anc, _, _ = self._sock.recvmsg(1 << 20, ancillary)
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level != socket.SOL_SOCKET:
                    continue
                if kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:struct.calcsize("iII")])[0]
                elif kind == socket.SCM_RIGHTS:
                    count = len(payload) // struct.calcsize("i")
                    for fd in struct.unpack("%di" % count, payload[:count * 4]):
                        try:
                            data += os.pread(fd, 1 << 24, 0)
                        finally:
                            os.close(fd)
            try:
                fields = self._parse(data)
            except (ValueError, struct.error):
                fields = {"_UNPARSED": repr(data)}
            with self._lock:
                self._items.append(Datagram(time.monotonic(), pid, fields))

    def items(self):
        with self._lock:
            return list(self._items)

    def wait_for(self, predicate, timeout, start=0):
        """Index of the first datagram from `start` on that satisfies `predicate`, or None."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.items()
            for i in range(start, len(items)):
                if predicate(items[i]):
                    return i
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def settle(self, quiet=0.2, timeout=2.0):
        """Waits until nothing arrived for `quiet` seconds (what was queued has been read)."""
        deadline = time.monotonic() + timeout
        count = -1
        while time.monotonic() < deadline:
            now = len(self.items())
            if now == count:
                return
            count = now
            time.sleep(quiet)

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


# -- a process (portd, or something that execs it) with its stderr collected --------------------

class Launched:
    """Runs `argv` with exactly `env`; stopped by its own pid only."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self.pid = self.proc.pid
        self._lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            with self._lock:
                self._lines.append(raw.decode("utf-8", "replace"))

    def stderr(self):
        with self._lock:
            return "".join(self._lines)

    def wait_for_log(self, pattern, timeout=20.0):
        """The first match of regex `pattern` in stderr, or None (also once the process ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.stderr())
            if match:
                return match
            if self.proc.poll() is not None:
                self._reader.join(2)
                return re.search(pattern, self.stderr())
            time.sleep(0.02)
        return None

    def wait(self, timeout=20.0):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("still running after {}s:\n{}".format(timeout, self.stderr()))
        self._reader.join(2)
        return code

    def stop(self, timeout=20.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # Gracefully if still running (a failed test), so that its workers go too.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self._reader.join(2)
        self.proc.stderr.close()
        return False


def portd_argv(manifest):
    # Absolute: systemd-socket-activate does not exec a relative path (EACCES).
    return [os.path.abspath(PORTD_BIN), "--foreground", "-c", manifest]


# -- sd_notify ------------------------------------------------------------------------------------

def is_state(key):
    return lambda d: d.fields.get(key) == "1"


SERVING = re.compile(r"^(\d+)/(\d+) services serving, \d+ ports?, \d+ open connections?$")


class SdNotify(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="portd-test-")
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.sink = DatagramSink(os.path.join(self.dir, "notify.sock"), parse_notify)
        self.addCleanup(self.sink.close)
        self.root = os.path.join(self.dir, "www")
        os.mkdir(self.root)
        with open(os.path.join(self.root, "hello.txt"), "wb") as f:
            f.write(b"hello from portd\n")

    def start(self, services, **env):
        portd = Launched(portd_argv(write_manifest(self.dir, services)),
                         clean_env(NOTIFY_SOCKET=self.sink.path, **env))
        self.addCleanup(portd.__exit__)
        return portd

    def wait_ready(self, portd, start=0):
        i = self.sink.wait_for(is_state("READY"), 20, start)
        if i is None:
            self.fail("no READY=1 within 20s; got {}\n{}".format(self.sink.items(),
                                                                 portd.stderr()))
        return i

    def assert_all_serving(self, datagram, count):
        status = datagram.fields.get("STATUS", "")
        match = SERVING.match(status)
        self.assertIsNotNone(match, "READY=1 without a STATUS= summary: %r" % (datagram,))
        self.assertEqual((int(match.group(1)), int(match.group(2))), (count, count), status)

    def test_ready_reload_and_stopping_in_order_and_only_from_the_supervisor(self):
        echo_port, web_port = free_ports(2)
        portd = self.start(echo_service("echo", "127.0.0.1:%d" % echo_port) +
                           http_service("web", "127.0.0.1:%d" % web_port, self.root))
        ready = self.wait_ready(portd)
        # Right after READY=1 each port answers. (The listeners are open before any worker
        # starts, so a connection would wait in the backlog and succeed anyway: what proves the
        # order is the supervisor's own count in STATUS=, checked below.)
        echo_round_trip(self, echo_port, b"ready means serving")
        http_get(self, web_port, "/hello.txt", b"hello from portd\n")
        items = self.sink.items()
        self.assertEqual([d for d in items[:ready] if "READY" in d.fields], [])
        self.assert_all_serving(items[ready], 2)
        # The supervisor's own account agrees: every worker said "serving" before "portd ready".
        self.assertIsNotNone(portd.wait_for_log(r"portd ready"), portd.stderr())
        log = portd.stderr()
        ready_at = log.index("portd ready")
        for name in ("echo", "web"):
            match = re.search(r"service %s: worker pid \d+ serving" % name, log)
            self.assertIsNotNone(match, log)
            self.assertLess(match.start(), ready_at, log)

        # Reload: RELOADING=1 with the time it began (systemd >= 253 requires it), then READY=1.
        before = monotonic_usec()
        portd.proc.send_signal(signal.SIGHUP)
        reloading = self.sink.wait_for(is_state("RELOADING"), 10, ready + 1)
        self.assertIsNotNone(reloading, "no RELOADING=1 after SIGHUP: %r" % self.sink.items())
        ready_again = self.sink.wait_for(is_state("READY"), 10, reloading + 1)
        self.assertIsNotNone(ready_again, "no READY=1 after RELOADING=1: %r" % self.sink.items())
        after = monotonic_usec()
        items = self.sink.items()
        stamp = items[reloading].fields.get("MONOTONIC_USEC", "")
        self.assertRegex(stamp, r"^\d+$", items[reloading])
        self.assertTrue(before <= int(stamp) <= after, (before, stamp, after))
        self.assert_all_serving(items[ready_again], 2)
        echo_round_trip(self, echo_port, b"after reload")

        # Stop: STOPPING=1 as the stop begins, and the supervisor exits cleanly after it.
        portd.proc.send_signal(signal.SIGTERM)
        stopping = self.sink.wait_for(is_state("STOPPING"), 10, ready_again + 1)
        self.assertIsNotNone(stopping, "no STOPPING=1 after SIGTERM: %r" % self.sink.items())
        self.assertEqual(portd.wait(20), 0, portd.stderr())
        self.sink.settle()

        items = self.sink.items()
        states = [key for d in items for key in ("READY", "RELOADING", "STOPPING")
                  if d.fields.get(key) == "1"]
        self.assertEqual(states, ["READY", "RELOADING", "READY", "STOPPING"], items)
        # Only the main process speaks for the service: systemd would reject (or worse, believe)
        # a worker's message. The workers existed all along, so they had every chance to.
        self.assertEqual({d.pid for d in items}, {portd.pid}, items)
        # Nobody asked for a watchdog here.
        self.assertEqual([d for d in items if "WATCHDOG" in d.fields], [])

    def test_ready_after_a_reload_waits_for_the_added_service(self):
        # READY=1 ends a reload for systemd (`systemctl reload` returns on it with
        # Type=notify-reload): the set it reports must be the new one, serving.
        first, added = free_ports(2)
        portd = self.start(echo_service("first", "127.0.0.1:%d" % first))
        ready = self.wait_ready(portd)
        write_manifest(self.dir, echo_service("first", "127.0.0.1:%d" % first) +
                       echo_service("added", "127.0.0.1:%d" % added))
        portd.proc.send_signal(signal.SIGHUP)
        reloading = self.sink.wait_for(is_state("RELOADING"), 10, ready + 1)
        self.assertIsNotNone(reloading, "no RELOADING=1 after SIGHUP: %r" % self.sink.items())
        ready_again = self.sink.wait_for(is_state("READY"), 10, reloading + 1)
        self.assertIsNotNone(ready_again, "no READY=1 after RELOADING=1: %r" % self.sink.items())
        echo_round_trip(self, added, b"the added service")
        self.assert_all_serving(self.sink.items()[ready_again], 2)

    def test_watchdog_pings_while_systemd_watches(self):
        # WatchdogSec=400ms: systemd expects WATCHDOG=1 at least every 400 ms; portd pings at
        # half that. WATCHDOG_PID unset means "this process" (sd_watchdog_enabled(3)).
        port = free_port()
        portd = self.start(echo_service("echo", "127.0.0.1:%d" % port), WATCHDOG_USEC="400000")
        ready = self.wait_ready(portd)
        since = self.sink.items()[ready].time
        time.sleep(1.5)
        pings = [d for d in self.sink.items()
                 if d.fields.get("WATCHDOG") == "1" and since < d.time <= since + 1.5]
        self.assertGreaterEqual(len(pings), 3, self.sink.items())
        # Half the interval gives ~7; many more would be a busy loop.
        self.assertLessEqual(len(pings), 15, self.sink.items())
        self.assertEqual({d.pid for d in self.sink.items()}, {portd.pid})
        self.assertEqual(portd.stop(), 0, portd.stderr())

    def test_no_watchdog_when_systemd_watches_another_process(self):
        # WATCHDOG_PID names the process systemd watches; pings from any other are ignored.
        port = free_port()
        portd = self.start(echo_service("echo", "127.0.0.1:%d" % port), WATCHDOG_USEC="400000",
                           WATCHDOG_PID="1")
        self.wait_ready(portd)
        time.sleep(0.6)
        self.assertEqual([d for d in self.sink.items() if "WATCHDOG" in d.fields], [])
        self.assertEqual(portd.stop(), 0, portd.stderr())

    def test_a_manifest_that_fails_to_start_sends_no_ready(self):
        good = free_port()
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            taken = holder.getsockname()[1]
            portd = self.start(echo_service("good", "127.0.0.1:%d" % good) +
                               echo_service("bad", "127.0.0.1:%d" % taken))
            self.assertEqual(portd.wait(30), 1, portd.stderr())
        self.assertIn("already in use", portd.stderr())
        self.sink.settle()
        # systemd would report the unit started, with nothing serving.
        self.assertEqual([d for d in self.sink.items() if "READY" in d.fields], [])


# -- socket activation ----------------------------------------------------------------------------

def socket_inode(pid, fd):
    """The inode of socket `fd` of process `pid` ("socket:[INODE]" in /proc)."""
    link = os.readlink("/proc/%d/fd/%d" % (pid, fd))
    match = re.fullmatch(r"socket:\[(\d+)\]", link)
    return int(match.group(1)) if match else None


def socket_inodes(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            inode = socket_inode(pid, int(fd))
        except OSError:
            continue  # closed meanwhile
        if inode is not None:
            inodes.add(inode)
    return inodes


def listening_inodes(port):
    """Inodes of the TCP/IPv4 sockets listening on `port`, from /proc/net/tcp."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            local, state, inode = cols[1], cols[3], int(cols[9])
            if state == "0A" and int(local.split(":")[1], 16) == port:
                inodes.add(inode)
    return inodes


@unittest.skipUnless(os.access(SOCKET_ACTIVATE, os.X_OK),
                     SOCKET_ACTIVATE + " is missing (Debian package systemd)")
class SocketActivation(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="portd-test-")
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name

    def activate(self, services, sockets):
        """systemd-socket-activate with one listener per (port, name), then portd.

        It execs portd (same pid) once the first connection arrives, as a socket unit starts
        its service; only the variables given with -E reach portd. Returns the process and
        {name: (fd number, socket inode)} as they were before the exec.
        """
        manifest = write_manifest(self.dir, services)
        argv = [SOCKET_ACTIVATE]
        for port, _ in sockets:
            argv += ["-l", "127.0.0.1:%d" % port]
        argv += ["--fdname=" + ":".join(name for _, name in sockets), "--"] + portd_argv(manifest)
        proc = Launched(argv, clean_env())
        self.addCleanup(proc.__exit__)
        fds = {}
        for port, name in sockets:
            match = proc.wait_for_log(r"Listening on 127\.0\.0\.1:%d as (\d+)\." % port, 10)
            self.assertIsNotNone(match, proc.stderr())
            fd = int(match.group(1))
            fds[name] = (fd, socket_inode(proc.pid, fd))
        return proc, fds

    def test_named_and_address_sockets_are_adopted_and_serve(self):
        web, plain = free_ports(2)
        # "web" is found by its name; the other by its address, whatever systemd named it.
        services = (echo_service("web", "systemd:web") +
                    echo_service("plain", "127.0.0.1:%d" % plain))
        proc, fds = self.activate(services, [(web, "web"), (plain, "by-address")])

        # This connection waits in the inherited socket's backlog while portd starts: served
        # through the adopted socket, it is not lost (what a restart under activation needs).
        early = connect(plain, timeout=20)
        self.addCleanup(early.close)
        queued = b"queued before portd ran"
        early.sendall(queued)
        self.assertIsNotNone(proc.wait_for_log(r"portd ready"), proc.stderr())
        self.assertEqual(recv_exactly(early, len(queued)), queued)
        echo_round_trip(self, web, b"through systemd:web")
        echo_round_trip(self, plain, b"through the adopted address")

        log = proc.stderr()
        self.assertIn("listening on systemd:web for web (socket from systemd)", log)
        self.assertIn("listening on 127.0.0.1:%d for plain (socket from systemd)" % plain, log)
        self.assertNotIn("no service listens on", log)
        # The very sockets systemd made: the supervisor holds them, and nothing else listens on
        # those ports (a second bind of the address would have failed or shown up here).
        held = socket_inodes(proc.pid)
        for name, port in (("web", web), ("by-address", plain)):
            inode = fds[name][1]
            self.assertIn(inode, held, (name, fds, held))
            self.assertEqual(listening_inodes(port), {inode}, name)
        self.assertEqual(proc.stop(), 0, proc.stderr())

    def test_an_inherited_socket_no_service_uses_is_reported_and_closed(self):
        web, spare = free_ports(2)
        proc, fds = self.activate(echo_service("web", "systemd:web"),
                                  [(web, "web"), (spare, "spare")])
        with connect(web, timeout=20) as trigger:
            trigger.sendall(b"x")
            self.assertIsNotNone(proc.wait_for_log(r"portd ready"), proc.stderr())
            self.assertEqual(recv_exactly(trigger, 1), b"x")
        self.assertRegex(proc.stderr(), r"systemd passed a socket named 'spare' \(fd %d\) that "
                                        r"no service listens on" % fds["spare"][0])
        # Closed, not left to queue connections nobody will ever accept.
        self.assertNotIn(fds["spare"][1], socket_inodes(proc.pid))
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", spare), timeout=2).close()
        self.assertEqual(proc.stop(), 0, proc.stderr())

    def test_systemd_name_without_such_a_socket_is_a_startup_error(self):
        expected = (r"portd\.yaml:\d+:\d+: services\.web\.listen\[0\]: systemd:web: systemd "
                    r"passed no socket named 'web'; add ListenStream= with "
                    r"FileDescriptorName=web")
        with self.subTest("activated with another name"):
            other = free_port()
            proc, _ = self.activate(echo_service("web", "systemd:web"), [(other, "other")])
            with connect(other, timeout=20):
                self.assertEqual(proc.wait(30), 1, proc.stderr())
            self.assertRegex(proc.stderr(), expected)
            self.assertNotIn("portd ready", proc.stderr())
        with self.subTest("run by hand, without socket activation"):
            with Launched(portd_argv(write_manifest(self.dir, echo_service("web", "systemd:web"))),
                          clean_env()) as proc:
                self.assertEqual(proc.wait(30), 1, proc.stderr())
                self.assertRegex(proc.stderr(), expected)


# -- the journal ----------------------------------------------------------------------------------

# Runs in a new mount namespace: puts the directory $1 (holding this test's socket, named
# "socket") at /run/systemd/journal, then execs the rest of the arguments. A tmpfs is mounted
# where the path is missing, so nothing is created on the host's /run.
IN_PRIVATE_JOURNAL = """set -e
dir=$1; shift
if [ ! -d /run/systemd/journal ]; then
  if [ -d /run/systemd ]; then mount -t tmpfs portd-test /run/systemd
  else mount -t tmpfs portd-test /run
  fi
  mkdir -p /run/systemd/journal
fi
mount --bind "$dir" /run/systemd/journal
exec "$@"
"""


def private_journal_works():
    """Whether IN_PRIVATE_JOURNAL can run here (root, util-linux, mounts allowed)."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("mount"):
        return False
    with tempfile.TemporaryDirectory(prefix="portd-test-") as d:
        try:
            return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                   IN_PRIVATE_JOURNAL, "sh", d, "true"],
                                  capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


class Journal(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not private_journal_works():
            raise unittest.SkipTest("needs root and `unshare --mount` with mount(8) allowed, to "
                                    "give portd a private " + JOURNAL_SOCKET)

    def test_records_carry_their_service_and_connection_fields(self):
        tmp = tempfile.TemporaryDirectory(prefix="portd-test-")
        self.addCleanup(tmp.cleanup)
        journal_dir = os.path.join(tmp.name, "journal")
        os.mkdir(journal_dir)
        sink = DatagramSink(os.path.join(journal_dir, "socket"), parse_journal)
        self.addCleanup(sink.close)
        root = os.path.join(tmp.name, "www")
        os.mkdir(root)
        with open(os.path.join(root, "hello.txt"), "wb") as f:
            f.write(b"hello journal\n")
        echo_port, web_port, shut_port = free_ports(3)
        # debug: inetd logs its per-connection "close" event at debug level.
        shut = echo_service("shut", "127.0.0.1:%d" % shut_port) + "  deny: [127.0.0.1/32]\n"
        manifest = write_manifest(tmp.name,
                                  echo_service("echo", "127.0.0.1:%d" % echo_port) +
                                  http_service("web", "127.0.0.1:%d" % web_port, root) + shut,
                                  "log: {level: debug, target: journal}\n")
        portd = Launched(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          IN_PRIVATE_JOURNAL, "sh", journal_dir] + portd_argv(manifest),
                         clean_env())
        self.addCleanup(portd.__exit__)

        def message(pattern):
            return lambda d: re.search(pattern, d.fields.get("MESSAGE", "")) is not None

        if sink.wait_for(message(r"^portd ready"), 20) is None:
            self.fail("no \"portd ready\" record within 20s; records: {}\nstderr:\n{}".format(
                sink.items(), portd.stderr()))
        echo_client = echo_round_trip(self, echo_port, b"journal me")
        web_client = http_get(self, web_port, "/hello.txt", b"hello journal\n")

        def event(name, client):
            return lambda d: (d.fields.get("PORTD_EVENT") == name and
                              d.fields.get("REMOTE_PORT") == str(client))

        # A connection the deny list excludes: closed by portd itself, and said so as an event.
        with socket.create_connection(("127.0.0.1", shut_port), timeout=5) as s:
            shut_client = s.getsockname()[1]
            try:
                self.assertEqual(s.recv(10), b"")
            except ConnectionResetError:
                pass

        close = sink.wait_for(event("close", echo_client), 10)
        request = sink.wait_for(event("request", web_client), 10)
        deny = sink.wait_for(event("deny", shut_client), 10)
        self.assertEqual(portd.stop(), 0, portd.stderr())
        sink.settle()
        records = sink.items()
        self.assertIsNotNone(close, records)
        self.assertIsNotNone(request, records)
        self.assertIsNotNone(deny, records)

        # The supervisor's own records: plain MESSAGE and PRIORITY, no service of their own.
        # (unshare and sh exec, so portd keeps the pid this test started.)
        supervisor = [d.fields for d in records if d.pid == portd.pid]
        self.assertTrue(any(r.get("MESSAGE", "").startswith("portd ready") for r in supervisor),
                        records)
        for r in supervisor:
            self.assertRegex(r.get("PRIORITY", ""), r"^[0-7]$", r)
            self.assertTrue(r.get("MESSAGE"), r)
            self.assertNotIn("PORTD_SERVICE", r)
            self.assertNotIn("PORTD_MODULE", r)
            # The journal stamps time and level itself: a stderr-formatted line would repeat them.
            self.assertNotRegex(r["MESSAGE"], r"^\d{4}-\d\d-\d\d ")

        # Each worker's records name its service and module; the supervisor says which pid is
        # whose, and the kernel says which pid sent each record.
        workers = {}
        for r in supervisor:
            match = re.match(r"service (\w+): worker pid (\d+) serving", r.get("MESSAGE", ""))
            if match:
                workers[int(match.group(2))] = match.group(1)
        self.assertEqual(sorted(workers.values()), ["echo", "shut", "web"], supervisor)
        modules = {"echo": "inetd", "web": "http", "shut": "inetd"}
        for pid, service in workers.items():
            theirs = [d.fields for d in records if d.pid == pid]
            self.assertTrue(theirs, "no record from worker %d (%s)" % (pid, service))
            for r in theirs:
                self.assertEqual(r.get("PORTD_SERVICE"), service, r)
                self.assertEqual(r.get("PORTD_MODULE"), modules[service], r)
                self.assertRegex(r.get("PRIORITY", ""), r"^[0-7]$", r)

        # Connection events: who connected to which port, as separate fields for journalctl.
        for index, client, port, service in ((close, echo_client, echo_port, "echo"),
                                             (request, web_client, web_port, "web"),
                                             (deny, shut_client, shut_port, "shut")):
            d = records[index]
            self.assertEqual(workers.get(d.pid), service, d)
            self.assertEqual(d.fields.get("REMOTE_ADDR"), "127.0.0.1", d)
            self.assertEqual(d.fields.get("REMOTE_PORT"), str(client), d)
            self.assertEqual(d.fields.get("LOCAL_PORT"), str(port), d)
            self.assertEqual(d.fields.get("PORTD_SERVICE"), service, d)
            self.assertEqual(d.fields.get("PORTD_MODULE"), modules[service], d)
        self.assertEqual(records[close].fields.get("PRIORITY"), "7")  # debug
        self.assertEqual(records[request].fields.get("PRIORITY"), "6")  # info
        self.assertIn("GET /hello.txt", records[request].fields.get("MESSAGE", ""))


if __name__ == "__main__":
    unittest.main()
