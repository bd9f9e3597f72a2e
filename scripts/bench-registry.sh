#!/usr/bin/env bash
# Measures wharf's registry beside CNCF Distribution v3.1.2 on this machine,
# in one invocation, with scripts/registry-probe.sh (push/pull MB/s, manifest
# PUT/GET per second; medians of RUNS runs), prints wharf/Distribution ratios,
# with both servers' CPU seconds per GiB pushed and pulled, then pushes one
# 1 GiB blob to wharf and reports the server's peak RSS. WHARF_BIN measures
# that wharf binary (another commit's, say) instead of building this tree.
# The reference registry is built first if it is missing
# (scripts/install-test-tools.sh --with-references).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-test-tools.sh" --with-references --no-apt >&2
bin="$(bash "$root/scripts/install-test-tools.sh" --print-bin)"
export RUNS="${RUNS:-3}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [[ -n "${WHARF_BIN:-}" ]]; then
  cp "$WHARF_BIN" "$work/wharf"
else
  (cd "$root" && go build -o "$work/wharf" ./cmd/wharf)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wport=$(free_port); dport=$(free_port)

"$work/wharf" serve --addr "127.0.0.1:$wport" --data "$work/wharf-data" >"$work/wharf.out" 2>"$work/wharf.err" &
wpid=$!; pids+=("$wpid")
cat >"$work/dist.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/dist-data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$dport}
YAML
OTEL_TRACES_EXPORTER=none "$bin/distribution-registry" serve "$work/dist.yml" >"$work/dist.log" 2>&1 &
dpid=$!; pids+=("$dpid")
for _ in $(seq 1 50); do
  curl -s -o /dev/null "http://127.0.0.1:$wport/v2/" && curl -s -o /dev/null "http://127.0.0.1:$dport/v2/" && break
  sleep 0.2
done
curl -sf -X POST -H "Content-Type: application/json" \
  -d '{"username":"bench","password":"bench-password","email":"bench@example.com"}' \
  "http://127.0.0.1:$wport/api/v1/user/initialize" >/dev/null

metric() { sed -n "s/^probe: $1 \([0-9.]*\).*/\1/p" "$2"; }
SERVER_PID=$wpid LABEL=wharf bash "$root/scripts/registry-probe.sh" "127.0.0.1:$wport" bench bench-password >"$work/wharf.probe"
SERVER_PID=$dpid LABEL=distribution bash "$root/scripts/registry-probe.sh" "127.0.0.1:$dport" >"$work/dist.probe"
echo "metric                   wharf      distribution   ratio"
for m in blob_push_MBps blob_pull_MBps manifest_put_per_s manifest_get_per_s blob_push_cpu_s_per_GiB blob_pull_cpu_s_per_GiB; do
  w=$(metric "$m" "$work/wharf.probe"); d=$(metric "$m" "$work/dist.probe")
  printf '%-24s %-10s %-14s %s\n' "$m" "$w" "$d" "$(python3 -c "print(f'{$w/$d:.2f}x')")"
done

# One 1 GiB blob, streamed in a single PATCH from a file, then committed.
head -c $((1 << 30)) /dev/urandom >"$work/big"
digest="sha256:$(sha256sum "$work/big" | cut -d' ' -f1)"
token=$(curl -s -u bench:bench-password "http://127.0.0.1:$wport/v2/auth?service=x&scope=repository:bench/big:pull,push" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
loc=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$wport/v2/bench/big/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //p')
curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $token" -H "Content-Type: application/octet-stream" -T "$work/big" "http://127.0.0.1:$wport$loc"
status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $token" "http://127.0.0.1:$wport$loc?digest=$digest")
peak=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$wpid/status")
echo "1 GiB blob push: HTTP $status, wharf peak RSS $((peak / 1024)) MiB (whole run)"
