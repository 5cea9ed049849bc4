#!/usr/bin/env bash
# Makes sure headless Chromium is installed for the explorer's browser check
# (make test-browser): Debian's chromium package, installed with apt-get when
# missing. Prints the browser's path on stdout; what it does, or why it
# cannot install it, on stderr.
set -euo pipefail
for b in "${CHROMIUM:-}" chromium chromium-browser; do
	if [ -n "$b" ] && command -v "$b" >/dev/null 2>&1; then
		command -v "$b"
		exit 0
	fi
done
if ! command -v apt-get >/dev/null 2>&1; then
	echo "chromium: not installed and no apt-get here; install Chromium and set CHROMIUM=/path/to/it" >&2
	exit 1
fi
sudo=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "chromium: not installed; run 'apt-get install chromium' as root" >&2
		exit 1
	fi
	sudo=sudo
fi
echo "chromium: installing Debian's chromium package" >&2
if ! { $sudo apt-get install -y chromium >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y chromium >/dev/null; }; }; then
	echo "chromium: apt-get install chromium failed; install it by hand or set CHROMIUM" >&2
	exit 1
fi
command -v chromium
