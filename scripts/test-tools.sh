#!/usr/bin/env bash
# Installs the registry clients the end-to-end tests drive (crane, oras,
# regctl, the OCI conformance runner; skopeo, podman, buildah from Debian)
# with the shared installer, which leaves tools already present alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
installer="$root/../shared/tools/install-clients.sh"
if [[ ! -f "$installer" ]]; then
  echo "test-tools: $installer not found (shared/ must sit beside the repository)" >&2
  exit 1
fi
bash "$installer" >&2
echo "${TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/wharf-tools/bin}"
