#!/usr/bin/env bash
# docker/make-secrets.sh [DIR] — the compose stack's secrets (make secrets).
#
# Creates what is missing in DIR (default: secrets/ at the repo root, which
# .gitignore excludes); never overwrites an existing file.
#   mariadb_root_password, mariadb_app_password, mariadb_backup_password
#                        32 random characters each
#   mariadb_innodb_keys  two random 256-bit keys for file_key_management
#   backup_webhook_url, backup_smtp_password
#                        empty: fill them to enable alerts (docker/dumpfs.ini)
#   dpo_pubkey           the DPO's public key: copy it here.  With DEMO_KEY=1
#                        a DEMO key pair is made instead (private part in
#                        DIR/demo-dpo-gnupg/, for `make restore` tests only).
#
# Modes: DIR is 0700.  The files MariaDB reads are 0644 inside it: the
# server runs as uid 999 in the container and secrets are bind mounts that
# keep the host's owner and mode (the official image reads them as that
# user too).  The others are 0600 (dumpfs runs as root).
set -euo pipefail

dir=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/secrets}
created=0

random_password() {
	local pw=
	while [ ${#pw} -lt 32 ]; do
		pw+=$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9')
	done
	printf '%s\n' "${pw:0:32}"
}

random_key() {
	od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

# put NAME MODE: stdin into DIR/NAME unless it exists (atomically).
put() {
	local path="$dir/$1" tmp
	if [ -e "$path" ]; then
		cat >/dev/null
		echo "  kept     $path"
		return 0
	fi
	tmp=$(mktemp "$dir/.$1.XXXXXX")
	cat >"$tmp"
	chmod "$2" "$tmp"
	mv -n "$tmp" "$path"
	rm -f "$tmp"
	echo "  created  $path"
	created=$((created + 1))
}

umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
echo "secrets in $dir:"
put mariadb_root_password 0644 < <(random_password)
put mariadb_app_password 0644 < <(random_password)
put mariadb_backup_password 0644 < <(random_password)
put mariadb_innodb_keys 0644 < <(printf '1;%s\n2;%s\n' "$(random_key)" "$(random_key)")
put backup_webhook_url 0600 </dev/null
put backup_smtp_password 0600 </dev/null

if [ -e "$dir/dpo_pubkey" ]; then
	echo "  kept     $dir/dpo_pubkey"
elif [ "${DEMO_KEY:-0}" = 1 ]; then
	gh="$dir/demo-dpo-gnupg"
	mkdir -p "$gh"
	chmod 0700 "$gh"
	gpg --homedir "$gh" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key 'DEMO DPO key, NOT FOR PRODUCTION <dpo@example.local>' \
		future-default default 1y 2>/dev/null
	put dpo_pubkey 0644 < <(gpg --homedir "$gh" --batch --armor --export dpo@example.local)
	gpgconf --homedir "$gh" --kill gpg-agent 2>/dev/null || true
	cat >&2 <<EOF

  ************************************************************************
  *  WARNING: secrets/dpo_pubkey is a DEMO key made on this machine; its  *
  *  private key is in $gh
  *  (no passphrase).  Backups encrypted to it are NOT protected.         *
  *  Production encrypts to the DPO's real public key: replace            *
  *  secrets/dpo_pubkey with it and delete demo-dpo-gnupg/                *
  *  (docs/deployment.md, "The DPO's key").                               *
  ************************************************************************

EOF
else
	cat >&2 <<EOF

  The DPO's public key is missing: export it (gpg --armor --export KEYID)
  into $dir/dpo_pubkey, set [gpg] recipient (and fingerprint) in
  docker/dumpfs.ini, or run \`make secrets DEMO_KEY=1\` for a DEMO key.
EOF
fi
echo "$created file(s) created; existing secrets were left untouched."
