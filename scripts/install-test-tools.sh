#!/usr/bin/env bash
# Installs every program wharf's test suite drives that this machine lacks,
# and stops at the first one that cannot be installed (exit status 1).
#
#   scripts/install-test-tools.sh [--with-references] [--no-apt] [--print-bin]
#
# Go programs, built from pinned module versions through the Go module proxy
# into $TOOLS_BIN (default ${XDG_CACHE_HOME:-~/.cache}/wharf-tools/bin):
#   crane, oras, regctl     registry clients of the round-trip tests
#   oci-conformance         the OCI distribution-spec conformance program
#   weed                    SeaweedFS, the local S3 endpoint of the S3 suites
#                           (scripts/test-s3.sh); built once, 10 to 20 minutes
# Debian packages (apt-get, as root or through sudo):
#   skopeo podman buildah   registry clients; buildah is also the buildah executor
#   busybox-static          the static shell in the build tests' base image
#   curl procps             used by the tests and the scripts
#   chromium chromium-driver the headless browser of the web console's tests
#
#   --with-references  also CNCF Distribution v3.1.2 as distribution-registry,
#                      the reference registry of scripts/bench-registry.sh
#   --no-apt           leave the Debian packages alone
#   --print-bin        print the tools directory and exit (installs nothing)
#
# A program already built from its pinned version is left alone, so a run on
# a machine that has everything takes well under a second. Runs are
# serialised with a lock in the tools directory: worktrees sharing it never
# build the same program twice at once.
set -euo pipefail

bin="${TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/wharf-tools/bin}"
with_refs=0
apt=1
for arg in "$@"; do
  case "$arg" in
    --with-references) with_refs=1 ;;
    --no-apt) apt=0 ;;
    --print-bin) echo "$bin"; exit 0 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "install-test-tools: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

# Pinned versions. Raise them here, and only here.
crane_pkg=github.com/google/go-containerregistry/cmd/crane@v0.22.1
oras_pkg=oras.land/oras/cmd/oras@v1.3.6
regctl_pkg=github.com/regclient/regclient/cmd/regctl@v0.11.7
conformance_pkg=github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111
distribution_pkg=github.com/distribution/distribution/v3/cmd/registry@v3.1.2
weed_module=github.com/seaweedfs/seaweedfs
weed_version=v0.0.0-20261109003541-7506e5f91cd6
apt_packages=(skopeo podman buildah busybox-static curl procps chromium chromium-driver)

say() { echo "install-test-tools: $*"; }
die() { echo "install-test-tools: FAILED: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (wharf needs Go to build and test anyway)"
mkdir -p "$bin" || die "cannot create $bin"
exec 9>"$bin/.install.lock"
if ! flock -n 9; then
  say "another install-test-tools.sh is running on $bin; waiting for it"
  flock 9
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
installed=()

# built_from FILE PACKAGE@VERSION: FILE is a Go program built from exactly
# that package at that module version (go version -m reads the build info).
built_from() {
  local file="$1" pkg="${2%@*}" version="${2#*@}" info
  [[ -x "$file" ]] || return 1
  info="$(go version -m "$file" 2>/dev/null)" || return 1
  grep -qE "^[[:space:]]+path[[:space:]]+$pkg\$" <<<"$info" &&
    grep -qE "^[[:space:]]+mod[[:space:]]+[^[:space:]]+[[:space:]]+$version([[:space:]]|\$)" <<<"$info"
}

# go_program NAME PACKAGE@VERSION: go install into a scratch GOBIN, then move
# the program into place in one rename, so no reader sees half a file.
go_program() {
  local name="$1" pkg="$2" gobin="$scratch/$1"
  built_from "$bin/$name" "$pkg" && return 0
  say "building $name from $pkg"
  mkdir -p "$gobin"
  if ! GOBIN="$gobin" GOFLAGS="-buildvcs=false -trimpath" go install "$pkg" >"$scratch/$name.log" 2>&1; then
    tail -n 20 "$scratch/$name.log" >&2
    die "go install $pkg"
  fi
  mv -f "$gobin/$(basename "${pkg%@*}")" "$bin/$name"
  installed+=("$name")
}

# weed: SeaweedFS's go.mod has replace directives, which go install refuses,
# so build the module's own copy (made writable) with go build. The pinned
# version is stamped into the program, and "weed version" shows it.
weed_program() {
  local stamp="-X $weed_module/weed/util/version.COMMIT=$weed_version" dir have=""
  [[ -x "$bin/weed" ]] && have="$("$bin/weed" version 2>/dev/null)" || true
  [[ "$have" == *"$weed_version"* ]] && return 0
  say "building weed from $weed_module@$weed_version (10 to 20 minutes on 2 cores, once)"
  dir="$(cd "$scratch" && go mod download -json "$weed_module@$weed_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || die "go mod download $weed_module@$weed_version"
  [[ -d "$dir" ]] || die "go mod download $weed_module@$weed_version gave no directory"
  cp -r "$dir" "$scratch/weed-src" && chmod -R u+w "$scratch/weed-src"
  if ! (cd "$scratch/weed-src" && GOFLAGS="-buildvcs=false -trimpath" go build -ldflags "$stamp" -o "$scratch/weed" ./weed) >"$scratch/weed.log" 2>&1; then
    tail -n 20 "$scratch/weed.log" >&2
    die "go build $weed_module/weed@$weed_version"
  fi
  mv -f "$scratch/weed" "$bin/weed"
  installed+=(weed)
}

debian_packages() {
  local missing=() p sudo=()
  for p in "${apt_packages[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || die "Debian packages ${missing[*]} are missing and this user cannot run apt-get (install them, or run as root)"
    sudo=(sudo)
  fi
  say "apt-get install ${missing[*]}"
  # The package lists may be stale or absent on a new machine: update once
  # when the first attempt fails.
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$scratch/apt.log" 2>&1; then
    "${sudo[@]}" apt-get update -qq >>"$scratch/apt.log" 2>&1 &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$scratch/apt.log" 2>&1 ||
      { tail -n 20 "$scratch/apt.log" >&2; die "apt-get install ${missing[*]}"; }
  fi
  installed+=("${missing[@]}")
}

go_program crane "$crane_pkg"
go_program oras "$oras_pkg"
go_program regctl "$regctl_pkg"
go_program oci-conformance "$conformance_pkg"
weed_program
if [[ "$with_refs" == 1 ]]; then
  go_program distribution-registry "$distribution_pkg"
fi
if [[ "$apt" == 1 ]]; then
  debian_packages
  for p in skopeo podman buildah curl pgrep /bin/busybox; do
    command -v "$p" >/dev/null || die "$p is still missing after apt-get"
  done
fi

# Every program must run, not merely exist.
for p in crane oras regctl; do
  "$bin/$p" version >/dev/null 2>&1 || die "$bin/$p does not run"
done
"$bin/weed" version >/dev/null 2>&1 || die "$bin/weed does not run"

if [[ ${#installed[@]} -gt 0 ]]; then
  say "installed ${installed[*]}; every test tool is in place ($bin)"
else
  say "every test tool is in place ($bin)"
fi
