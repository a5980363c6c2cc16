#!/usr/bin/env bash
# tests/deps.sh GROUP... — installs the Debian packages a make target needs.
#
# Groups: build, test, demo, bench.  Silent when everything is installed.
# As root: apt-get update once, then install what is missing.  Otherwise:
# prints the exact command to run and exits 1.
set -euo pipefail

pkgs_build="gcc make pkg-config libfuse3-dev libmariadb-dev libgpgme-dev
	libcurl4-openssl-dev libinih-dev zlib1g-dev libdeflate-dev"
pkgs_test="fuse3 mariadb-server mariadb-client gnupg rsync python3
	python3-pytest prometheus curl procps psmisc coreutils openssl
	ca-certificates faketime clang clang-format libc6-dbg
	rsyslog rsyslog-elasticsearch libclang-rt-dev"
# libc6-dbg: ThreadSanitizer names glibc's internal functions only with
# its symbols, and tests/tsan.supp suppresses one of them (tzset_internal).
# rsyslog, rsyslog-elasticsearch: `rsyslogd -N1` checks
# contrib/logging/rsyslog-dumpfs.conf (test_jsonlog.py); no test uses the
# system's syslog daemon.
# libclang-rt-dev: libFuzzer and clang's sanitizer runtimes (`make fuzz`);
# clang only recommends it.
pkgs_demo="fuse3 mariadb-server mariadb-client gnupg"
pkgs_bench="pigz time gzip fuse3 python3 mariadb-server mariadb-client gnupg linux-perf"

usage() {
	echo "usage: $0 GROUP...   (groups: build test demo bench)" >&2
	exit 2
}

[ $# -gt 0 ] || usage

wanted=()
for group in "$@"; do
	case "$group" in
	build) list=$pkgs_build ;;
	test) list=$pkgs_test ;;
	demo) list=$pkgs_demo ;;
	bench) list=$pkgs_bench ;;
	*) echo "$0: unknown group '$group'" >&2; usage ;;
	esac
	for p in $list; do
		wanted+=("$p")
	done
done

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in $(printf '%s\n' "${wanted[@]}" | sort -u); do
	installed "$p" || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]}" >&2
	echo "run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "installing: ${missing[*]}" >&2
apt-get update
# mariadb-server may start (or fail to start) the system service here; the
# tests never use it: every test server has its own datadir, socket and port.
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"${missing[@]}"
