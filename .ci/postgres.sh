#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for alertbot's tests (DESIGN §12): a new
# cluster in a temporary directory, run by an unprivileged user, reachable
# only through a Unix socket in that directory (no TCP port, so it cannot
# clash with another server and no other host can reach it), with
# durability turned off because nothing in it is kept.
#
# Run a command against it; the cluster is removed when the command ends:
#   .ci/postgres.sh go test -count=1 ./store/... ./cmd/...
# Or source it and call pg_start / pg_stop, as .ci/run does. pg_start
# exports ALERTBOT_TEST_POSTGRES, the URL the tests read.
#
# It needs Debian's postgresql package; as root it installs it when
# initdb is missing (apt-get), otherwise it says what to install.

# pg_bindir prints the directory of initdb and pg_ctl: Debian keeps them
# out of PATH, in /usr/lib/postgresql/VERSION/bin.
pg_bindir() {
  local d
  if d=$(command -v initdb 2>/dev/null) && [ -x "$(dirname "$d")/pg_ctl" ]; then
    dirname "$(readlink -f "$d")"
    return 0
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# pg_install installs the server, which only root can do here.
pg_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "postgres.sh: PostgreSQL is not installed; install it (Debian: sudo apt-get install -y postgresql) and run again" >&2
    return 1
  fi
  echo "installing Debian's postgresql package"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# pg_start creates and starts the cluster and exports
# ALERTBOT_TEST_POSTGRES. PG_PORT (default 5432) only names the socket.
pg_start() {
  local bin port user as=()
  PG_CTL=()
  bin=$(pg_bindir) || { pg_install && bin=$(pg_bindir); } || return 1
  port=${PG_PORT:-5432}
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/alertbot-pg.XXXXXX") || return 1
  if [ "$(id -u)" = 0 ]; then
    # initdb and postgres refuse to run as root. The package creates the
    # postgres user; make one when it is missing.
    user=postgres
    if ! id -u "$user" >/dev/null 2>&1; then
      user=alertbot-pg
      id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || return 1
    fi
    chown "$user" "$PG_DIR"
    as=(runuser -u "$user" --)
  fi
  PG_CTL=("${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data")
  # Databases sort text by a language's rules (ICU en-US) as servers in
  # use commonly do, not byte by byte: the tests check that alertbot's
  # order does not depend on it. Servers before 15 lack ICU defaults.
  local initdb=("${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U alertbot --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync)
  if ! "${initdb[@]}" --locale-provider=icu --icu-locale=en-US >"$PG_DIR/initdb.log" 2>&1; then
    rm -rf "$PG_DIR/data"
    "${initdb[@]}" >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  fi
  "${PG_CTL[@]}" -l "$PG_DIR/server.log" -w -t 60 start -o \
    "-k $PG_DIR -p $port -c listen_addresses='' -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  export ALERTBOT_TEST_POSTGRES="postgres://alertbot@/postgres?host=$PG_DIR&port=$port&sslmode=disable"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') in $PG_DIR: ALERTBOT_TEST_POSTGRES=$ALERTBOT_TEST_POSTGRES"
}

# pg_stop stops the cluster and removes its directory.
pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  [ "${#PG_CTL[@]}" -eq 0 ] || "${PG_CTL[@]}" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG…]   e.g. $0 go test -count=1 ./store/... ./cmd/..." >&2
    exit 2
  fi
  trap pg_stop EXIT
  pg_start
  "$@"
fi
