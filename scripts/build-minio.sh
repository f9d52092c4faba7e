#!/usr/bin/env bash
# Builds the MinIO server from the Go module proxy, pinned, once, into a cache folder; a second
# run finds the binary and returns at once (like scripts/build-pulumi.sh). MinIO is psb's second
# real S3 implementation in the tests (test/support/minio.ts), beside moto.
#
#   PSB_MINIO_CACHE        where the binary goes (default: ~/.cache/psb/minio-<version>)
#   PSB_MINIO_CACHED_ONLY  =1: print the cache folder when the binary is there, else fail at once
#
# Prints the cache folder (holding `minio`) on stdout.
set -euo pipefail

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
CACHE="${PSB_MINIO_CACHE:-$HOME/.cache/psb/minio-$MINIO_VERSION}"

if [[ -x "$CACHE/minio" ]]; then
  echo "$CACHE"
  exit 0
fi
[[ "${PSB_MINIO_CACHED_ONLY:-}" == 1 ]] && exit 1

command -v go >/dev/null || { echo "build-minio: Go is not on PATH; it is needed to build MinIO" >&2; exit 1; }
mkdir -p "$CACHE"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

echo "build-minio: building minio $MINIO_VERSION from the Go module proxy (takes several minutes the first time)" >&2
# go install -v names each package as it compiles it: count them as progress, one line per 100.
GOBIN="$WORK/bin" GOFLAGS= go install -v "github.com/minio/minio@$MINIO_VERSION" 2>&1 |
  awk -v v="$MINIO_VERSION" '/:/ { print > "/dev/stderr"; next } { n++; if (n % 100 == 0) { printf "build-minio: %s: %d packages compiled\n", v, n > "/dev/stderr"; fflush("/dev/stderr") } }'
mv "$WORK/bin/minio" "$CACHE/minio"
"$CACHE/minio" --version >&2 || true
echo "$CACHE"
