#!/usr/bin/env bash
# Makes sure a local SeaweedFS S3 endpoint is up on 127.0.0.1:8333 for the S3
# storage driver tests, then prints the URL for WHARF_TEST_S3 on stdout
# (everything else goes to stderr):
#
#   WHARF_TEST_S3=$(scripts/test-s3.sh) go test ./internal/storage/...
#
# The server runs in the background with its data under
# ${TMPDIR:-/tmp}/wharf-seaweedfs and fixed test credentials, and stays up
# for later runs. The tests create the bucket and give every test its own
# random root directory in it. The weed binary comes from $TOOLS_BIN
# (default ~/.cache/wharf-tools/bin); if it is missing, the shared
# install-clients.sh builds it (about 10 minutes, once).
set -euo pipefail

host=127.0.0.1
s3_port=8333
access_key=wharf-test
secret_key=wharf-test-secret
bucket=wharf-test
bin="${TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/wharf-tools/bin}"
weed="$bin/weed"
data="${TMPDIR:-/tmp}/wharf-seaweedfs"

log() { echo "test-s3: $*" >&2; }
# An S3 server answers an anonymous request for the bucket list with 403.
ready() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$s3_port/" 2>/dev/null)" == 403 ]]; }
weed_works() { [[ -x "$weed" ]] && "$weed" version 2>/dev/null | grep -q .; }

install_weed() {
  if pgrep -f install-clients.sh >/dev/null; then
    # Another build is under way; a second one would only slow both down.
    log "waiting for the running install-clients.sh to build $weed"
    for i in $(seq 1 240); do
      weed_works && return 0
      pgrep -f install-clients.sh >/dev/null || break
      (( i % 12 == 0 )) && log "still waiting for weed ($((i / 12)) min)"
      sleep 5
    done
    weed_works && return 0
  fi
  local installer
  installer="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/../shared/tools/install-clients.sh"
  if [[ ! -f "$installer" ]]; then
    log "weed is not installed and $installer is missing"
    exit 1
  fi
  log "building SeaweedFS weed with $installer (about 10 minutes, once)"
  bash "$installer" --with-references --no-apt >&2 || true
  weed_works || { log "weed did not install into $bin"; exit 1; }
}

if ! ready; then
  if ! pgrep -f "weed server .*-dir=$data( |$)" >/dev/null; then
    weed_works || install_weed
    mkdir -p "$data"
    cat >"$data/S3.json" <<EOF
{"identities":[{"name":"wharf","credentials":[{"accessKey":"$access_key","secretKey":"$secret_key"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
EOF
    log "starting SeaweedFS on $host:$s3_port (data in $data, log in $data/weed.log)"
    setsid nohup "$weed" server -ip="$host" -ip.bind="$host" -dir="$data" \
      -master.port=19333 -master.telemetry=false -master.volumeSizeLimitMB=1024 \
      -volume.port=18080 -volume.max=20 -filer -filer.port=18888 \
      -s3 -s3.port="$s3_port" -s3.config="$data/S3.json" \
      >"$data/weed.log" 2>&1 </dev/null &
  else
    log "SeaweedFS is starting already; waiting for it"
  fi
  for _ in $(seq 1 120); do ready && break; sleep 0.5; done
  if ! ready; then
    log "SeaweedFS did not become ready on $host:$s3_port; the end of $data/weed.log:"
    tail -20 "$data/weed.log" >&2 2>/dev/null || true
    exit 1
  fi
fi
echo "http://$access_key:$secret_key@$host:$s3_port/$bucket"
