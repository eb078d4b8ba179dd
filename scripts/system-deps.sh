#!/usr/bin/env bash
# Debian packages `make test` and `make demo` need.
#   system-deps.sh          the tests' and the demo's: a Docker engine, a registry, a static busybox
#                           (the local base image: nothing can be pulled here), htpasswd (registry auth)
#   system-deps.sh python   Python >= 3.11 ($PYTHON, default python3) that can create a virtualenv
# Installs only what is missing, and only as root on Debian; otherwise says what to install.
set -euo pipefail
PYTHON=${PYTHON:-python3}
need=()

install_or_say() {  # $1: what happens without the packages
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "note: ${need[*]} missing; $1 (install them, or run as root on Debian)" >&2
    return 1
  fi
}

if [ "${1:-}" = python ]; then
  command -v "$PYTHON" >/dev/null 2>&1 || { need+=(python3 python3-venv); install_or_say "no Python" || exit 1; }
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: deployer needs Python >= 3.11; $PYTHON is $("$PYTHON" -V 2>&1) (set PYTHON=python3.12, say)" >&2
    exit 1
  fi
  # Debian's python3 creates virtualenvs only with python3-venv (ensurepip's wheels): try one.
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  if ! "$PYTHON" -m venv "$probe/venv" >/dev/null 2>&1; then
    need+=(python3-venv)
    install_or_say "cannot create a virtualenv" || exit 1
  fi
  exit 0
fi

command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
install_or_say "Docker tests will be skipped" || true
