# Shared by scripts/demo and scripts/test: find Python 3.11, install uv, sync the locked
# environment into .venv. Sourced, not run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export UV_PYTHON_DOWNLOADS=never
UV_VERSION=0.13.9

PYTHON=${HOCBA_PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$(command -v "$candidate")
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "hocba needs Python 3.11 (set HOCBA_PYTHON to its path)" >&2
  exit 2
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2
    return 1
  fi
}

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found; install by hand: $*" >&2
    return 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then
    UV=$(command -v uv)
    return
  fi
  if [ ! -x "$ROOT/.tools/bin/uv" ]; then
    if ! "$PYTHON" -m venv "$ROOT/.tools" >/dev/null 2>&1; then
      rm -rf "$ROOT/.tools"
      apt_install python3-venv
      "$PYTHON" -m venv "$ROOT/.tools"
    fi
    "$ROOT/.tools/bin/python" -m pip install --quiet "uv==$UV_VERSION"
  fi
  UV="$ROOT/.tools/bin/uv"
}

sync_env() {
  ensure_uv
  "$UV" sync --frozen --quiet --python "$PYTHON" "$@"
  export PATH="$ROOT/.venv/bin:$PATH"
}
