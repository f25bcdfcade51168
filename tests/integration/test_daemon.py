"""The daemon itself, independent of any one module: startup errors, listeners, shutdown."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from portd_harness import (MODULES_DIR, PORTD_BIN, PortdProcess, connect, free_port,
                           manifest_text, recv_all)

FIXTURES = os.environ.get("PORTD_FIXTURE_MODULES_DIR", "")


def run_to_exit(text, timeout=30, prefix=()):
    """Runs portd in the foreground on `text`, expecting it to exit by itself."""
    with tempfile.TemporaryDirectory(prefix="portd-test-") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "portd.yaml")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        p = subprocess.run(list(prefix) + [PORTD_BIN, "--foreground", "-c", path],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return p.returncode, p.stderr.decode("utf-8", "replace")


def echo_service(name, *listens):
    return """\
{}:
  module: inetd
  listen: [{}]
  options: {{service: echo}}
""".format(name, ", ".join('"%s"' % l for l in listens))


class StartupErrors(unittest.TestCase):
    def test_invalid_manifest_does_not_start(self):
        rc, err = run_to_exit(manifest_text(echo_service("echo", "127.0.0.1:0")))
        self.assertEqual(rc, 1)
        self.assertRegex(err, r"portd\.yaml:\d+:\d+: services\.echo\.listen\[0\]")

    def test_port_in_use_names_the_port_and_its_owner(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            rc, err = run_to_exit(manifest_text(echo_service("echo", "127.0.0.1:%d" % port)))
        self.assertEqual(rc, 1)
        self.assertIn("127.0.0.1:%d" % port, err)
        self.assertIn("already in use", err)
        # This test's own process holds it, so portd can see whose it is.
        self.assertIn("pid %d" % os.getpid(), err)
        self.assertIn("ss -ltnp", err)

    def test_one_bad_port_opens_no_port_at_all(self):
        good = free_port()
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            taken = holder.getsockname()[1]
            rc, err = run_to_exit(manifest_text(
                echo_service("a", "127.0.0.1:%d" % good) +
                echo_service("b", "127.0.0.1:%d" % taken)))
        self.assertEqual(rc, 1)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", good), timeout=2).close()

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"),
                         "needs root to run portd as an unprivileged user")
    def test_well_known_port_without_privilege_says_what_is_needed(self):
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) <= 1:
                self.skipTest("this kernel lets anyone bind low ports")
        rc, err = run_to_exit(manifest_text(echo_service("echo", "127.0.0.1:7")),
                              prefix=["setpriv", "--reuid=65534", "--regid=65534",
                                      "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        self.assertEqual(rc, 1, err)
        self.assertIn("127.0.0.1:7", err)
        self.assertIn("CAP_NET_BIND_SERVICE", err)

    @unittest.skipUnless(FIXTURES, "fixture modules not built")
    def test_module_of_another_abi_is_refused_by_name(self):
        text = manifest_text(echo_service("echo", "127.0.0.1:%d" % free_port())).replace(
            MODULES_DIR, FIXTURES).replace("module: inetd", "module: wrong_abi")
        rc, err = run_to_exit(text)
        self.assertEqual(rc, 1)
        self.assertIn("wrong_abi.so", err)
        self.assertIn("ABI version", err)

    def test_module_rejecting_its_options_stops_startup(self):
        rc, err = run_to_exit(manifest_text(echo_service("echo", "127.0.0.1:%d" % free_port())
                                            .replace("service: echo", "service: nope")))
        self.assertEqual(rc, 1)
        self.assertRegex(err, r"portd\.yaml:\d+:\d+: services\.echo\.options\.service")


class Listeners(unittest.TestCase):
    def test_ipv4_and_ipv6_wildcards_share_a_port(self):
        port = free_port()
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        services = echo_service("v4", "0.0.0.0:%d" % port) + echo_service("v6", "[::]:%d" % port)
        with PortdProcess(services):
            for host in ("127.0.0.1", "::1"):
                with connect(port, host) as s:
                    s.sendall(b"hello " + host.encode())
                    self.assertEqual(s.recv(100), b"hello " + host.encode())

    def test_many_listeners_for_one_service(self):
        ports = [free_port() for _ in range(3)]
        services = echo_service("echo", *("127.0.0.1:%d" % p for p in ports))
        with PortdProcess(services) as portd:
            for p in ports:
                with connect(p) as s:
                    s.sendall(b"x%d" % p)
                    self.assertEqual(s.recv(100), b"x%d" % p)
            self.assertIn("listening on 127.0.0.1:%d" % ports[0], portd.stderr())


class Shutdown(unittest.TestCase):
    def test_sigterm_waits_for_an_open_connection_then_exits_zero(self):
        port = free_port()
        with PortdProcess(echo_service("echo", "127.0.0.1:%d" % port)) as portd:
            s = connect(port)
            s.sendall(b"before")
            self.assertEqual(s.recv(100), b"before")
            started = time.monotonic()
            portd.signal(signal.SIGTERM)
            # New connections are no longer accepted...
            time.sleep(0.3)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            # ...and the open one ends within shutdown_timeout (5s in the harness).
            s.settimeout(15)
            self.assertEqual(recv_all(s), b"")
            s.close()
            self.assertEqual(portd.proc.wait(15), 0)
            self.assertLess(time.monotonic() - started, 10)
            self.assertIn("portd stopped", portd.stderr())

    def test_sigint_stops_too(self):
        port = free_port()
        with PortdProcess(echo_service("echo", "127.0.0.1:%d" % port)) as portd:
            portd.signal(signal.SIGINT)
            self.assertEqual(portd.proc.wait(15), 0)

    def test_signals_repeated_until_it_exits_leave_the_exit_clean(self):
        # An impatient operator, or a service manager, may send SIGTERM again while portd
        # stops. Every one must find portd handling or ignoring it, up to the exit itself: sent
        # here every millisecond, first while an open connection holds the drain, then on
        # until the process is gone, so that the last ones land in its final teardown. The
        # stop is begun once, and logged once.
        port = free_port()
        with PortdProcess(echo_service("echo", "127.0.0.1:%d" % port)) as portd:
            client = connect(port)
            client.sendall(b"x")
            self.assertEqual(client.recv(1), b"x")
            release_at = time.monotonic() + 0.3
            deadline = time.monotonic() + 10
            sent = 0
            while portd.proc.poll() is None and time.monotonic() < deadline:
                try:
                    os.kill(portd.proc.pid, signal.SIGTERM if sent % 2 == 0 else signal.SIGINT)
                except ProcessLookupError:
                    break  # exited (not yet reaped) between the poll and the kill
                sent += 1
                if client is not None and time.monotonic() > release_at:
                    client.close()  # the drain can finish now
                    client = None
                time.sleep(0.001)
            self.assertIsNotNone(portd.proc.poll(), "still running after %d signals" % sent)
            self.assertEqual(portd.proc.wait(15), 0, "after %d signals" % sent)
            self.assertTrue(portd.wait_for_log("portd stopped"), portd.stderr()[-2000:])
            log = portd.stderr()
            self.assertEqual(log.count(": stopping"), 1, log[-2000:])
            self.assertGreater(sent, 100)


if __name__ == "__main__":
    unittest.main()
