"""The http module against clients that misbehave on the wire, with the real daemon.

They vanish in the middle of a download, stop reading it, half-close, see the file shrink under
them, or arrive faster than the worker has descriptors for them. Each time the daemon must let
go of what the client held, stay the same process, and keep serving everyone else byte for
byte.
"""

import http.client
import os
import re
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from portd_harness import (PortdProcess, connect, free_ports, recv_all, recv_exactly,
                           sanitized_build)

SEND_TIMEOUT = 1.0
SHARDS = 2  # threads of the `web` service below (`flood` has one)
BIG = 10 * 1024 * 1024


def open_fds(pid, shards):
    """The worker's descriptors for sockets and files: a connection or a file it forgot to
    close shows here. (Each shard also makes its epoll set, timer and the like when first
    used; those are not counted.) Each shard's open-file cache may keep one descriptor of a
    file it served: those of a file are counted only past one per shard."""
    sockets = 0
    files = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue  # closed meanwhile
        if target.startswith("socket:"):
            sockets += 1
        elif target.startswith("/"):
            files[target] = files.get(target, 0) + 1
    return sockets + sum(max(0, n - shards) for n in files.values())


def connect_with_small_window(port):
    """A client whose receive window is small: the server's writes stall long before 10 MiB."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class HttpHostileClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portd-http-hostile-")
        cls.root = os.path.join(cls.tmp.name, "www")
        os.makedirs(cls.root)
        cls.big = os.urandom(BIG)
        with open(os.path.join(cls.root, "big.bin"), "wb") as f:
            f.write(cls.big)
        with open(os.path.join(cls.root, "hello.txt"), "wb") as f:
            f.write(b"hello world")
        cls.access_log = os.path.join(cls.tmp.name, "access.log")
        cls.port, cls.flood_port = free_ports(2)
        # `flood` is a service of its own: its worker's descriptor limit is lowered below.
        cls.portd = PortdProcess(services="""
            web:
              module: http
              listen: ["127.0.0.1:{port}"]
              threads: {shards}
              options: {{ root: {root}, send_timeout: {st}ms, access_log: {log} }}
            flood:
              module: http
              listen: ["127.0.0.1:{flood}"]
              threads: 1
              options: {{ root: {root}, header_timeout: 30s, access_log: "off" }}
        """.format(port=cls.port, flood=cls.flood_port, root=cls.root, log=cls.access_log,
                   st=int(SEND_TIMEOUT * 1000), shards=SHARDS))
        cls.portd.start()
        # Descriptors the worker holds with no client: what it must come back to.
        if get(cls.port, "/hello.txt")[0] != 200:
            raise RuntimeError("portd does not serve:\n" + cls.portd.stderr())
        cls.idle_fds = cls.wait_for_fds(cls.worker("web"), None, 0)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.portd.__exit__(None, None, None)
        finally:
            cls.tmp.cleanup()

    @classmethod
    def worker(cls, service):
        (pid,) = cls.portd.worker_pids()[service]
        return pid

    @staticmethod
    def wait_for_fds(pid, at_most, timeout, shards=SHARDS):
        """The worker's open descriptors (as open_fds counts them) once they are down to
        `at_most` (or stop changing, with None), or as they are after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = open_fds(pid, shards)
        while True:
            time.sleep(0.2)
            count = open_fds(pid, shards)
            settled = count <= at_most if at_most is not None else count == last
            if settled or time.monotonic() > deadline:
                return count
            last = count

    def logged_bytes(self, target, count=1, timeout=5):
        """The byte counts of the access log's lines for `target`, once there are `count`."""
        pattern = re.compile(r'"GET %s HTTP/1\.1" (\d+) (\d+) ' % re.escape(target))
        deadline = time.monotonic() + timeout
        while True:
            with open(self.access_log, encoding="utf-8") as f:
                found = [int(m.group(2)) for m in map(pattern.search, f) if m]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def test_clients_vanishing_mid_download_leave_nothing_behind(self):
        worker = self.worker("web")
        for i in range(30):
            # A small window: the server cannot have pushed the whole file into the sockets'
            # buffers before the client goes, so the access log must show a short count.
            s = connect_with_small_window(self.port)
            s.sendall(b"GET /big.bin?vanish HTTP/1.1\r\nHost: t\r\n\r\n")
            recv_exactly(s, (i % 3) * 300_000)  # gone before a byte, after 300 kB or 600 kB
            if i % 2:
                # A reset rather than a FIN: the server's next write fails with EPIPE/ECONNRESET.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            if i % 10 == 9:
                self.assertEqual(get(self.port, "/hello.txt"), (200, b"hello world"))
        self.assertEqual(get(self.port, "/big.bin?whole"), (200, self.big))
        self.assertEqual(self.worker("web"), worker)  # the same process: it never crashed
        self.assertLessEqual(self.wait_for_fds(worker, self.idle_fds, 5), self.idle_fds)
        # The access log tells what left, as nginx's $body_bytes_sent: short for each client
        # that went away, the whole file for the one that stayed.
        vanished = self.logged_bytes("/big.bin?vanish", count=30)
        self.assertEqual(len(vanished), 30)
        self.assertTrue(all(n < BIG for n in vanished), vanished)
        self.assertEqual(self.logged_bytes("/big.bin?whole"), [BIG])

    def test_client_that_half_closes_after_its_requests_gets_every_answer(self):
        # `nc -q0` and friends: the requests, then a FIN. Not a client gone: it still reads.
        with connect(self.port) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n" * 3)
            s.shutdown(socket.SHUT_WR)
            data = recv_all(s)
        self.assertEqual(data.count(b"HTTP/1.1 200 OK\r\n"), 3, data[:200])
        self.assertEqual(data.count(b"\r\n\r\nhello world"), 3)
        # A head the FIN cuts short has no answer: the connection just closes.
        with connect(self.port) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(s), b"")

    def test_file_that_shrinks_while_sent_ends_the_response_short(self):
        path = os.path.join(self.root, "shrinks.bin")
        with open(path, "wb") as f:
            f.write(self.big)
        mark = self.portd.log_mark()
        s = connect_with_small_window(self.port)
        with s:
            s.sendall(b"GET /shrinks.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            head = s.recv(4096)
            time.sleep(0.3)  # the server's writes stall on the small window
            os.truncate(path, 1 << 20)
            # Content-Length promised 10 MiB, which the file no longer has: the server closes
            # at once, the only way to tell the client its copy is short. (A keep-alive
            # connection left open would hold the client until a timeout.)
            start = time.monotonic()
            data = head + recv_all(s)
            elapsed = time.monotonic() - start
        self.assertIn(b"Content-Length: %d\r\n" % BIG, data[:4096])
        self.assertLess(len(data), BIG)
        self.assertLess(elapsed, 5)
        self.assertTrue(self.portd.wait_for_log("GET /shrinks.bin: the file shrank", since=mark),
                        self.portd.stderr(mark)[-2000:])
        (logged,) = self.logged_bytes("/shrinks.bin")
        self.assertLess(logged, BIG)

    def test_client_that_stops_reading_is_cut_off_after_send_timeout(self):
        worker = self.worker("web")
        s = connect_with_small_window(self.port)
        with s:
            # `close`: served in full, the response would end with the connection.
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            time.sleep(SEND_TIMEOUT + 2)
            # The server has given up: it closed the connection, so reading now drains what the
            # kernel still held and ends there, short of the file. (Still served, it would
            # deliver the whole of it.)
            try:
                data = recv_all(s)
            except ConnectionResetError:
                data = b""
        self.assertLess(len(data), BIG)
        self.assertLessEqual(self.wait_for_fds(worker, self.idle_fds, 5), self.idle_fds)
        self.assertEqual(get(self.port, "/big.bin"), (200, self.big))

    @unittest.skipIf(sanitized_build(), "UBSan checks a virtual call's object through a pipe: "
                     "with no descriptor left it reports every unchecked object as invalid")
    def test_out_of_descriptors_pauses_accepting_and_recovers(self):
        worker = self.worker("flood")
        idle = self.wait_for_fds(worker, None, 0, shards=1)
        # A worker allowed a few more descriptors than it needs idle: a flood exhausts them.
        subprocess.run(["prlimit", "--pid", str(worker), "--nofile=%d:%d" % (idle + 20, idle + 20)],
                       check=True, timeout=10)
        mark = self.portd.log_mark()
        flood = []
        try:
            # Each sends the start of a request: accepted at once (the listener defers a silent
            # connection), then held by the header timeout.
            for _ in range(60):
                s = connect(self.flood_port)
                s.sendall(b"GET /hello.txt HTTP/1.1\r\n")
                flood.append(s)
            self.assertTrue(self.portd.wait_for_log("Too many open files", since=mark),
                            self.portd.stderr(mark)[-2000:])
            # The first connections were accepted. Finishing a request there needs one more
            # descriptor, for the file: the answer is a 503 with nothing served, not a crash.
            flood[0].sendall(b"Host: t\r\n\r\n")
            self.assertTrue(flood[0].recv(4096).startswith(b"HTTP/1.1 503 "))
            time.sleep(1)  # ten retries of accepting, still without a descriptor
        finally:
            for s in flood:
                s.close()
        # Descriptors free again: accepting resumes, and the worker is the same process.
        self.assertEqual(get(self.flood_port, "/hello.txt"), (200, b"hello world"))
        self.assertEqual(self.worker("flood"), worker)
        self.assertLessEqual(self.wait_for_fds(worker, idle, 5, shards=1), idle)
        # One line when it began and one when it ended, not one for every retry.
        self.assertTrue(self.portd.wait_for_log("again after", since=mark),
                        self.portd.stderr(mark)[-2000:])
        log = self.portd.stderr(mark)
        self.assertEqual(log.count("Too many open files"), 1, log[-2000:])
        self.assertRegex(log, r"accepting on 127\.0\.0\.1:%d again after \d+ ms of failures"
                         % self.flood_port)


if __name__ == "__main__":
    unittest.main()
