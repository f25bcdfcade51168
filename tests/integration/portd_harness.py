"""Starts the real portd binary on free loopback ports with a temporary manifest.

Every integration test uses this module, so that they all run portd the same way:

    with PortdProcess(services='''
      echo:
        module: inetd
        listen: ["127.0.0.1:{port}"]
        options: {{ service: echo }}
    '''.format(port=port)) as portd:
        ...

ctest passes PORTD_BIN (the built binary) and PORTD_MODULES_DIR (the built modules).
"""

import os
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
import time

PORTD_BIN = os.environ.get("PORTD_BIN", "")
MODULES_DIR = os.environ.get("PORTD_MODULES_DIR", "")
if MODULES_DIR:
    # The manifest lives in a temporary directory, so a relative path would point elsewhere.
    MODULES_DIR = os.path.abspath(MODULES_DIR)


def sanitized_build():
    """Whether PORTD_BIN is an ASan build (its memory figures mean nothing then)."""
    try:
        out = subprocess.run(["ldd", PORTD_BIN], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in out.stdout


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(count, host="127.0.0.1"):
    """`count` distinct free ports, held open together so that none repeats."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def manifest_text(services, settings=""):
    """A whole manifest: the portd: block (modules from the build tree) and `services`."""
    head = "portd:\n  modules_dir: {}\n".format(MODULES_DIR)
    # 5s unless the test sets its own (a key written twice is an error).
    if "shutdown_timeout" not in settings:
        head += "  shutdown_timeout: 5s\n"
    if settings:
        head += textwrap.indent(textwrap.dedent(settings).strip("\n"), "  ") + "\n"
    body = "services:\n" + textwrap.indent(textwrap.dedent(services).strip("\n"), "  ") + "\n"
    return head + body


def connect(port, host="127.0.0.1", timeout=10.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv_exactly(sock, count):
    chunks = []
    remaining = count
    while remaining > 0:
        chunk = sock.recv(min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def child_pids(pid):
    """The pids whose parent is `pid` (Linux /proc; [] once it is gone)."""
    children = set()
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                children.update(int(c) for c in f.read().split())
        return sorted(children)
    except FileNotFoundError:
        pass  # no such process, or a kernel without CONFIG_PROC_CHILDREN: scan every stat
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            children.add(int(entry))
    return sorted(children)


def process_title(pid):
    """argv[0] of `pid` as /proc/PID/cmdline shows it (None if the process is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class PortdProcess:
    """portd --foreground on a temporary manifest; stopped with SIGTERM on exit.

    `services` is the YAML text under `services:`; or pass `manifest` for the whole file.
    `files` maps relative names to contents, written next to the manifest (for includes).
    `user` (a passwd entry; the suite must run as root) runs portd as that user.
    `manifest_name` is where the manifest goes in the temporary directory.
    """

    def __init__(self, services=None, manifest=None, settings="", files=None, args=(),
                 ready_timeout=20.0, env=None, user=None, manifest_name="portd.yaml"):
        self.dir = tempfile.TemporaryDirectory(prefix="portd-test-")
        self.user = user
        if user is not None:  # its control socket goes here
            os.chown(self.dir.name, user.pw_uid, user.pw_gid)
        # `manifest_name` may name a subdirectory, for a manifest whose relative paths climb.
        self.path = os.path.join(self.dir.name, manifest_name)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        # Each test's portd has its own control socket, never the system's /run/portd one.
        self.control_socket = os.path.join(self.dir.name, "control.sock")
        self.write_manifest(services=services, manifest=manifest, settings=settings)
        for name, content in (files or {}).items():
            full = os.path.join(self.dir.name, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)
        self.args = list(args)
        self.ready_timeout = ready_timeout
        self.env = env
        self.proc = None
        self._stderr_lines = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._reader = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("LISTEN_FDS", None)
        env.pop("LISTEN_PID", None)
        env.pop("JOURNAL_STREAM", None)
        if self.env:
            env.update(self.env)
        as_user = {}
        if self.user is not None:
            as_user = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        self.proc = subprocess.Popen(
            [PORTD_BIN, "--foreground", "-c", self.path] + self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            **as_user)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                return self
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise RuntimeError("portd exited with {} before it was ready:\n{}".format(
                    self.proc.returncode, self.stderr()))
        self.kill()
        raise RuntimeError("portd was not ready within {}s:\n{}".format(
            self.ready_timeout, self.stderr()))

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._stderr_lines.append(line)
            if "portd ready" in line:
                self._ready.set()

    def write_manifest(self, services=None, manifest=None, settings=""):
        """(Re)writes the manifest file, as the constructor does: e.g. before SIGHUP."""
        if manifest is None and "control_socket" not in settings:
            settings = "control_socket: {}\n".format(self.control_socket) + textwrap.dedent(
                settings)
        text = manifest if manifest is not None else manifest_text(services, settings)
        with open(self.path, "w") as f:
            f.write(text)

    def stderr(self, since=0):
        """The log so far; from line `since` on (a log_mark()) if given."""
        with self._lock:
            return "".join(self._stderr_lines[since:])

    def log_mark(self):
        """The number of log lines so far, to wait for a line written after this point."""
        with self._lock:
            return len(self._stderr_lines)

    def wait_for_log(self, needle, timeout=10.0, since=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.stderr(since):
                return True
            time.sleep(0.05)
        return False

    def worker_pids(self):
        """{service name: [pids]} of this portd's worker processes ("portd: NAME" children).

        Old workers still draining after a reload count too, so a name may have two pids.
        """
        workers = {}
        if self.proc is None:
            return workers
        for pid in child_pids(self.proc.pid):
            title = process_title(pid)
            if title is not None and title.startswith("portd: "):
                workers.setdefault(title[len("portd: "):], []).append(pid)
        return workers

    def signal(self, signum):
        self.proc.send_signal(signum)

    def stop(self, timeout=20.0):
        """SIGTERM, then wait; returns the exit code (or kills it and raises on a hang)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError("portd did not stop within {}s of SIGTERM:\n{}".format(
                timeout, self.stderr()))
        if self._reader:
            self._reader.join(2)
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.kill()
            if self.proc is not None:
                self.proc.stdout.close()
                self.proc.stderr.close()
            self.dir.cleanup()
        return False


def run_portd(args, manifest_text_=None, files=None, timeout=60.0, env=None):
    """Runs portd to completion (e.g. --check); returns (exit code, stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="portd-test-") as d:
        argv = [PORTD_BIN] + list(args)
        if manifest_text_ is not None:
            path = os.path.join(d, "portd.yaml")
            with open(path, "w") as f:
                f.write(manifest_text_)
            argv += ["-c", path]
        for name, content in (files or {}).items():
            full = os.path.join(d, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)
        run_env = dict(os.environ)
        if env:
            run_env.update(env)
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           env=run_env)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode(
            "utf-8", "replace")
