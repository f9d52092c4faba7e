#!/usr/bin/env bash
# Builds Terragrunt (the Go binary bench/terragrunt.ts compares psb with) from a git snapshot of
# the public gruntwork-io/terragrunt repository: the Go module proxy serves no Terragrunt
# versions, but it serves Terragrunt's dependencies, which `go build` fetches.
#
#   bash bench/build-terragrunt.sh [SNAPSHOT]    prints the binary's path on stdout
#
# SNAPSHOT (or TG_SNAPSHOT): a git directory (bare or not) holding the tag, or a folder with the
# extracted sources (go.mod at its root). TG_VERSION: the tag, default v1.1.3. The binary goes to
# ${PSB_CACHE:-~/.cache/psb}/terragrunt-<tag> and is reused when it is there. Needs Go (go.mod's
# version or newer). Progress goes to stderr.
set -euo pipefail
version="${TG_VERSION:-v1.1.3}"
out="${PSB_CACHE:-$HOME/.cache/psb}/terragrunt-$version"
if [[ -x "$out" ]]; then echo "$out"; exit 0; fi
src="${1:-${TG_SNAPSHOT:-}}"
if [[ -z "$src" ]]; then
  echo "build-terragrunt: give the snapshot: bash bench/build-terragrunt.sh <git dir or source folder> (or TG_SNAPSHOT)" >&2
  exit 2
fi
command -v go >/dev/null || { echo "build-terragrunt: Go is not installed" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -f "$src/go.mod" ]]; then
  cp -R "$src/." "$work/"
else
  echo "build-terragrunt: extracting $version from $src" >&2
  git --git-dir="$src" archive "$version" | tar -x -C "$work"
fi
mkdir -p "$(dirname "$out")"
echo "build-terragrunt: go build $version (several minutes the first time: the dependencies come from the Go module proxy)" >&2
# As Terragrunt's own Makefile builds it: static, stripped, the version stamped in.
(cd "$work" && CGO_ENABLED=0 go build -o "$out.tmp" -ldflags "-s -w -X github.com/gruntwork-io/terragrunt/internal/version.Version=$version" .) >&2
mv "$out.tmp" "$out"
echo "$out"
