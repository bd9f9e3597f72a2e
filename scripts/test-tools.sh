#!/usr/bin/env bash
# Installs the registry clients the end-to-end tests drive (crane, oras,
# regctl, the OCI conformance runner; skopeo, podman, buildah and
# busybox-static from Debian)
# with the shared installer, which leaves tools already present alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
installer="$root/../shared/tools/install-clients.sh"
if [[ ! -f "$installer" ]]; then
  echo "test-tools: $installer not found (shared/ must sit beside the repository)" >&2
  exit 1
fi
bash "$installer" >&2
# The build tests need a real static shell for their base image (buildah's
# RUN steps run it); busybox-static is one Debian package, no network pulls.
if [[ ! -x /bin/busybox ]]; then
  echo "test-tools: apt-get install busybox-static" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2; }
fi
echo "${TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/wharf-tools/bin}"
