# Sourced by scripts/serve and scripts/test: makes sure a Postgres server answers on
# 127.0.0.1:5432 (or at PGHOST/PGPORT), starting the machine's cluster, or docker compose's, if not.

pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"

pg_answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$pg_host" -p "$pg_port"
    else
        (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null
    fi
}

ensure_postgres() {
    pg_answers && return 0
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        echo "starting the machine's PostgreSQL $version cluster..." >&2
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    elif command -v docker >/dev/null 2>&1; then
        echo "starting PostgreSQL with docker compose..." >&2
        docker compose up -d postgres || true
    fi
    for _ in $(seq 1 60); do
        pg_answers && return 0
        sleep 0.5
    done
    echo "error: no PostgreSQL answers at $pg_host:$pg_port; start one (or run 'docker compose up -d postgres')" >&2
    return 1
}
