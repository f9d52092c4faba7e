#!/usr/bin/env bash
# Builds the real Pulumi CLI (and the YAML language host) from the Go module proxy,
# once, into a cache folder; a second run finds the binaries and returns at once.
#
#   bash scripts/build-pulumi.sh [vX.Y.Z]   the Pulumi version (default: $PULUMI_VERSION, else v3.274.1).
#   The test suite uses v3.274.1 and v3.200.0 (PSB_PULUMI_VERSIONS in scripts/pretest.sh); each is
#   cached in its own folder, ~/.cache/psb/pulumi-<version>-yaml-<yaml version>/.
#
#   PSB_PULUMI_CACHE        where the binaries go (default: ~/.cache/psb/pulumi-<version>)
#   PSB_PULUMI_CACHED_ONLY  =1: print the cache folder when the binaries are there, else fail at once
#   PSB_BUILD_VERBOSE       =1: `go build -v` (one line per package compiled: scripts/demo.sh counts them);
#                           otherwise a progress line every 100 packages compiled (the first build of
#                           a version downloads its modules, then compiles up to ~1,000)
#
# `go install github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@vX` is refused because that
# module's go.mod has `replace` lines, so we build it from a throwaway module that
# requires pkg/v3 and sdk/v3 at the same version and repeats the non-local replaces.
# Prints the cache folder (holding `pulumi` and `pulumi-language-yaml`) on stdout.
set -euo pipefail

PULUMI_VERSION="${1:-${PULUMI_VERSION:-v3.274.1}}"
[[ "$PULUMI_VERSION" == v* ]] || PULUMI_VERSION="v$PULUMI_VERSION"
[[ "$PULUMI_VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-pulumi: \"$PULUMI_VERSION\" is not a Pulumi version (e.g. v3.200.0)" >&2; exit 2; }
YAML_VERSION="${PULUMI_YAML_VERSION:-v1.25.0}"
CACHE="${PSB_PULUMI_CACHE:-$HOME/.cache/psb/pulumi-$PULUMI_VERSION-yaml-$YAML_VERSION}"

if [[ -x "$CACHE/pulumi" && -x "$CACHE/pulumi-language-yaml" ]]; then
  echo "$CACHE"
  exit 0
fi
[[ "${PSB_PULUMI_CACHED_ONLY:-}" == 1 ]] && exit 1

command -v go >/dev/null || { echo "build-pulumi: Go is not on PATH; it is needed to build the Pulumi CLI" >&2; exit 1; }
mkdir -p "$CACHE"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

if [[ ! -x "$CACHE/pulumi" ]]; then
  echo "build-pulumi: building pulumi $PULUMI_VERSION into $CACHE (first time only: downloads its Go modules, then compiles; several minutes)" >&2
  cd "$WORK"
  # The upstream go.mod's replace lines, minus the local ../sdk one.
  MODFILE="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  cat > go.mod <<MOD
module psb.local/pulumibuild

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)
MOD
  grep -E '^replace ' "$MODFILE" | grep -v '=> \.' >> go.mod || true
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
  go mod tidy >&2
  build() {
    go build -trimpath -v \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$CACHE/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  }
  if [[ -n "${PSB_BUILD_VERBOSE:-}" ]]; then
    build >&2
  else
    # go build -v names each package as it compiles it: count them as progress.
    build 2>&1 | awk -v v="$PULUMI_VERSION" '/:/ { print > "/dev/stderr"; next } { n++; if (n % 100 == 0) { printf "build-pulumi: %s: %d packages compiled\n", v, n > "/dev/stderr"; fflush("/dev/stderr") } }'
    [[ "${PIPESTATUS[0]}" -eq 0 ]] || exit 1
  fi
  mv "$CACHE/pulumi.tmp" "$CACHE/pulumi"
fi

if [[ ! -x "$CACHE/pulumi-language-yaml" ]]; then
  echo "build-pulumi: installing pulumi-language-yaml $YAML_VERSION" >&2
  GOBIN="$WORK/bin" GOFLAGS= go install "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$YAML_VERSION" >&2
  mv "$WORK/bin/pulumi-language-yaml" "$CACHE/pulumi-language-yaml"
fi

"$CACHE/pulumi" version >&2
echo "$CACHE"
