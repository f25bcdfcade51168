"""The http module serving the downloaders operators point at a static server: apt, wget, lftp.

A Debian package mirror and a tree fetched with `wget -r` are what many nginx installations
serve. These clients combine what the other tests check one by one: apt asks with
If-Modified-Since for its indexes and resumes a cut download with Range and an If-Range date
(the partial file's mtime, set to the server's Last-Modified); wget resumes with `-c`, compares
dates with `-N`, and follows the links of a directory listing; lftp reads each file's size and
date from the text of a listing, as from Apache's and nginx's. Each download is compared byte
for byte with the file served, and each status is read from the client's own report.
"""

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import unittest

from portd_harness import PortdProcess, free_port

APT_GET = shutil.which("apt-get")
DPKG_DEB = shutil.which("dpkg-deb")
APT_HELPER = "/usr/lib/apt/apt-helper"  # apt's own, beside apt-get
WGET = shutil.which("wget")
LFTP = shutil.which("lftp")


def control_fields(name):
    """The package's control fields, as its .deb and the repository's index both carry them."""
    return ("Package: {}\nVersion: 1.0\nArchitecture: all\nMaintainer: portd tests "
            "<portd@localhost>\nDescription: served by portd in a test\n").format(name)


def build_deb(directory, name, payload):
    """A real .deb holding `payload` (dpkg-deb), in `directory`; returns its path."""
    tree = os.path.join(directory, "tree")
    os.makedirs(os.path.join(tree, "DEBIAN"))
    os.makedirs(os.path.join(tree, "usr", "share", name))
    with open(os.path.join(tree, "DEBIAN", "control"), "w") as f:
        f.write(control_fields(name))
    with open(os.path.join(tree, "usr", "share", name, "payload"), "wb") as f:
        f.write(payload)
    path = os.path.join(directory, "{}_1.0_all.deb".format(name))
    # -Znone: the payload is random anyway, and the package keeps its size for the resume.
    subprocess.run([DPKG_DEB, "-Znone", "--build", tree, path], check=True,
                   capture_output=True)
    shutil.rmtree(tree)
    return path


def packages_index(deb, name):
    """The Packages stanza of a flat repository holding `deb` (what dpkg-scanpackages writes)."""
    with open(deb, "rb") as f:
        data = f.read()
    return control_fields(name) + "Filename: ./{}\nSize: {}\nSHA256: {}\n\n".format(
        os.path.basename(deb), len(data), hashlib.sha256(data).hexdigest())


def read(path):
    with open(path, "rb") as f:
        return f.read()


class HttpDownloadClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portd-http-clients-")
        cls.root = os.path.join(cls.tmp.name, "www")
        cls.repo = os.path.join(cls.root, "debian")
        os.makedirs(cls.repo)
        if DPKG_DEB:
            cls.deb = build_deb(cls.repo, "portd-test-pkg", os.urandom(300_000))
            with open(os.path.join(cls.repo, "Packages"), "w") as f:
                f.write(packages_index(cls.deb, "portd-test-pkg"))
        # A tree for wget -r and lftp mirror, with names a listing must escape in its links.
        cls.tree_files = {
            "site/a.txt": b"a\n",
            "site/sub dir/x y&z.txt": b"spaces and an ampersand\n",
            "site/sub dir/100%.txt": b"a percent sign\n",
            "site/caf\u00e9/menu.txt": "caf\u00e9\n".encode(),
            "site/deep/er/est.bin": os.urandom(70_000),
        }
        for name, data in cls.tree_files.items():
            path = os.path.join(cls.root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        cls.big = os.path.join(cls.root, "big.bin")
        with open(cls.big, "wb") as f:
            f.write(os.urandom(1_000_000))
        cls.port = free_port()
        cls.portd = PortdProcess(services="""
            web:
              module: http
              listen: ["127.0.0.1:{port}"]
              options: {{ root: {root}, autoindex: true, access_log: "off" }}
        """.format(port=cls.port, root=cls.root))
        cls.portd.start()
        cls.base = "http://127.0.0.1:{}".format(cls.port)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.portd.stop()
        finally:
            cls.portd.kill()
            cls.tmp.cleanup()

    # -- apt ----------------------------------------------------------------------------------

    def apt(self, state, *args):
        """apt-get on its own lists, cache and status under `state`, never the system's."""
        sources = os.path.join(state, "sources.list")
        with open(sources, "w") as f:
            f.write("deb [trusted=yes] {}/debian ./\n".format(self.base))
        status = os.path.join(state, "status")
        open(status, "a").close()
        options = {
            "Dir::Etc::SourceList": sources,
            "Dir::Etc::SourceParts": os.path.join(state, "sources.list.d"),
            "Dir::Etc::Parts": os.path.join(state, "apt.conf.d"),
            "Dir::Etc::Preferences": os.path.join(state, "preferences"),
            "Dir::Etc::PreferencesParts": os.path.join(state, "preferences.d"),
            "Dir::State": state,
            "Dir::State::Lists": os.path.join(state, "lists"),
            "Dir::State::status": status,
            "Dir::Cache": os.path.join(state, "cache"),
            "Dir::Cache::Archives": os.path.join(state, "archives"),
            "Dir::Log": state,
            "Debug::NoLocking": "1",
            # Downloads as this user: the sandbox user could not write the test's directories.
            "APT::Sandbox::User": pwd.getpwuid(os.getuid()).pw_name,
            "Acquire::Languages": "none",
            "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled": "false",
            "Debug::Acquire::http": "true",
        }
        for d in ("lists/partial", "archives/partial", "cache", "sources.list.d", "apt.conf.d",
                  "preferences.d"):
            os.makedirs(os.path.join(state, d), exist_ok=True)
        argv = [APT_GET, "-q", "-y"]
        for key, value in options.items():
            argv += ["-o", "{}={}".format(key, value)]
        done = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout + done.stderr

    @unittest.skipUnless(APT_GET and DPKG_DEB, "needs apt-get and dpkg-deb (Debian)")
    def test_apt_update_then_unchanged_index_is_not_sent_again(self):
        with tempfile.TemporaryDirectory(prefix="apt-", dir=self.tmp.name) as state:
            first = self.apt(state, "update")
            self.assertIn("HTTP/1.1 200 OK", first)
            lists = os.path.join(state, "lists")
            # apt may keep the index recompressed (".lz4"); its helper reads it back either way.
            fetched = [n for n in os.listdir(lists) if "_Packages" in n]
            self.assertEqual(len(fetched), 1, os.listdir(lists))
            stored = subprocess.run([APT_HELPER, "cat-file", os.path.join(lists, fetched[0])],
                                    capture_output=True, check=True, timeout=30).stdout
            self.assertEqual(stored, read(os.path.join(self.repo, "Packages")))
            # The second update asks with If-Modified-Since and gets no body.
            second = self.apt(state, "update")
            self.assertIn("If-Modified-Since:", second)
            self.assertIn("HTTP/1.1 304 Not Modified", second)
            self.assertIn("Hit:", second)

    @unittest.skipUnless(APT_GET and DPKG_DEB, "needs apt-get and dpkg-deb (Debian)")
    def test_apt_download_and_resume(self):
        name = os.path.basename(self.deb)
        with tempfile.TemporaryDirectory(prefix="apt-", dir=self.tmp.name) as state:
            self.apt(state, "update")
            self.apt(state, "install", "--download-only", "portd-test-pkg")
            archives = os.path.join(state, "archives")
            self.assertEqual(read(os.path.join(archives, name)), read(self.deb))

            # A download cut off at 100,000 bytes: apt dates the partial file with the
            # server's Last-Modified and asks for the rest only if the file is the same.
            os.remove(os.path.join(archives, name))
            partial = os.path.join(archives, "partial", name)
            with open(partial, "wb") as f:
                f.write(read(self.deb)[:100_000])
            stat = os.stat(self.deb)
            os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            out = self.apt(state, "install", "--download-only", "portd-test-pkg")
            self.assertIn("Range: bytes=100000-", out)
            self.assertIn("If-Range:", out)
            self.assertIn("HTTP/1.1 206 Partial Content", out)
            self.assertIn("Content-Range: bytes 100000-{0}/{1}".format(
                stat.st_size - 1, stat.st_size), out)
            self.assertEqual(read(os.path.join(archives, name)), read(self.deb))

            # A partial file from another version of the package (its date differs): the
            # If-Range fails, and the whole file comes back in place of a wrong splice.
            os.remove(os.path.join(archives, name))
            with open(partial, "wb") as f:
                f.write(b"\0" * 100_000)
            os.utime(partial, (stat.st_mtime - 3600, stat.st_mtime - 3600))
            out = self.apt(state, "install", "--download-only", "portd-test-pkg")
            self.assertIn("Range: bytes=100000-", out)
            self.assertNotIn("206 Partial Content", out)
            self.assertEqual(read(os.path.join(archives, name)), read(self.deb))

    # -- wget ---------------------------------------------------------------------------------

    def wget(self, cwd, *args):
        done = subprocess.run([WGET, "--no-config", "-S"] + list(args), cwd=cwd,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        return done.stderr

    @unittest.skipUnless(WGET, "needs wget")
    def test_wget_continue_and_timestamping(self):
        with tempfile.TemporaryDirectory(prefix="wget-", dir=self.tmp.name) as d:
            with open(os.path.join(d, "big.bin"), "wb") as f:
                f.write(read(self.big)[:123_457])
            out = self.wget(d, "-c", self.base + "/big.bin")
            self.assertIn("206 Partial Content", out)
            self.assertIn("Content-Range: bytes 123457-999999/1000000", out)
            self.assertEqual(read(os.path.join(d, "big.bin")), read(self.big))

            os.remove(os.path.join(d, "big.bin"))
            out = self.wget(d, "-N", self.base + "/big.bin")
            self.assertIn("200 OK", out)
            self.assertEqual(read(os.path.join(d, "big.bin")), read(self.big))
            # wget dated its copy with Last-Modified; asked again, the server says 304.
            self.assertEqual(os.stat(os.path.join(d, "big.bin")).st_mtime,
                             int(os.stat(self.big).st_mtime))
            out = self.wget(d, "-N", self.base + "/big.bin")
            self.assertIn("304 Not Modified", out)
            self.assertEqual(read(os.path.join(d, "big.bin")), read(self.big))

    @unittest.skipUnless(WGET, "needs wget")
    def test_wget_mirrors_a_tree_through_its_listings(self):
        with tempfile.TemporaryDirectory(prefix="wget-", dir=self.tmp.name) as d:
            # The sort links of each listing are pages of their own to wget: left out, as a
            # mirror of an Apache listing leaves out its "?C=N;O=D" links.
            self.wget(d, "-r", "-np", "-nH", "-e", "robots=off", "--restrict-file-names=nocontrol",
                      "--reject-regex", r"\?(sort|format)=", self.base + "/site/")
            got = {}
            for top, _, names in os.walk(os.path.join(d, "site")):
                for n in names:
                    path = os.path.join(top, n)
                    rel = os.path.relpath(path, d)
                    if os.path.basename(rel) != "index.html":
                        got[rel] = read(path)
            self.assertEqual(got, self.tree_files)

    # -- lftp ---------------------------------------------------------------------------------

    def lftp(self, cwd, commands):
        done = subprocess.run([LFTP, "-c", "set cmd:fail-exit yes; open {}; {}".format(
            self.base, commands)], cwd=cwd, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, TZ="UTC", HOME=cwd))
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout

    @unittest.skipUnless(LFTP, "needs lftp")
    def test_lftp_reads_sizes_and_dates_from_listings_and_mirrors(self):
        with tempfile.TemporaryDirectory(prefix="lftp-", dir=self.tmp.name) as d:
            for directory in ("site", "site/sub dir"):
                # `ls` shows what lftp read from the listing alone (`cls -l` would ask each file
                # with HEAD, which hides a listing's wrong size).
                out = self.lftp(d, "ls '/{}/'".format(directory))
                listed = {}
                for line in out.splitlines():
                    # perms, size, date, time, name (which may hold spaces); ".." has no info
                    fields = line.split(None, 4)
                    if fields[-1] != "..":
                        self.assertEqual(len(fields), 5, out)
                        listed[fields[4]] = (fields[1], fields[2] + " " + fields[3])
                for name, data in self.tree_files.items():
                    if os.path.dirname(name) != directory:
                        continue
                    mtime = os.stat(os.path.join(self.root, name)).st_mtime
                    shown = time.strftime("%Y-%m-%d %H:%M", time.gmtime(mtime))
                    self.assertEqual(listed.get(os.path.basename(name)), (str(len(data)), shown),
                                     out)
            self.lftp(d, "mirror /site/ out")
            got = {}
            for top, _, names in os.walk(os.path.join(d, "out")):
                for n in names:
                    path = os.path.join(top, n)
                    got["site/" + os.path.relpath(path, os.path.join(d, "out"))] = read(path)
            self.assertEqual(got, self.tree_files)


if __name__ == "__main__":
    unittest.main()
