#!/bin/sh
# make run: a development daemon on http://127.0.0.1:8080 with a private
# PostgreSQL under ./var.  A second run reuses what is there.
set -e

obj=${1:-obj}
top=$(pwd)
var=$top/var
port=${CERTAOS_PGPORT:-5432}
mkdir -p "$var"
chmod 755 "$var"

conninfo=$(sh regress/tools/pgctl.sh start "$var/pg" "$port")
trap 'sh regress/tools/pgctl.sh stop "$var/pg"' EXIT INT TERM

if [ ! -f "$var/secret" ]; then
	(umask 077 && head -c 48 /dev/urandom > "$var/secret")
	echo "run: wrote a development secret to $var/secret"
fi
chmod 600 "$var/secret"

# the development mail: each message a file in var/mail
mkdir -p "$var/mail"
chmod 755 "$var/mail"
if [ "$(id -u)" = 0 ] && id _certaos >/dev/null 2>&1; then
	chown _certaos "$var/mail"
fi

if [ ! -f "$var/certaos.conf" ]; then
	cat > "$var/certaos.conf" <<EOC
# Development configuration written by make run; edit at will.
issuer "http://127.0.0.1:8080"
secret file "$var/secret"
database "$conninfo"
database pool 2
prefork 2
listen on 127.0.0.1 port 8080
control socket "$var/certaosd.sock"
mail dir "$var/mail"
mail from "CertaOS <certaos@localhost>"
EOC
	echo "run: wrote $var/certaos.conf"
fi

echo "run: PostgreSQL: $conninfo"
echo "run: certaosd on http://127.0.0.1:8080 (try /health, /api/auth/jwks);"
echo "run: mail (verification, reset, invitations) goes to $var/mail;"
echo "run: $obj/bin/certaosctl -s $var/certaosd.sock status; Ctrl-C stops."
"$obj/bin/certaosd" -d -f "$var/certaos.conf" || true
