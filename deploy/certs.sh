#!/usr/bin/env bash
# Makes a throwaway CA and the certificates the local deployments use: the
# gateways' server certificate, valid for every name a client reaches them
# by (localhost, the compose services, the Kubernetes Services), and a
# client certificate for mTLS on SSL listeners. For local use only: the
# CA's key lies unencrypted beside them.
#
#   deploy/certs.sh [--force] [--namespace NS] [DIR]
#
# DIR defaults to deploy/certs, which docker-compose.yml mounts from;
# NS (default: default) is the Kubernetes namespace deploy/k8s runs in.
set -euo pipefail

usage() {
	echo "usage: $0 [--force] [--namespace NS] [DIR]" >&2
	exit 2
}

force='' ns=default dir=''
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1 ;;
	--namespace)
		[ $# -ge 2 ] || usage
		ns=$2
		shift
		;;
	-*) usage ;;
	*)
		[ -z "$dir" ] || usage
		dir=$1
		;;
	esac
	shift
done
dir=${dir:-$(dirname "$0")/certs}
command -v openssl >/dev/null || {
	echo "$0: openssl is not installed" >&2
	exit 1
}

files=(ca.pem ca-key.pem server.pem server-key.pem client.pem client-key.pem)
if [ -z "$force" ]; then
	for f in "${files[@]}"; do
		if [ -e "$dir/$f" ]; then
			echo "$0: $dir/$f exists; --force makes new ones over it" >&2
			exit 1
		fi
	done
fi

# The names clients dial. The compose gateways are gateway-1..3 on the
# compose network and localhost from the host; in Kubernetes clients
# bootstrap through the caudal Service and then dial each pod by its name
# under the headless Service caudal-gateway (deploy/k8s/gateway.yaml).
sans=(DNS:localhost IP:127.0.0.1 IP:::1 DNS:gateway-1 DNS:gateway-2 DNS:gateway-3 DNS:caudal)
for svc in caudal caudal-gateway; do
	sans+=("DNS:$svc.$ns.svc" "DNS:$svc.$ns.svc.cluster.local")
done
sans+=("DNS:*.caudal-gateway.$ns.svc" "DNS:*.caudal-gateway.$ns.svc.cluster.local")

umask 077 # a DIR made here is the owner's alone
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Extensions from a file of our own, not the system's openssl.cnf, so that
# every OpenSSL makes the same certificates.
cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $(IFS=,; echo "${sans[*]}")
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# quiet runs openssl, showing what it says only when it fails.
quiet() { openssl "$@" 2>"$work/stderr" || { cat "$work/stderr" >&2 && return 1; }; }
key() { quiet genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1"; }
# issue NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
issue() {
	key "$1-key.pem"
	quiet req -new -config "$work/openssl.cnf" -key "$work/$1-key.pem" -subj "$2" -out "$work/$1.csr"
	quiet x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
		-set_serial "0x$(openssl rand -hex 16)" -days 825 \
		-extfile "$work/openssl.cnf" -extensions "$3" -out "$work/$1.pem"
}

key ca-key.pem
quiet req -new -x509 -config "$work/openssl.cnf" -extensions ca -key "$work/ca-key.pem" \
	-subj "/O=caudal/CN=caudal local CA $(date -u +%Y-%m-%dT%H:%M:%SZ)" -days 825 -out "$work/ca.pem"
issue server /O=caudal/CN=caudal-gateway server
issue client /O=caudal/CN=caudal-client client

# cp writes over an existing file in place, so gateways that mount it see
# the new certificate (they reload it when it changes). The gateways in
# compose run as another user and read server-key.pem through a bind
# mount: it has to be readable by all, and DIR, made 0700 above, keeps
# other local users out. The CA's and the client's keys are the owner's.
for f in "${files[@]}"; do
	cp "$work/$f" "$dir/$f"
done
chmod 644 "$dir/ca.pem" "$dir/server.pem" "$dir/server-key.pem" "$dir/client.pem"
chmod 600 "$dir/ca-key.pem" "$dir/client-key.pem"

cat <<EOF
Wrote a throwaway CA and certificates to $dir:
  ca.pem                      the CA clients trust (ssl.ca.location, or ssl.truststore.location with ssl.truststore.type=PEM)
  server.pem, server-key.pem  the gateways' certificate, for: ${sans[*]#*:}
  client.pem, client-key.pem  a client certificate for mTLS (principal User:CN=caudal-client,O=caudal)
  ca-key.pem                  the CA's key
These are for local use only: anyone with ca-key.pem can make certificates
that clients of this CA trust. Never use them for anything real.
EOF
