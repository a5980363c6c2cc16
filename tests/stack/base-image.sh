#!/usr/bin/env bash
# tests/stack/base-image.sh [IMAGE] — a Debian 12 base image without any
# container registry: debootstrap --variant=minbase from the Debian mirror
# that apt is configured with, imported into podman.
#
# Cached: the image itself, and the root fs tarball in $DUMPFS_STACK_CACHE
# (/var/tmp/dumpfs-stack-cache) so a pruned image is re-imported in
# seconds.  From nothing it takes a few minutes (debootstrap).
#
# Like the official debian images: dpkg's unsafe-io (no fsync per file),
# apt without translations, and as in the -slim variant no docs, man pages
# or locales (faster package installs in the image builds); sources:
# bookworm, bookworm-updates and the security suite from the same apt
# configuration as the host.  Downloaded .debs are kept in $cache/debs.
set -euo pipefail

image=${1:-localhost/dumpfs-base:bookworm}
cache=${DUMPFS_STACK_CACHE:-/var/tmp/dumpfs-stack-cache}
# Bump when the recipe below changes: cached images and tarballs of another
# version are rebuilt.
version=2
tarball=$cache/bookworm-minbase-v$version.tar

log() { echo "base-image: $*" >&2; }

# The URIs apt uses for SUITE (deb822 *.sources or one-line *.list files).
apt_uri() {
	local suite=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v want="$suite" 'BEGIN { RS = ""; FS = "\n" }
		{
			types = ""; uris = ""; suites = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/) types = $i
				if ($i ~ /^URIs:/) uris = $i
				if ($i ~ /^Suites:/) suites = $i
			}
			if (types !~ /(^|[ \t])deb([ \t]|$)/) next
			n = split(suites, s, /[ \t]+/)
			for (j = 2; j <= n; j++) if (s[j] == want) {
				split(uris, u, /[ \t]+/); print u[2]; exit
			}
		}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v want="$suite" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == want) { print $i; exit }
		}' "$f"
	done
}

if [ "$(podman image inspect -f '{{index .Config.Labels "dumpfs.base"}}' "$image" 2>/dev/null)" = "v$version" ]; then
	log "$image exists (cached)"
	exit 0
fi

if ! [ -s "$tarball" ]; then
	mirror=$(apt_uri bookworm | head -1)
	[ -n "$mirror" ] || { log "no bookworm mirror in /etc/apt/sources.list(.d)"; exit 1; }
	security=$(apt_uri bookworm-security | head -1)
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/debootstrap.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	log "debootstrap --variant=minbase bookworm from the apt mirror (takes minutes)"
	start=$(date +%s)
	mkdir -p "$work/root/etc/dpkg/dpkg.cfg.d" "$cache/debs"
	echo force-unsafe-io >"$work/root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
	if ! debootstrap --variant=minbase --cache-dir="$cache/debs" bookworm "$work/root" \
		"$mirror" >"$work/log" 2>&1; then
		tail -20 "$work/log" >&2
		log "debootstrap failed"
		exit 1
	fi
	r=$work/root
	{
		echo "deb $mirror bookworm main"
		echo "deb $mirror bookworm-updates main"
		[ -z "$security" ] || echo "deb $security bookworm-security main"
	} >"$r/etc/apt/sources.list"
	echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
	cat >"$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/groff/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/lintian/*
		path-exclude /usr/share/locale/*
	EOF
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log \
		"$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/*
	find "$r/usr/share/doc" -type f ! -name copyright -delete
	tar --numeric-owner -C "$r" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	log "root fs cached in $tarball ($(($(date +%s) - start)) s)"
fi

podman import --change "LABEL dumpfs.base=v$version" \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["bash"]' "$tarball" "$image" >/dev/null
log "imported $image"
