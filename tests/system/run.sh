#!/bin/bash
# The end-to-end test: the Debian package installed and run under a real, booted systemd.
#
#   tests/system/run.sh [--make-deb] [--only-if-asked] [DEB_DIR | PACKAGE.deb]
#                                                            (default DEB_DIR: build-deb)
#
# It boots systemd in a container (systemd-nspawn, on a throwaway overlay of this machine's
# root, with a private network namespace that has only loopback: see
# ../shared/SYSTEMD-SANDBOX.md), installs the package there with apt-get, and checks what an
# operator would: the service runs after install; HTTP and FTP turned on in
# /etc/portd/services.d and applied with `systemctl reload`; the STATUS line; the journal's
# fields; a broken manifest refused by reload while serving goes on; a restart across which a
# socket-activated port refuses nothing; a stop that leaves no worker; a remove that stops
# both units and keeps /etc/portd; a purge that leaves nothing. Clients run inside the container (tests/system/clients.py), on its loopback.
#
# --make-deb first runs `make deb` (which skips the build when the .deb is newer than every
# source file). --only-if-asked (ctest's way) skips unless PORTD_SYSTEM_TEST=1, which
# `make test` sets, so a bare `ctest` or `make check` stays quick. Exit 0: passed; 1: failed; 77: skipped, with the reason on stdout (not root,
# no systemd-nspawn and none installable, no overlayfs, PORTD_SYSTEM_TEST=0).
# PORTD_SYSTEM_TEST_KEEP=1 leaves the container running after a failure, for a look inside.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
make_deb=0
only_if_asked=0
while [ $# -gt 0 ]; do
  case "$1" in
    --make-deb) make_deb=1 ;;
    --only-if-asked) only_if_asked=1 ;;
    *) break ;;
  esac
  shift
done
target=${1:-$top/build-deb}
started=$(date +%s)
passed=0

skip() { echo "SKIP: system test: $*"; exit 77; }
say() { echo "== $*"; }
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
fail() { echo "FAIL: system test: $*" >&2; exit 1; }
# A command that fails outside an explicit check still says where.
trap 'echo "FAIL: system test: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR

# --- Can this machine run it? -------------------------------------------------------------
[ "${PORTD_SYSTEM_TEST:-1}" != 0 ] || skip "PORTD_SYSTEM_TEST=0 in the environment"
if [ "$only_if_asked" = 1 ] && [ "${PORTD_SYSTEM_TEST:-}" != 1 ]; then
  skip "it builds the package (minutes): \`make test\` and \`make test-system\` run it, or set PORTD_SYSTEM_TEST=1"
fi
[ "$(id -u)" = 0 ] || skip "needs root: it mounts an overlay and boots systemd-nspawn"
[ -x /lib/systemd/systemd ] || skip "no /lib/systemd/systemd on this machine to boot in a container"
if ! command -v systemd-nspawn >/dev/null 2>&1; then
  echo "system test: installing systemd-container (systemd-nspawn)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    systemd-container >/dev/null 2>&1 ||
    skip "systemd-nspawn is missing and apt-get could not install systemd-container"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/portd-system.XXXXXX")
nspawn=""
leader=""
mounted=0
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${PORTD_SYSTEM_TEST_KEEP:-0}" = 1 ] && [ -n "$nspawn" ]; then
    echo "system test: kept for debugging (PORTD_SYSTEM_TEST_KEEP=1): nsenter -t ${leader:-?} -a bash"
    echo "  clean up with: kill $nspawn; umount $work/root; rm -rf $work"
    exit "$rc"
  fi
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    kill -TERM "$nspawn" 2>/dev/null || true      # nspawn asks the container to power off
    for _ in $(seq 1 60); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$nspawn" 2>/dev/null; then
      echo "system test: the container did not power off in 30 s: SIGKILL to nspawn $nspawn"
      kill -KILL "$nspawn" 2>/dev/null || true
    fi
    wait "$nspawn" 2>/dev/null || true
  fi
  if [ "$mounted" = 1 ]; then
    umount "$work/root" 2>/dev/null || umount -l "$work/root" || true
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$work/boot.log" ]; then
    echo "--- the container's console (last 40 lines) ---"
    tail -40 "$work/boot.log" || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root" \
  2>"$work/mount.err" || skip "cannot mount an overlay of / ($(cat "$work/mount.err"))"
mounted=1

# --- The package ----------------------------------------------------------------------------
if [ "$make_deb" = 1 ]; then
  say "make deb"
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top" --no-print-directory deb DEB_DIR="$target"
fi
if [ -f "$target" ]; then
  deb=$target
else
  deb=$(ls -t "$target"/portd_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -1 || true)
fi
[ -n "$deb" ] && [ -f "$deb" ] || fail "no package in $target: run \`make deb\` (or pass --make-deb)"
echo "system test: package $deb"

# The test's files, inside the container's file system (writes land in the overlay only).
t=/var/tmp/portd-system-test
mkdir -p "$work/root$t"
cp "$deb" "$work/root$t/portd.deb"
cp "$here/clients.py" "$work/root$t/clients.py"

# --- Boot -----------------------------------------------------------------------------------
say "boot systemd in a container"
booting=$(date +%s)
systemd-nspawn -D "$work/root" --register=no --keep-unit --private-network \
  -M "portd-test-$$" -b -- systemd.firstboot=off >"$work/boot.log" 2>&1 &
nspawn=$!
leader=""
# The container's PID 1 is the child of nspawn that has become systemd (nspawn forks helper
# children first, so the first child seen may not be it yet).
for _ in $(seq 1 100); do
  for child in $(pgrep -P "$nspawn" || true); do
    if [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then leader=$child; fi
  done
  [ -n "$leader" ] && break
  kill -0 "$nspawn" 2>/dev/null || fail "systemd-nspawn exited: $(tail -5 "$work/boot.log")"
  sleep 0.2
done
[ -n "$leader" ] || fail "systemd-nspawn started no container in 20 s"
# Run a command in the container, with a clean environment.
ct() {
  nsenter -t "$leader" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive "$@"
}
# Write stdin to a file in the container.
put() { ct sh -c 'cat >"$1"' put "$1"; }
client() { ct python3 "$t/clients.py" "$@"; }
state=""
for _ in $(seq 1 120); do
  state=$(ct systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.5
done
case "$state" in running | degraded) ;; *) fail "the container's systemd is '$state' after 60 s" ;; esac
ok "systemd booted in the container ($state) in $(($(date +%s) - booting)) s"

# --- Install --------------------------------------------------------------------------------
say "install"
# A container image's policy-rc.d (Docker's says 101: "start nothing") would keep the
# package's postinst from starting portd, unlike on a real machine. The overlay only.
if ct test -e /usr/sbin/policy-rc.d; then
  echo "system test: removing this image's /usr/sbin/policy-rc.d inside the container"
  ct rm -f /usr/sbin/policy-rc.d
fi
if ct dpkg-query -W -f='${Status}' portd 2>/dev/null | grep -q installed; then
  ct apt-get purge -y -qq portd >/dev/null    # this machine has portd: start from none
fi
ct apt-get install -y -qq --no-install-recommends "$t/portd.deb" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "apt-get install ./portd.deb"; }
ok "apt-get install $(basename "$deb")"
ct systemctl is-active --quiet portd || { ct systemctl status portd --no-pager || true; fail "portd is not active after install"; }
ct systemctl is-enabled --quiet portd || fail "portd.service is not enabled after install"
ok "portd.service is enabled and active after install"
ct id portd >/dev/null || fail "no portd user after install"
ct test -d /srv/portd/www -a -d /srv/portd/ftp || fail "tmpfiles did not create /srv/portd/{www,ftp}"
ok "sysusers created the portd user; tmpfiles created /srv/portd/www and /srv/portd/ftp"
conffiles=$(ct dpkg-query -W -f='${Conffiles}\n' portd)
for f in /etc/portd/portd.yaml /etc/portd/services.d/http.yaml.example /etc/portd/services.d/ftp.yaml.example /etc/logrotate.d/portd; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile"
done
ok "/etc/portd/portd.yaml, the services.d examples and /etc/logrotate.d/portd are conffiles"
for page in man8/portd.8.gz man5/portd.yaml.5.gz man1/portctl.1.gz; do
  ct test -s "/usr/share/man/$page" || fail "/usr/share/man/$page is missing"
done
if ct test -x /usr/bin/man; then
  ct man -P cat portd.yaml 2>/dev/null | grep -q 'passive_ports' || fail "man portd.yaml does not read"
fi
ok "man pages portd(8), portd.yaml(5), portctl(1) installed and readable"
ct portd --check >/dev/null || fail "portd --check rejects the shipped manifest"
client inetd-echo 7 || fail "the shipped echo service on 127.0.0.1:7"
ct portctl ports | grep -q 'echo' || fail "portctl ports does not list echo"
ok "shipped default: portd --check passes, echo answers on 127.0.0.1:7, portctl ports lists it"

# --- HTTP and FTP on, by editing services.d and reloading ------------------------------------
say "HTTP and FTP from the shipped examples, on free loopback ports"
read -r http_port ftp_port sock_port <<<"$(client free-ports 3 | tr '\n' ' ')"
ct sh -c "head -c 300000 /dev/urandom >/srv/portd/www/hello.bin && head -c 200000 /dev/urandom >/srv/portd/ftp/data.bin"
ct sed -e "s|^\( *\)listen: .*|\1listen: [ \"127.0.0.1:$http_port\" ]|" \
  /etc/portd/services.d/http.yaml.example | put /etc/portd/services.d/http.yaml
ct sed -e "s|^\( *\)listen: .*|\1listen: [ \"127.0.0.1:$ftp_port\" ]|" \
  /etc/portd/services.d/ftp.yaml.example | put /etc/portd/services.d/ftp.yaml
main_pid=$(ct systemctl show -P MainPID portd)
ct systemctl reload portd || fail "systemctl reload portd with HTTP and FTP added"
client wait-port "$http_port" && client wait-port "$ftp_port" || fail "HTTP or FTP does not listen after reload"
[ "$(ct systemctl show -P MainPID portd)" = "$main_pid" ] || fail "reload replaced the main process"
ok "systemctl reload portd: web on 127.0.0.1:$http_port and files on 127.0.0.1:$ftp_port listen, same main PID"
client http-get "$http_port" /hello.bin "$t/got.bin" || fail "GET /hello.bin"
ct cmp -s /srv/portd/www/hello.bin "$t/got.bin" || fail "GET /hello.bin: the bytes differ"
ok "curl-equivalent GET /hello.bin: 300000 bytes, identical"
if ct test -x /usr/bin/curl; then
  ct curl -fsS -o "$t/curl.bin" "http://127.0.0.1:$http_port/hello.bin" || fail "curl GET /hello.bin"
  ct cmp -s /srv/portd/www/hello.bin "$t/curl.bin" || fail "curl GET /hello.bin: the bytes differ"
  ok "curl http://127.0.0.1:$http_port/hello.bin: identical bytes"
fi
client ftp-retr "$ftp_port" data.bin "$t/got-ftp.bin" || fail "ftplib RETR data.bin"
ct cmp -s /srv/portd/ftp/data.bin "$t/got-ftp.bin" || fail "RETR data.bin: the bytes differ"
ok "ftplib anonymous RETR data.bin: 200000 bytes, identical"

status=$(ct systemctl status portd --no-pager 2>&1 || true)
grep -q '^ *Status: "' <<<"$status" || { echo "$status"; fail "systemctl status shows no Status: line"; }
ok "systemctl status portd: $(grep -m1 '^ *Status: "' <<<"$status" | sed 's/^ *//')"
client journal-fields web files || fail "journal fields"
ok "journalctl -u portd -o json: PORTD_SERVICE=web and =files entries with REMOTE_ADDR=127.0.0.1"
client journal-request web /hello.bin || fail "journal request fields"
ok "journalctl PORTD_SERVICE=web PORTD_EVENT=request: GET /hello.bin with HTTP_STATUS=200 and the other HTTP_* fields"

# --- Log files follow logrotate ----------------------------------------------------------------
say "an access log file, rotated by the package's logrotate configuration"
ct sed -i 's|^\( *\)access_log: journal|\1access_log: /var/log/portd/access.log|' /etc/portd/services.d/http.yaml
ct systemctl reload portd || fail "systemctl reload portd with access_log: /var/log/portd/access.log"
logged() {  # logged FILE TEXT: TEXT is in FILE within 5 s
  for _ in $(seq 1 50); do
    if ct grep -qF "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}
client http-get "$http_port" "/hello.bin?before=rotation" "$t/got-log.bin" || fail "GET before the rotation"
logged /var/log/portd/access.log "GET /hello.bin?before=rotation HTTP/1.1\" 200 300000" ||
  fail "no combined log line in /var/log/portd/access.log"
if ct test -x /usr/sbin/logrotate; then
  ct logrotate -f /etc/logrotate.d/portd || fail "logrotate -f /etc/logrotate.d/portd"
  sleep 1.2  # portd looks at the name once a second
  client http-get "$http_port" "/hello.bin?after=rotation" "$t/got-log.bin" || fail "GET after the rotation"
  logged /var/log/portd/access.log "after=rotation" || fail "the line after the rotation is not in the new access.log"
  ct grep -q "before=rotation" /var/log/portd/access.log.1 || fail "access.log.1 lacks the line before the rotation"
  if ct grep -q "after=rotation" /var/log/portd/access.log.1; then fail "portd wrote on in the rotated file"; fi
  [ "$(ct stat -c '%U:%G %a' /var/log/portd/access.log)" = "portd:adm 640" ] ||
    fail "the new access.log is $(ct stat -c '%U:%G %a' /var/log/portd/access.log), not portd:adm 640"
  ok "logrotate -f /etc/logrotate.d/portd: the next request's line is in a new access.log (portd:adm 640), the earlier in access.log.1"
else
  echo "system test: no logrotate on this machine (\`make deps DEPS=logrotate\`): the rotation step is skipped"
  ok "access_log: /var/log/portd/access.log has the combined line (rotation not tried)"
fi

# --- A broken manifest is refused; serving goes on -------------------------------------------
say "broken manifest"
printf 'services:\n  broken:\n    module: http\n    lisen: [ "127.0.0.1:%s" ]\n' "$sock_port" |
  put /etc/portd/services.d/zz-broken.yaml
if ct systemctl reload portd 2>"$work/reload.err"; then
  fail "systemctl reload portd succeeded with a broken manifest"
fi
ct systemctl is-active --quiet portd || fail "portd is not active after the refused reload"
client http-get "$http_port" /hello.bin "$t/got2.bin" || fail "GET after the refused reload"
# journald may not have read the reload command's output yet when systemctl returns.
journal_says() {
  for _ in $(seq 1 50); do
    if ct journalctl -u portd -b --no-pager | grep -F "$1" >/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}
journal_says "unknown key 'lisen'" || fail "the journal does not say why the reload was refused"
ok "systemctl reload with a broken manifest fails, names the error in the journal, portd serves on"
ct systemctl kill --kill-who=main -s HUP portd
sleep 1
ct systemctl is-active --quiet portd || fail "portd died on SIGHUP with a broken manifest"
[ "$(ct systemctl show -P MainPID portd)" = "$main_pid" ] || fail "portd restarted on SIGHUP with a broken manifest"
client http-get "$http_port" /hello.bin "$t/got3.bin" && client ftp-retr "$ftp_port" data.bin "$t/got-ftp3.bin" ||
  fail "serving after SIGHUP with a broken manifest"
ok "SIGHUP straight to portd with a broken manifest: refused, same PID, HTTP and FTP still serve"
ct rm -f /etc/portd/services.d/zz-broken.yaml

# --- Socket activation: a restart refuses no connection --------------------------------------
say "socket activation and restart"
ct mkdir -p /etc/systemd/system/portd.socket.d
printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:%s\n' "$sock_port" |
  put /etc/systemd/system/portd.socket.d/test.conf
ct sed -e 's/^  web:/  websock:/' /usr/share/doc/portd/examples/socket-activated.yaml |
  put /etc/portd/services.d/websock.yaml
ct systemctl daemon-reload
# As portd(8) says: systemd starts no socket unit while its service runs.
ct systemctl enable --quiet portd.socket || fail "systemctl enable portd.socket"
ct systemctl stop portd || fail "systemctl stop portd"
ct systemctl start portd.socket portd.service || fail "systemctl start portd.socket portd (adopting the socket)"
client wait-port "$sock_port" || fail "portd.socket does not listen"
client http-get "$sock_port" /hello.bin "$t/got-sock.bin" || fail "GET on the socket-activated port"
ct cmp -s /srv/portd/www/hello.bin "$t/got-sock.bin" || fail "socket-activated GET: the bytes differ"
ct portctl ports | grep -q 'systemd:web' || fail "portctl ports does not show systemd:web"
ok "portd.socket (FileDescriptorName=web) on 127.0.0.1:$sock_port serves the example manifest"
pid_before=$(ct systemctl show -P MainPID portd)
ct rm -f "$t/stop"
client http-loop "$sock_port" /hello.bin "$t/stop" "$t/loop.out" &
loop=$!
sleep 1
ct systemctl restart portd || fail "systemctl restart portd with the socket active"
client wait-port "$sock_port"
sleep 1
ct touch "$t/stop"
wait "$loop" || fail "the client loop"
read -r good refused dropped other <<<"$(ct head -1 "$t/loop.out")"
pid_after=$(ct systemctl show -P MainPID portd)
[ "$pid_after" != "$pid_before" ] || fail "the restart did not replace portd"
total=$((good + refused + dropped + other))
[ "$refused" = 0 ] && [ "$other" = 0 ] ||
  { ct cat "$t/loop.out"; fail "across the restart: $refused of $total connections refused, $other other failures"; }
[ "$good" -gt 10 ] || fail "only $good requests ran across the restart"
if [ "$dropped" != 0 ]; then
  # The stopping worker accepted a connection and closed it without an answer. That was a bug
  # of the http module's drain until HTTP connections came to be accepted with their request
  # (TCP_DEFER_ACCEPT) and read at once; PORTD_SYSTEM_TEST_STRICT=0 only warns.
  ct cat "$t/loop.out"
  if [ "${PORTD_SYSTEM_TEST_STRICT:-1}" = 1 ]; then
    fail "$dropped of $total requests were accepted by the old worker and closed without an answer"
  fi
  echo "WARNING: system test: $dropped of $total requests were accepted by the stopping worker and closed without an answer (PORTD_SYSTEM_TEST_STRICT=0)"
fi
ok "systemctl restart portd with portd.socket active: $total connections, none refused ($dropped dropped by the old worker's drain)"

# --- Stop: every worker goes -----------------------------------------------------------------
say "stop"
ct systemctl stop portd.socket portd.service
if ct systemctl is-active --quiet portd; then fail "portd is still active after stop"; fi
[ "$(ct systemctl show -P Result portd)" = success ] || fail "portd stopped with result $(ct systemctl show -P Result portd)"
leftover=$(ct sh -c 'for p in /proc/[0-9]*; do tr "\0" " " <"$p/cmdline" 2>/dev/null; echo; done' |
  grep -E '^(/usr/sbin/)?portd' || true)
[ -z "$leftover" ] || fail "portd processes left after stop: $leftover"
if ct journalctl -u portd -b --no-pager | grep -F 'with signal SIGKILL' >/dev/null; then
  fail "systemd had to SIGKILL portd processes"
fi
ok "systemctl stop portd: result success, no portd process left, none needed SIGKILL"

# --- Remove: stopped, configuration kept ------------------------------------------------------
say "remove"
ct systemctl start portd.socket portd.service || fail "systemctl start portd.socket portd before remove"
ct apt-get remove -y -qq portd >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove portd"; }
for unit in portd.service portd.socket; do
  if ct systemctl is-active --quiet "$unit"; then fail "$unit is still active after apt-get remove"; fi
done
ct test -f /etc/portd/portd.yaml -a -f /etc/portd/services.d/http.yaml || fail "apt-get remove took the configuration"
ct test ! -e /usr/sbin/portd || fail "apt-get remove left /usr/sbin/portd"
ok "apt-get remove portd: portd.service and portd.socket stopped, /etc/portd kept"

# --- Purge: nothing left ---------------------------------------------------------------------
say "purge"
ct rm -rf /srv/portd/www/hello.bin /srv/portd/ftp/data.bin /etc/systemd/system/portd.socket.d
ct systemctl daemon-reload
ct apt-get purge -y -qq portd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "apt-get purge portd"; }
left=""
for p in /etc/portd /usr/lib/portd /usr/sbin/portd /usr/bin/portctl /lib/systemd/system/portd.service \
  /lib/systemd/system/portd.socket /etc/systemd/system/multi-user.target.wants/portd.service \
  /etc/systemd/system/sockets.target.wants/portd.socket /usr/lib/sysusers.d/portd.conf \
  /usr/lib/tmpfiles.d/portd.conf /usr/share/doc/portd /usr/share/man/man8/portd.8.gz /etc/logrotate.d/portd \
  /var/log/portd /srv/portd /run/portd; do
  if ct test -e "$p" -o -L "$p"; then left="$left $p"; fi
done
[ -z "$left" ] || fail "left after purge:$left"
[ "$(ct systemctl show -P LoadState portd.service)" = not-found ] || fail "portd.service still loads after purge"
[ "$(ct systemctl show -P LoadState portd.socket)" = not-found ] || fail "portd.socket still loads after purge"
if ct dpkg-query -W -f='${Status}' portd 2>/dev/null | grep -q 'ok installed\|config-files'; then
  fail "dpkg still knows portd after purge"
fi
ok "apt-get purge portd: no /etc/portd, /usr/lib/portd, units, enablement links, logs or /srv/portd left"

echo "system test took $(($(date +%s) - started)) s ($(($(date +%s) - booting)) s from boot to purge)"
echo "system-test: $passed passed, 0 failed"
