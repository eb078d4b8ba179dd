#!/usr/bin/env bash
# Debian packages the tests and the demo use: a Docker engine, a registry, a static busybox
# (the local base image: nothing can be pulled here), htpasswd (registry auth).
# Installs only what is missing, and only as root on Debian; otherwise says what to install.
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "note: ${need[*]} missing; Docker tests will be skipped (install them, or run as root on Debian)" >&2
fi
