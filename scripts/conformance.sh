#!/usr/bin/env bash
# Runs the OCI distribution-spec conformance program against one registry
# and ends with a single summary line:
#
#   conformance: N passed, M failed, K skipped
#
#   scripts/conformance.sh URL REPOSITORY [USER [PASSWORD]]
#
#   URL         http://HOST:PORT, https://HOST:PORT, or HOST:PORT (plain HTTP)
#   REPOSITORY  the first test repository, e.g. quayadmin/repo1; cross-repository
#               mounts use REPOSITORY-mount (set OCI_REPO2 to choose another)
#
# The suite runs every workflow of OCI_VERSION (default 1.1). Any OCI_*
# variable of the program passes through, e.g. OCI_VERSION=dev,
# OCI_DATA_SHA512=false, OCI_LOG=debug. With https, INSECURE_TLS=1 accepts a
# self-signed certificate. The program's reports (results.yaml, junit.xml,
# report.html, and its output as output.txt) go to RESULTS_DIR (default
# ./conformance-results). The program is $TOOLS_BIN/oci-conformance, which
# scripts/install-test-tools.sh builds; CONFORMANCE_BIN names another.
#
# Exit status: 0 when nothing failed, 1 when a test failed or the suite could
# not run, 2 for a usage error or a missing program.
set -uo pipefail

if [[ $# -lt 2 || $# -gt 4 || "$1" == -h || "$1" == --help ]]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2
  exit 2
fi
url="$1" repo="$2" user="${3:-}" password="${4:-}"
tools="$(bash "$(dirname "$0")/install-test-tools.sh" --print-bin)"
program="${CONFORMANCE_BIN:-$tools/oci-conformance}"
if [[ ! -x "$program" ]]; then
  echo "conformance: $program is missing; scripts/install-test-tools.sh builds it" >&2
  exit 2
fi

tls=disabled
case "$url" in
  https://*) tls=enabled; [[ "${INSECURE_TLS:-}" == 1 ]] && tls=insecure ;;
esac
registry="${url#http://}"
registry="${registry#https://}"
registry="${registry%/}"

results="${RESULTS_DIR:-$PWD/conformance-results}"
mkdir -p "$results" || exit 2
results="$(cd "$results" && pwd)"

# The program also reads ./oci-conformance.yaml: start it in the results
# directory so that no file where the caller stands changes the run.
(
  cd "$results" &&
    OCI_REGISTRY="$registry" OCI_TLS="$tls" \
      OCI_REPO1="$repo" OCI_REPO2="${OCI_REPO2:-$repo-mount}" \
      OCI_USERNAME="$user" OCI_PASSWORD="$password" \
      OCI_VERSION="${OCI_VERSION:-1.1}" OCI_RESULTS_DIR="$results" \
      "$program"
) 2>&1 | tee "$results/output.txt"
status="${PIPESTATUS[0]}"

# The report ends with one "  <Status>....: <count>" line per status.
count() {
  local n
  n="$(sed -n "s/^  $1\.*: *\([0-9]\+\)\$/\1/p" "$results/output.txt" | tail -n 1)"
  echo "${n:-0}"
}
if ! grep -q '^OCI Conformance Result:' "$results/output.txt"; then
  # No report at all: bad configuration, or nothing answered at $url.
  echo "conformance: 0 passed, 1 failed, 0 skipped"
  exit 1
fi
passed="$(count Pass)"
failed=$(($(count FAIL) + $(count Error)))
skipped=$(($(count Skip) + $(count Disabled)))
echo "conformance: $passed passed, $failed failed, $skipped skipped"
[[ "$failed" == 0 && "$status" == 0 ]]
