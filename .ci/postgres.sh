# A throwaway PostgreSQL 15 cluster for the tests, sourced by .ci/run (bash).
#   postgres_start: installs postgresql-15 if missing, starts a cluster in a temporary directory as the
#                   non-root `postgres` user on a free loopback port, creates the database `klaxon_test`,
#                   and exports KLAXON_TEST_POSTGRES_URL (and KLAXON_TEST_POSTGRES_TLS=1: the server also
#                   speaks TLS, with a self-signed certificate).
#   postgres_stop:  stops it and removes the directory (the caller traps EXIT with it).
# Nothing is left behind and nothing system-wide is started: the Debian package's own cluster (if its
# postinst made one) is not used.

KLAXON_PG_BIN=/usr/lib/postgresql/15/bin
KLAXON_PG_DIR=""

postgres_start() {
  [ -x "$KLAXON_PG_BIN/pg_ctl" ] || postgres_install
  # initdb refuses to run as root; the package creates the `postgres` user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  KLAXON_PG_DIR="$(mktemp -d /tmp/klaxon-pg.XXXXXX)"
  chown postgres "$KLAXON_PG_DIR"
  local password="klaxon-ci-$RANDOM$RANDOM"
  printf '%s\n' "$password" >"$KLAXON_PG_DIR/pwfile"
  chown postgres "$KLAXON_PG_DIR/pwfile"
  # Password authentication (SCRAM), so the tests connect with a user and password from the URL as a
  # deployment does; fsync off: a throwaway cluster.
  runuser -u postgres -- "$KLAXON_PG_BIN/initdb" -D "$KLAXON_PG_DIR/data" -U klaxon --pwfile="$KLAXON_PG_DIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$KLAXON_PG_DIR/initdb.log" 2>&1 \
    || { cat "$KLAXON_PG_DIR/initdb.log"; return 1; }
  # TLS too (a self-signed certificate), so the tests can try sslmode=require and verify-full; the URL
  # they get says sslmode=disable.
  command -v openssl >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl
  openssl req -new -x509 -days 2 -nodes -subj "/CN=localhost" -keyout "$KLAXON_PG_DIR/server.key" -out "$KLAXON_PG_DIR/server.crt" \
    >"$KLAXON_PG_DIR/openssl.log" 2>&1 || { cat "$KLAXON_PG_DIR/openssl.log"; return 1; }
  chown postgres "$KLAXON_PG_DIR/server.key" "$KLAXON_PG_DIR/server.crt"
  chmod 600 "$KLAXON_PG_DIR/server.key"
  local tls="-c ssl=on -c ssl_cert_file=$KLAXON_PG_DIR/server.crt -c ssl_key_file=$KLAXON_PG_DIR/server.key"
  local port
  for port in $(seq 55432 55482); do
    if runuser -u postgres -- "$KLAXON_PG_BIN/pg_ctl" -D "$KLAXON_PG_DIR/data" -l "$KLAXON_PG_DIR/server.log" -w -t 30 \
         -o "-k $KLAXON_PG_DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 $tls" start >"$KLAXON_PG_DIR/pg_ctl.log" 2>&1; then
      KLAXON_PG_PORT=$port
      break
    fi
    # Most likely the port is taken (another cluster on this machine): try the next.
    grep -q "could not bind\|already in use" "$KLAXON_PG_DIR/server.log" || { cat "$KLAXON_PG_DIR/server.log"; return 1; }
    : >"$KLAXON_PG_DIR/server.log"
  done
  [ -n "${KLAXON_PG_PORT:-}" ] || { echo "no free port for PostgreSQL"; return 1; }
  PGPASSWORD="$password" "$KLAXON_PG_BIN/createdb" -h 127.0.0.1 -p "$KLAXON_PG_PORT" -U klaxon klaxon_test
  export KLAXON_TEST_POSTGRES_URL="postgres://klaxon:$password@127.0.0.1:$KLAXON_PG_PORT/klaxon_test?sslmode=disable"
  export KLAXON_TEST_POSTGRES_TLS=1
  echo "== PostgreSQL $("$KLAXON_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$KLAXON_PG_PORT ($KLAXON_PG_DIR)"
}

postgres_install() {
  echo "== installing: postgresql-15"
  apt-get update -qq
  # The package's postinst must not start a system cluster of its own: a policy-rc.d that says "no"
  # (exit 101) while it installs, unless the machine has one already.
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 || status=$?
  [ -z "$policy" ] || rm -f "$policy"
  return "$status"
}

postgres_stop() {
  [ -n "$KLAXON_PG_DIR" ] || return 0
  runuser -u postgres -- "$KLAXON_PG_BIN/pg_ctl" -D "$KLAXON_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$KLAXON_PG_DIR"
  KLAXON_PG_DIR=""
}
