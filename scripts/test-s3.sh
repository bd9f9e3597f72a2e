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
# random root directory in it. The weed binary is the one
# scripts/install-test-tools.sh puts in its tools directory (building it
# takes 10 to 20 minutes, once).
set -euo pipefail

host=127.0.0.1
s3_port=8333
access_key=wharf-test
secret_key=wharf-test-secret
bucket=wharf-test
bin="$(bash "$(dirname "$0")/install-test-tools.sh" --print-bin)"
weed="$bin/weed"
data="${TMPDIR:-/tmp}/wharf-seaweedfs"

log() { echo "test-s3: $*" >&2; }
# An S3 server answers an anonymous request for the bucket list with 403.
ready() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$s3_port/" 2>/dev/null)" == 403 ]]; }
weed_works() { [[ -x "$weed" ]] && "$weed" version 2>/dev/null | grep -q .; }

# weed comes from scripts/install-test-tools.sh (make test runs it first);
# called on its own, this script runs the installer when weed is missing.
install_weed() {
  log "weed is not in $bin: running scripts/install-test-tools.sh"
  bash "$(dirname "$0")/install-test-tools.sh" --no-apt >&2
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
