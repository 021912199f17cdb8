//! `hookline-bench soak`: one instance on a private Postgres cluster, its capacity for awaited
//! calls measured first (closed loop, 16 connections, 20 s), then the mixed load at half of it
//! for N minutes, sampling every minute what would show a leak or a slow decline: the
//! instance's RSS and open files, Postgres connections, table and index sizes, throughput and
//! p50/p99 latency of the minute's awaited calls.
//!
//! `hookline-bench costs`: what each kind of request costs Postgres, one kind at a time on a
//! private cluster: CPU of every Postgres process, WAL bytes (`pg_stat_wal`), statement time
//! (`pg_stat_statements`) and events stored, per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::cluster::DATABASE;
use crate::rig::{Ports, Rig};
use crate::traffic::{quantile_ms, Kind, Outcome, Rates, Traffic};

pub struct Options {
    pub minutes: u64,
    pub streams: usize,
    pub port_base: Option<u16>,
}

/// Awaited calls per second, closed loop on `connections` connections for `window`.
async fn capacity(traffic: &Arc<Traffic>, connections: usize, window: Duration) -> f64 {
    let end = Instant::now() + window;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let t = traffic.clone();
            tokio::spawn(async move {
                while Instant::now() < end {
                    t.call(Kind::Awaited).await;
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let done = traffic
        .take_records()
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .count();
    done as f64 / window.as_secs_f64()
}

pub async fn soak(options: Options) -> anyhow::Result<()> {
    crate::streams::raise_fd_limit(3 * options.streams as u64 + 2048)?;
    let ports = Ports::new(options.port_base);
    let rig = Rig::start(&ports, 1, options.streams.max(64), None).await?;
    let traffic = Traffic::new(&rig)?;
    let full = capacity(&traffic, 16, Duration::from_secs(20)).await;
    // Half the capacity, as 80 % awaited calls, 20 % fire-and-forget, plus two conversations.
    let rates = Rates {
        awaited_per_second: full * 0.5 * 0.8,
        forget_per_second: full * 0.5 * 0.2,
        conversations: 2,
        streams: options.streams > 0,
    };
    println!(
        "capacity: {full:.0} awaited calls/s (closed loop, 16 connections); soak at {:.0} awaited + {:.0} fire-and-forget calls/s, {} conversations, {} event streams, {} minutes",
        rates.awaited_per_second, rates.forget_per_second, rates.conversations, options.streams, options.minutes
    );
    let tasks = traffic.start(rates);
    let mut db = rig.db().await?;
    println!("minute  rss_mib  open_files  pg_conns  awaited/s  forget/s  turns/min  errors  p50_ms  p99_ms  tool_calls_mb  events_mb  messages_mb  database_mb  hookline_cpu%  postgres_cpu%");
    let began = Instant::now();
    let mut cpu_before = rig.cpu_seconds();
    for minute in 1..=options.minutes {
        tokio::time::sleep_until((began + Duration::from_secs(60 * minute)).into()).await;
        let records = traffic.take_records();
        let mut awaited: Vec<Duration> = records
            .iter()
            .filter(|r| r.kind == Kind::Awaited && r.outcome == Outcome::Ok)
            .map(|r| r.took)
            .collect();
        awaited.sort();
        let count = |k: Kind| {
            records
                .iter()
                .filter(|r| r.kind == k && r.outcome == Outcome::Ok)
                .count()
        };
        let errors = records.iter().filter(|r| r.outcome != Outcome::Ok).count();
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = $1)::bigint,
                    pg_total_relation_size('tool_calls'), pg_total_relation_size('session_events'),
                    pg_total_relation_size('conversation_messages'), pg_database_size($1)",
        )
        .bind(DATABASE)
        .fetch_one(&mut db)
        .await?;
        let mb = |i: usize| row.get::<i64, _>(i) as f64 / 1e6;
        let cpu = rig.cpu_seconds();
        let instance = &rig.instances[0];
        println!(
            "{minute:>6}  {:>7.1}  {:>10}  {:>8}  {:>9.0}  {:>8.0}  {:>9}  {:>6}  {:>6.1}  {:>6.1}  {:>13.0}  {:>9.0}  {:>11.0}  {:>11.0}  {:>13.0}  {:>13.0}",
            instance.memory_mib("VmRSS:").unwrap_or(0.0),
            instance.open_files().unwrap_or(0),
            row.get::<i64, _>(0) - 1,
            awaited.len() as f64 / 60.0,
            count(Kind::Forget) as f64 / 60.0,
            count(Kind::Turn),
            errors,
            quantile_ms(&awaited, 0.5),
            quantile_ms(&awaited, 0.99),
            mb(1),
            mb(2),
            mb(3),
            mb(4),
            (cpu.0 - cpu_before.0) / 60.0 * 100.0,
            (cpu.1 - cpu_before.1) / 60.0 * 100.0,
        );
        cpu_before = cpu;
    }
    traffic.stop();
    for t in tasks {
        t.abort();
    }
    Ok(())
}

pub async fn costs(port_base: Option<u16>, seconds: u64) -> anyhow::Result<()> {
    let ports = Ports::new(port_base);
    let rig = Rig::start(&ports, 1, 64, None).await?;
    let mut db = rig.db().await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut db)
        .await?;
    println!("kind            requests  pg_cpu_ms/req  statement_ms/req  wal_bytes/req  events/req  messages/req  hookline_cpu_ms/req");
    let window = Duration::from_secs(seconds);
    let alone = |awaited, forget, conversations| Rates {
        awaited_per_second: awaited,
        forget_per_second: forget,
        conversations,
        streams: false,
    };
    let mut budgets = Vec::new();
    for (kind, rates) in [
        ("awaited call", alone(100.0, 0.0, 0)),
        ("fire-and-forget", alone(0.0, 100.0, 0)),
        ("turn", alone(0.0, 0.0, 4)),
    ] {
        budgets.push(cost_of(&rig, &mut db, kind, rates, window).await?);
    }
    for budget in budgets {
        print_budget(budget);
    }
    Ok(())
}

/// What one kind of request cost.
struct Budget {
    kind: &'static str,
    /// Requests that succeeded (at least 1, as the divisor of the rest).
    n: f64,
    /// The statements it ran: text, calls, rows, milliseconds.
    statements: Vec<(String, f64, f64, f64)>,
    /// The rows it wrote by table: inserted, updated, of which HOT, deleted.
    written: Vec<(String, [f64; 4])>,
}

/// One kind of request alone for `window`, from a quiet start; prints its line of the table.
async fn cost_of(
    rig: &Rig,
    db: &mut sqlx::PgConnection,
    kind: &'static str,
    rates: Rates,
    window: Duration,
) -> anyhow::Result<Budget> {
    let traffic = Traffic::new(rig)?;
    // Each kind from a quiet start: the previous kind's deliveries done.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(&mut *db)
        .await?;
    let before = counts(&mut *db).await?;
    let tables_before = tables(&mut *db).await?;
    let cpu_before = rig.cpu_seconds();
    let tasks = traffic.start(rates);
    tokio::time::sleep(window).await;
    traffic.stop();
    for t in tasks {
        let _ = t.await;
    }
    // Fire-and-forget calls cost their delivery too: waited for.
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts(&mut *db).await?.get::<f64, _>(4) > 0.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = counts(&mut *db).await?;
    let cpu = rig.cpu_seconds();
    let n = traffic
        .take_records()
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .count()
        .max(1) as f64;
    let d = |i: usize| (after.get::<f64, _>(i) - before.get::<f64, _>(i)) / n;
    println!(
        "{kind:<15} {:>9}  {:>13.3}  {:>16.3}  {:>13.0}  {:>10.2}  {:>12.2}  {:>19.3}",
        n,
        (cpu.1 - cpu_before.1) * 1000.0 / n,
        d(1),
        d(0),
        d(2),
        d(3),
        (cpu.0 - cpu_before.0) * 1000.0 / n,
    );
    let mut written = tables(&mut *db).await?;
    for (name, counts) in &mut written {
        if let Some((_, was)) = tables_before.iter().find(|(t, _)| t == name) {
            for (now, was) in counts.iter_mut().zip(was) {
                *now -= was;
            }
        }
    }
    Ok(Budget {
        kind,
        n,
        statements: statements(&mut *db).await?,
        written,
    })
}

/// One kind's rows written by table and statements, per request.
fn print_budget(
    Budget {
        kind,
        n,
        statements: rows,
        written,
    }: Budget,
) {
    println!("\n{kind}: rows per request by table (inserted, updated, of which HOT, deleted)");
    for (table, c) in written {
        if c.iter().any(|v| *v > 0.0) {
            println!(
                "{table:<24} {:>7.2} {:>7.2} {:>7.2} {:>7.2}",
                c[0] / n,
                c[1] / n,
                c[2] / n,
                c[3] / n
            );
        }
    }
    println!("\n{kind}: statements per request ({n} requests; BEGIN/COMMIT included: one round trip each)");
    println!("{:>9} {:>9} {:>9}  statement", "calls", "rows", "ms");
    let (mut calls, mut written) = (0.0, 0.0);
    for (query, c, r, ms) in rows {
        let (c, r) = (c / n, r / n);
        calls += c;
        written += r;
        if c >= 0.005 {
            println!("{c:>9.2} {r:>9.2} {:>9.3}  {query}", ms / n);
        }
    }
    println!("{calls:>9.2} {written:>9.2}            all");
}

/// Rows inserted, updated, updated HOT (no index touched) and deleted so far, per table.
async fn tables(db: &mut sqlx::PgConnection) -> Result<Vec<(String, [f64; 4])>, sqlx::Error> {
    // A fresh look: the statistics a transaction reads are otherwise kept for it.
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *db)
        .await?;
    let rows = sqlx::query(
        "SELECT relname::text, n_tup_ins::float8, n_tup_upd::float8, n_tup_hot_upd::float8,
                n_tup_del::float8
         FROM pg_stat_user_tables ORDER BY relname",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), [r.get(1), r.get(2), r.get(3), r.get(4)]))
        .collect())
}

/// Every statement `pg_stat_statements` saw since its reset, most called first: its text on one
/// line (shortened), calls, rows and milliseconds in all. The run's own look at the counts is
/// left out.
async fn statements(
    db: &mut sqlx::PgConnection,
) -> Result<Vec<(String, f64, f64, f64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT regexp_replace(query, '\\s+', ' ', 'g'), calls::float8, rows::float8,
                (total_exec_time + total_plan_time)::float8
         FROM pg_stat_statements
         WHERE query NOT LIKE '%pg_stat_%' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY calls DESC",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let q: String = r.get(0);
            (q.chars().take(150).collect(), r.get(1), r.get(2), r.get(3))
        })
        .collect())
}

/// WAL written, statement time, events, messages and calls waiting for delivery, so far.
async fn counts(db: &mut sqlx::PgConnection) -> Result<sqlx::postgres::PgRow, sqlx::Error> {
    sqlx::query(
        "SELECT (SELECT wal_bytes FROM pg_stat_wal)::float8,
                (SELECT coalesce(sum(total_exec_time + total_plan_time), 0) FROM pg_stat_statements)::float8,
                (SELECT count(*) FROM session_events)::float8,
                (SELECT count(*) FROM conversation_messages)::float8,
                (SELECT count(*) FROM tool_calls WHERE status = 'pending')::float8",
    )
    .fetch_one(db)
    .await
}
