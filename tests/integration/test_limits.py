"""Limits and access lists, applied by the worker before the module sees a connection.

`limits.connections`, `limits.per_source` and `limits.rate` with `over_limit: defer` (the
connection waits in the kernel backlog) and `refuse` (the module answers in its protocol: HTTP
503, FTP 421); `allow`/`deny` for IPv4 and IPv6 with deny winning. Every refusal is counted per
reason in `portctl status`, and a flood of them is logged at a bounded rate.
"""

import os
import re
import socket
import subprocess
import tempfile
import time
import unittest

from portd_harness import PortdProcess, connect, free_ports, recv_all, recv_exactly

PORTCTL_BIN = os.environ.get("PORTCTL_BIN", "")


def inetd_service(name, port, protocol, extra):
    """One inetd service on 127.0.0.1:`port`, with `extra` (limits, lists) as YAML lines."""
    lines = ["{}:".format(name), "  module: inetd", '  listen: ["127.0.0.1:{}"]'.format(port),
             "  options: {{ service: {} }}".format(protocol)] + ["  " + line for line in extra]
    return "\n".join(lines) + "\n"


def echo_round_trip(port, payload, host="127.0.0.1", timeout=10.0):
    with connect(port, host=host, timeout=timeout) as s:
        s.sendall(payload)
        return recv_exactly(s, len(payload))


def closed_without_a_byte(port, host="127.0.0.1"):
    """True when the server closes the connection having sent nothing."""
    with connect(port, host=host, timeout=5.0) as s:
        try:
            s.sendall(b"hello")
            return s.recv(100) == b""
        except ConnectionResetError:
            return True


def status_of(portd):
    out = subprocess.run([PORTCTL_BIN, "--socket", portd.control_socket, "status"],
                         capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise AssertionError("portctl status failed: " + out.stderr)
    return out.stdout


def reason_counts(status, service):
    """The 'refusals by reason' line of `service` as a dict of numbers."""
    for line in status.splitlines():
        if line.strip().startswith(service + ":"):
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    return {}


def column(status, service, name):
    lines = status.splitlines()
    header = lines[0].split()
    for line in lines[1:]:
        fields = line.split()
        if fields and fields[0] == service:
            return fields[header.index(name)]
    raise AssertionError("no row for {} in:\n{}".format(service, status))


class DeferTest(unittest.TestCase):
    """over_limit: defer: connections over the limit wait, and every one is served in the end."""

    def test_connections_limit_makes_the_next_client_wait_then_serves_it(self):
        (port,) = free_ports(1)
        services = inetd_service("echo", port, "echo", ["limits: { connections: 2 }"])
        with PortdProcess(services=services) as portd:
            first = connect(port)
            second = connect(port)
            for s, data in ((first, b"one"), (second, b"two")):
                s.sendall(data)
                self.assertEqual(recv_exactly(s, 3), data)
            # The third connects (the kernel completes the handshake into the backlog) but
            # is not accepted: its bytes are not echoed while two are open.
            third = connect(port)
            third.sendall(b"three")
            third.settimeout(0.7)
            with self.assertRaises(socket.timeout):
                third.recv(10)
            first.close()
            third.settimeout(5.0)
            self.assertEqual(recv_exactly(third, 5), b"three")
            second.close()
            third.close()
            status = status_of(portd)
            self.assertEqual(column(status, "echo", "REFUSED"), "0")
            self.assertEqual(column(status, "echo", "ACCEPTED"), "3")
            self.assertGreaterEqual(reason_counts(status, "echo").get("deferred", 0), 1)

    def test_rate_limit_spreads_a_burst_out_and_refuses_none(self):
        (port,) = free_ports(1)
        services = inetd_service("echo", port, "echo", ["limits: { rate: 10/s }"])
        with PortdProcess(services=services) as portd:
            started = time.monotonic()
            # 25 connections at once: the bucket holds 10, then 10 a second follow.
            sockets = [connect(port) for _ in range(25)]
            for i, s in enumerate(sockets):
                s.sendall(b"%03d" % i)
            for i, s in enumerate(sockets):
                self.assertEqual(recv_exactly(s, 3), b"%03d" % i)
                s.close()
            elapsed = time.monotonic() - started
            self.assertGreaterEqual(elapsed, 1.2, "a 10/s rate served 25 in {:.2f}s".format(
                elapsed))
            status = status_of(portd)
            self.assertEqual(column(status, "echo", "REFUSED"), "0")
            self.assertEqual(column(status, "echo", "ACCEPTED"), "25")


class RefuseTest(unittest.TestCase):
    """over_limit: refuse: the module answers in its own protocol, then the port goes on."""

    def test_http_sends_503_over_the_connection_limit(self):
        with tempfile.TemporaryDirectory(prefix="portd-limits-") as root:
            with open(os.path.join(root, "index.html"), "w") as f:
                f.write("hello\n")
            with open(os.path.join(root, "busy.txt"), "w") as f:
                f.write("the site is busy\n")
            (port,) = free_ports(1)
            services = """
                web:
                  module: http
                  listen: ["127.0.0.1:{port}"]
                  options: {{ root: {root}, access_log: "off", error_pages: {{ 503: /busy.txt }} }}
                  limits: {{ connections: 1, over_limit: refuse }}
            """.format(port=port, root=root)
            with PortdProcess(services=services) as portd:
                holder = connect(port)
                holder.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                self.assertIn(b"hello\n", holder.recv(4096))
                with connect(port) as refused:
                    refused.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                    answer = recv_all(refused)
                self.assertTrue(answer.startswith(b"HTTP/1.1 503 "), answer[:80])
                # The site's own page for 503, with the refusal's Retry-After.
                self.assertTrue(answer.endswith(b"\r\n\r\nthe site is busy\n"), answer)
                self.assertIn(b"\r\nRetry-After: 5\r\n", answer)
                holder.close()
                # The slot is free again: served, and the burst has not disabled the port.
                deadline = time.monotonic() + 5
                while True:
                    with connect(port) as again:
                        again.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                        answer = recv_all(again)
                    if answer.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:80])
                self.assertTrue(answer.endswith(b"hello\n"))
                counts = reason_counts(status_of(portd), "web")
                self.assertGreaterEqual(counts.get("connections", 0), 1)

    def test_ftp_sends_421_over_the_per_source_limit(self):
        with tempfile.TemporaryDirectory(prefix="portd-limits-") as root:
            (port,) = free_ports(1)
            services = """
                ftp:
                  module: ftp
                  listen: ["127.0.0.1:{port}"]
                  options: {{ anonymous: read-only, root: {root} }}
                  limits: {{ per_source: 1 }}
            """.format(port=port, root=root)
            with PortdProcess(services=services) as portd:
                first = connect(port)
                self.assertTrue(first.recv(1024).startswith(b"220"))
                # per_source refuses even under defer: the address is known only after accept.
                with connect(port) as second:
                    reply = recv_all(second)
                self.assertTrue(reply.startswith(b"421"), reply)
                self.assertTrue(reply.endswith(b"\r\n"), reply)
                first.close()
                counts = reason_counts(status_of(portd), "ftp")
                self.assertEqual(counts.get("per_source"), 1)
                self.assertRegex(portd.stderr(), r"refuse 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:%d: over limits\.per_source" % port)

    def test_rate_refusals_never_disable_the_port(self):
        (port,) = free_ports(1)
        services = inetd_service("echo", port, "echo",
                                 ["limits: { rate: 5/s, over_limit: refuse }"])
        with PortdProcess(services=services) as portd:
            served = 0
            for i in range(30):
                try:
                    if echo_round_trip(port, b"x%02d" % i, timeout=5) == b"x%02d" % i:
                        served += 1
                except (ConnectionResetError, BrokenPipeError):
                    pass
            self.assertGreaterEqual(served, 5)
            self.assertLess(served, 30, "a 5/s rate refused nothing of a burst of 30")
            # Unlike xinetd's cps, nothing is switched off: a second later it serves again.
            time.sleep(1.2)
            self.assertEqual(echo_round_trip(port, b"again"), b"again")
            counts = reason_counts(status_of(portd), "echo")
            self.assertEqual(counts.get("rate"), 30 - served)


class AccessListTest(unittest.TestCase):

    def test_deny_closes_without_a_byte_and_wins_over_allow(self):
        port, port6 = free_ports(2)
        services = """
            denied:
              module: inetd
              listen: ["127.0.0.1:{port}"]
              options: {{ service: daytime }}
              allow: [127.0.0.0/8]
              deny: [127.0.0.1/32]
            v6:
              module: inetd
              listen: ["[::1]:{port6}", "127.0.0.1:{port6}"]
              options: {{ service: echo }}
              allow: ["::1/128"]
        """.format(port=port, port6=port6)
        with PortdProcess(services=services) as portd:
            self.assertTrue(closed_without_a_byte(port))
            # IPv6 lists: ::1 is allowed, 127.0.0.1 is not in the allow list.
            self.assertEqual(echo_round_trip(port6, b"six", host="::1"), b"six")
            self.assertTrue(closed_without_a_byte(port6))
            status = status_of(portd)
            self.assertEqual(reason_counts(status, "denied").get("acl"), 1)
            self.assertEqual(reason_counts(status, "v6").get("acl"), 1)
            self.assertEqual(column(status, "v6", "ACCEPTED"), "1")

    def test_a_flood_of_refusals_is_logged_at_a_bounded_rate(self):
        (port,) = free_ports(1)
        services = inetd_service("denied", port, "echo", ["deny: [0.0.0.0/0]"])
        with PortdProcess(services=services) as portd:
            for _ in range(200):
                with connect(port) as s:
                    try:
                        s.recv(1)
                    except ConnectionResetError:
                        pass
            # Every one is counted...
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                counts = reason_counts(status_of(portd), "denied")
                if counts.get("acl") == 200:
                    break
                time.sleep(0.1)
            self.assertEqual(counts.get("acl"), 200)
            # ...but only a few are logged.
            lines = [l for l in portd.stderr().splitlines() if "excluded by allow/deny" in l]
            self.assertGreaterEqual(len(lines), 1)
            self.assertLessEqual(len(lines), 10)


if __name__ == "__main__":
    unittest.main()
