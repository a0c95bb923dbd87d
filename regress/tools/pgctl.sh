#!/bin/sh
# A private PostgreSQL cluster, unix socket only, for make run, the tests
# and the benchmarks.
#   pgctl.sh start DIR [PORT]   initdb if needed, start; prints the conninfo
#   pgctl.sh stop DIR
#   pgctl.sh conninfo DIR [PORT]
# As root the cluster runs as user postgres (PostgreSQL refuses root).
# DIR/data holds the cluster (0700), DIR/run its socket (open to all local
# users: the daemon's db process connects as _certaos).
set -e

cmd=$1
dir=$2
port=${3:-5432}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: pgctl.sh start|stop|conninfo dir [port]" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "pgctl: PostgreSQL is not installed" >&2; exit 1; }

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

conninfo() {
	echo "host=$dir/run port=$port dbname=certaos user=certaos"
}

case $cmd in
start)
	mkdir -p "$dir/run"
	chmod 755 "$dir" "$dir/run"
	[ "$(id -u)" = 0 ] && chown postgres "$dir" "$dir/run"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bin/initdb" -A trust -U postgres -E UTF8 \
		    --locale=C -D "$dir/data" >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2; exit 1; }
	fi
	if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
		    -t 60 -o "-k $dir/run -p $port -c listen_addresses=''" \
		    start >/dev/null || { tail -n 20 "$dir/postgres.log" >&2
			exit 1; }
	fi
	psql() { as_pg "$bin/psql" -X -q -h "$dir/run" -p "$port" \
	    -U postgres "$@"; }
	psql -tAc "select 1 from pg_roles where rolname = 'certaos'" \
	    postgres | grep -q 1 ||
	    psql -c "create role certaos login" postgres >/dev/null
	psql -tAc "select 1 from pg_database where datname = 'certaos'" \
	    postgres | grep -q 1 ||
	    psql -c "create database certaos owner certaos" postgres \
	    >/dev/null
	conninfo
	;;
stop)
	[ -f "$dir/data/PG_VERSION" ] || exit 0
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
	    true
	;;
conninfo)
	conninfo
	;;
*)
	echo "pgctl: unknown command $cmd" >&2
	exit 2
	;;
esac
