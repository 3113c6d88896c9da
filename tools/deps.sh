#!/bin/sh
# Install the Debian packages listed in .ci/packages that are missing.
# As root: runs apt-get (and says so). Otherwise: prints the one command
# needed and fails, so `make` stops before a confusing compiler error.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
pkgs=$(sed -e 's/#.*//' "$here/.ci/packages" | tr -s ' \n' '  ')
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: running: apt-get update && apt-get install -y$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$missing
else
    echo "deps: missing Debian packages. Run as root:" >&2
    echo "  apt-get install -y$missing" >&2
    exit 1
fi
