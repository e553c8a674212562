#!/usr/bin/env bash
# Installs what detector's tests and benchmarks need on a Debian machine; safe to run again.
# As root, missing system packages are apt-installed; otherwise the exact command is printed.
# `setup.sh --runtime` installs only what the program itself needs (node/npm to fetch Deno,
# Deno 2.9.6 into .tools/, the locked npm packages).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DENO_VERSION="2.9.6"
runtime_only=0
[ "${1:-}" = "--runtime" ] && runtime_only=1

# command -> Debian package that provides it
declare -A need=(
  [node]=nodejs
  [npm]=npm
)
[ $runtime_only = 1 ] || need+=(
  [ffmpeg]=ffmpeg
  [redis-server]=redis-server
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [chromium]=chromium
  [curl]=curl
  [python3]=python3
  [wrk]=wrk
  [gst-launch-1.0]=gstreamer1.0-tools
  [systemd-analyze]=systemd
)
extra_pkgs=(postgresql python3-websockets python3-gi gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav fonts-dejavu-core)
[ $runtime_only = 0 ] || extra_pkgs=()

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if [ $runtime_only = 0 ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  # Debian's python3, whatever `python3` on PATH is (the test clients need its modules).
  /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || missing+=(python3-websockets)
  /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' >/dev/null 2>&1 ||
    missing+=(python3-gi gir1.2-gst-rtsp-server-1.0)
fi
# libturbojpeg: the fast JPEG decode for models; without it the program decodes with sharp.
if ! { ldconfig -p 2>/dev/null || true; } | grep -q 'libturbojpeg\.so\.0'; then
  if [ $runtime_only = 0 ] || [ "$(id -u)" = 0 ]; then
    missing+=(libturbojpeg0)
  else
    echo "setup: libturbojpeg0 is not installed, so sharp decodes JPEG frames for models" \
      "(slower); as root: apt-get install libturbojpeg0" >&2
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]} and helpers with apt" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" "${extra_pkgs[@]}" >/dev/null
  else
    echo "setup: missing packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]} ${extra_pkgs[*]}" >&2
    exit 1
  fi
fi
# Services are started by the tests on their own ports; stop any instance apt started.
if [ "$(id -u)" = 0 ] && [ $runtime_only = 0 ]; then
  for svc in redis-server mosquitto postgresql; do
    (service "$svc" stop >/dev/null 2>&1 || true)
  done
fi

deno_bin="$root/.tools/node_modules/.bin/deno"
if ! [ -x "$deno_bin" ] || ! "$deno_bin" --version 2>/dev/null | grep -q "deno $DENO_VERSION"; then
  echo "setup: installing deno $DENO_VERSION from npm into .tools/" >&2
  npm install --silent --no-audit --no-fund --prefix "$root/.tools" "deno@$DENO_VERSION" >&2
fi
export PATH="$root/.tools/node_modules/.bin:$PATH"
cd "$root"
# No lifecycle scripts: sharp and onnxruntime-node ship prebuilt binaries in their npm packages, and
# onnxruntime-node's postinstall would try to download CUDA files from nuget.org.
deno install --frozen >&2
