#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and for trying replicas by hand.
#
#   tests/postgres.sh COMMAND [ARGS...]   start a cluster, run COMMAND with
#                                         GATEKEEP_TEST_DATABASE_URL set, stop the cluster
#   tests/postgres.sh                     start a cluster, print the URL, wait for Ctrl-C
#
# PostgreSQL comes from the distribution's packages (installed when missing). The cluster
# lives in a temporary directory, listens on 127.0.0.1 on a free port, asks for a
# password (so tests can check it never leaks), and is removed when this script ends.
# initdb refuses to run as root: as root the cluster belongs to the `postgres` user.
set -euo pipefail

bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    return 1
}

if ! bin=$(bindir); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "postgres.sh: PostgreSQL is not installed; install the postgresql package" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
    bin=$(bindir)
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/gatekeep-pg.XXXXXX")
chmod 0755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
sleeper=
stop() {
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$password" >"$dir/pw"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pw"
as_owner "$bin/initdb" -D "$dir/data" -U gatekeep --pwfile="$dir/pw" \
    --auth=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
rm -f "$dir/pw"

# A free port: bind to port 0 and read what the kernel chose.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off" \
    >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
}

export GATEKEEP_TEST_DATABASE_URL="postgres://gatekeep:$password@127.0.0.1:$port/postgres"
# Tests restart the cluster to check that waiting clients resume.
export GATEKEEP_TEST_PG_CTL="$bin/pg_ctl"
export GATEKEEP_TEST_PG_DATA="$dir/data"
export GATEKEEP_TEST_PG_AS_POSTGRES=$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)

if [ "$#" -eq 0 ]; then
    echo "GATEKEEP_TEST_DATABASE_URL=$GATEKEEP_TEST_DATABASE_URL"
    echo "PostgreSQL is running in $dir; Ctrl-C stops it."
    # Waiting on a background sleep lets the traps run as soon as a signal arrives.
    while true; do
        sleep 3600 &
        sleeper=$!
        wait "$sleeper" || true
    done
fi
"$@"
