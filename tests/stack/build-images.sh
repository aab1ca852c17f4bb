#!/usr/bin/env bash
# Builds the images of the stack test on the daemon of DOCKER_HOST, one at a time (2 cores):
#   resilience-base:bookworm             debootstrap --variant=minbase bookworm + docker import (once)
#   resilience-standin-<name>:bookworm   postgres, redis, prometheus, alertmanager, pushgateway
#                                        from Debian packages (tests/stack/standins/Dockerfile)
#   $RESILIENCE_IMAGE                    the project's own Dockerfile on that base
# pip inside the build gets this machine's pip index and CA settings as BuildKit secrets (only
# http(s) indexes: local file:// folders do not exist in the build).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
export DOCKER_BUILDKIT=1
BASE=${RESILIENCE_BASE_IMAGE:-resilience-base:bookworm}
IMAGE=${RESILIENCE_IMAGE:-resilience-airflow:stack-test}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/resilience-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "build-images: debootstrap is not installed (scripts/system-deps.sh)" >&2; exit 1; }
  echo "build-images: $BASE from debootstrap --variant=minbase bookworm ($MIRROR)"
  rootfs=$tmp/rootfs
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 \
    || { tail -n 30 "$tmp/debootstrap.log" >&2; exit 1; }
  cat > "$rootfs/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
SRC
  # as Docker's own Debian images: no daemons started by postinst, no recommends, no apt caches
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod +x "$rootfs/usr/sbin/policy-rc.d"
  echo 'APT::Install-Recommends "false";' > "$rootfs/etc/apt/apt.conf.d/90no-recommends"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

# pip settings of this machine -> BuildKit secrets
secrets=()
py=$root/.venv/bin/python; [ -x "$py" ] || py=python3
"$py" - "$tmp/pip.conf" "$tmp/pip-ca.pem" <<'PY'
import os, shutil, subprocess, sys
conf_path, ca_path = sys.argv[1], sys.argv[2]
found = {}
try:
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, _, value = line.partition("=")
        found.setdefault(key.split(".", 1)[-1], value.strip().strip("'\""))
except OSError:
    pass
def setting(name):
    return os.environ.get("PIP_" + name.upper().replace("-", "_")) or found.get(name, "")
web = lambda urls: [u for u in urls.split() if u.startswith(("http://", "https://"))]
lines = ["[global]"]
index = web(setting("index-url"))
if index:
    lines.append(f"index-url = {index[0]}")
extra = web(setting("extra-index-url"))
if extra:
    lines.append("extra-index-url = " + " ".join(extra))
ca = setting("cert")
if ca and os.path.isfile(ca):
    shutil.copyfile(ca, ca_path)
    lines.append("cert = /run/secrets/pip_ca")
with open(conf_path, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
secrets+=(--secret "id=pip_conf,src=$tmp/pip.conf")
[ -f "$tmp/pip-ca.pem" ] && secrets+=(--secret "id=pip_ca,src=$tmp/pip-ca.pem")

build() {  # tag, log name, docker build arguments...
  local tag=$1 name=$2; shift 2
  local t0=$SECONDS
  if ! "$DOCKER" build --network host --progress plain --build-arg "BASE_IMAGE=$BASE" -t "$tag" "$@" >"$tmp/$name.log" 2>&1; then
    echo "build-images: building $tag failed; the end of its log:" >&2
    tail -n 40 "$tmp/$name.log" >&2
    exit 1
  fi
  echo "build-images: $tag ($((SECONDS - t0)) s)"
}
for s in postgres redis prometheus alertmanager pushgateway; do
  build "resilience-standin-$s:bookworm" "$s" --target "$s" tests/stack/standins
done
build "$IMAGE" image "${secrets[@]}" .
