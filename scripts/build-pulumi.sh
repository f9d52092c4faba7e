#!/usr/bin/env bash
# Builds the real Pulumi CLI (and the YAML language host) from the Go module proxy,
# once, into a cache folder; a second run finds the binaries and returns at once.
#
#   PSB_PULUMI_CACHE        where the binaries go (default: ~/.cache/psb/pulumi-<version>)
#   PSB_PULUMI_CACHED_ONLY  =1: print the cache folder when the binaries are there, else fail at once
#   PSB_BUILD_VERBOSE       =1: `go build -v` (one line per package compiled: scripts/demo.sh counts them)
#
# `go install github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@vX` is refused because that
# module's go.mod has `replace` lines, so we build it from a throwaway module that
# requires pkg/v3 and sdk/v3 at the same version and repeats the non-local replaces.
# Prints the cache folder (holding `pulumi` and `pulumi-language-yaml`) on stdout.
set -euo pipefail

PULUMI_VERSION="${PULUMI_VERSION:-v3.274.1}"
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
  echo "build-pulumi: building pulumi $PULUMI_VERSION (takes several minutes the first time)" >&2
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
  go build -trimpath ${PSB_BUILD_VERBOSE:+-v} \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$CACHE/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
  mv "$CACHE/pulumi.tmp" "$CACHE/pulumi"
fi

if [[ ! -x "$CACHE/pulumi-language-yaml" ]]; then
  echo "build-pulumi: installing pulumi-language-yaml $YAML_VERSION" >&2
  GOBIN="$WORK/bin" GOFLAGS= go install "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$YAML_VERSION" >&2
  mv "$WORK/bin/pulumi-language-yaml" "$CACHE/pulumi-language-yaml"
fi

"$CACHE/pulumi" version >&2
echo "$CACHE"
