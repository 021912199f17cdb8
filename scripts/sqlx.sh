# Sourced by scripts/test and scripts/sqlx-prepare: builds with every sqlx query macro checked
# against the real schema, and keeps the committed query data (.sqlx/) honest.
#
# A normal build reads .sqlx/ (SQLX_OFFLINE=true in .cargo/config.toml), so it needs no
# database. Here the macros instead describe each query to a database made for this run with
# migrations/ applied (a typo or a renamed column fails the build), and write what they learned
# to a fresh directory (SQLX_OFFLINE_DIR), which must then equal .sqlx/ file for file: no stale
# data, none missing, none that no query uses. The build is the caller's own (the tests' build),
# so one build serves both; the variables are not tracked by cargo, so the next cargo command
# with the usual environment reuses it.

sqlx_server="${HOOKLINE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}"
sqlx_stamp=target/sqlx-checked

# The Rust files whose query macros read the database (or .sqlx/) as they compile.
sqlx_query_files() {
    grep -rlE --include='*.rs' 'sqlx::query(_as|_scalar)?(_unchecked)?!' crates | sort
}

# What a check depends on: the queries, the schema, the committed data and sqlx's version.
sqlx_inputs() {
    { cat Cargo.lock migrations/*.sql; sqlx_query_files | xargs cat; cat .sqlx/*.json 2>/dev/null; } |
        sha256sum | cut -d' ' -f1
}

# psql, or the docker compose service's when the machine has no client (scripts/postgres.sh).
sqlx_psql() {
    if command -v psql >/dev/null 2>&1; then
        psql -X -q -v ON_ERROR_STOP=1 "$@"
    else
        docker compose exec -T postgres psql -X -q -v ON_ERROR_STOP=1 "$@"
    fi
}

sqlx_drop_database() {
    sqlx_restore_times
    [ -n "${sqlx_db:-}" ] && sqlx_psql "$sqlx_server/postgres" -c "DROP DATABASE IF EXISTS $sqlx_db WITH (FORCE)" || true
    [ -n "${sqlx_out:-}" ] && rm -rf "$sqlx_out"
    sqlx_db="" sqlx_out=""
}

# Cargo does not know that a macro's output depends on the database: touching the query files
# makes it expand them again. Their times are kept first and put back after the build, so the
# other profiles' builds (scripts/serve's release build) do not look stale and rebuild for
# minutes after a check that changed nothing in them.
sqlx_touch_queries() {
    sqlx_times=$(mktemp -d)
    local file
    for file in $(sqlx_query_files); do
        touch -r "$file" "$sqlx_times/$(echo "$file" | tr / %)"
        touch "$file"
    done
}

sqlx_restore_times() {
    [ -n "${sqlx_times:-}" ] || return 0
    local kept
    for kept in "$sqlx_times"/*; do
        [ -e "$kept" ] || continue
        local file
        file=$(basename "$kept" | tr % /)
        [ -e "$file" ] && touch -r "$kept" "$file"
    done
    rm -rf "$sqlx_times"
    sqlx_times=""
}

# sqlx_checked_build check|write COMMAND...: runs the build COMMAND online, then compares the
# query data it wrote with .sqlx/ (check) or replaces .sqlx/ with it (write). A check whose
# inputs have not changed since the last one passed (the stamp in target/) just runs COMMAND.
sqlx_checked_build() {
    local mode=$1
    shift
    if [ "$mode" = check ] && [ -f "$sqlx_stamp" ] && [ "$(cat "$sqlx_stamp")" = "$(sqlx_inputs)" ]; then
        "$@"
        return
    fi
    # A name of its own: runs in other checkouts on the same server are never disturbed.
    sqlx_db="hookline_sqlx_check_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    sqlx_out=$(mktemp -d)
    trap sqlx_drop_database EXIT
    sqlx_psql "$sqlx_server/postgres" -c "CREATE DATABASE $sqlx_db"
    for migration in migrations/*.sql; do
        sqlx_psql "$sqlx_server/$sqlx_db" --single-transaction -f - <"$migration"
    done
    sqlx_touch_queries
    DATABASE_URL="$sqlx_server/$sqlx_db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$sqlx_out" "$@"
    sqlx_restore_times
    if [ "$mode" = write ]; then
        rm -rf .sqlx
        mkdir .sqlx
        cp "$sqlx_out"/*.json .sqlx/
        echo "wrote $(ls .sqlx | wc -l) query descriptions to .sqlx/; commit them with the queries" >&2
    elif ! diff -r "$sqlx_out" .sqlx >/dev/null 2>&1; then
        echo "error: .sqlx/ does not match the queries and migrations:" >&2
        diff -rq "$sqlx_out" .sqlx | sed "s|$sqlx_out|the queries|" >&2 || true
        echo "run scripts/sqlx-prepare and commit .sqlx/" >&2
        return 1
    fi
    sqlx_drop_database
    trap - EXIT
    mkdir -p target
    sqlx_inputs >"$sqlx_stamp"
}
