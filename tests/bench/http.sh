#!/usr/bin/env bash
# portd's http module against nginx, side by side on one docroot, driven by wrk.
#
#   tests/bench/http.sh [BUILD_DIR]        (default: build)
#
# Environment: DURATION (per wrk run, default 10s), PAIRS (runs of each server per case,
# default 3), THREADS (wrk threads, default: cores),
# NO_INSTALL=1 to refuse installing nginx and wrk with apt-get, ONLY (a case name such as
# 1k-c1 or close-c50, or "memory": run just that and leave RESULTS.md alone), LOG (with ONLY:
# "off", the default, "on", or "off on"). PIN=1: each server gets CPU 0 alone (portd threads 1,
# nginx worker_processes 1) and wrk the other CPUs, so that the figures say what each server
# does with one core, free of wrk competing for it; the table then goes into its own section.
# NGINX_FILE_CACHE=1 gives nginx `open_file_cache max=1000` (off by nginx's default; portd's
# own open-file cache is on by default), for a run that compares the two with a cache each;
# PORTD_FILE_CACHE sets portd's (default 1000, portd's own default; 0: off). MANY_FILES: how
# many files the many-files row asks for (default 3000). Each pair's figures go to stderr;
# tests/bench/pair_stats.py reads them and gives each ratio a 95% interval.
#
# Runs, each for portd and nginx (both up at once, measured alternately: portd, nginx, nginx,
# portd, portd, nginx; the median of the runs), with the access log off and then on:
#   1 KiB file, keep-alive, 1 / 50 / 500 connections;  10 MiB file, keep-alive, 50 connections;
#   1 KiB file with "Connection: close" (connection churn), 50 connections;
#   1 KiB file, keep-alive, 50 connections each pausing 1 ms between requests (equal load);
#   one of 3000 1 KiB files at random, keep-alive, 50 connections (more files than portd's
#   open-file cache keeps);
# before those, peak RSS with 1000 idle keep-alive connections, and the memory each idle
# connection costs (resident memory while they are held, minus resident memory after a warm-up,
# over 1000). The table goes into the HTTP section of
# tests/bench/RESULTS.md with the date and the commit. Loopback only; every run is bounded.
# Never run by ctest.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
DURATION=${DURATION:-10s}
PAIRS=${PAIRS:-3}
CORES=$(nproc)
if [[ -n "${PIN:-}" ]]; then
    ((CORES >= 2)) || { echo "PIN=1 needs two CPUs" >&2; exit 1; }
    SERVER_THREADS=1
    THREADS=${THREADS:-$((CORES - 1))}
    ON_SERVER_CPU=(taskset -c 0)
    ON_CLIENT_CPUS=(taskset -c "1-$((CORES - 1))")
    SECTION=http-pinned
else
    SERVER_THREADS=$CORES
    THREADS=${THREADS:-$CORES}
    ON_SERVER_CPU=()
    ON_CLIENT_CPUS=()
    SECTION=http
fi
PORTD="$BUILD/daemon/portd"
MODULES="$BUILD/modules"
RESULTS="$REPO/tests/bench/RESULTS.md"

[[ -x "$PORTD" && -f "$MODULES/http.so" ]] || { echo "build portd and the http module first" >&2; exit 1; }

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if ((${#need[@]})); then
    [[ -z "${NO_INSTALL:-}" ]] || { echo "missing: ${need[*]}" >&2; exit 1; }
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
        apt-get install -y --no-install-recommends wrk nginx >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ -n "${NGINX_FILE_CACHE:-}" ]]; then
    # As a tuning guide would have it; nginx then looks at a file again after 60 s at most,
    # where portd's cache is told of every change at once.
    NGINX_CACHE_CONF="open_file_cache max=1000 inactive=60s; open_file_cache_valid 60s;"
    NGINX_CACHE_NOTE="open_file_cache max=1000"
else
    NGINX_CACHE_CONF=""
    NGINX_CACHE_NOTE="no open_file_cache (nginx's default)"
fi
# portd's open_file_cache (PORTD_FILE_CACHE; 1000 is its default), to see what the cache does.
PORTD_FILE_CACHE=${PORTD_FILE_CACHE:-1000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d -t portd-bench-XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/www" "$WORK/nginx"
head -c 1024 /dev/urandom >"$WORK/www/1k.bin"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/www/10m.bin"
# The many-files row's site (many.lua): MANY_FILES 1 KiB files, 100 to a directory.
MANY_FILES=${MANY_FILES:-3000}
export MANY_FILES
python3 - "$WORK/www/many" "$MANY_FILES" <<'EOF'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for n in range(count):
    directory = os.path.join(root, "d%02d" % (n // 100))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    with open(os.path.join(directory, "f%04d.bin" % n), "wb") as f:
        f.write(os.urandom(1024))
EOF
# nginx's workers run as an unprivileged user when started as root: the docroot must be
# world-readable, or every nginx figure is a 403.
chmod 755 "$WORK" "$WORK/www"
chmod 644 "$WORK/www/"*.bin
chmod -R a+rX "$WORK/www/many"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

start_portd() {  # $1 = access log: "off" or a file
    PORTD_PORT=$(free_port)
    cat >"$WORK/portd.yaml" <<EOF
portd:
  modules_dir: $MODULES
  shutdown_timeout: 5s
services:
  web:
    module: http
    listen: ["127.0.0.1:$PORTD_PORT"]
    threads: $SERVER_THREADS
    options:
      root: $WORK/www
      access_log: "$1"
      open_file_cache: $PORTD_FILE_CACHE
EOF
    "${ON_SERVER_CPU[@]}" "$PORTD" --foreground -c "$WORK/portd.yaml" 2>"$WORK/portd.err" &
    PORTD_PID=$!
    PIDS+=("$PORTD_PID")
    wait_port "$PORTD_PORT"
}

start_nginx() {  # $1 = access log: "off" or a file
    NGINX_PORT=$(free_port)
    local log="off"
    [[ "$1" == off ]] || log="$1 combined"
    cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $SERVER_THREADS;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000;
    keepalive_timeout 75s;
    $NGINX_CACHE_CONF
    access_log $log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        # deferred: TCP_DEFER_ACCEPT, which portd sets on every HTTP listener.
        listen 127.0.0.1:$NGINX_PORT deferred;
        root $WORK/www;
    }
}
EOF
    "${ON_SERVER_CPU[@]}" "$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_port "$NGINX_PORT"
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# wrk → "requests/s p99_ms requests"
run_wrk() {  # port path connections [extra wrk args...]
    local port=$1 path=$2 conns=$3
    shift 3
    local threads=$THREADS
    ((threads > conns)) && threads=$conns
    local out
    out=$(timeout 120 "${ON_CLIENT_CPUS[@]}" wrk -t "$threads" -c "$conns" -d "$DURATION" --latency "$@" \
        "http://127.0.0.1:$port$path" 2>&1)
    if grep -q "Non-2xx" <<<"$out"; then
        echo "non-2xx answers from port $port for $path:" >&2
        grep "Non-2xx" <<<"$out" >&2
    fi
    local rps p99 requests
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    requests=$(awk '$2 == "requests" && $3 == "in" {print $1}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
    echo "${rps:-0} ${p99:-0} ${requests:-0}"
}

descendants() {  # pid → pid and all its descendants
    local pid=$1
    echo "$pid"
    for child in $(ps -o pid= --ppid "$pid"); do descendants "$child"; done
}

tree_kib() {  # field (VmHWM: peak, VmRSS: now) pid → its sum over the process tree
    local total=0 v
    for pid in $(descendants "$2"); do
        v=$(awk -v f="$1:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

CLK_TCK=$(getconf CLK_TCK)
tree_cpu_ticks() {  # pid → user and system CPU time of it and its descendants, in clock ticks
    local total=0 stat fields
    for pid in $(descendants "$1"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        # After the command name, which may hold spaces: utime and stime are the 12th and 13th.
        read -r -a fields <<<"${stat##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

idle_connections() {  # port count seconds readyfile: open count keep-alive connections, hold
    python3 - "$1" "$2" "$3" "$4" <<'EOF'
import socket, sys, time
port, count, hold, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
socks = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: bench\r\n\r\n")
    socks.append(s)
for s in socks:
    got = b""
    while True:
        head, sep, body = got.partition(b"\r\n\r\n")
        if sep:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(body) >= length:
                break
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
open(ready, "w").close()  # every connection answered once, now idle
time.sleep(hold)
for s in socks:
    s.close()
EOF
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A RESULT
# 1k-c50-paced is not one of the issue's rows: the same 50 connections, each pausing 1 ms after
# every response (pace.lua), so that both servers get about the same offered load, below what
# either can serve. In the rows above wrk runs flat out, and each server's p99 is taken at its
# own peak rate: the faster server is measured under more load. Here p99 compares the two at
# equal load. many-c50 is not one of them either: each request asks for one of MANY_FILES files
# at random (many.lua), more than portd's open-file cache holds, where the others ask for one
# file over and over.
CASES=("1k-c1:/1k.bin:1" "1k-c50:/1k.bin:50" "1k-c500:/1k.bin:500" "10m-c50:/10m.bin:50"
       "close-c50:/1k.bin:50:close" "1k-c50-paced:/1k.bin:50:paced" "many-c50:/:50:many")

measure() {  # port pid case → "rps p99 cpu_us_per_request"
    # The server's CPU time (user and system, every process of it) per request: on rows where
    # the client or the kernel's loopback path sets the pace, req/s is the same for both
    # servers, and this says which of them did the work for less.
    local before after result
    before=$(tree_cpu_ticks "$2")
    IFS=: read -r _ path conns mode <<<"$3"
    if [[ "${mode:-}" == close ]]; then
        result=$(run_wrk "$1" "$path" "$conns" -H "Connection: close")
    elif [[ "${mode:-}" == paced ]]; then
        result=$(run_wrk "$1" "$path" "$conns" -s "$REPO/tests/bench/pace.lua")
    elif [[ "${mode:-}" == many ]]; then
        result=$(run_wrk "$1" "$path" "$conns" -s "$REPO/tests/bench/many.lua")
    else
        result=$(run_wrk "$1" "$path" "$conns")
    fi
    after=$(tree_cpu_ticks "$2")
    read -r rps p99 requests <<<"$result"
    echo "$rps $p99 $(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print 0 }')"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

median_columns() {  # "rps p99 cpu"... → the median of each column
    local column out=""
    for column in 1 2 3; do
        # shellcheck disable=SC2046 # one number per word
        out+="$(printf '%.2f' "$(median $(printf '%s\n' "$@" | awk -v c="$column" '{ print $c }'))") "
    done
    echo "${out% }"
}

ONLY=${ONLY:-}

# Memory, before any load and on fresh servers: VmHWM is then the peak with the idle connections
# held. A single measurement moves by a fifth between runs (page granularity, what the allocators
# happen to touch), so each server is started MEMORY_ROUNDS times and the median is kept.
MEMORY_ROUNDS=${MEMORY_ROUNDS:-3}
measure_idle() {  # port pid → "peak_kib per_connection_kib"
    local before held
    # A few connections first, so that what every connection needs once (code paged in, each
    # worker's first buffers) is resident before the count starts: it is not per connection.
    idle_connections "$1" 20 0 "$WORK/warm.ready"
    before=$(tree_kib VmRSS "$2")
    rm -f "$WORK/idle.ready"
    idle_connections "$1" 1000 3 "$WORK/idle.ready" &
    local idle_pid=$!
    for _ in $(seq 300); do [[ -e "$WORK/idle.ready" ]] && break; sleep 0.1; done
    held=$(tree_kib VmRSS "$2")
    wait "$idle_pid"
    echo "$(tree_kib VmHWM "$2") $(awk -v a="$held" -v b="$before" 'BEGIN { printf "%.2f", (a - b) / 1000 }')"
}
if [[ -z "$ONLY" || "$ONLY" == memory ]]; then
    declare -A PEAKS PERCONN
    for ((round = 0; round < MEMORY_ROUNDS; round++)); do
        start_portd off
        start_nginx off
        for server in portd nginx; do
            if [[ $server == portd ]]; then port=$PORTD_PORT; pid=$PORTD_PID
            else port=$NGINX_PORT; pid=$NGINX_PID; fi
            read -r peak perconn <<<"$(measure_idle "$port" "$pid")"
            PEAKS[$server]+=" $peak"
            PERCONN[$server]+=" $perconn"
            echo "$server: peak RSS with 1000 idle connections $peak KiB," \
                 "$perconn KiB per idle connection" >&2
        done
        stop_pid "$PORTD_PID"
        stop_pid "$NGINX_PID"
    done
    for server in portd nginx; do
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        RESULT[$server/rss]=$(median ${PEAKS[$server]})
        # shellcheck disable=SC2086
        RESULT[$server/perconn]=$(median ${PERCONN[$server]})
    done
    [[ "$ONLY" == memory ]] && exit 0
fi

# Both servers run at once, and every case is measured portd, nginx, nginx, portd, ...: on a
# machine shared with other work, the load drifts, and this order spreads the drift evenly.
LOGMODES="off on"
[[ -z "$ONLY" ]] || LOGMODES=${LOG:-off}
for logmode in $LOGMODES; do
    plog=off
    nlog=off
    if [[ $logmode == on ]]; then
        plog="$WORK/portd-access.log"
        nlog="$WORK/nginx-access.log"
    fi
    start_portd "$plog"
    start_nginx "$nlog"
    run_wrk "$PORTD_PORT" /1k.bin 10 >/dev/null  # warm-up
    run_wrk "$NGINX_PORT" /1k.bin 10 >/dev/null
    for case in "${CASES[@]}"; do
        name=${case%%:*}
        [[ -z "$ONLY" || "$ONLY" == "$name" ]] || continue
        pruns=()
        nruns=()
        ratios=()
        for ((pair = 0; pair < PAIRS; pair++)); do
            if ((pair % 2 == 0)); then
                pruns+=("$(measure "$PORTD_PORT" "$PORTD_PID" "$case")")
                nruns+=("$(measure "$NGINX_PORT" "$NGINX_PID" "$case")")
            else
                nruns+=("$(measure "$NGINX_PORT" "$NGINX_PID" "$case")")
                pruns+=("$(measure "$PORTD_PORT" "$PORTD_PID" "$case")")
            fi
            ratios+=("$(ratio "${pruns[-1]%% *}" "${nruns[-1]%% *}")")
            echo "  log=$logmode $name pair $((pair + 1)): portd ${pruns[-1]}, nginx ${nruns[-1]}" >&2
        done
        RESULT[portd/$logmode/$name]=$(median_columns "${pruns[@]}")
        RESULT[nginx/$logmode/$name]=$(median_columns "${nruns[@]}")
        # How far one pair's ratio strays: a ratio near 1.0 inside a wide range is noise.
        RESULT[range/$logmode/$name]=$(printf '%s\n' "${ratios[@]}" | sort -n |
            awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s to %s", lo, hi }')
        echo "log=$logmode $name: portd ${RESULT[portd/$logmode/$name]}, nginx ${RESULT[nginx/$logmode/$name]}," \
             "ratio per pair ${RESULT[range/$logmode/$name]}" >&2
    done
    stop_pid "$PORTD_PID"
    stop_pid "$NGINX_PID"
    rm -f "$WORK"/*-access.log
done

[[ -z "$ONLY" ]] || exit 0

{
    echo "<!-- $SECTION:begin -->"
    if [[ -n "${PIN:-}" ]]; then
        echo "## HTTP, one core each (portd http module vs nginx, PIN=1)"
    else
        echo "## HTTP (portd http module vs nginx)"
    fi
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$REPO" rev-parse --short HEAD)," \
         "$CORES cores, wrk ${DURATION} per run, threads $THREADS; nginx $("$NGINX" -v 2>&1 | sed 's/.*\///')" \
         "with worker_processes $SERVER_THREADS, sendfile on, tcp_nopush on, listen ... deferred" \
         "(TCP_DEFER_ACCEPT, as portd's HTTP listeners), $NGINX_CACHE_NOTE; portd threads" \
         "$SERVER_THREADS, open_file_cache $PORTD_FILE_CACHE (1000 is its default)."
    if [[ -n "${PIN:-}" ]]; then
        echo
        echo "Both servers run on CPU 0 only, wrk on CPUs 1-$((CORES - 1)) only (PIN=1): each" \
             "server has one core to itself, and wrk does not compete with it for that core."
    fi
    echo
    echo "Each figure is the median of $PAIRS ${DURATION} runs, the two servers taking turns to go" \
         "first (portd, nginx, nginx, portd, ...); \"ratio per pair\" is the lowest and highest of" \
         "the $PAIRS req/s ratios of one portd run to the nginx run beside it. \"CPU µs/req\" is" \
         "the server's CPU time (user and system, all its processes) over the requests it answered" \
         "in the run."
    echo "Load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg) (with other work" \
         "on the machine, figures drift by tens of percent between runs)."
    echo
    echo "| run | log | portd req/s | nginx req/s | req/s ratio | ratio per pair | portd p99 ms | nginx p99 ms | p99 ratio | portd CPU µs/req | nginx CPU µs/req | CPU ratio |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for logmode in off on; do
        for case in "${CASES[@]}"; do
            name=${case%%:*}
            read -r prps pp99 pcpu <<<"${RESULT[portd/$logmode/$name]}"
            read -r nrps np99 ncpu <<<"${RESULT[nginx/$logmode/$name]}"
            echo "| $name | $logmode | $prps | $nrps | $(ratio "$prps" "$nrps") | ${RESULT[range/$logmode/$name]} | $pp99 | $np99 | $(ratio "$pp99" "$np99") | $pcpu | $ncpu | $(ratio "$pcpu" "$ncpu") |"
        done
    done
    echo
    echo "Idle memory, median of $MEMORY_ROUNDS rounds on freshly started servers." \
         "Peak RSS with 1000 idle keep-alive connections (all processes): portd" \
         "${RESULT[portd/rss]} KiB, nginx ${RESULT[nginx/rss]} KiB" \
         "(ratio $(ratio "${RESULT[portd/rss]}" "${RESULT[nginx/rss]}"))."
    echo "Memory per idle keep-alive connection (resident while 1000 are held, minus resident" \
         "after a warm-up of 20 connections, over 1000): portd ${RESULT[portd/perconn]} KiB, nginx ${RESULT[nginx/perconn]} KiB" \
         "(ratio $(ratio "${RESULT[portd/perconn]}" "${RESULT[nginx/perconn]}"))."
    echo "Targets: req/s ratio >= 1.0, p99 ratio <= 1.2, memory per idle connection ratio <= 1.0" \
         "(the CPU column has no target: it shows who did the work for less where req/s is equal)."
    echo "1k-c50-paced is not one of the issue's rows: each connection pauses 1 ms after every" \
         "response, so both servers get about the same offered load, below what either can serve," \
         "and its p99 compares their latency at equal load. In the other rows wrk runs flat out," \
         "and each server's p99 is measured at its own peak rate, not at the same load."
    echo "many-c50 is not one of the issue's rows either: each request asks for one of" \
         "$MANY_FILES 1 KiB files (100 to a directory) at random, more than portd's open-file" \
         "cache keeps, where the other rows ask for one file over and over."
    echo "<!-- $SECTION:end -->"
} >"$WORK/section.md"

touch "$RESULTS"
python3 - "$RESULTS" "$WORK/section.md" "$SECTION" <<'EOF'
import re, sys
path, section, name = sys.argv[1], open(sys.argv[2]).read().rstrip("\n"), sys.argv[3]
text = open(path).read()
pattern = re.compile(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda m: section, text)
else:
    if not text.strip():
        text = "# Benchmarks\n"
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text if text.endswith("\n") else text + "\n")
EOF
cat "$WORK/section.md"
