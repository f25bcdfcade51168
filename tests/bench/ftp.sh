#!/usr/bin/env bash
# portd's ftp module against Debian's vsftpd, side by side on one tree, driven by curl and
# Python's ftplib.
#
#   tests/bench/ftp.sh [BUILD_DIR]        (default: build)
#
# Environment: SCALE (divides the big sizes, default 1: 1 GiB RETR, 256 MiB STOR), ROUNDS (runs
# per figure, best kept, default 3), NO_INSTALL=1 to refuse installing vsftpd with apt-get, ONLY
# (run only the rows whose title contains it, e.g. ONLY=RETR; RESULTS.md is then left alone),
# PIN=1 (both servers on CPU 0 and every client on CPU 1: on loopback the sender's sendfile
# carries the whole TCP path, and without pinning the figures depend on where the scheduler puts
# client and server more than on the servers).
#
# Figures, each for portd and vsftpd (both up at once, measured alternately):
#   RETR of a 1 GiB file (MB/s), STOR of 256 MiB (MB/s), LIST of a 10,000-file directory (s),
#   500 RETRs of 4 KiB on one control connection (s), 50 parallel clients x RETR 10 MiB
#   (aggregate MB/s); and the portd/vsftpd ratio of each. The table goes into the FTP section
#   of tests/bench/RESULTS.md with the date and the commit. Loopback only; every run is
#   bounded by timeouts. Never run by ctest.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-3}
PORTD="$BUILD/daemon/portd"
MODULES="$BUILD/modules"
RESULTS="$REPO/tests/bench/RESULTS.md"

[[ -x "$PORTD" && -f "$MODULES/ftp.so" ]] || { echo "build portd and the ftp module first" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
if ! command -v vsftpd >/dev/null && [[ ! -x /usr/sbin/vsftpd ]]; then
    [[ -z "${NO_INSTALL:-}" ]] || { echo "missing: vsftpd" >&2; exit 1; }
    apt-get install -y --no-install-recommends vsftpd >/dev/null
fi
VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
id ftp >/dev/null 2>&1 || useradd --system --home-dir /srv/ftp --shell /usr/sbin/nologin ftp

SERVER_CPU=()
CLIENT_CPU=()
if [[ -n "${PIN:-}" ]]; then
    (($(nproc) >= 2)) || { echo "PIN=1 needs two CPUs" >&2; exit 1; }
    SERVER_CPU=(taskset -c 0)
    CLIENT_CPU=(taskset -c 1)
fi

WORK=$(mktemp -d -t portd-ftp-bench-XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The tree: world-readable, root-owned (vsftpd refuses a writable anonymous root), with one
# upload directory per server owned by the user vsftpd's anonymous sessions run as.
TREE="$WORK/tree"
mkdir -p "$TREE/many" "$TREE/up-portd" "$TREE/up-vsftpd" "$WORK/empty"
BIG=$((1024 * 1024 * 1024 / SCALE))
UPLOAD=$((256 * 1024 * 1024 / SCALE))
head -c "$BIG" /dev/urandom >"$TREE/big.bin"
head -c "$UPLOAD" /dev/urandom >"$WORK/upload.bin"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$TREE/10m.bin"
head -c 4096 /dev/urandom >"$TREE/4k.bin"
python3 -c '
import os, sys
for i in range(10000):
    open(os.path.join(sys.argv[1], "file%05d.dat" % i), "wb").close()' "$TREE/many"
chmod 755 "$WORK" "$TREE" "$TREE/many"
chmod 644 "$TREE"/*.bin
chown ftp "$TREE/up-vsftpd"

free_ports() { python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"; }
read -r PORTD_PORT VSFTPD_PORT < <(free_ports 2)
# Passive ranges below the ephemeral range (32768+), one per server.
PORTD_PASV="24000-24199"
VSFTPD_PASV_MIN=24200
VSFTPD_PASV_MAX=24399

cat >"$WORK/portd.yaml" <<YAML
portd:
  modules_dir: $MODULES
  log: { level: warn, target: stderr }
  shutdown_timeout: 5s
services:
  ftp:
    module: ftp
    listen: [ "127.0.0.1:$PORTD_PORT" ]
    threads: 2
    options:
      root: $TREE
      anonymous: upload
      passive_ports: $PORTD_PASV
YAML

cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$VSFTPD_PORT
background=NO
anonymous_enable=YES
anon_root=$TREE
no_anon_password=YES
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_umask=022
pasv_enable=YES
pasv_min_port=$VSFTPD_PASV_MIN
pasv_max_port=$VSFTPD_PASV_MAX
max_clients=0
max_per_ip=0
use_sendfile=YES
xferlog_enable=NO
dirmessage_enable=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=$WORK/empty
ftp_username=ftp
CONF

"${SERVER_CPU[@]}" "$PORTD" --foreground -c "$WORK/portd.yaml" 2>"$WORK/portd.log" &
PIDS+=($!)
"${SERVER_CPU[@]}" "$VSFTPD" "$WORK/vsftpd.conf" 2>"$WORK/vsftpd.log" &
PIDS+=($!)

wait_ftp() {
    for _ in $(seq 100); do
        if python3 -c 'import ftplib,sys; f=ftplib.FTP(); f.connect("127.0.0.1", int(sys.argv[1]), timeout=2); f.login(); f.quit()' "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "no FTP server on port $1:" >&2
    cat "$WORK/portd.log" "$WORK/vsftpd.log" >&2
    exit 1
}
wait_ftp "$PORTD_PORT"
wait_ftp "$VSFTPD_PORT"

# The measurements. Each prints one number; the larger-is-better ones are MB/s (10^6 bytes).
"${CLIENT_CPU[@]}" python3 - "$PORTD_PORT" "$VSFTPD_PORT" "$ROUNDS" "$WORK" "$BIG" "$UPLOAD" \
    "$RESULTS" \
    "$(git -C "$REPO" rev-parse --short HEAD)" "$SCALE" <<'PY'
import ftplib, os, subprocess, sys, threading, time, datetime

portd_port, vsftpd_port, rounds, work = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
big, upload, results, commit, scale = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7], sys.argv[8], sys.argv[9]
servers = {"portd": portd_port, "vsftpd": vsftpd_port}
upload_dir = {"portd": "up-portd", "vsftpd": "up-vsftpd"}
counter = [0]

def curl(*args):
    out = subprocess.run(["curl", "-sS", "--max-time", "300", "-o", "/dev/null"] + list(args),
                         capture_output=True, timeout=330, check=True)
    return out.stdout.decode()

def retr_big(name):
    t0 = time.monotonic()
    curl("ftp://127.0.0.1:%d/big.bin" % servers[name])
    return big / (time.monotonic() - t0) / 1e6

def stor(name):
    counter[0] += 1
    t0 = time.monotonic()
    curl("-T", os.path.join(work, "upload.bin"),
         "ftp://127.0.0.1:%d/%s/u%d.bin" % (servers[name], upload_dir[name], counter[0]))
    return upload / (time.monotonic() - t0) / 1e6

def list_many(name):
    t0 = time.monotonic()
    curl("ftp://127.0.0.1:%d/many/" % servers[name])
    return time.monotonic() - t0

def small_retrs(name):
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", servers[name], timeout=30)
    ftp.login()
    t0 = time.monotonic()
    for _ in range(500):
        ftp.retrbinary("RETR 4k.bin", lambda b: None)
    elapsed = time.monotonic() - t0
    ftp.quit()
    return elapsed

def parallel(name):
    errors = []
    def one():
        try:
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", servers[name], timeout=60)
            ftp.login()
            ftp.retrbinary("RETR 10m.bin", lambda b: None, blocksize=1 << 20)
            ftp.quit()
        except Exception as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=one) for _ in range(50)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - t0
    if errors:
        raise RuntimeError("%s: %d clients failed: %s" % (name, len(errors), errors[0]))
    return 50 * 10 * 1024 * 1024 / elapsed / 1e6

size_mib = lambda n: "%d MiB" % (n >> 20) if n < (1 << 30) else "%d GiB" % (n >> 30)
runs = [
    ("RETR %s (MB/s)" % size_mib(big), retr_big, True),
    ("STOR %s (MB/s)" % size_mib(upload), stor, True),
    ("LIST 10,000 files (s)", list_many, False),
    ("500 x RETR 4 KiB, one session (s)", small_retrs, False),
    ("50 clients x RETR 10 MiB (MB/s)", parallel, True),
]
rows = []
only = os.environ.get("ONLY", "")
for title, fn, higher in runs:
    if only not in title:
        continue
    best = {}
    for r in range(rounds):
        # Alternate the order so that neither server always runs on a warmer cache.
        for name in (("portd", "vsftpd") if r % 2 == 0 else ("vsftpd", "portd")):
            value = fn(name)
            if name not in best or (value > best[name] if higher else value < best[name]):
                best[name] = value
    ratio = best["portd"] / best["vsftpd"] if higher else best["vsftpd"] / best["portd"]
    rows.append((title, best["portd"], best["vsftpd"], ratio))
    print("%-40s portd %10.3f  vsftpd %10.3f  ratio %.2f" % (title, best["portd"], best["vsftpd"], ratio), flush=True)

if only:
    sys.exit(0)
vsftpd_version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "vsftpd"],
                                capture_output=True).stdout.decode() or "?"
now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
section = ["<!-- ftp:begin -->", "## FTP (portd ftp module vs vsftpd)", "",
           "%s, commit %s, %d cores, best of %d rounds; vsftpd %s (use_sendfile=YES); portd threads 2. "
           "Clients: curl (RETR, STOR, LIST), Python ftplib (small RETRs, parallel clients), all "
           "passive mode on loopback.%s" % (now, commit, os.cpu_count(), rounds, vsftpd_version,
           ("" if scale == "1" else " Sizes divided by SCALE=%s." % scale) +
           (" Both servers pinned to CPU 0, every client to CPU 1 (PIN=1)."
            if os.environ.get("PIN") else "")), "",
           "| run | portd | vsftpd | ratio (>1: portd better) |", "|---|---:|---:|---:|"]
for title, p, v, ratio in rows:
    section.append("| %s | %.3f | %.3f | %.2f |" % (title, p, v, ratio))
section += ["", "Ratios are portd/vsftpd for MB/s and vsftpd/portd for seconds.",
            "<!-- ftp:end -->"]
text = open(results).read() if os.path.exists(results) else "# Benchmarks\n"
begin, end = text.find("<!-- ftp:begin -->"), text.find("<!-- ftp:end -->")
block = "\n".join(section)
if begin >= 0 and end > begin:
    text = text[:begin] + block + text[end + len("<!-- ftp:end -->"):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
with open(results, "w") as f:
    f.write(text)
print("written to", results)
PY
