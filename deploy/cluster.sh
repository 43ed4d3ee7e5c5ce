#!/usr/bin/env bash
# Starts a local caudal cluster without Docker: MinIO, PostgreSQL, three
# gateways and one worker, as processes on loopback, keeping state and logs
# under $CLUSTER_DIR (default ./.cluster). `deploy/cluster.sh stop` ends them.
set -euo pipefail

dir=${CLUSTER_DIR:-$PWD/.cluster}
cache=${CAUDAL_CACHE:-$HOME/.cache/caudal}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# Ports can be moved when something else holds them, e.g.
# CLUSTER_GATEWAY_PORTS="19192 29192 39192" make cluster
minio_port=${CLUSTER_MINIO_PORT:-19000} pg_port=${CLUSTER_PG_PORT:-15432}
read -r -a gateway_ports <<<"${CLUSTER_GATEWAY_PORTS:-19092 29092 39092}"
http_base=${CLUSTER_HTTP_PORT:-9644}

stop() {
	for pidfile in "$dir"/*.pid; do
		[ -e "$pidfile" ] || continue
		kill "$(cat "$pidfile")" 2>/dev/null || true
		rm -f "$pidfile"
	done
	if [ -d "$dir/pg" ]; then
		run_pg "$pgbin/pg_ctl" -D "$dir/pg" stop -m fast >/dev/null 2>&1 || true
	fi
	echo "cluster stopped"
}

# PostgreSQL refuses to run as root; run it as the postgres user then.
run_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_bg() { # name, command...
	local name=$1
	shift
	"$@" >"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
}

port_free() {
	! (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# alive fails when the named process has exited (e.g. its port was taken).
alive() {
	kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null || {
		echo "$1 exited; the end of $dir/$1.log:" >&2
		tail -n 5 "$dir/$1.log" >&2
		return 1
	}
}

wait_port() {
	for _ in $(seq 100); do
		(echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.2
	done
	echo "nothing listens on port $1; see $dir/*.log" >&2
	return 1
}

if [ "${1:-}" = stop ]; then
	stop
	exit 0
fi

for port in $minio_port $((minio_port + 1)) $pg_port "${gateway_ports[@]}" $http_base $((http_base + 1)) $((http_base + 2)); do
	port_free "$port" || {
		echo "port $port is in use (a cluster already running? \`make cluster-stop\`); set CLUSTER_GATEWAY_PORTS, CLUSTER_MINIO_PORT, CLUSTER_PG_PORT or CLUSTER_HTTP_PORT" >&2
		exit 1
	}
done
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
export AWS_ACCESS_KEY_ID=caudal AWS_SECRET_ACCESS_KEY=caudal-secret AWS_REGION=us-east-1

start_bg minio env MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY \
	"$cache/bin/minio" server "$dir/minio" --address 127.0.0.1:$minio_port --console-address 127.0.0.1:$((minio_port + 1))
mkdir -p "$dir/minio/caudal" # a top-level directory is a bucket to MinIO

if [ ! -d "$dir/pg" ]; then
	run_pg "$pgbin/initdb" -A trust -U postgres -D "$dir/pg" >"$dir/initdb.log"
fi
run_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" \
	-o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg" start >/dev/null
wait_port $pg_port
wait_port $minio_port

bucket="s3://caudal/segments?endpoint=http://127.0.0.1:$minio_port&region=us-east-1"
meta="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
bootstrap=()
for i in 0 1 2; do
	port=${gateway_ports[$i]}
	start_bg gateway-$((i + 1)) ./bin/caudal gateway --bucket-url "$bucket" --metadata-url "$meta" \
		--kafka-listen 127.0.0.1:$port --http-listen 127.0.0.1:$((http_base + i)) --rack zone-$((i + 1))
	bootstrap+=("127.0.0.1:$port")
done
start_bg worker ./bin/caudal worker --bucket-url "$bucket" --metadata-url "$meta"
for port in "${gateway_ports[@]}"; do wait_port "$port"; done
for name in minio gateway-1 gateway-2 gateway-3 worker; do alive "$name"; done
echo "caudal cluster is up (logs in $dir)"
echo "bootstrap servers: $(IFS=,; echo "${bootstrap[*]}")"
