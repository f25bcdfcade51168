"""The ftp module against real clients: Python's ftplib, curl and lftp.

Each test class starts one portd on free loopback ports with a temporary tree:

    anon/             anonymous read-only root
    homes/alice/      read-write virtual user
    homes/bob/        read-only virtual user
    outside/          must never be reachable
"""

import ftplib
import io
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from portd_harness import PortdProcess, free_port, manifest_text, run_portd, sanitized_build

PASSWORD = "s3cret pass"
FIVE_MIB = 5 * 1024 * 1024


def crypt_hash(password):
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password.encode(),
                         capture_output=True, check=True)
    return out.stdout.decode().strip()


def passive_range(count=64):
    """`count` consecutive ports below the ephemeral range that are free right now."""
    rng = random.Random()
    for _ in range(50):
        low = rng.randrange(20000, 32000 - count)
        sockets = []
        try:
            for port in range(low, low + count):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return low, low + count - 1
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free passive port range")


class FtpTree:
    """The test tree and the manifest snippet that serves it."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="portd-ftp-")
        root = self.root = self.tmp.name
        self.anon = os.path.join(root, "anon")
        self.alice = os.path.join(root, "homes", "alice")
        self.bob = os.path.join(root, "homes", "bob")
        self.outside = os.path.join(root, "outside")
        for d in (self.anon, os.path.join(self.anon, "pub"), self.alice, self.bob, self.outside):
            os.makedirs(d, exist_ok=True)
        self.write(self.anon, "pub/hello.txt", b"hello anonymous\n")
        self.write(self.outside, "secret.txt", b"TOP SECRET\n")
        self.random = os.urandom(FIVE_MIB)
        self.all_bytes = bytes(range(256)) * 64
        self.write(self.alice, "random.bin", self.random)
        self.write(self.alice, "allbytes.bin", self.all_bytes)
        self.write(self.alice, "text.txt", b"line one\nline two\n\nline four\n")
        self.write(self.bob, "readme.txt", b"bob's file\n")
        os.makedirs(os.path.join(self.alice, "listing"))
        for i in range(30):
            self.write(self.alice, "listing/file%02d.%s" % (i, "txt" if i % 2 else "dat"),
                       b"x" * i)
        # Ways out of the jail that must all stay inside.
        os.symlink("/", os.path.join(self.alice, "root_link"))
        os.symlink(self.outside, os.path.join(self.alice, "outside_link"))
        os.symlink(os.path.join(self.outside, "secret.txt"), os.path.join(self.alice, "secret_link"))
        os.symlink("../../../outside/secret.txt", os.path.join(self.alice, "relative_link"))
        hashed = crypt_hash(PASSWORD)
        self.users = os.path.join(root, "ftp-users")
        with open(self.users, "w") as f:
            f.write("# test users\nalice:%s:homes/alice:rw\nbob:%s:homes/bob:ro\n" % (hashed, hashed))
        self.xferlog = os.path.join(root, "xferlog")
        self.port = free_port()
        self.passive = passive_range()

    @staticmethod
    def write(base, relative, data):
        path = os.path.join(base, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def services(self, limits=None, **extra):
        options = {
            "root": self.anon,
            "anonymous": "read-only",
            "users_file": self.users,
            "passive_ports": "%d-%d" % self.passive,
            "idle_timeout": "60s",
            "data_timeout": "10s",
            "login_failure_delay": "100ms",
            "max_login_failures": "3",
            "xferlog": self.xferlog,
        }
        options.update(extra)
        # None drops an option (e.g. xferlog: None sends the lines to the journal).
        # A dict is written as a YAML mapping (JSON is YAML's flow style).
        lines = "\n".join("    %s: %s" % (k, json.dumps(v if isinstance(v, dict) else str(v)))
                          for k, v in options.items() if v is not None)
        head = "ftp:\n  module: ftp\n  listen: [\"127.0.0.1:%d\"]\n" % self.port
        if limits:
            head += "  limits: { %s }\n" % limits
        return head + "  options:\n%s\n" % lines

    def cleanup(self):
        self.tmp.cleanup()


class FtpTestCase(unittest.TestCase):
    extra_options = {}
    limits = None

    @classmethod
    def setUpClass(cls):
        cls.tree = FtpTree()
        cls.portd = PortdProcess(services=cls.tree.services(cls.limits, **cls.extra_options))
        try:
            cls.portd.start()
        except Exception:
            cls.tree.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.portd.__exit__(None, None, None)
        finally:
            cls.tree.cleanup()

    def client(self, user=None, password=PASSWORD):
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", self.tree.port, timeout=20)
        self.addCleanup(self.close_quietly, ftp)
        if user:
            ftp.login(user, password)
        return ftp

    @staticmethod
    def close_quietly(ftp):
        try:
            ftp.close()
        except OSError:
            pass

    def retr_bytes(self, ftp, name, rest=None):
        out = io.BytesIO()
        ftp.retrbinary("RETR " + name, out.write, rest=rest)
        return out.getvalue()

    def raw(self, lines, read_timeout=5):
        """Sends raw bytes on a fresh control connection; returns everything read until close."""
        s = socket.create_connection(("127.0.0.1", self.tree.port), timeout=read_timeout)
        with s:
            s.recv(1024)  # greeting
            s.sendall(lines)
            chunks = []
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
            except socket.timeout:
                pass
            return b"".join(chunks)


class LoginTest(FtpTestCase):
    def test_greeting(self):
        ftp = self.client()
        self.assertTrue(ftp.welcome.startswith("220 "))

    def test_commands_before_login_are_refused(self):
        ftp = self.client()
        for command in ("PWD", "CWD /", "LIST", "RETR x", "STOR x", "PASV", "DELE x", "MKD x"):
            with self.assertRaises(ftplib.error_perm) as caught:
                ftp.sendcmd(command)
            self.assertTrue(str(caught.exception).startswith("530"), command)
        # These work before login.
        self.assertTrue(ftp.sendcmd("SYST").startswith("215"))
        self.assertTrue(ftp.sendcmd("NOOP").startswith("200"))
        self.assertTrue(ftp.sendcmd("FEAT").startswith("211"))

    def test_wrong_password_and_unknown_user_look_the_same(self):
        replies = []
        for user in ("alice", "nosuchuser"):
            ftp = self.client()
            user_reply = ftp.sendcmd("USER " + user)
            with self.assertRaises(ftplib.error_perm) as caught:
                ftp.sendcmd("PASS wrong")
            replies.append((user_reply, str(caught.exception)))
        self.assertEqual(replies[0], replies[1])
        self.assertEqual(replies[0][1], "530 Login incorrect.")

    def test_repeated_failures_close_the_connection(self):
        ftp = self.client()
        for _ in range(2):
            with self.assertRaises(ftplib.error_perm):
                ftp.login("alice", "wrong")
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.login("alice", "wrong")
        self.assertEqual(str(caught.exception), "530 Login incorrect.")
        # Then the limit's 421, and the connection is closed.
        self.assertTrue(ftp.getline().startswith("421 "))
        self.assertEqual(ftp.sock.recv(100), b"")

    def test_login_and_logs(self):
        ftp = self.client("alice")
        self.assertEqual(ftp.pwd(), "/")
        self.retr_bytes(ftp, "allbytes.bin")
        ftp.quit()
        anonymous = self.client("anonymous", "guest@example.com")
        self.retr_bytes(anonymous, "pub/hello.txt")
        anonymous.quit()
        with self.assertRaises(ftplib.error_perm):
            self.client("nosuchuser", "x")
        deadline = time.monotonic() + 5
        text = ""
        while time.monotonic() < deadline:
            with open(self.tree.xferlog) as f:
                text = f.read()
            if "hello.txt" in text and "nosuchuser" in text:
                break
            time.sleep(0.05)
        # Login lines as vsftpd writes them (what fail2ban's vsftpd filter reads).
        self.assertRegex(text, r' \[pid \d+\] \[alice\] OK LOGIN: Client "127\.0\.0\.1"\n')
        self.assertRegex(text, r' \[pid \d+\] \[anonymous\] OK LOGIN: Client "127\.0\.0\.1", '
                               r'anon password "guest@example\.com"\n')
        self.assertRegex(text, r' \[pid \d+\] \[nosuchuser\] FAIL LOGIN: Client "127\.0\.0\.1"\n')
        self.assertNotIn("s3cret", text)  # a real user's password is never logged
        # Transfer lines in the xferlog format; an anonymous user is named by the password.
        date = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
        self.assertRegex(text, date + r" [1-9]\d* 127\.0\.0\.1 16384 /allbytes\.bin b _ o r "
                                      r"alice ftp 0 \* c\n")
        self.assertRegex(text, date + r" [1-9]\d* 127\.0\.0\.1 16 /pub/hello\.txt b _ o a "
                                      r"guest@example\.com ftp 0 \* c\n")

    def test_xferlog_follows_logrotate(self):
        # Renamed away as logrotate does (no copytruncate, no signal): the lines after it go to
        # a new file under the old name within a second or so, the ones before stay in the old.
        ftp = self.client("alice")
        self.retr_bytes(ftp, "allbytes.bin")
        rotated = self.tree.xferlog + ".1"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(self.tree.xferlog) as f:
                if "/allbytes.bin" in f.read():
                    break
            time.sleep(0.05)
        os.rename(self.tree.xferlog, rotated)
        try:
            found = False
            deadline = time.monotonic() + 5
            while not found and time.monotonic() < deadline:
                time.sleep(0.3)
                self.retr_bytes(ftp, "allbytes.bin")
                if os.path.exists(self.tree.xferlog):
                    with open(self.tree.xferlog) as f:
                        found = "/allbytes.bin" in f.read()
            ftp.quit()
            self.assertTrue(found, "no transfer line in a new xferlog after the rotation")
            with open(rotated) as f:
                self.assertIn("[alice] OK LOGIN", f.read())
        finally:
            os.remove(rotated)

    def test_anonymous_is_read_only(self):
        ftp = self.client("anonymous", "guest@example.com")
        self.assertEqual(self.retr_bytes(ftp, "pub/hello.txt"), b"hello anonymous\n")
        with self.assertRaises(ftplib.error_perm):
            ftp.storbinary("STOR new.txt", io.BytesIO(b"x"))
        with self.assertRaises(ftplib.error_perm):
            ftp.mkd("newdir")
        with self.assertRaises(ftplib.error_perm):
            ftp.delete("pub/hello.txt")
        self.assertFalse(os.path.exists(os.path.join(self.tree.anon, "new.txt")))

    def test_read_only_user(self):
        ftp = self.client("bob")
        self.assertEqual(self.retr_bytes(ftp, "readme.txt"), b"bob's file\n")
        with self.assertRaises(ftplib.error_perm):
            ftp.storbinary("STOR readme.txt", io.BytesIO(b"overwrite"))
        with open(os.path.join(self.tree.bob, "readme.txt"), "rb") as f:
            self.assertEqual(f.read(), b"bob's file\n")

    def test_rein_logs_out(self):
        ftp = self.client("alice")
        self.assertTrue(ftp.sendcmd("REIN").startswith("220"))
        with self.assertRaises(ftplib.error_perm):
            ftp.sendcmd("PWD")
        ftp.login("bob", PASSWORD)
        self.assertEqual(ftp.nlst(), ["readme.txt"])

    def test_acct_not_implemented(self):
        ftp = self.client()
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.sendcmd("ACCT x")
        self.assertTrue(str(caught.exception).startswith("502"))


class TransferTest(FtpTestCase):
    def test_retr_binary_exact(self):
        ftp = self.client("alice")
        self.assertEqual(self.retr_bytes(ftp, "random.bin"), self.tree.random)
        self.assertEqual(self.retr_bytes(ftp, "allbytes.bin"), self.tree.all_bytes)
        self.assertEqual(ftp.size("random.bin"), FIVE_MIB)

    def test_stor_binary_exact(self):
        ftp = self.client("alice")
        data = os.urandom(FIVE_MIB)
        ftp.storbinary("STOR up.bin", io.BytesIO(data))
        ftp.storbinary("STOR all.bin", io.BytesIO(self.tree.all_bytes))
        with open(os.path.join(self.tree.alice, "up.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        with open(os.path.join(self.tree.alice, "all.bin"), "rb") as f:
            self.assertEqual(f.read(), self.tree.all_bytes)
        self.assertEqual(self.retr_bytes(ftp, "up.bin"), data)
        self.assertEqual(self.temporaries(), [])

    def temporaries(self):
        found = []
        for base, _, files in os.walk(self.tree.alice):
            found += [os.path.join(base, f) for f in files if f.startswith(".in.")]
        return found

    def test_type_a_converts_line_ends(self):
        ftp = self.client("alice")
        ftp.sendcmd("TYPE A")
        conn = ftp.transfercmd("RETR text.txt")
        with conn:
            got = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
        ftp.voidresp()
        self.assertEqual(got, b"line one\r\nline two\r\n\r\nline four\r\n")
        ftp.storlines("STOR lines.txt", io.BytesIO(b"a\nb\r\nc\n"))  # sends TYPE A, CRLF
        with open(os.path.join(self.tree.alice, "lines.txt"), "rb") as f:
            self.assertEqual(f.read(), b"a\nb\nc\n")
        ftp.sendcmd("TYPE I")

    def test_rest_resumes_a_download(self):
        ftp = self.client("alice")
        offset = 1234567
        self.assertEqual(self.retr_bytes(ftp, "random.bin", rest=offset), self.tree.random[offset:])

    def test_rest_resumes_an_upload(self):
        ftp = self.client("alice")
        data = os.urandom(1 << 20)
        half = len(data) // 2
        ftp.storbinary("STOR resume.bin", io.BytesIO(data[:half]))
        ftp.storbinary("STOR resume.bin", io.BytesIO(data[half:]), rest=half)
        with open(os.path.join(self.tree.alice, "resume.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        # APPE continues a file too.
        ftp.storbinary("APPE resume.bin", io.BytesIO(b"tail"))
        with open(os.path.join(self.tree.alice, "resume.bin"), "rb") as f:
            self.assertEqual(f.read(), data + b"tail")

    def test_appe_to_a_large_file_copies_it_in_pieces(self):
        # More than one 16 MiB piece of old content to carry over into the temporary.
        big = os.urandom(1 << 20) * 33 + b"odd"
        with open(os.path.join(self.tree.alice, "large.bin"), "wb") as f:
            f.write(big)
        ftp = self.client("alice")
        other = self.client("alice")
        ftp.storbinary("APPE large.bin", io.BytesIO(b"tail"))
        self.assertEqual(other.sendcmd("NOOP"), "200 NOOP ok.")
        with open(os.path.join(self.tree.alice, "large.bin"), "rb") as f:
            self.assertEqual(f.read(), big + b"tail")
        ftp.storbinary("STOR large.bin", io.BytesIO(b"resumed"), rest=len(big) - 3)
        with open(os.path.join(self.tree.alice, "large.bin"), "rb") as f:
            self.assertEqual(f.read(), big[:-3] + b"resumed")
        self.assertEqual(self.temporaries(), [])

    def test_stou_picks_a_new_name(self):
        ftp = self.client("alice")
        ftp.storbinary("STOR unique.txt", io.BytesIO(b"first"))
        reply = ftp.storbinary("STOU unique.txt", io.BytesIO(b"second"))
        self.assertIn("unique.txt.1", reply)
        with open(os.path.join(self.tree.alice, "unique.txt.1"), "rb") as f:
            self.assertEqual(f.read(), b"second")

    def test_active_and_passive_modes(self):
        ftp = self.client("alice")
        expected = self.tree.all_bytes
        # PASV (ftplib's default for IPv4)
        self.assertEqual(self.retr_bytes(ftp, "allbytes.bin"), expected)
        # PORT
        ftp.set_pasv(False)
        self.assertEqual(self.retr_bytes(ftp, "allbytes.bin"), expected)
        ftp.set_pasv(True)
        # EPSV
        reply = ftp.sendcmd("EPSV")
        self.assertTrue(reply.startswith("229"))
        port = int(reply.split("|||")[1].split("|")[0])
        self.assertTrue(self.tree.passive[0] <= port <= self.tree.passive[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as data:
            ftp.putcmd("RETR allbytes.bin")
            self.assertTrue(ftp.getresp().startswith("150"))
            got = self.read_all(data)
        ftp.voidresp()
        self.assertEqual(got, expected)
        # EPRT
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(10)
            ftp.sendcmd("EPRT |1|127.0.0.1|%d|" % listener.getsockname()[1])
            ftp.putcmd("RETR allbytes.bin")
            conn, _ = listener.accept()
            with conn:
                self.assertTrue(ftp.getresp().startswith("150"))
                got = self.read_all(conn)
        ftp.voidresp()
        self.assertEqual(got, expected)

    @staticmethod
    def read_all(sock):
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def test_pasv_port_is_in_range(self):
        ftp = self.client("alice")
        host, port = ftplib.parse227(ftp.sendcmd("PASV"))
        self.assertEqual(host, "127.0.0.1")
        self.assertTrue(self.tree.passive[0] <= port <= self.tree.passive[1])
        ftp.sendcmd("ABOR")

    def test_passive_connection_from_another_address_is_refused(self):
        ftp = self.client("alice")
        _, port = ftplib.parse227(ftp.sendcmd("PASV"))
        intruder = socket.socket()
        intruder.bind(("127.0.0.2", 0))
        intruder.settimeout(10)
        intruder.connect(("127.0.0.1", port))
        ftp.putcmd("RETR allbytes.bin")
        self.assertTrue(ftp.getresp().startswith("150"))
        with intruder:
            self.assertEqual(intruder.recv(100), b"")  # closed without a byte
        with socket.create_connection(("127.0.0.1", port), timeout=10) as data:
            got = self.read_all(data)
        ftp.voidresp()
        self.assertEqual(got, self.tree.all_bytes)

    def test_bounce_port_is_refused(self):
        ftp = self.client("alice")
        for command in ("PORT 127,0,0,1,0,21",         # privileged port
                        "PORT 10,0,0,1,200,10",        # a third party
                        "EPRT |1|127.0.0.2|51000|",    # another address
                        "EPRT |1|127.0.0.1|80|"):
            with self.assertRaises(ftplib.error_perm) as caught:
                ftp.sendcmd(command)
            self.assertTrue(str(caught.exception).startswith("500"), command)
        with self.assertRaises(ftplib.error_temp):
            ftp.sendcmd("RETR allbytes.bin")  # 425: no data connection was set up

    def test_epsv_all_refuses_other_setups(self):
        for spelling in ("EPSV ALL", "epsv All"):
            ftp = self.client("alice")
            self.assertTrue(ftp.sendcmd(spelling).startswith("200"), spelling)
            for command in ("PASV", "PORT 127,0,0,1,200,10", "EPRT |1|127.0.0.1|51000|"):
                with self.assertRaises(ftplib.error_perm) as caught:
                    ftp.sendcmd(command)
                self.assertTrue(str(caught.exception).startswith("503"), command)
            # EPSV itself goes on working, for every transfer after it.
            for _ in range(2):
                port = int(ftp.sendcmd("EPSV").split("|||")[1].split("|")[0])
                with socket.create_connection(("127.0.0.1", port), timeout=10) as data:
                    ftp.putcmd("RETR allbytes.bin")
                    self.assertTrue(ftp.getresp().startswith("150"))
                    got = self.read_all(data)
                ftp.voidresp()
                self.assertEqual(got, self.tree.all_bytes)
            # REIN resets every parameter, EPSV ALL included.
            ftp.sendcmd("REIN")
            ftp.login("alice", PASSWORD)
            self.assertTrue(ftp.sendcmd("PASV").startswith("227"))
            ftp.sendcmd("ABOR")

    def test_broken_upload_leaves_old_file_intact(self):
        ftp = self.client("alice")
        original = os.urandom(100000)
        ftp.storbinary("STOR keep.bin", io.BytesIO(original))
        # Cut the upload off halfway with a reset.
        conn = ftp.transfercmd("STOR keep.bin")
        conn.sendall(os.urandom(FIVE_MIB // 2))
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        with self.assertRaises((ftplib.error_temp, ftplib.error_perm)):
            ftp.voidresp()
        with open(os.path.join(self.tree.alice, "keep.bin"), "rb") as f:
            self.assertEqual(f.read(), original)
        # A new file cut off by ABOR does not appear at all.
        conn = ftp.transfercmd("STOR never.bin")
        conn.sendall(os.urandom(100000))
        self.abort(ftp)
        conn.close()
        self.assertFalse(os.path.exists(os.path.join(self.tree.alice, "never.bin")))
        self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")
        self.assertEqual(self.temporaries(), [])

    @staticmethod
    def abort(ftp):
        """ABOR as ftplib sends it (urgent data); returns the final reply.

        ftplib returns the first reply, the 426 of the aborted transfer, and leaves the 226 of
        ABOR itself unread."""
        reply = ftp.abort()
        if reply.startswith("426"):
            reply = ftp.getresp()
        return reply

    def test_abort_a_download_keeps_the_session_usable(self):
        ftp = self.client("alice")
        conn = ftp.transfercmd("RETR random.bin")
        conn.recv(1000)
        self.assertTrue(self.abort(ftp).startswith("226"))
        conn.close()
        self.assertEqual(self.retr_bytes(ftp, "allbytes.bin"), self.tree.all_bytes)

    def test_concurrent_sessions(self):
        errors = []

        def worker(n):
            try:
                ftp = ftplib.FTP()
                ftp.connect("127.0.0.1", self.tree.port, timeout=30)
                ftp.login("alice", PASSWORD)
                data = b"%d" % n * 1000
                ftp.storbinary("STOR c%02d.bin" % n, io.BytesIO(data))
                out = io.BytesIO()
                ftp.retrbinary("RETR c%02d.bin" % n, out.write)
                if out.getvalue() != data:
                    errors.append("session %d read back other bytes" % n)
                ftp.quit()
            except Exception as e:  # reported below
                errors.append("session %d: %r" % (n, e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])


class FileSystemTest(FtpTestCase):
    def test_rename_delete_mkdir_rmdir(self):
        ftp = self.client("alice")
        self.assertEqual(ftp.mkd("newdir"), "/newdir")
        ftp.storbinary("STOR newdir/a.txt", io.BytesIO(b"a"))
        ftp.rename("newdir/a.txt", "newdir/b.txt")
        self.assertEqual(ftp.nlst("newdir"), ["b.txt"])
        with self.assertRaises(ftplib.error_perm):
            ftp.rmd("newdir")  # not empty
        ftp.delete("newdir/b.txt")
        ftp.rmd("newdir")
        self.assertFalse(os.path.exists(os.path.join(self.tree.alice, "newdir")))
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.sendcmd("RNTO x")
        self.assertTrue(str(caught.exception).startswith("503"))

    def test_cwd_cdup_pwd(self):
        ftp = self.client("alice")
        ftp.cwd("listing")
        self.assertEqual(ftp.pwd(), "/listing")
        ftp.sendcmd("CDUP")
        self.assertEqual(ftp.pwd(), "/")
        with self.assertRaises(ftplib.error_perm):
            ftp.cwd("random.bin")

    def test_mlsd_facts(self):
        ftp = self.client("alice")
        entries = dict(ftp.mlsd("listing"))
        self.assertEqual(len(entries), 30)
        facts = entries["file03.txt"]
        self.assertEqual(facts["type"], "file")
        self.assertEqual(facts["size"], "3")
        self.assertRegex(facts["modify"], r"^\d{14}$")
        self.assertEqual(facts["perm"], "rwadf")
        self.assertIn("unique", facts)
        top = dict(ftp.mlsd("/"))
        self.assertEqual(top["listing"]["type"], "dir")
        reply = ftp.sendcmd("MLST random.bin")
        self.assertIn("size=%d;" % FIVE_MIB, reply)
        self.assertIn(" /random.bin", reply)

    def test_list_format_and_glob(self):
        ftp = self.client("alice")
        lines = []
        ftp.retrlines("LIST listing", lines.append)
        self.assertEqual(len(lines), 30)
        for line in lines:
            self.assertRegex(line, r"^-[-r][-w][-x][-r][-w][-x][-r][-w][-x] +\d+ +\S+ +\S+ +\d+ "
                                   r"[A-Z][a-z]{2} [ \d]\d ( \d{4}|\d\d:\d\d) file\d\d\.(txt|dat)$")
        self.assertEqual(sorted(ftp.nlst("listing/*.txt")),
                         ["file%02d.txt" % i for i in range(1, 30, 2)])
        lines = []
        ftp.retrlines("LIST -la listing/file0[0-3]*", lines.append)
        self.assertEqual(len(lines), 4)
        status = ftp.sendcmd("STAT listing/file01.txt")
        self.assertTrue(status.startswith("213-"))
        self.assertIn("file01.txt", status)

    def test_size_mdtm_mfmt_chmod(self):
        ftp = self.client("alice")
        self.assertEqual(ftp.size("allbytes.bin"), 16384)
        self.assertEqual(ftp.sendcmd("MFMT 20200102030405 allbytes.bin"),
                         "213 Modify=20200102030405; /allbytes.bin")
        self.assertEqual(ftp.sendcmd("MDTM allbytes.bin"), "213 20200102030405")
        self.assertEqual(ftp.sendcmd("SITE CHMOD 600 allbytes.bin"), "200 SITE CHMOD command ok.")
        self.assertEqual(os.stat(os.path.join(self.tree.alice, "allbytes.bin")).st_mode & 0o777,
                         0o600)

    def test_informational_commands(self):
        ftp = self.client("alice")
        feat = ftp.sendcmd("FEAT")
        for feature in ("EPSV", "MLST type*;", "REST STREAM", "SIZE", "UTF8", "MDTM", "MFMT"):
            self.assertIn(feature, feat)
        self.assertEqual(ftp.sendcmd("OPTS UTF8 ON"), "200 Always in UTF8 mode.")
        self.assertTrue(ftp.sendcmd("HELP").startswith("214"))
        self.assertTrue(ftp.sendcmd("HELP RETR").startswith("214"))
        self.assertTrue(ftp.sendcmd("STAT").startswith("211"))
        self.assertEqual(ftp.sendcmd("TYPE I"), "200 Switching to Binary mode.")
        self.assertEqual(ftp.sendcmd("STRU F"), "200 Structure set to F.")
        self.assertEqual(ftp.sendcmd("MODE S"), "200 Mode set to S.")
        self.assertTrue(ftp.sendcmd("ALLO 100").startswith("202"))
        for command, code in (("STRU R", "504"), ("MODE B", "504"), ("TYPE E", "504"),
                              ("XYZW", "500")):
            with self.assertRaises(ftplib.error_perm) as caught:
                ftp.sendcmd(command)
            self.assertTrue(str(caught.exception).startswith(code), command)

    def test_host_before_login(self):
        ftp = self.client()
        self.assertTrue(ftp.sendcmd("HOST ftp.example.com").startswith("220"))
        ftp.login("alice", PASSWORD)
        with self.assertRaises(ftplib.error_perm):
            ftp.sendcmd("HOST other.example.com")

    def test_utf8_names(self):
        ftp = self.client("alice")
        ftp.encoding = "utf-8"
        name = "f\u00fcr-\u65e5\u672c.txt"
        ftp.storbinary("STOR " + name, io.BytesIO(b"utf8"))
        self.assertIn(name, ftp.nlst())
        self.assertTrue(os.path.exists(os.path.join(self.tree.alice, name)))


class JailTest(FtpTestCase):
    def assert_refused(self, ftp, command):
        with self.assertRaises(ftplib.error_perm) as caught:
            self.retr_bytes(ftp, command[5:]) if command.startswith("RETR ") else ftp.sendcmd(command)
        self.assertTrue(str(caught.exception).startswith("550"), command)

    def test_traversal_stays_inside(self):
        ftp = self.client("alice")
        ftp.cwd("../../../..")
        self.assertEqual(ftp.pwd(), "/")
        for path in ("../../../outside/secret.txt", "/../outside/secret.txt",
                     self.tree.outside + "/secret.txt", "/etc/passwd", "../../../../etc/passwd",
                     "secret_link", "relative_link", "outside_link/secret.txt",
                     "root_link/../../outside/secret.txt"):
            self.assert_refused(ftp, "RETR " + path)
        self.assert_refused(ftp, "CWD outside_link")
        self.assert_refused(ftp, "SIZE secret_link")

    def test_symlink_to_root_is_the_home(self):
        ftp = self.client("alice")
        self.assertEqual(self.retr_bytes(ftp, "root_link/allbytes.bin"), self.tree.all_bytes)
        names = ftp.nlst("root_link")
        self.assertIn("random.bin", names)
        self.assertNotIn("etc", names)

    def test_nothing_outside_is_written(self):
        ftp = self.client("alice")
        with self.assertRaises(ftplib.error_perm):
            ftp.storbinary("STOR outside_link/new.txt", io.BytesIO(b"x"))
        with self.assertRaises(ftplib.error_perm):
            ftp.sendcmd("SITE CHMOD 777 secret_link")
        with self.assertRaises(ftplib.error_perm):
            ftp.rename("../../outside/secret.txt", "stolen.txt")
        self.assertEqual(os.listdir(self.tree.outside), ["secret.txt"])
        with open(os.path.join(self.tree.outside, "secret.txt"), "rb") as f:
            self.assertEqual(f.read(), b"TOP SECRET\n")
        self.assertNotEqual(os.stat(os.path.join(self.tree.outside, "secret.txt")).st_mode & 0o777,
                            0o777)


class ProtocolAbuseTest(FtpTestCase):
    def test_long_command_line(self):
        out = self.raw(b"A" * 10000 + b"\r\nNOOP\r\nQUIT\r\n")
        self.assertTrue(out.startswith(b"500 Command line too long."), out[:100])
        self.assertIn(b"200 NOOP ok.", out)
        # The server still serves others.
        ftp = self.client("alice")
        self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")

    def test_http_request_ends_the_session(self):
        requests = (b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
                    b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nSTOR evil",
                    b"head / HTTP/1.0\r\n\r\n",
                    b"CONNECT 127.0.0.1:25 HTTP/1.1\r\n\r\n",
                    b"OPTIONS * HTTP/1.1\r\n\r\n",
                    b"PUT /x HTTP/1.1\r\n\r\n",
                    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        for request in requests:
            out = self.raw(request)
            self.assertTrue(out.startswith(b"421 "), (request, out))
            self.assertEqual(out.count(b"\r\n"), 1, out)  # nothing after: the session ended
        # After a login too (a browser tab that reuses nothing still gets the same).
        out = self.raw(b"USER anonymous\r\nPASS a@b\r\nGET / HTTP/1.1\r\nNOOP\r\n")
        self.assertIn(b"230 ", out)
        self.assertTrue(out.rstrip(b"\r\n").split(b"\r\n")[-1].startswith(b"421 "), out)
        self.assertNotIn(b"200 NOOP", out)

    def test_telnet_interrupt_before_abor(self):
        ftp = self.client("alice")
        ftp.sock.sendall(b"\xff\xf4\xff\xf2ABOR\r\n")
        self.assertTrue(ftp.getresp().startswith("225"))


class CurlLftpTest(FtpTestCase):
    def url(self, path=""):
        return "ftp://127.0.0.1:%d/%s" % (self.tree.port, path)

    def curl(self, *args):
        return subprocess.run(["curl", "-sS", "--max-time", "60", "-u", "alice:" + PASSWORD]
                              + list(args), capture_output=True, timeout=90)

    def test_curl_download_upload_list(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "random.bin")
            r = self.curl("-o", out, self.url("random.bin"))
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), self.tree.random)
            src = os.path.join(d, "src.bin")
            data = os.urandom(FIVE_MIB)
            with open(src, "wb") as f:
                f.write(data)
            r = self.curl("-T", src, self.url("curl-up.bin"))
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(self.tree.alice, "curl-up.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
            r = self.curl("--ftp-port", "127.0.0.1", "-o", out, self.url("allbytes.bin"))
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), self.tree.all_bytes)
            r = self.curl(self.url("listing/"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stdout.splitlines()), 30)
            r = self.curl("-C", "-", "-o", out, self.url("random.bin"))  # resume a short file
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_lftp_mirror_and_put(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "lftp-src.bin")
            data = os.urandom(1 << 20)
            with open(src, "wb") as f:
                f.write(data)
            script = ("set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; "
                      "open -u alice,'%s' -p %d 127.0.0.1; "
                      "mirror listing %s/listing; put %s -o lftp-up.bin; "
                      "get random.bin -o %s/random.bin; mkdir lftp-dir; rm lftp-up.bin; "
                      "ls lftp-dir; bye" % (PASSWORD, self.tree.port, d, src, d))
            r = subprocess.run(["lftp", "-c", script], capture_output=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(os.listdir(os.path.join(d, "listing"))), 30)
            with open(os.path.join(d, "random.bin"), "rb") as f:
                self.assertEqual(f.read(), self.tree.random)
            self.assertTrue(os.path.isdir(os.path.join(self.tree.alice, "lftp-dir")))
            self.assertFalse(os.path.exists(os.path.join(self.tree.alice, "lftp-up.bin")))


class CurlLftpMoreTest(FtpTestCase):
    """More of what curl and lftp do: every data-connection mode, resumes both ways, appends,
    ranges (curl closes the data connection early and reuses the session), mirror uploads,
    MLSD listings, renames and chmod."""

    def url(self, path=""):
        return "ftp://127.0.0.1:%d/%s" % (self.tree.port, path)

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "--max-time", "60", "-u", "alice:" + PASSWORD]
                           + list(args), capture_output=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def lftp(self, commands):
        script = ("set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; "
                  "set cmd:fail-exit yes; open -u alice,'%s' -p %d 127.0.0.1; %s; bye"
                  % (PASSWORD, self.tree.port, commands))
        r = subprocess.run(["lftp", "-c", script], capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode()

    def home(self, name):
        with open(os.path.join(self.tree.alice, name), "rb") as f:
            return f.read()

    def test_curl_data_connection_modes(self):
        expected = self.tree.all_bytes
        for mode in ([], ["--disable-epsv"], ["--ftp-port", "127.0.0.1"],
                     ["--ftp-port", "127.0.0.1", "--disable-eprt"]):
            self.assertEqual(self.curl(*mode, self.url("allbytes.bin")), expected, mode)

    def test_curl_resume_append_range_and_quote(self):
        with tempfile.TemporaryDirectory() as d:
            data = os.urandom(1 << 20)
            src = os.path.join(d, "src.bin")
            with open(src, "wb") as f:
                f.write(data)
            # An upload that stopped halfway, resumed with -C - (SIZE, then APPE).
            with open(os.path.join(self.tree.alice, "curl-resume.bin"), "wb") as f:
                f.write(data[:300000])
            self.curl("-C", "-", "-T", src, self.url("curl-resume.bin"))
            self.assertEqual(self.home("curl-resume.bin"), data)
            # --append.
            self.curl("--append", "-T", src, self.url("curl-resume.bin"))
            self.assertEqual(self.home("curl-resume.bin"), data + data)
            # A download resumed from what is already there (REST).
            out = os.path.join(d, "part.bin")
            with open(out, "wb") as f:
                f.write(self.tree.random[:777777])
            self.curl("-C", "-", "-o", out, self.url("random.bin"))
            with open(out, "rb") as f:
                self.assertEqual(f.read(), self.tree.random)
        # Ranges: curl reads what it wants and closes the data connection early; two URLs on
        # one control connection show that the session survives it.
        got = self.curl("-r", "1000-1999", self.url("random.bin"), "--next",
                        "-u", "alice:" + PASSWORD, "-r", "5-9", self.url("allbytes.bin"))
        self.assertEqual(got, self.tree.random[1000:2000] + self.tree.all_bytes[5:10])
        # Headers only: SIZE and MDTM.
        head = self.curl("-I", self.url("allbytes.bin")).decode()
        self.assertIn("Content-Length: 16384", head)
        self.assertIn("Last-Modified:", head)
        # Directory creation on the way, quote commands, NLST.
        r = subprocess.run(["curl", "-sS", "--max-time", "60", "-u", "alice:" + PASSWORD,
                            "--ftp-create-dirs", "-T", "-", self.url("made/by/curl/x.txt")],
                           input=b"piped", capture_output=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.home("made/by/curl/x.txt"), b"piped")
        self.curl("-Q", "-RNFR /made/by/curl/x.txt", "-Q", "-RNTO /made/y.txt",
                  "-l", self.url("made/"))
        self.assertEqual(self.home("made/y.txt"), b"piped")
        names = self.curl("-l", self.url("made/")).decode().split()
        self.assertEqual(sorted(names), ["by", "y.txt"])

    def test_lftp_resume_mirror_up_and_file_management(self):
        with tempfile.TemporaryDirectory() as d:
            data = os.urandom(1 << 20)
            src = os.path.join(d, "big.bin")
            with open(src, "wb") as f:
                f.write(data)
            # put -c: continue an upload that stopped halfway (REST + STOR).
            with open(os.path.join(self.tree.alice, "lftp-resume.bin"), "wb") as f:
                f.write(data[:400000])
            self.lftp("put -c %s -o lftp-resume.bin" % src)
            self.assertEqual(self.home("lftp-resume.bin"), data)
            # get -c: continue a download.
            part = os.path.join(d, "random.bin")
            with open(part, "wb") as f:
                f.write(self.tree.random[:1000000])
            self.lftp("get -c random.bin -o %s" % part)
            with open(part, "rb") as f:
                self.assertEqual(f.read(), self.tree.random)
            # mirror -R: a tree up, then listed with MLSD (cls) and LIST (ls).
            up = os.path.join(d, "up")
            for name in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
                path = os.path.join(up, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(name)
            self.lftp("mirror -R %s mirrored" % up)
            self.assertEqual(self.home("mirrored/sub/deeper/c.txt"), b"sub/deeper/c.txt")
            listed = self.lftp("cls -1 mirrored/sub; ls mirrored")
            self.assertIn("b.txt", listed)
            self.assertIn("deeper", listed)
            self.assertRegex(listed, r"(?m)^d[-rwx]{9} .* sub$")
            # mv, chmod, rm -r.
            self.lftp("mv mirrored/a.txt mirrored/renamed.txt; chmod 600 mirrored/renamed.txt")
            self.assertEqual(self.home("mirrored/renamed.txt"), b"a.txt")
            self.assertEqual(
                os.stat(os.path.join(self.tree.alice, "mirrored/renamed.txt")).st_mode & 0o777,
                0o600)
            self.lftp("rm -r mirrored")
            self.assertFalse(os.path.exists(os.path.join(self.tree.alice, "mirrored")))


class LimitsTest(FtpTestCase):
    extra_options = {"max_per_source": "3", "idle_timeout": "2s"}

    def test_per_source_limit_answers_421(self):
        held = [self.client() for _ in range(3)]
        with socket.create_connection(("127.0.0.1", self.tree.port), timeout=5) as s:
            first = s.recv(1000)
        self.assertTrue(first.startswith(b"421 "), first)
        held[0].close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # a slot frees up once the server saw the close
            with socket.create_connection(("127.0.0.1", self.tree.port), timeout=5) as s:
                first = s.recv(1000)
            if first.startswith(b"220 "):
                break
            time.sleep(0.05)
        self.assertTrue(first.startswith(b"220 "), first)

    def test_idle_timeout_answers_421(self):
        s = socket.create_connection(("127.0.0.1", self.tree.port), timeout=10)
        with s:
            data = b""
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                chunk = s.recv(1000)
                if not chunk:
                    break
                data += chunk
        self.assertIn(b"421 Timeout.", data)


class UnreadRepliesTest(FtpTestCase):
    extra_options = {"idle_timeout": "2s"}

    def test_a_client_that_never_reads_is_closed(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", self.tree.port))
        with s:
            s.settimeout(3)
            try:
                s.sendall(b"HELP\r\n" * 50000)  # about 30 MB of replies, never read
            except socket.timeout:
                pass  # the server stopped reading commands: its replies are stuck
            time.sleep(7)  # idle timeout + write deadline + a tick
            s.settimeout(10)
            received = b""
            try:
                while True:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    received += chunk
            except ConnectionResetError:
                pass
        self.assertLess(received.count(b"214 Help OK."), 50000)
        ftp = self.client("alice")  # and the server serves others
        self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")


class SessionLimitTest(FtpTestCase):
    extra_options = {"max_sessions": "2"}

    def test_max_sessions_answers_421(self):
        held = [self.client() for _ in range(2)]
        with socket.create_connection(("127.0.0.1", self.tree.port), timeout=5) as s:
            self.assertTrue(s.recv(1000).startswith(b"421 Too many users"))
        self.assertEqual(held[0].sendcmd("NOOP"), "200 NOOP ok.")


class StatDuringTransferTest(FtpTestCase):
    extra_options = {"download_rate": "2M"}

    def test_stat_answers_while_data_moves(self):
        ftp = self.client("alice")
        conn = ftp.transfercmd("RETR random.bin")  # 5 MiB at 2 MiB/s: a few seconds
        with conn:
            conn.recv(65536)
            status = ftp.sendcmd("STAT")
            self.assertTrue(status.startswith("211"), status)
            self.assertIn("Transfer in progress", status)
            got = 65536
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        ftp.voidresp()


class AbortTest(FtpTestCase):
    """ABOR the ways clients send it, while data moves (slowly, so that it is still moving)."""
    extra_options = {"download_rate": "1M", "upload_rate": "1M"}

    def abort_replies(self, ftp):
        """The two replies that follow an ABOR during a transfer: 426 (the transfer), 226."""
        first = ftp.getmultiline()
        second = ftp.getmultiline()
        return first[:3], second[:3]

    def test_ftplib_abort_sends_abor_as_urgent_data(self):
        ftp = self.client("alice")
        conn = ftp.transfercmd("RETR random.bin")
        with conn:
            conn.recv(1000)
            # ftplib sends "ABOR\r\n" with MSG_OOB: the LF is the urgent byte.
            first = ftp.abort()
            self.assertEqual(first[:3], "426")
            self.assertEqual(ftp.getresp()[:3], "226")
        self.assertEqual(self.retr_bytes(ftp, "allbytes.bin"), self.tree.all_bytes)

    def test_telnet_ip_and_synch_as_urgent_data(self):
        """What BSD ftp, lftp and netkit ftp send: IAC IP, then IAC DM as urgent data (the
        Synch), then ABOR."""
        ftp = self.client("alice")
        conn = ftp.transfercmd("RETR random.bin")
        with conn:
            conn.recv(1000)
            ftp.sock.send(b"\xff\xf4\xff", socket.MSG_OOB)
            ftp.sock.send(b"\xf2ABOR\r\n")
            self.assertEqual(self.abort_replies(ftp), ("426", "226"))
        self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")
        self.assertEqual(self.retr_bytes(ftp, "allbytes.bin"), self.tree.all_bytes)

    def test_urgent_abor_of_an_upload_leaves_nothing(self):
        ftp = self.client("alice")
        conn = ftp.transfercmd("STOR aborted.bin")
        with conn:
            conn.sendall(os.urandom(200000))
            ftp.sock.send(b"\xff\xf4\xff", socket.MSG_OOB)
            ftp.sock.send(b"\xf2ABOR\r\n")
            self.assertEqual(self.abort_replies(ftp), ("426", "226"))
        self.assertFalse(os.path.exists(os.path.join(self.tree.alice, "aborted.bin")))
        leftovers = [f for f in os.listdir(self.tree.alice) if f.startswith(".in.")]
        self.assertEqual(leftovers, [])

    def test_abor_without_a_transfer(self):
        ftp = self.client("alice")
        ftp.sendcmd("PASV")
        ftp.sock.send(b"ABOR\r", socket.MSG_OOB)
        ftp.sock.send(b"\n")
        self.assertEqual(ftp.getresp()[:3], "225")
        with self.assertRaises(ftplib.error_temp):  # the PASV listener is gone with it
            ftp.sendcmd("RETR allbytes.bin")


class AtomicUploadTest(FtpTestCase):
    """REST+STOR and APPE resume, and still show nothing half-written (slow uploads, so that
    they can be watched while they run)."""
    extra_options = {"upload_rate": "1M"}

    def file(self, name):
        with open(os.path.join(self.tree.alice, name), "rb") as f:
            return f.read()

    def cut_off(self, ftp, command, data, rest=None, watch=None):
        """Starts an upload, sends `data`, calls `watch` while it runs, then resets it."""
        conn = ftp.transfercmd(command, rest=rest)
        conn.sendall(data)
        if watch:
            watch()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        with self.assertRaises((ftplib.error_temp, ftplib.error_perm)):
            ftp.voidresp()

    def temporaries(self):
        return [f for f in os.listdir(self.tree.alice) if f.startswith(".in.")]

    def test_interrupted_appe_and_rest_stor_leave_the_old_file(self):
        ftp = self.client("alice")
        original = os.urandom(100000)
        ftp.storbinary("STOR atomic.bin", io.BytesIO(original))
        watcher = self.client("alice")

        def watch():
            # While the upload runs, the final name shows the old file, whole; and no listing
            # shows the temporary that is filling up.
            time.sleep(0.2)
            self.assertEqual(self.retr_bytes(watcher, "atomic.bin"), original)
            self.assertEqual(watcher.size("atomic.bin"), len(original))
            self.assertEqual(len(self.temporaries()), 1)
            names = watcher.nlst()
            self.assertFalse([n for n in names if n.startswith(".in.")], names)
            self.assertFalse([n for n, _ in watcher.mlsd() if n.startswith(".in.")])

        self.cut_off(ftp, "APPE atomic.bin", os.urandom(300000), watch=watch)
        self.assertEqual(self.file("atomic.bin"), original)
        self.cut_off(ftp, "STOR atomic.bin", os.urandom(300000), rest=50000, watch=watch)
        self.assertEqual(self.file("atomic.bin"), original)
        self.assertEqual(self.temporaries(), [])

        # Completed, both resume: REST+STOR keeps the prefix, APPE adds to the end.
        tail = os.urandom(70000)
        ftp.storbinary("STOR atomic.bin", io.BytesIO(tail), rest=50000)
        self.assertEqual(self.file("atomic.bin"), original[:50000] + tail)
        ftp.storbinary("APPE atomic.bin", io.BytesIO(b"end"))
        self.assertEqual(self.file("atomic.bin"), original[:50000] + tail + b"end")
        # APPE of a file that is not there yet creates it.
        ftp.storbinary("APPE fresh.bin", io.BytesIO(b"new"))
        self.assertEqual(self.file("fresh.bin"), b"new")
        self.assertEqual(self.temporaries(), [])

    def test_rest_past_the_end_is_refused(self):
        ftp = self.client("alice")
        ftp.storbinary("STOR short.bin", io.BytesIO(b"0123456789"))
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.storbinary("STOR short.bin", io.BytesIO(b"x"), rest=11)
        self.assertTrue(str(caught.exception).startswith("554"))
        self.assertEqual(self.file("short.bin"), b"0123456789")


class LargeDirectoryTest(FtpTestCase):
    """LIST of a 10,000-entry directory streams: the worker never holds the whole listing."""
    entries = 10000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        big = os.path.join(cls.tree.alice, "big")
        os.makedirs(big)
        for i in range(cls.entries):
            # Long names: the whole LIST output is about 2.5 MB.
            open(os.path.join(big, "%05d-%s" % (i, "n" * 190)), "wb").close()

    def high_water_kib(self):
        (pid,) = self.portd.worker_pids()["ftp"]
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM for the worker")

    def test_list_streams_ten_thousand_entries(self):
        if sanitized_build():
            self.skipTest("under ASan freed memory waits in quarantine: peak RSS proves nothing")
        ftp = self.client("alice")
        ftp.nlst("listing")  # warm up: threads, buffers
        before = self.high_water_kib()
        size = 0
        lines = []

        def collect(line):
            lines.append(line)

        ftp.retrlines("LIST big", collect)
        size = sum(len(line) + 2 for line in lines)
        self.assertEqual(len(lines), self.entries)
        self.assertGreater(size, 2 << 20)
        self.assertEqual(len(ftp.nlst("big")), self.entries)
        self.assertEqual(len(list(ftp.mlsd("big"))), self.entries)
        grown = self.high_water_kib() - before
        # Holding the listing would raise the peak by its size (2.5 MB or more).
        self.assertLess(grown * 1024, size // 2, "worker peak memory grew by %d KiB" % grown)
        # A pattern that matches nothing walks the directory in pieces, and the server
        # answers others meanwhile.
        self.assertEqual(ftp.nlst("big/*.nomatch"), [])
        self.assertEqual(sorted(ftp.nlst("big/0000[1-3]-*")),
                         ["%05d-%s" % (i, "n" * 190) for i in (1, 2, 3)])


class JournalEventsTest(FtpTestCase):
    """Without xferlog: the same lines go to portd's event log as PORTD_EVENT=transfer and
    login (stderr when run by hand, the journal under systemd, with REMOTE_ADDR and
    PORTD_SERVICE)."""
    extra_options = {"xferlog": None}

    def test_transfer_and_login_events(self):
        mark = self.portd.log_mark()
        ftp = self.client("alice")
        self.retr_bytes(ftp, "allbytes.bin")
        for needle in ("login 127.0.0.1:", "[alice] OK LOGIN: Client \"127.0.0.1\"",
                       "transfer 127.0.0.1:", " 16384 /allbytes.bin b _ o r alice ftp 0 * c"):
            self.assertTrue(self.portd.wait_for_log(needle, since=mark),
                            (needle, self.portd.stderr(mark)))
        self.assertFalse(os.path.exists(self.tree.xferlog))


class PassiveAddressTest(FtpTestCase):
    """The PASV address behind NAT: passive_address for everyone, passive_address_map per
    client network, the most specific network winning."""
    extra_options = {"passive_address": "203.0.113.7",
                     "passive_address_map": {"10.0.0.0/8": "10.0.0.5",
                                             "127.0.0.0/8": "192.0.2.8",
                                             "127.0.0.0/24": "192.0.2.24"}}

    def test_pasv_advertises_the_mapped_address(self):
        ftp = self.client("alice")
        host, port = ftplib.parse227(ftp.sendcmd("PASV"))
        self.assertEqual(host, "192.0.2.24")  # 127.0.0.1 is in 127.0.0.0/24, the most specific
        self.assertTrue(self.tree.passive[0] <= port <= self.tree.passive[1])
        # The listener itself is on the address the client reached: it still works here.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as data:
            ftp.putcmd("RETR allbytes.bin")
            self.assertTrue(ftp.getresp().startswith("150"))
            got = TransferTest.read_all(data)
        ftp.voidresp()
        self.assertEqual(got, self.tree.all_bytes)
        # EPSV carries no address at all.
        self.assertRegex(ftp.sendcmd("EPSV"), r"^229 .*\(\|\|\|\d+\|\)$")


class PassiveAddressDefaultTest(FtpTestCase):
    extra_options = {"passive_address": "203.0.113.7",
                     "passive_address_map": {"10.0.0.0/8": "10.0.0.5"}}

    def test_clients_outside_the_map_get_passive_address(self):
        ftp = self.client("alice")
        host, _ = ftplib.parse227(ftp.sendcmd("PASV"))
        self.assertEqual(host, "203.0.113.7")


class AnonymousUploadTest(FtpTestCase):
    """anonymous: upload may add files and directories, never change what is there."""
    extra_options = {"anonymous": "upload"}

    def test_upload_area(self):
        ftp = self.client("anonymous", "guest@example.com")
        ftp.storbinary("STOR incoming.txt", io.BytesIO(b"new"))
        ftp.mkd("drop")
        ftp.storbinary("STOR drop/inner.txt", io.BytesIO(b"inner"))
        with open(os.path.join(self.tree.anon, "incoming.txt"), "rb") as f:
            self.assertEqual(f.read(), b"new")
        self.assertEqual(self.retr_bytes(ftp, "pub/hello.txt"), b"hello anonymous\n")
        for action in (lambda: ftp.storbinary("STOR incoming.txt", io.BytesIO(b"over")),
                       lambda: ftp.storbinary("APPE incoming.txt", io.BytesIO(b"more")),
                       lambda: ftp.storbinary("STOR incoming.txt", io.BytesIO(b"x"), rest=1),
                       lambda: ftp.delete("incoming.txt"),
                       lambda: ftp.rename("incoming.txt", "moved.txt"),
                       lambda: ftp.rmd("drop"),
                       lambda: ftp.sendcmd("SITE CHMOD 777 incoming.txt"),
                       lambda: ftp.sendcmd("MFMT 20200101000000 incoming.txt")):
            with self.assertRaises(ftplib.error_perm):
                action()
        with open(os.path.join(self.tree.anon, "incoming.txt"), "rb") as f:
            self.assertEqual(f.read(), b"new")
        self.assertTrue(os.path.isdir(os.path.join(self.tree.anon, "drop")))
        # STOU never overwrites: it picks a new name.
        reply = ftp.storbinary("STOU incoming.txt", io.BytesIO(b"unique"))
        self.assertIn("incoming.txt.1", reply)


class DataTimeoutAndRateTest(FtpTestCase):
    extra_options = {"data_timeout": "1s", "download_rate": "1M", "upload_rate": "1M"}

    def test_data_timeout_when_the_client_never_connects(self):
        ftp = self.client("alice")
        ftp.sendcmd("PASV")
        ftp.putcmd("RETR allbytes.bin")
        self.assertTrue(ftp.getresp().startswith("150"))
        with self.assertRaises(ftplib.error_temp) as caught:
            ftp.getresp()
        self.assertTrue(str(caught.exception).startswith("425"))
        self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")

    def test_rates_are_limited(self):
        ftp = self.client("alice")
        start = time.monotonic()
        self.assertEqual(self.retr_bytes(ftp, "random.bin"), self.tree.random)  # 5 MiB at 1 MiB/s
        self.assertGreater(time.monotonic() - start, 3.0)
        start = time.monotonic()
        ftp.storbinary("STOR slow.bin", io.BytesIO(os.urandom(3 << 20)))
        self.assertGreater(time.monotonic() - start, 1.5)


class Ipv6Test(unittest.TestCase):
    def test_epsv_and_eprt_over_ipv6(self):
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        tree = FtpTree()
        self.addCleanup(tree.cleanup)
        services = tree.services().replace('"127.0.0.1:%d"' % tree.port, '"[::1]:%d"' % tree.port)
        with PortdProcess(services=services):
            ftp = ftplib.FTP()
            ftp.connect("::1", tree.port, timeout=20)  # ftplib uses EPSV and EPRT on IPv6
            ftp.login("alice", PASSWORD)
            out = io.BytesIO()
            ftp.retrbinary("RETR allbytes.bin", out.write)
            self.assertEqual(out.getvalue(), tree.all_bytes)
            ftp.set_pasv(False)
            out = io.BytesIO()
            ftp.retrbinary("RETR allbytes.bin", out.write)
            self.assertEqual(out.getvalue(), tree.all_bytes)
            with self.assertRaises(ftplib.error_temp):
                ftp.sendcmd("PASV")  # 425: PASV cannot describe an IPv6 address
            with self.assertRaises(ftplib.error_perm) as caught:
                ftp.sendcmd("EPSV 1")
            self.assertTrue(str(caught.exception).startswith("522"))
            ftp.quit()


class UsersFileReloadTest(FtpTestCase):
    """The users file is looked at before every login: edits count without a restart."""

    def write_users(self, text, rename=False):
        if rename:  # as editors that save to a new file and rename it do
            with open(self.tree.users + ".new", "w") as f:
                f.write(text)
            os.replace(self.tree.users + ".new", self.tree.users)
        else:
            with open(self.tree.users, "w") as f:
                f.write(text)

    def refused(self, user, password):
        ftp = self.client()
        start = time.monotonic()
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.login(user, password)
        self.assertEqual(str(caught.exception), "530 Login incorrect.")
        return time.monotonic() - start

    def test_add_change_and_remove_users_under_a_running_portd(self):
        with open(self.tree.users) as f:
            original = f.read()
        self.addCleanup(self.write_users, original)
        hashed = [line.split(":")[1] for line in original.splitlines()
                  if line.startswith("alice:")][0]
        held = self.client("alice")  # logged in before every edit below

        # Add a user.
        self.assertGreaterEqual(self.refused("carol", PASSWORD), 0.09)
        self.write_users(original + "carol:%s:homes/bob:rw\n" % hashed)
        carol = self.client("carol", PASSWORD)
        self.assertEqual(carol.nlst(), ["readme.txt"])

        # Change a password (a hash of the same length, written in place).
        new_password = "n3w s3cret"
        changed = original.replace("alice:%s:" % hashed, "alice:%s:" % crypt_hash(new_password))
        self.assertNotEqual(changed, original)
        self.write_users(changed + "carol:%s:homes/bob:rw\n" % hashed)
        self.assertGreaterEqual(self.refused("alice", PASSWORD), 0.09)  # the delay still holds
        self.client("alice", new_password)

        # Remove a user (the new file renamed over the old one).
        self.write_users(changed, rename=True)
        self.assertGreaterEqual(self.refused("carol", PASSWORD), 0.09)
        # An unknown user and a wrong password still look the same.
        self.refused("alice", PASSWORD)

        # The session that logged in first is unaffected by all of it.
        self.assertEqual(held.pwd(), "/")
        self.assertEqual(self.retr_bytes(held, "allbytes.bin"), self.tree.all_bytes)

        # A version that does not parse is not used, and is reported once, with its line.
        mark = self.portd.log_mark()
        self.write_users(changed + "dave:%s:homes/bob:rw\nbroken line\n" % hashed)
        for _ in range(3):
            self.client("alice", new_password)  # the table read before still serves
            self.refused("dave", PASSWORD)
        needle = "%s:%d: " % (self.tree.users, changed.count("\n") + 2)
        self.assertTrue(self.portd.wait_for_log(needle, since=mark), self.portd.stderr(mark))
        self.assertEqual(self.portd.stderr(mark).count(self.tree.users + ":"), 1,
                         self.portd.stderr(mark))

        # Fixed: used at the next login.
        self.write_users(changed + "dave:%s:homes/bob:rw\n" % hashed)
        self.client("dave", PASSWORD)


class CheckTest(unittest.TestCase):
    def test_check_reports_every_option_problem(self):
        tree = FtpTree()
        self.addCleanup(tree.cleanup)
        services = tree.services(anonymous="read-onyl", passive_ports="60000-50000",
                                 root=os.path.join(tree.root, "missing"))
        code, _, err = run_portd(["--check"], manifest_text(services))
        self.assertNotEqual(code, 0)
        self.assertIn("services.ftp.options.anonymous", err)
        self.assertIn("did you mean 'read-only'", err)
        self.assertIn("services.ftp.options.passive_ports", err)
        self.assertIn("services.ftp.options.root", err)
        self.assertNotIn("nobody can log in", err)

    def test_check_accepts_a_good_manifest(self):
        tree = FtpTree()
        self.addCleanup(tree.cleanup)
        code, out, err = run_portd(["--check"], manifest_text(tree.services()))
        self.assertEqual(code, 0, err)


class DrainTest(unittest.TestCase):
    def test_sigterm_says_421_to_idle_sessions(self):
        tree = FtpTree()
        self.addCleanup(tree.cleanup)
        with PortdProcess(services=tree.services()) as portd:
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", tree.port, timeout=10)
            ftp.login("alice", PASSWORD)
            portd.stop()
            data = b""
            try:
                while True:
                    chunk = ftp.sock.recv(1000)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            ftp.close()
            self.assertIn(b"421 ", data)


if __name__ == "__main__":
    unittest.main()
