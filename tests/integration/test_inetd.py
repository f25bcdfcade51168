"""The inetd module through the real portd: echo, discard, chargen, daytime and time.

Every loop is bounded in count and time, and every socket has a timeout, so a broken daemon
fails these tests instead of hanging them.
"""

import datetime
import os
import re
import socket
import struct
import threading
import time
import unittest

from portd_harness import (PortdProcess, connect, free_port, free_ports, manifest_text, recv_all,
                           recv_exactly, run_portd)

RFC868_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
PRINTABLE = bytes(range(32, 127))  # the 95 characters of RFC 864's ring


def chargen_line(n):
    start = n % 95
    return bytes(PRINTABLE[(start + i) % 95] for i in range(72)) + b"\r\n"


def echo_round_trip(port, payload, host="127.0.0.1", timeout=20.0):
    """Sends `payload` from a thread while reading the echo, so that neither side blocks."""
    with connect(port, host=host, timeout=timeout) as s:
        errors = []

        def send():
            try:
                s.sendall(payload)
            except OSError as e:
                errors.append(e)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = recv_exactly(s, len(payload))
        sender.join(timeout)
        if errors:
            raise errors[0]
        return received


def inetd_service(name, port, options, host="127.0.0.1", extra=""):
    return """
{name}:
  module: inetd
  listen: ["{host}:{port}"]
  options: {{ {options} }}
{extra}""".format(name=name, host=host, port=port, options=options, extra=extra)


class InetdServices(unittest.TestCase):
    """One portd serving all five protocols (and a short idle timeout) for the whole class."""

    @classmethod
    def setUpClass(cls):
        (cls.echo, cls.discard, cls.chargen, cls.daytime, cls.time,
         cls.idle) = free_ports(6)
        services = "".join([
            inetd_service("echo", cls.echo, "service: echo", extra="  threads: 2\n"),
            inetd_service("discard", cls.discard, "service: discard"),
            inetd_service("chargen", cls.chargen, "service: chargen"),
            inetd_service("daytime", cls.daytime, "service: daytime"),
            inetd_service("time", cls.time, "service: time"),
            inetd_service("idle", cls.idle, "service: echo, idle_timeout: 1s"),
        ])
        cls.portd = PortdProcess(services=services, env={"TZ": "UTC"})
        cls.portd.start()

    @classmethod
    def tearDownClass(cls):
        cls.portd.__exit__(None, None, None)

    def test_echo_one_mebibyte_byte_exact(self):
        payload = os.urandom(1 << 20)
        self.assertEqual(echo_round_trip(self.echo, payload), payload)

    def test_echo_then_client_close(self):
        with connect(self.echo) as s:
            s.sendall(b"hello\r\n")
            self.assertEqual(recv_exactly(s, 7), b"hello\r\n")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(s), b"")  # the server closes after our EOF

    def test_chargen_pattern_across_the_wrap(self):
        lines = 200  # more than two 95-line cycles
        with connect(self.chargen) as s:
            data = recv_exactly(s, lines * 74)
        self.assertEqual(len(data), lines * 74)
        self.assertEqual(data[:74], b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    b"[\\]^_`abcdefg\r\n")
        for n in range(lines):
            self.assertEqual(data[n * 74:(n + 1) * 74], chargen_line(n), "line %d" % n)

    def test_daytime_line(self):
        with connect(self.daytime) as s:
            line = recv_all(s)
        match = re.fullmatch(
            rb"(Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday), "
            rb"([A-Z][a-z]+ \d{1,2}, \d{4} \d{2}:\d{2}:\d{2})-UTC\r\n", line)
        self.assertIsNotNone(match, line)
        when = datetime.datetime.strptime(match.group(2).decode(), "%B %d, %Y %H:%M:%S")
        when = when.replace(tzinfo=datetime.timezone.utc)
        self.assertEqual(match.group(1).decode(), when.strftime("%A"))
        self.assertLess(abs(when.timestamp() - time.time()), 5)

    def test_time_is_now_since_1900(self):
        with connect(self.time) as s:
            data = recv_all(s)
        self.assertEqual(len(data), 4)
        (value,) = struct.unpack("!I", data)
        expected = (int(time.time()) + RFC868_OFFSET) % (1 << 32)
        self.assertLess(abs(value - expected), 5)

    def test_discard_reads_everything_and_sends_nothing(self):
        with connect(self.discard) as s:
            for _ in range(64):
                s.sendall(b"x" * 16384)
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(s), b"")

    def test_hundred_concurrent_echo_clients(self):
        count, rounds, chunk = 100, 8, 4096
        failures = []
        ready = threading.Barrier(count, timeout=30)

        def client(index):
            try:
                payload = os.urandom(rounds * chunk)
                with connect(self.echo, timeout=30) as s:
                    ready.wait()  # all connected before anyone talks
                    got = []
                    for r in range(rounds):
                        s.sendall(payload[r * chunk:(r + 1) * chunk])
                        got.append(recv_exactly(s, chunk))
                    if b"".join(got) != payload:
                        failures.append("client %d: echo differs" % index)
            except (OSError, threading.BrokenBarrierError) as e:
                failures.append("client %d: %r" % (index, e))

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(failures, [])
        self.assertFalse(any(t.is_alive() for t in threads))

    def test_flooding_client_does_not_block_others(self):
        with connect(self.echo) as flood:
            flood.settimeout(0.5)
            block = b"f" * 65536
            sent = 0
            deadline = time.monotonic() + 10
            # Send without ever reading until the server stops reading us (our send times out):
            # backpressure, not an ever-growing buffer in the server.
            for _ in range(4096):
                try:
                    sent += flood.send(block)
                except socket.timeout:
                    break
                if time.monotonic() > deadline:
                    break
            self.assertLess(sent, 4096 * 65536, "the server never pushed back")
            # Meanwhile another client is served normally, byte-exact.
            payload = os.urandom(256 * 1024)
            self.assertEqual(echo_round_trip(self.echo, payload, timeout=10), payload)

    def test_vanishing_clients_disturb_no_one(self):
        with connect(self.echo) as steady:
            steady.sendall(b"before")
            self.assertEqual(recv_exactly(steady, 6), b"before")
            for port in (self.echo, self.chargen, self.echo, self.chargen):
                s = connect(port)
                if port == self.echo:
                    s.sendall(os.urandom(200000))  # unread echo in flight
                else:
                    recv_exactly(s, 74 * 10)  # mid-stream
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()  # RST
            steady.sendall(b"after")
            self.assertEqual(recv_exactly(steady, 5), b"after")
        payload = os.urandom(65536)
        self.assertEqual(echo_round_trip(self.echo, payload), payload)
        with connect(self.chargen) as s:
            self.assertEqual(recv_exactly(s, 74), chargen_line(0))
        self.assertIsNone(self.portd.proc.poll(), "portd exited")

    def test_idle_connection_is_closed(self):
        with connect(self.idle) as s:
            s.sendall(b"ping")
            self.assertEqual(recv_exactly(s, 4), b"ping")
            started = time.monotonic()
            self.assertEqual(recv_all(s), b"")  # closed by idle_timeout: 1s
            self.assertLess(time.monotonic() - started, 5)


class InetdShutdown(unittest.TestCase):

    def test_sigterm_with_an_open_connection(self):
        port = free_port()
        portd = PortdProcess(services=inetd_service("echo", port, "service: echo"))
        with portd:
            with connect(port) as s:
                s.sendall(b"hello")
                self.assertEqual(recv_exactly(s, 5), b"hello")
                started = time.monotonic()
                code = portd.stop(timeout=15)
                elapsed = time.monotonic() - started
                self.assertEqual(code, 0, portd.stderr())
                self.assertLess(elapsed, 5 + 2, "not within shutdown_timeout (5s)")
                s.settimeout(5)
                self.assertEqual(recv_all(s), b"")  # drained: closed, nothing more sent

    def test_sigterm_ends_a_chargen_stream_at_drain(self):
        port = free_port()
        with PortdProcess(services=inetd_service("chargen", port, "service: chargen")) as portd:
            with connect(port) as s:
                recv_exactly(s, 74 * 100)
                ended = threading.Event()

                def read_to_end():  # keeps reading, so the server's writes keep completing
                    deadline = time.monotonic() + 10
                    try:
                        while time.monotonic() < deadline and s.recv(65536):
                            pass
                        ended.set()
                    except OSError:
                        ended.set()  # a reset also ends the stream

                reader = threading.Thread(target=read_to_end, daemon=True)
                reader.start()
                started = time.monotonic()
                code = portd.stop(timeout=15)
                self.assertEqual(code, 0, portd.stderr())
                # Closed by drain after the write in flight, long before shutdown_timeout (5s).
                self.assertLess(time.monotonic() - started, 3)
                reader.join(10)
                self.assertTrue(ended.is_set())

    def test_sigterm_with_a_stalled_client(self):
        # This chargen client stops reading, so the write in flight never completes: drain
        # waits, and stop() closes it when shutdown_timeout (5s) passes.
        port = free_port()
        with PortdProcess(services=inetd_service("chargen", port, "service: chargen")) as portd:
            with connect(port) as s:
                recv_exactly(s, 74 * 10)
                time.sleep(0.3)  # let the socket buffers fill
                started = time.monotonic()
                code = portd.stop(timeout=15)
                self.assertEqual(code, 0, portd.stderr())
                self.assertLess(time.monotonic() - started, 5 + 2)


class InetdCheck(unittest.TestCase):

    def test_check_reports_every_option_problem(self):
        a, b = free_ports(2)
        services = (inetd_service("small", a, "service: ecko, idle_timout: 5m") +
                    "other:\n  module: inetd\n  listen: [\"127.0.0.1:{}\"]\n".format(b))
        code, out, err = run_portd(["--check"], manifest_text(services))
        self.assertNotEqual(code, 0)
        self.assertIn("services.small.options.service: 'ecko' is not one of", err)
        self.assertIn("did you mean 'echo'?", err)
        self.assertIn("services.small.options.idle_timout: unknown key", err)
        self.assertIn("did you mean 'idle_timeout'?", err)
        self.assertIn("services.other.options.service: is required", err)


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback here")
class InetdIPv6(unittest.TestCase):

    def test_echo_on_ipv6_loopback(self):
        port = free_port(socket.AF_INET6, "::1")
        services = inetd_service("echo6", port, "service: echo", host="[::1]")
        with PortdProcess(services=services):
            payload = os.urandom(100000)
            self.assertEqual(echo_round_trip(port, payload, host="::1"), payload)


if __name__ == "__main__":
    unittest.main()
