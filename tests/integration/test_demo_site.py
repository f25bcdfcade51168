"""conf/dev.yaml, the manifest of `make run`, served for real: its site over HTTP and FTP, and
its echo service, on free ports instead of its fixed ones."""

import ftplib
import http.client
import io
import os
import re
import socket
import unittest

from portd_harness import MODULES_DIR, PortdProcess, connect, free_port

CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
SITE = os.path.join(CONF, "dev", "www")


def free_port_on_both_families():
    """A port free on 127.0.0.1 and on ::1 alike: the demo listens on both."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            try:
                s.bind(("::1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def read(name):
    with open(os.path.join(SITE, name), "rb") as f:
        return f.read()


class DemoSite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(CONF, "dev.yaml")) as f:
            text = f.read()
        # Its own ports are fixed (10080, ...): each becomes a free one, the same on both
        # families; the passive range becomes one free port.
        cls.ports = {}
        for fixed in sorted(set(re.findall(r":(100\d\d)\"", text))):
            cls.ports[int(fixed)] = free_port_on_both_families()
            text = text.replace(":{}\"".format(fixed), ":{}\"".format(cls.ports[int(fixed)]))
        assert not re.search(r":100\d\d\"", text), "a fixed port is left"
        passive = free_port()
        text = text.replace("passive_ports: 30000-30099",
                            "passive_ports: {0}-{0}".format(passive))
        text = text.replace("modules_dir: ../build/modules", "modules_dir: " + MODULES_DIR)
        cls.portd = PortdProcess(manifest=text, manifest_name="conf/dev.yaml")
        # The layout `make run` sees: the manifest beside conf/dev, and build/ftp/dev.
        os.symlink(os.path.abspath(os.path.join(CONF, "dev")),
                   os.path.join(cls.portd.dir.name, "conf", "dev"))
        os.makedirs(os.path.join(cls.portd.dir.name, "build", "ftp", "dev"))
        cls.portd.start()

    @classmethod
    def tearDownClass(cls):
        cls.portd.__exit__(None, None, None)

    def get(self, path, host="127.0.0.1"):
        conn = http.client.HTTPConnection(host, self.ports[10080], timeout=20)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def test_the_site_is_served_on_both_families(self):
        for host in ("127.0.0.1", "::1"):
            status, headers, body = self.get("/", host)
            self.assertEqual((status, body), (200, read("index.html")), host)
            self.assertEqual(headers["content-type"], "text/html")
            self.assertEqual(headers["cache-control"], "public, max-age=60")
        self.assertEqual(self.get("/hello.txt")[2], read("hello.txt"))

    def test_its_error_page_and_listing(self):
        status, _, body = self.get("/nope")
        self.assertEqual((status, body), (404, read("404.html")))
        status, _, body = self.get("/docs/")
        self.assertEqual(status, 200)
        self.assertIn(b'href="try-it.txt"', body)

    def test_echo(self):
        for host in ("127.0.0.1", "::1"):
            with connect(self.ports[10007], host=host) as s:
                s.sendall(b"hello demo\r\n")
                self.assertEqual(s.recv(100), b"hello demo\r\n")

    def test_ftp_anonymous_reads_the_site_and_dev_uploads_to_its_home(self):
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", self.ports[10021], timeout=20)
            ftp.login()
            got = io.BytesIO()
            ftp.retrbinary("RETR hello.txt", got.write)
            self.assertEqual(got.getvalue(), read("hello.txt"))
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", self.ports[10021], timeout=20)
            ftp.login("dev", "dev")
            ftp.storbinary("STOR upload.txt", io.BytesIO(b"uploaded"))
        with open(os.path.join(self.portd.dir.name, "build", "ftp", "dev", "upload.txt"),
                  "rb") as f:
            self.assertEqual(f.read(), b"uploaded")


if __name__ == "__main__":
    unittest.main()
