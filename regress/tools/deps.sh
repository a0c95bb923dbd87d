#!/bin/sh
# Install what building, running and testing CertaOS need on Debian 12,
# and the unprivileged user the children run as.  Quiet when all is there.
set -e

PKGS="build-essential pkg-config byacc libevent-dev libpq-dev libssl-dev
libyajl-dev libbsd-dev libargon2-dev libseccomp-dev kyua atf-sh libatf-dev
postgresql curl mandoc nginx-light wrk argon2 openssl procps jq netcat-openbsd iproute2
valgrind nodejs"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
# e2e/sdk runs Better Auth's client with npm: Debian's npm, unless the
# nodejs there (NodeSource's, say) brings its own
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing" >&2
		echo "deps: run 'make deps' as root to install them" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Debian starts a cluster of its own on install; we run private ones.
if [ "$(id -u)" = 0 ] && ! getent passwd _certaos >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group _certaos
	echo "deps: created user _certaos"
fi
exit 0
