#!/bin/sh
# Builds the Debian package: `make deb` runs this. Usage: packaging/build-deb.sh OUTDIR
#
# dpkg-buildpackage wants debian/ at the top of the source tree and writes the .deb next to
# the tree, so the build runs in OUTDIR/portd-VERSION/, a copy of the working tree (tracked
# and untracked files, less what .gitignore names) with packaging/debian as debian/. The
# packages land in OUTDIR. Nothing is written to the source tree.
#
# Environment: DEB_BUILD_OPTIONS (default "nocheck parallel=<cores>"), LINTIAN=0 to skip
# lintian, FORCE=1 to rebuild even when the .deb is newer than every source file.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$top"
# One build at a time per OUTDIR (two sessions' `make test` may meet here): the second waits,
# then finds the package up to date.
exec 9>"$out/.lock"
if ! flock -n 9; then
  echo "build-deb: another build is running in $out; waiting for it"
  flock 9
fi

version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
arch=$(dpkg --print-architecture)
deb="$out/portd_${version}_${arch}.deb"
project_version=$(sed -n 's/^project(portd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
case "$version" in
  "$project_version"|"$project_version"-*) ;;
  *) echo "build-deb: packaging/debian/changelog says $version but CMakeLists.txt says $project_version" >&2
     exit 1 ;;
esac

files=$(mktemp)
trap 'rm -f "$files"' EXIT
# Every file of the working tree that git would commit, as it is now (uncommitted edits too).
git ls-files --cached --others --exclude-standard -z | tr '\0' '\n' |
  while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done >"$files"

lint() {
  [ "${LINTIAN:-1}" != 0 ] || return 0
  # Errors fail the build; the warnings kept on purpose are listed in packaging/README.md
  # and overridden in debian/portd.lintian-overrides.
  lintian --fail-on error --display-info "$deb" ||
    { echo "build-deb: lintian reported errors" >&2; exit 1; }
}

if [ -f "$deb" ] && [ "${FORCE:-0}" != 1 ]; then
  newer=$(while IFS= read -r f; do [ "$f" -nt "$deb" ] && echo "$f"; done <"$files" | head -1)
  if [ -z "$newer" ]; then
    echo "build-deb: $deb is newer than every source file (FORCE=1 rebuilds)"
    lint
    exit 0
  fi
fi

src="$out/portd-$version"
rm -rf "$src"
mkdir -p "$src"
tar -cf - -T "$files" | tar -xf - -C "$src"
rm -rf "$src/debian"
cp -a packaging/debian "$src/debian"

: "${DEB_BUILD_OPTIONS:=nocheck parallel=$(nproc)}"
export DEB_BUILD_OPTIONS
echo "build-deb: dpkg-buildpackage in $src (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
  tail -60 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
  exit 1
}
echo "build-deb: built $deb in $(( $(date +%s) - start ))s"
rm -rf "$src"
# Packages of other versions would only confuse `ls build-deb/portd_*.deb`.
for old in "$out"/portd_*.deb "$out"/portd-dbgsym_*.deb "$out"/portd_*.changes "$out"/portd_*.buildinfo; do
  case "$old" in *"_${version}_"*) ;; *) rm -f "$old" ;; esac
done
lint
