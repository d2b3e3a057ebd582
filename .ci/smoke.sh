#!/usr/bin/env bash
# Starts the compiled binary from a scratch directory with no configuration and checks it answers.
set -euo pipefail
BIN="$(cd "$(dirname "$0")/.." && pwd)/dist/relay"
DIR="$(mktemp -d)"
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
cd "$DIR"
"$BIN" --version
"$BIN" --help >/dev/null
"$BIN" tui --help >/dev/null
# Port 0: the kernel picks a free port (a random fixed one was sometimes taken); the log line says which.
RELAY_PORT=0 "$BIN" serve >"$DIR/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do [ -S data/admin.sock ] && grep -q '"relay listening"' "$DIR/serve.log" && break; sleep 0.1; done
URL=$(grep -o '"url":"[^"]*"' "$DIR/serve.log" | head -1 | cut -d'"' -f4)
[ -n "$URL" ] || { echo "relay did not start"; cat "$DIR/serve.log"; exit 1; }
[ "$(stat -c %a data/master.key)" = "600" ] || { echo "master.key is not 0600"; exit 1; }
[ "$(stat -c %a data/admin.sock)" = "600" ] || { echo "admin.sock is not 0600"; exit 1; }
"$BIN" admin user create --name smoke --json >/dev/null
KEY=$("$BIN" admin key create --user smoke --label smoke --json | sed -E 's/.*"key":"([^"]+)".*/\1/')
curl -fsS "$URL/v1/me" -H "authorization: Bearer $KEY" | grep -q '"name":"smoke"'
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/me" -H "authorization: Bearer nope")
[ "$code" = "401" ] || { echo "expected 401, got $code"; exit 1; }
"$BIN" admin health --json | grep -q '"settlementWriter":"thread"' || { echo "the settlement thread did not load"; exit 1; }
kill -TERM "$PID"; wait "$PID" || true; PID=""
grep -q '"stopped"' "$DIR/serve.log" || { echo "no graceful stop"; cat "$DIR/serve.log"; exit 1; }
if grep -q "$KEY" "$DIR/serve.log"; then echo "key leaked into the log"; exit 1; fi

# Cluster mode from the same binary (its PostgreSQL migrations are embedded too), on the test servers
# .ci/run started: a fresh database, a key prefix of its own.
if [ -n "${RELAY_TEST_DATABASE_URL:-}" ] && [ -n "${RELAY_TEST_REDIS_URL:-}" ]; then
  DB="relay_smoke_$$"
  psql_url="${RELAY_TEST_DATABASE_URL%/*}/postgres"
  "$BIN" --version >/dev/null
  bun -e "const s = new Bun.SQL(process.argv[1]); await s.unsafe('CREATE DATABASE $DB'); await s.close();" "$psql_url"
  export RELAY_DATABASE_URL="${RELAY_TEST_DATABASE_URL%/*}/$DB" RELAY_REDIS_URL="$RELAY_TEST_REDIS_URL" RELAY_REDIS_PREFIX="smoke$$:"
  RELAY_MASTER_KEY=$(head -c 32 /dev/urandom | base64); export RELAY_MASTER_KEY
  mkdir -p "$DIR/c1"
  RELAY_DATA_DIR="$DIR/c1" RELAY_PORT=0 "$BIN" serve >"$DIR/cluster.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do [ -S "$DIR/c1/admin.sock" ] && grep -q '"relay listening"' "$DIR/cluster.log" && break; sleep 0.1; done
  URL=$(grep -o '"url":"[^"]*"' "$DIR/cluster.log" | head -1 | cut -d'"' -f4)
  [ -n "$URL" ] || { echo "relay did not start in cluster mode"; cat "$DIR/cluster.log"; exit 1; }
  RELAY_DATA_DIR="$DIR/c1" "$BIN" admin health --json | grep -q '"mode":"cluster"' || { echo "not in cluster mode"; exit 1; }
  RELAY_DATA_DIR="$DIR/c1" "$BIN" admin user create --name smoke --json >/dev/null
  KEY=$(RELAY_DATA_DIR="$DIR/c1" "$BIN" admin key create --user smoke --label smoke --json | sed -E 's/.*"key":"([^"]+)".*/\1/')
  curl -fsS "$URL/v1/me" -H "authorization: Bearer $KEY" | grep -q '"name":"smoke"'
  kill -TERM "$PID"; wait "$PID" || true; PID=""
  "$BIN" admin migrate | grep -q "up to date" || { echo "admin migrate did not find the database up to date"; exit 1; }
  bun -e "const s = new Bun.SQL(process.argv[1]); await s.unsafe('DROP DATABASE $DB WITH (FORCE)'); await s.close();" "$psql_url"
  echo "smoke ok (cluster mode)"
fi
echo "smoke ok"
