#!/usr/bin/env bash
# Measures one OCI registry on this machine: blob push and pull throughput
# and small-manifest PUT and GET rates, as medians of RUNS runs.
#
#   scripts/registry-probe.sh HOST:PORT [USER [PASSWORD]]
#
# Each run:
#   push      an OCI image of LAYERS uncompressed layers of LAYER_MB MiB of
#             fresh random bytes (nothing to deduplicate) with crane push  MB/s
#   pull      the same image with crane pull --format=oci                   MB/s
#   put       MANIFESTS distinct tiny manifests PUT by tag over one
#             keep-alive curl process                                       per s
#   get       the same manifests fetched by tag                             per s
#
# Settings (environment): RUNS=3 LAYERS=4 LAYER_MB=64 MANIFESTS=500,
# REPO_NS (default USER, or "probe"), LABEL (default HOST:PORT). crane is
# $TOOLS_BIN/crane (scripts/install-test-tools.sh) or the one on PATH.
# SERVER_PID, the registry's process on this machine, adds the server's CPU
# time per GiB pushed and pulled (user + system, from /proc/PID/stat): CPU,
# unlike MB/s, hardly moves with the load others put on a shared machine.
# Plain HTTP only, and only for registries on this machine.
#
# Output: a line per run on stderr, then on stdout one line per metric,
#   probe: <metric> <median>  (runs: <value> <value> ...)
# with metrics blob_push_MBps, blob_pull_MBps, manifest_put_per_s and
# manifest_get_per_s, and with SERVER_PID blob_push_cpu_s_per_GiB and
# blob_pull_cpu_s_per_GiB. Exit status 1 if any request failed.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 || "$1" == -h || "$1" == --help ]]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2
  exit 2
fi
hostport="$1" user="${2:-}" password="${3:-}"
runs="${RUNS:-3}" layers="${LAYERS:-4}" layer_mb="${LAYER_MB:-64}" manifests="${MANIFESTS:-500}"
ns="${REPO_NS:-${user:-probe}}" label="${LABEL:-$hostport}"
base="http://$hostport"

tools="$(bash "$(dirname "$0")/install-test-tools.sh" --print-bin)"
crane="$tools/crane"
[[ -x "$crane" ]] || crane="$(command -v crane || true)"
[[ -n "$crane" ]] || { echo "probe: crane not found; run scripts/install-test-tools.sh" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/registry-probe.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export DOCKER_CONFIG="$work/docker" # crane's login stays in here
mkdir -p "$DOCKER_CONFIG"

code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/v2/" || true)"
[[ "$code" != 000 && -n "$code" ]] || { echo "probe: nothing answers at $base/v2/" >&2; exit 1; }
if [[ -n "$user" ]]; then
  printf '%s' "$password" | "$crane" auth login "$hostport" -u "$user" --password-stdin >/dev/null 2>&1 ||
    { echo "probe: crane auth login $hostport failed" >&2; exit 1; }
fi

failures=0
fail() { echo "probe: $*" >&2; failures=$((failures + 1)); }
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# server_cpu: the server's CPU time so far in clock ticks (0 without SERVER_PID).
server_cpu() {
  [[ -n "${SERVER_PID:-}" ]] || { echo 0; return; }
  # Fields after the command name (which may hold spaces): utime is 14, stime 15.
  sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'
}
ticks="$(getconf CLK_TCK)"
cpu_per_gib() { awk -v t="$(($2 - $1))" -v hz="$ticks" -v mb="$3" 'BEGIN { printf "%.3f", t / hz * 1024 / mb }'; }
elapsed_rate() { awk -v n="$1" -v start="$2" -v end="$3" 'BEGIN { printf "%.2f", n / ((end - start) / 1e9) }'; }
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# store FILE DIR: moves FILE into DIR's blob store and prints its digest.
store() {
  local d
  d="$(sha "$1")"
  mv "$1" "$2/blobs/sha256/$d"
  echo "$d"
}

# image DIR: an OCI image layout of $layers random, uncompressed layers.
image() {
  local dir="$1" i d layer_list="" diff_ids="" cfg man
  mkdir -p "$dir/blobs/sha256" "$dir/tmp"
  for ((i = 0; i < layers; i++)); do
    head -c "$((layer_mb << 20))" /dev/urandom >"$dir/tmp/random-$i"
    tar -cf "$dir/tmp/layer.tar" -C "$dir/tmp" "random-$i"
    rm "$dir/tmp/random-$i"
    local n
    n="$(size "$dir/tmp/layer.tar")"
    d="$(store "$dir/tmp/layer.tar" "$dir")"
    diff_ids+="${diff_ids:+,}\"sha256:$d\""
    layer_list+="${layer_list:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$d\",\"size\":$n}"
  done
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' "$diff_ids" >"$dir/tmp/config"
  local cn
  cn="$(size "$dir/tmp/config")"
  cfg="$(store "$dir/tmp/config" "$dir")"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$cfg" "$cn" "$layer_list" >"$dir/tmp/manifest"
  local mn
  mn="$(size "$dir/tmp/manifest")"
  man="$(store "$dir/tmp/manifest" "$dir")"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' "$man" "$mn" >"$dir/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  rmdir "$dir/tmp"
}

# bearer REPO: an Authorization header for push and pull on REPO, or nothing
# when the registry asks for no token.
bearer() {
  local challenge realm service token credentials=()
  challenge="$(curl -s -o /dev/null -D - "$base/v2/" | tr -d '\r' | sed -n 's/^[Ww]ww-[Aa]uthenticate: *[Bb]earer //p')"
  [[ -n "$challenge" ]] || return 0
  realm="$(sed -n 's/.*realm="\([^"]*\)".*/\1/p' <<<"$challenge")"
  service="$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$challenge")"
  [[ -n "$user" ]] && credentials=(-u "$user:$password")
  token="$(curl -s "${credentials[@]}" -G "$realm" --data-urlencode "service=$service" \
    --data-urlencode "scope=repository:$1:pull,push" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')"
  [[ -n "$token" ]] && echo "Authorization: Bearer $token"
}

# The config blob every probe manifest names: the two bytes "{}".
empty_config=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a

push=() pull=() put=() get=() push_cpu=() pull_cpu=()
id="$(date +%s)-$$"
for ((r = 1; r <= runs; r++)); do
  layout="$work/layout" ref="$hostport/$ns/probe-$id-$r:blobs"
  image "$layout"
  mb=$((layers * layer_mb))
  start="$(date +%s%N)" cpu0="$(server_cpu)"
  "$crane" push --insecure "$layout" "$ref" >"$work/push.log" 2>&1 || fail "crane push (run $r): $(tail -n 3 "$work/push.log")"
  end="$(date +%s%N)" cpu1="$(server_cpu)"
  push+=("$(elapsed_rate "$mb" "$start" "$end")") push_cpu+=("$(cpu_per_gib "$cpu0" "$cpu1" "$mb")")
  start="$(date +%s%N)" cpu0="$(server_cpu)"
  "$crane" pull --insecure --format=oci "$ref" "$work/pulled" >"$work/pull.log" 2>&1 || fail "crane pull (run $r): $(tail -n 3 "$work/pull.log")"
  end="$(date +%s%N)" cpu1="$(server_cpu)"
  pull+=("$(elapsed_rate "$mb" "$start" "$end")") pull_cpu+=("$(cpu_per_gib "$cpu0" "$cpu1" "$mb")")
  rm -rf "$layout" "$work/pulled"

  repo="$ns/probe-$id-$r-manifests"
  header="$(bearer "$repo")"
  auth=()
  [[ -n "$header" ]] && auth=(-H "$header")
  printf '{}' >"$work/config"
  code="$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary @"$work/config" "$base/v2/$repo/blobs/uploads/?digest=$empty_config")"
  if [[ "$code" == 202 ]]; then
    # A registry that ignores a digest on POST opens an upload: finish it with PUT.
    location="$(curl -s "${auth[@]}" -o /dev/null -D - -X POST "$base/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')"
    [[ "$location" == /* ]] && location="$base$location"
    [[ "$location" == *\?* ]] && sep='&' || sep='?'
    code="$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
      --data-binary @"$work/config" "$location${sep}digest=$empty_config")"
  fi
  [[ "$code" == 201 ]] || fail "config blob upload answered $code (run $r)"

  : >"$work/put.curl"
  : >"$work/get.curl"
  mkdir -p "$work/manifests"
  for ((i = 0; i < manifests; i++)); do
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[],"annotations":{"probe":"%s-%d-%d"}}' \
      "$empty_config" "$id" "$r" "$i" >"$work/manifests/$i"
    # curl's -o names the output of one URL only: give each its own.
    printf 'url = "%s/v2/%s/manifests/m%d"\nupload-file = "%s/manifests/%d"\noutput = "/dev/null"\n' \
      "$base" "$repo" "$i" "$work" "$i" >>"$work/put.curl"
    printf 'url = "%s/v2/%s/manifests/m%d"\noutput = "/dev/null"\n' "$base" "$repo" "$i" >>"$work/get.curl"
  done
  start="$(date +%s%N)"
  curl -s "${auth[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' -H 'Expect:' \
    -w '%{http_code}\n' -K "$work/put.curl" >"$work/put.codes" || true
  end="$(date +%s%N)"
  put+=("$(elapsed_rate "$manifests" "$start" "$end")")
  ok="$(grep -c '^201$' "$work/put.codes" || true)"
  [[ "$ok" == "$manifests" ]] || fail "manifest PUT: $ok of $manifests answered 201 (run $r)"
  start="$(date +%s%N)"
  curl -s "${auth[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -w '%{http_code}\n' -K "$work/get.curl" >"$work/get.codes" || true
  end="$(date +%s%N)"
  get+=("$(elapsed_rate "$manifests" "$start" "$end")")
  ok="$(grep -c '^200$' "$work/get.codes" || true)"
  [[ "$ok" == "$manifests" ]] || fail "manifest GET: $ok of $manifests answered 200 (run $r)"
  rm -rf "$work/manifests"
  echo "probe $label run $r/$runs: push ${push[-1]} MB/s, pull ${pull[-1]} MB/s, manifest put ${put[-1]}/s, get ${get[-1]}/s" >&2
done

echo "probe: target $label, $layers x $layer_mb MiB layers, $manifests manifests, median of $runs runs"
echo "probe: blob_push_MBps $(median <<<"${push[*]}")  (runs: ${push[*]})"
echo "probe: blob_pull_MBps $(median <<<"${pull[*]}")  (runs: ${pull[*]})"
echo "probe: manifest_put_per_s $(median <<<"${put[*]}")  (runs: ${put[*]})"
echo "probe: manifest_get_per_s $(median <<<"${get[*]}")  (runs: ${get[*]})"
if [[ -n "${SERVER_PID:-}" ]]; then
  echo "probe: blob_push_cpu_s_per_GiB $(median <<<"${push_cpu[*]}")  (runs: ${push_cpu[*]})"
  echo "probe: blob_pull_cpu_s_per_GiB $(median <<<"${pull_cpu[*]}")  (runs: ${pull_cpu[*]})"
fi
if [[ "$failures" -gt 0 ]]; then
  echo "probe: $failures step(s) failed" >&2
  exit 1
fi
