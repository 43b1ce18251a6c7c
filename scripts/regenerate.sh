#!/usr/bin/env bash
# regenerate.sh: recreate every generated file of the repository from its
# generator. In each folder a generator writes, it first deletes every file
# whose header says it is generated (Go's convention, a line
# "// Code generated ... DO NOT EDIT." before the first line that is not a
# comment or blank), then runs go generate:
#
#   runtime/                the amd64 and arm64 kernels, their stubs and
#                           registries (go generate ./runtime/: asm/ and
#                           asm/cmd/neongen)
#   golden/                 tsmc compile's packages of the tiny models
#   examples/online/jester  and of the example's tiny online model
#                           (go generate ./golden/ ./examples/online/)
#
# A file no generator writes any more, such as the assembly of a removed
# kernel, is therefore gone afterwards: `git status` shows it deleted, and
# CI (.ci/run) fails on that as on any other difference. Files without the
# header (weights.bin, data sets, hand-written code) are never deleted; tsmc
# compile replaces those it wrote, as its manifest (.tsmc-manifest) lists.
#
#   scripts/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# is_generated FILE: whether FILE carries the header.
is_generated() {
  awk '/^\/\/ Code generated .* DO NOT EDIT\.$/ { found = 1; exit }
       /^\/\// || /^[ \t\r]*$/ { next }
       { exit }
       END { exit !found }' "$1"
}

# clean DIR FIND-ARGS...: deletes the generated files among those find
# lists under DIR; a folder without any is an error (the header or the
# folder has changed, and this script must change with it).
clean() {
  local dir=$1 f
  shift
  local files=()
  while IFS= read -r -d '' f; do
    if is_generated "$f"; then files+=("$f"); fi
  done < <(find "$dir" "$@" -type f -print0)
  if [ ${#files[@]} -eq 0 ]; then
    echo "regenerate.sh: no generated files in $dir" >&2
    exit 1
  fi
  rm -- "${files[@]}"
  echo "regenerate.sh: deleted ${#files[@]} generated files in $dir"
}

# runtime/rules_fitted_*.go (a table per CPU family) are generated too,
# but from timings: each is the output of a fit over a corpus (go run
# ./internal/cmd/fitrules, README: "Fitted default rules"), not of a
# deterministic generator, so they stay.
clean runtime -maxdepth 1 ! -name 'rules_fitted_*.go'
clean golden
clean examples/online/jester

# The kernels first: tsmc compile builds against the runtime.
go generate ./runtime/
go generate ./golden/ ./examples/online/
