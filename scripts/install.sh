#!/usr/bin/env bash
# Installs detector from this checkout: its own Deno, the locked npm packages and the program in
# one folder, and a `detector` command that runs it (same subcommands, flags and exit codes as the
# compiled binary). Needs only apt (node/npm, as root, when missing) and the npm registry.
#
#   sudo ./scripts/install.sh                 # /opt/detector, /usr/local/bin/detector
#   ./scripts/install.sh --prefix ~/.local    # ~/.local/lib/detector, ~/.local/bin/detector
#   sudo ./scripts/install.sh --systemd       # also the systemd units and /etc/detector/*.env
#   sudo ./scripts/install.sh --uninstall     # removes what the same options installed
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MARK="# installed by detector's scripts/install.sh"

usage() {
  sed -n '2,9s/^# \{0,1\}//p' "$0"
  echo "Options: --prefix DIR, --systemd, --uninstall, --help"
}

prefix=""
systemd=0
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }
      prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --systemd) systemd=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$prefix" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root for /opt/detector, or give --prefix (e.g. --prefix ~/.local)" >&2
    exit 2
  fi
  app=/opt/detector
  bin=/usr/local/bin/detector
  conf=/etc/detector
  units=/etc/systemd/system
else
  mkdir -p "$prefix"
  prefix="$(cd "$prefix" && pwd)"
  app="$prefix/lib/detector"
  bin="$prefix/bin/detector"
  conf="$prefix/etc/detector"
  units="$prefix/lib/systemd/system"
fi
unit_files=(detector-serve.service detector-run.service prusa-snapshot.service prusa-snapshot.timer)

if [ $uninstall = 1 ]; then
  for u in "${unit_files[@]}"; do
    if [ -f "$units/$u" ] && grep -qF "$MARK" "$units/$u"; then
      [ -d /run/systemd/system ] && [ "$units" = /etc/systemd/system ] &&
        systemctl disable --now "$u" >/dev/null 2>&1 || true
      rm -f "$units/$u"
      echo "removed $units/$u"
    fi
  done
  if [ -f "$bin" ] && grep -qF "$MARK" "$bin"; then rm -f "$bin" && echo "removed $bin"; fi
  if [ -f "$app/.installed-by-detector" ]; then rm -rf "$app" && echo "removed $app"; fi
  [ -d "$conf" ] && echo "kept $conf (settings and secrets; remove it by hand)"
  exit 0
fi

# Deno and the npm packages in the checkout first (apt-installs node/npm as root when missing).
bash "$root/scripts/setup.sh" --runtime
deno_src="$root/.tools/node_modules/.bin/deno"

if [ -e "$app" ] && ! [ -f "$app/.installed-by-detector" ]; then
  echo "install.sh: $app exists and was not installed by this script; not touching it" >&2
  exit 1
fi
echo "install.sh: installing into $app" >&2
mkdir -p "$app/bin" "$(dirname "$bin")"
touch "$app/.installed-by-detector"
cp -L "$deno_src" "$app/bin/deno.new" && mv -f "$app/bin/deno.new" "$app/bin/deno"
rm -rf "$app/src" "$app/pipelines" "$app/docs" "$app/deploy"
cp -R "$root/main.ts" "$root/deno.json" "$root/deno.lock" "$root/src" "$root/pipelines" \
  "$root/deploy" "$app/"
[ -d "$root/docs" ] && cp -R "$root/docs" "$app/"
cp "$root/README.md" "$app/"
# The packages come from Deno's cache, filled by setup.sh above: no second download.
(cd "$app" && "$app/bin/deno" install --frozen --quiet)
# Type-check and cache the program now, so the first run starts at once.
(cd "$app" && "$app/bin/deno" cache --quiet --frozen main.ts src/inference/session_worker.ts)

cat >"$bin.new" <<EOF
#!/bin/sh
$MARK
# Runs the detector program in $app with its own Deno; arguments and exit code pass through.
# serve gets MEMORY_V8_FLAGS of src/core/memory_flags.ts (they cost run throughput); README "Memory".
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-2}
v8=
for a in "\$@"; do
  [ "\$a" = serve ] && v8=--v8-flags=--max-semi-space-size=1,--optimize-for-size && break
done
exec "$app/bin/deno" run -A \$v8 --cached-only --frozen --config "$app/deno.json" "$app/main.ts" "\$@"
EOF
chmod 755 "$bin.new"
mv -f "$bin.new" "$bin"
echo "installed $bin ($("$bin" --version))"
case ":$PATH:" in
  *":$(dirname "$bin"):"*) ;;
  *) echo "note: $(dirname "$bin") is not on PATH; add it, e.g. export PATH=\"$(dirname "$bin"):\$PATH\"" ;;
esac

if [ $systemd = 1 ]; then
  mkdir -p "$units" "$conf"
  for u in "${unit_files[@]}"; do
    { echo "$MARK"; sed -e "s|/usr/local/bin/detector|$bin|g" -e "s|/etc/detector|$conf|g" \
      "$root/deploy/systemd/$u"; } >"$units/$u"
    echo "installed $units/$u"
  done
  for env in serve.env run.env prusa.env; do
    if ! [ -e "$conf/$env" ]; then
      install -m 600 "$root/deploy/systemd/$env" "$conf/$env"
      echo "installed $conf/$env (edit it)"
    fi
  done
  if [ "$units" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "start with: systemctl enable --now detector-serve.service (settings: $conf/serve.env)"
  else
    echo "units written to $units; link them into a systemd unit folder to use them"
  fi
fi
