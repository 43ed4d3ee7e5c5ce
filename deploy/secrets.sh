#!/usr/bin/env bash
# Makes the random passwords docker-compose.yml mounts as secrets, so that
# none is written in the compose file or the repository:
#
#   admin-password.txt     the SASL user admin's, for clients and kafka-ui
#   postgres-password.txt  PostgreSQL's user caudal
#   pgpass                 the same in libpq's passfile format, for caudal
#   minio-password.txt     MinIO's root user caudal
#   aws-credentials        the same as an AWS shared credentials file, for caudal
#
#   deploy/secrets.sh [--force] [DIR]      (DIR: deploy/secrets)
#
# PostgreSQL, MinIO and caudal's user store keep the passwords they first
# started with in the compose volumes: after --force, start afresh with
# `docker compose -f deploy/docker-compose.yml down -v`.
set -euo pipefail

usage() {
	echo "usage: $0 [--force] [DIR]" >&2
	exit 2
}

force='' dir=''
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1 ;;
	-*) usage ;;
	*)
		[ -z "$dir" ] || usage
		dir=$1
		;;
	esac
	shift
done
dir=${dir:-$(dirname "$0")/secrets}

files=(admin-password.txt postgres-password.txt pgpass minio-password.txt aws-credentials)
if [ -z "$force" ]; then
	for f in "${files[@]}"; do
		if [ -e "$dir/$f" ]; then
			echo "$0: $dir/$f exists; --force makes new ones over it" >&2
			exit 1
		fi
	done
fi

# 192 random bits in hex: nothing to quote in a JAAS line, a passfile or
# an INI file.
password() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
admin=$(password) postgres=$(password) minio=$(password)

# The containers read these files through bind mounts as users other than
# the owner, so the files are readable by all; DIR, made 0700 here, keeps
# other local users out.
umask 077
mkdir -p "$dir"
printf '%s' "$admin" >"$dir/admin-password.txt"
printf '%s' "$postgres" >"$dir/postgres-password.txt"
printf '*:*:*:caudal:%s\n' "$postgres" >"$dir/pgpass"
printf '%s' "$minio" >"$dir/minio-password.txt"
printf '[default]\naws_access_key_id = caudal\naws_secret_access_key = %s\n' "$minio" >"$dir/aws-credentials"
for f in "${files[@]}"; do chmod 644 "$dir/$f"; done

cat <<EOF
Wrote random passwords to $dir; the SASL user admin's is in
$dir/admin-password.txt. They are for the local compose cluster only.
EOF
