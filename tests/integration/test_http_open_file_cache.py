"""The http module's open-file cache against the real daemon: files changed under a running
server are served as they are now, on connections that stay open across the change.

Deploy tools rename a new file over the old one, editors rewrite in place, operators delete
files and swap symlinks. Each is checked byte for byte, and a deleted file's descriptor must be
let go without waiting for a request (its space goes back to the file system only then).
"""

import http.client
import os
import subprocess
import tempfile
import time
import unittest

from portd_harness import PortdProcess, free_ports


def watchable(path):
    """Whether the cache keeps files here: local file systems only (see open_file_cache.hpp)."""
    kind = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True,
                          check=True).stdout.strip()
    return kind in ("ext2/ext3", "xfs", "btrfs", "tmpfs", "f2fs")


def held_files(pid):
    """The files the process has open, by the path /proc shows (" (deleted)" when unlinked)."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue
        if target.startswith("/"):
            out.append(target)
    return out


def inotify_instances(pid):
    """How many inotify instances the process holds."""
    count = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:inotify":
                count += 1
        except FileNotFoundError:
            continue
    return count


class HttpOpenFileCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portd-http-cache-")
        cls.root = os.path.join(cls.tmp.name, "www")
        os.makedirs(os.path.join(cls.root, "docs"))
        with open(os.path.join(cls.tmp.name, "secret.txt"), "wb") as f:
            f.write(b"outside the root")
        cls.port, cls.uncached_port, cls.threaded_port = free_ports(3)
        # web and uncached have one shard each, so that the connection and the cache the checks
        # look at are the same; threaded has several, for what the shards share.
        cls.portd = PortdProcess(services="""
            web:
              module: http
              listen: ["127.0.0.1:{port}"]
              threads: 1
              options: {{ root: {root}, access_log: "off" }}
            uncached:
              module: http
              listen: ["127.0.0.1:{uncached}"]
              threads: 1
              options: {{ root: {root}, access_log: "off", open_file_cache: 0 }}
            threaded:
              module: http
              listen: ["127.0.0.1:{threaded}"]
              threads: 4
              options: {{ root: {root}, access_log: "off" }}
        """.format(port=cls.port, uncached=cls.uncached_port, threaded=cls.threaded_port,
                   root=cls.root))
        cls.portd.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.portd.__exit__(None, None, None)
        finally:
            cls.tmp.cleanup()

    def setUp(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def tearDown(self):
        self.conn.close()

    def write(self, name, data):
        with open(os.path.join(self.root, name), "wb") as f:
            f.write(data)

    def get(self, path, conn=None):
        """Status, body and ETag, on the test's one keep-alive connection."""
        conn = conn or self.conn
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status == 200:
            self.assertEqual(int(r.getheader("Content-Length")), len(body))
        return r.status, body, r.getheader("ETag")

    def keep(self, path, conn=None):
        """Asks for `path` twice (a file is kept at its second use); the second answer."""
        self.get(path, conn)
        return self.get(path, conn)

    def worker(self, service):
        (pid,) = self.portd.worker_pids()[service]
        return pid

    def test_a_file_renamed_over_is_served_new_on_the_same_connection(self):
        self.write("deploy.html", b"version 1")
        status, body, etag = self.keep("/deploy.html")
        self.assertEqual((status, body), (200, b"version 1"))
        self.assertEqual(self.get("/deploy.html")[1], b"version 1")  # from the cache
        self.write(".deploy.tmp", b"version 2, longer")
        os.rename(os.path.join(self.root, ".deploy.tmp"), os.path.join(self.root, "deploy.html"))
        status, body, new_etag = self.get("/deploy.html")
        self.assertEqual((status, body), (200, b"version 2, longer"))
        self.assertNotEqual(new_etag, etag)

    def test_a_file_rewritten_in_place_is_served_exactly_as_it_is_now(self):
        big = os.urandom(64 * 1024)
        self.write("edit.bin", big)
        self.assertEqual(self.keep("/edit.bin")[1], big)
        self.write("edit.bin", b"short now")  # truncated and written: the same inode
        self.assertEqual(self.get("/edit.bin")[:2], (200, b"short now"))
        more = os.urandom(100 * 1024)
        self.write("edit.bin", more)
        self.assertEqual(self.get("/edit.bin")[:2], (200, more))

    def test_a_file_in_a_directory_replaced_is_served_from_the_new_one(self):
        self.write("docs/guide.html", b"old guide")
        self.assertEqual(self.keep("/docs/guide.html")[1], b"old guide")
        os.rename(os.path.join(self.root, "docs"), os.path.join(self.root, "docs.old"))
        os.makedirs(os.path.join(self.root, "docs"))
        self.write("docs/guide.html", b"new guide")
        self.assertEqual(self.get("/docs/guide.html")[:2], (200, b"new guide"))

    def test_the_home_page_follows_its_index_file(self):
        # "/" is a directory kept open, then its index file.
        self.write("index.html", b"home 1")
        self.assertEqual(self.get("/")[:2], (200, b"home 1"))
        self.assertEqual(self.get("/")[:2], (200, b"home 1"))
        self.write(".index.tmp", b"home 2")
        os.rename(os.path.join(self.root, ".index.tmp"), os.path.join(self.root, "index.html"))
        self.assertEqual(self.get("/")[:2], (200, b"home 2"))
        os.unlink(os.path.join(self.root, "index.html"))
        self.assertEqual(self.get("/")[0], 403)  # no index, and no listing in this service

    def test_a_symlink_pointed_outside_the_root_is_refused_at_once(self):
        self.write("target.txt", b"inside")
        link = os.path.join(self.root, "current.txt")
        os.symlink("target.txt", link)
        self.assertEqual(self.keep("/current.txt")[:2], (200, b"inside"))
        os.unlink(link)
        os.symlink("../secret.txt", link)
        status, body, _ = self.get("/current.txt")
        self.assertEqual(status, 403)
        self.assertNotIn(b"outside the root", body)

    def test_a_deleted_file_is_let_go_without_a_request_and_then_not_found(self):
        path = os.path.join(self.root, "doomed.bin")
        self.write("doomed.bin", os.urandom(1024 * 1024))
        self.assertEqual(self.keep("/doomed.bin")[0], 200)
        worker = self.worker("web")
        if watchable(self.root):
            self.assertIn(path, held_files(worker))  # kept for the next request
        os.unlink(path)
        deadline = time.monotonic() + 5
        while any(f.startswith(path) for f in held_files(worker)):
            self.assertLess(time.monotonic(), deadline, held_files(worker))
            time.sleep(0.05)
        self.assertEqual(self.get("/doomed.bin")[0], 404)

    def test_a_file_is_kept_at_its_second_use_not_its_first(self):
        # A site with more files in use than the cache holds must not pay for keeping, and
        # evicting, a file at every request: one asked for once is opened as with the cache off.
        if not watchable(self.root):
            self.skipTest("the cache keeps no file on this file system")
        data = os.urandom(4096)
        self.write("twice.bin", data)
        path = os.path.join(self.root, "twice.bin")
        worker = self.worker("web")
        self.assertEqual(self.get("/twice.bin")[:2], (200, data))
        # The response's own descriptor closes just after its last byte left: allow for that.
        deadline = time.monotonic() + 2
        while path in held_files(worker):
            self.assertLess(time.monotonic(), deadline, held_files(worker))
            time.sleep(0.05)
        self.assertEqual(self.get("/twice.bin")[:2], (200, data))
        self.assertIn(path, held_files(worker))
        self.assertEqual(self.get("/twice.bin")[:2], (200, data))

    def test_a_service_with_the_cache_off_keeps_no_file_open(self):
        self.write("plain.txt", b"plain")
        conn = http.client.HTTPConnection("127.0.0.1", self.uncached_port, timeout=10)
        try:
            self.assertEqual(self.get("/plain.txt", conn)[:2], (200, b"plain"))
            self.assertEqual(self.get("/plain.txt", conn)[:2], (200, b"plain"))
        finally:
            conn.close()
        # The response's own descriptor closes just after its last byte left: allow for that.
        path = os.path.join(self.root, "plain.txt")
        worker = self.worker("uncached")
        deadline = time.monotonic() + 2
        while path in held_files(worker):
            self.assertLess(time.monotonic(), deadline, held_files(worker))
            time.sleep(0.05)

    def test_the_threads_of_a_service_share_one_inotify_instance_and_see_each_change(self):
        if not watchable(self.root):
            self.skipTest("the cache keeps no file on this file system")
        self.write("shared.html", b"shared 1")
        path = os.path.join(self.root, "shared.html")
        worker = self.worker("threaded")
        # New connections go to whichever shard accepts first: open them until at least two
        # shards keep the file.
        conns = []
        try:
            while len(conns) < 64 and held_files(worker).count(path) < 2:
                conn = http.client.HTTPConnection("127.0.0.1", self.threaded_port, timeout=10)
                conns.append(conn)
                self.assertEqual(self.keep("/shared.html", conn)[:2], (200, b"shared 1"))
            self.assertGreaterEqual(held_files(worker).count(path), 2)
            self.assertEqual(inotify_instances(worker), 1)
            self.write(".shared.tmp", b"shared 2")
            os.rename(os.path.join(self.root, ".shared.tmp"), path)
            for conn in conns:  # every shard's cache, whichever read the events
                self.assertEqual(self.get("/shared.html", conn)[:2], (200, b"shared 2"))
            # Deleted: let go by every shard without a request, whichever read the events.
            self.assertGreaterEqual(held_files(worker).count(path), 2)
            os.unlink(path)
            deadline = time.monotonic() + 5
            while any(f.startswith(path) for f in held_files(worker)):
                self.assertLess(time.monotonic(), deadline, held_files(worker))
                time.sleep(0.05)
        finally:
            for conn in conns:
                conn.close()


if __name__ == "__main__":
    unittest.main()
