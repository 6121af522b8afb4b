# Services the integration tests need, started for the test run only (sourced by scripts/check).
# PostgreSQL: a throwaway cluster in a temporary folder on a Unix socket, run as an unprivileged
# user; KIOSK_TEST_PG_URL tells the tests where it is. Without a PostgreSQL server installed the
# PostgreSQL tests are skipped with a reason (scripts/bootstrap --test installs it).

start_test_services() {
    local pg_bin
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$pg_bin" || ! -x "$pg_bin/initdb" ]]; then
        echo "test-services: no PostgreSQL server installed; PostgreSQL tests will be skipped"
        return 0
    fi
    PG_TMP=$(mktemp -d /tmp/kiosk-pg.XXXXXX)
    local runas=()
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$PG_TMP"
        runas=(runuser -u postgres --)
    fi
    "${runas[@]}" "$pg_bin/initdb" -D "$PG_TMP/data" -A trust -U kiosk >/dev/null
    "${runas[@]}" "$pg_bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
        -o "-k $PG_TMP -c listen_addresses='' -c fsync=on" start >/dev/null
    "${runas[@]}" "$pg_bin/createdb" -h "$PG_TMP" -U kiosk kiosk_test
    export KIOSK_TEST_PG_URL="postgresql://kiosk@/kiosk_test?host=$PG_TMP"
    export PG_TMP PG_BIN="$pg_bin" PG_RUNAS="${runas[*]}"
    echo "test-services: PostgreSQL at $KIOSK_TEST_PG_URL"
}

stop_test_services() {
    if [[ -n "${PG_TMP:-}" ]]; then
        $PG_RUNAS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TMP"
    fi
}
