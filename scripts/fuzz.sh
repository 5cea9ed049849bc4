#!/usr/bin/env bash
# Runs every fuzz target of the repository for the given time each (default
# 10s). It goes through all targets and lists the ones that failed at the end;
# a failing input is written under the package's testdata/fuzz.
set -uo pipefail
t=${1:-10s}
failed=()
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
		echo "== $pkg $target ($t)"
		if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$t"; then
			failed+=("$pkg $target")
		fi
	done
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed fuzz targets:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "every fuzz target ran for $t without a failure"
