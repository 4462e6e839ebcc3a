#!/usr/bin/env bash
# Builds a target root filesystem (sysroot) for cross-compiling diffpool-rt
# and running its tests under qemu-user, from Debian bookworm's own arm64 or
# armhf packages: `apt-get download` with a private apt state, then
# `dpkg -x`. The host's dpkg architectures and installed packages are never
# touched, so no root is needed beyond network access to the archive.
#   scripts/make_sysroot.sh arm64|armhf DIR
# Idempotent: a DIR holding a stamp for the same package list is left as is.
# Absolute symlinks inside the packages are rewritten relative to DIR, so the
# linker (--sysroot) and qemu (-L DIR) resolve them inside DIR.
set -euo pipefail

usage() { echo "usage: $0 arm64|armhf DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
arch=$1
dir=$2
case "$arch" in
  arm64|armhf) ;;
  *) usage ;;
esac

# What the build links or includes, and what the test binaries load at run
# time. The C library and libstdc++ headers and link files come with Debian's
# cross g++ (libc6-dev-${arch}-cross, same glibc 2.36 and GCC 12.2), so only
# their run-time copies are here, for qemu. flatc is not here: it generates
# code, so it must be the host's.
packages=(
  libc6 libgcc-s1 libstdc++6
  libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev libcpuinfo0 libcpuinfo-dev
  libflatbuffers2 libflatbuffers-dev doctest-dev nlohmann-json3-dev
)
stamp_text="diffpool-sysroot $arch ${packages[*]}"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
stamp="$dir/.diffpool-sysroot"
partial="$dir/.diffpool-sysroot-partial"
if [[ -f "$stamp" && "$(head -n1 "$stamp")" == "$stamp_text" ]]; then
  echo "make_sysroot: $dir is up to date ($arch)"
  exit 0
fi
# Rebuild from scratch, but only a folder this script made (or an empty one).
if [[ -n "$(ls -A "$dir")" && ! -f "$stamp" && ! -f "$partial" ]]; then
  echo "make_sysroot: $dir is not empty and not a sysroot made by this script" >&2
  exit 1
fi
find "$dir" -mindepth 1 -delete
touch "$partial"

# Private apt state next to the sysroot: package lists, cache and an empty
# dpkg status, so nothing of the host's apt or dpkg state is read or written.
state="$dir.apt"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
: > "$state/status"
apt_opts=(
  -q
  -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
  -o "Dir::State::Lists=$state/lists" -o "Dir::State::status=$state/status"
  -o "Dir::Cache=$state/cache" -o "Acquire::Retries=3"
  # The files land in a folder that apt's sandbox user may not write.
  -o "APT::Sandbox::User=root"
)
echo "make_sysroot: apt-get update ($arch)"
# A mirror mid-sync can serve an index that fails its hash: try again once,
# then go on with the indexes that did arrive (apt keeps the good ones); a
# package that is then missing fails the download below, by name.
if ! apt-get "${apt_opts[@]}" update >/dev/null; then
  echo "make_sysroot: apt-get update failed, retrying in 10 s" >&2
  sleep 10
  apt-get "${apt_opts[@]}" update >/dev/null ||
    echo "make_sysroot: warning: some $arch package indexes failed, using the others" >&2
fi
echo "make_sysroot: downloading ${#packages[@]} packages"
rm -f "$state/debs"/*.deb
(cd "$state/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}" >/dev/null)

for deb in "$state/debs"/*.deb; do
  dpkg-deb --field "$deb" Architecture | grep -qE "^($arch|all)$" || {
    echo "make_sysroot: $deb is not $arch" >&2; exit 1; }
  dpkg -x "$deb" "$dir"
done

# Absolute symlink targets (e.g. lib/ld-linux-aarch64.so.1 ->
# /lib/aarch64-linux-gnu/...) would point into the host: make them relative.
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  [[ "$target" == /* ]] || continue
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")" "$link"
done < <(find "$dir" -type l -print0)

{
  echo "$stamp_text"
  for deb in "$state/debs"/*.deb; do
    dpkg-deb --showformat='${Package} ${Version} ${Architecture}\n' --show "$deb"
  done
} > "$stamp"
rm -f "$partial"
echo "make_sysroot: $dir ready ($(wc -l < "$stamp") lines in $(basename "$stamp"))"
