#!/bin/sh
# `systemd-analyze verify` on portd.service and portd.socket, as they would be installed.
#
# verify checks that every Exec*= program exists, so the units are verified in a throwaway
# root (--root) that holds them in /etc/systemd/system, a copy of this machine's own unit
# directory (sysinit.target and friends) and stand-ins for /usr/sbin/portd, /bin/sh and
# /bin/kill: the test needs neither portd installed nor systemd running. Any output of verify
# (an unknown key, a bad value, a missing dependency) fails the test.
# Usage: verify-units.sh SYSTEMD_SOURCE_DIR        exit 77: skipped (no systemd-analyze)
set -eu
units=${1:?usage: $0 DIR-with-portd.service}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (Debian package: systemd)"
  exit 77
fi
system_units=""
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -f "$dir/sysinit.target" ]; then system_units=$dir; break; fi
done
if [ -z "$system_units" ]; then
  echo "SKIP: no systemd unit directory with sysinit.target on this machine"
  exit 77
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/usr/bin" "$root/usr/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/bin "$root/bin"
cp -R "$system_units" "$root/usr/lib/systemd/system"
cp "$units/portd.service" "$units/portd.socket" "$root/etc/systemd/system/"
for program in usr/sbin/portd usr/bin/sh usr/bin/kill; do
  printf '#!/bin/sh\n' >"$root/$program"
  chmod 755 "$root/$program"
done

output=$(systemd-analyze verify --man=no --root="$root" portd.service portd.socket 2>&1) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] || [ -n "$output" ]; then
  printf '%s\n' "$output"
  echo "FAIL: systemd-analyze verify (exit $rc) found problems in portd.service or portd.socket"
  exit 1
fi
echo "ok: systemd-analyze $(systemd-analyze --version | head -1 | cut -d' ' -f2) verify: portd.service portd.socket"
