#!/usr/bin/env bash
# Fails when the committed generated code is not what the .proto files produce
# (make proto-check): it regenerates, then looks for changed, deleted or new
# *.pb.go / *.pb.gw.go files.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/protocgen.sh

status=0
if ! git diff --exit-code --stat -- '*.pb.go' '*.pb.gw.go'; then
  status=1
fi
untracked=$(git ls-files --others --exclude-standard -- '*.pb.go' '*.pb.gw.go')
if [ -n "$untracked" ]; then
  echo "generated files not in git:"
  echo "$untracked"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "protocheck: generated code is out of date; run make proto-gen and commit the result" >&2
  exit 1
fi
echo "protocheck: generated code is up to date"
