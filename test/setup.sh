#!/usr/bin/env bash
# Installs what caudal's tests need on a fresh Debian machine with Go:
# PostgreSQL server binaries, kcat, confluent_kafka for /usr/bin/python3 (from
# Debian), openssl (deploy/certs.sh), kafkajs (npm), and the MinIO server
# built once into the cache directory.
set -euo pipefail

cache=${CAUDAL_CACHE:-$HOME/.cache/caudal}
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || need+=(python3-confluent-kafka)
if [ ${#need[@]} -gt 0 ]; then
	echo "setup: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y "${need[@]}" >/dev/null 2>&1 || {
		apt-get update >/dev/null
		apt-get install -y "${need[@]}" >/dev/null
	}
fi

# kafkajs for the compatibility matrix (test/compat), pinned by its
# package-lock.json; node and npm come from Debian when missing.
kafkajs=$(dirname "$0")/compat/kafkajs
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "setup: installing nodejs npm"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y nodejs npm >/dev/null 2>&1 || {
		apt-get update >/dev/null
		apt-get install -y nodejs npm >/dev/null
	}
fi
if ! cmp -s "$kafkajs/package-lock.json" "$kafkajs/node_modules/.caudal-installed" 2>/dev/null; then
	echo "setup: installing kafkajs (npm ci in test/compat/kafkajs)"
	npm ci --prefix "$kafkajs" --no-audit --no-fund >/dev/null
	cp "$kafkajs/package-lock.json" "$kafkajs/node_modules/.caudal-installed"
fi

stamp="$cache/bin/minio.version"
if [ ! -x "$cache/bin/minio" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$minio_version" ]; then
	echo "setup: building the MinIO server (a few minutes, once)"
	mkdir -p "$cache/bin"
	(cd "$(mktemp -d)" && GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "github.com/minio/minio@$minio_version")
	echo "$minio_version" >"$stamp"
fi
