//! `hookline-bench faults`: two `hookline serve` instances on a private Postgres cluster under a
//! steady mixed load (see [`crate::traffic`]) while the run restarts Postgres, stops it for a
//! while, SIGKILLs an instance and starts it again, makes the webhook target slow, then refuse
//! connections, then answer 429 with `Retry-After`. After each fault and at the end it checks,
//! from the database and the target, that nothing was lost (see [`check`]), and it reports how
//! each request ended during each fault and how long each instance took to serve again once
//! Postgres was back. Exits non-zero when a check fails. `--short` is the version CI runs: one
//! restart of Postgres and one kill, with the same checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::rig::{Mode, Ports, Rig};
use crate::traffic::{Awaited, Kind, Outcome, Rates, Traffic, CLIENT_TIMEOUT};

pub struct Options {
    pub short: bool,
    pub streams: usize,
    pub rate: f64,
    pub outage: Duration,
    pub port_base: Option<u16>,
}

/// A fault's window: from the moment it was injected to the moment it was taken away.
struct Phase {
    name: String,
    /// Postgres was away: every request must end in time, as a 2xx or a 503 with `Retry-After`.
    postgres: bool,
    began: Instant,
    ended: Instant,
}

/// When each instance first answered `GET /v1/tools` (which reads the database) with 200, polled
/// every 50 ms.
#[derive(Default)]
struct Probes(Mutex<Vec<(usize, Instant, bool)>>);

impl Probes {
    fn first_ok_after(&self, instance: usize, after: Instant) -> Option<Duration> {
        self.0
            .lock()
            .expect("probes")
            .iter()
            .filter(|(i, at, ok)| *i == instance && *ok && *at >= after)
            .map(|(_, at, _)| *at - after)
            .min()
    }
}

pub async fn run(options: Options) -> anyhow::Result<bool> {
    crate::streams::raise_fd_limit(3 * options.streams as u64 + 2048)?;
    let ports = Ports::new(options.port_base);
    let started = Instant::now();
    let mut rig = Rig::start(&ports, 2, options.streams, None).await?;
    println!(
        "private Postgres on 127.0.0.1:{} ({}), instances at {} and {}, target at {}",
        rig.cluster.port,
        rig.cluster.dir.display(),
        rig.instances[0].addr,
        rig.instances[1].addr,
        rig.target.addr
    );
    let traffic = Traffic::new(&rig)?;
    let rates = Rates {
        awaited_per_second: options.rate,
        forget_per_second: options.rate,
        conversations: 4,
        streams: true,
    };
    println!(
        "load: {} awaited + {} fire-and-forget calls/s over {} sessions, {} conversations, {} event streams",
        rates.awaited_per_second,
        rates.forget_per_second,
        rig.sessions.len(),
        rates.conversations,
        rig.sessions.len()
    );
    let tasks = traffic.start(rates);
    let probes = Arc::new(Probes::default());
    let prober = start_prober(&rig, probes.clone())?;
    let settle = if options.short {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(10)
    };
    tokio::time::sleep(settle).await;
    let mut phases = Phases {
        traffic: &traffic,
        probes: &probes,
        settle,
        list: Vec::new(),
        failed: false,
    };
    postgres_faults(&mut phases, &rig, &options).await?;
    instance_killed(&mut phases, &mut rig).await?;
    if !options.short {
        target_faults(&mut phases, &rig).await?;
    }

    let load_ended = Instant::now();
    traffic.stop();
    prober.abort();
    // Let the streams take the last events before they are checked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut failed = phases.failed;
    failed |= !check(&rig, &traffic, "at the end").await?;
    for t in tasks {
        t.abort();
    }
    failed |= !report_requests(&traffic, &phases.list, load_ended, settle);
    for i in &mut rig.instances {
        i.stop();
    }
    println!(
        "{} in {:.0} s",
        if failed { "FAILED" } else { "passed" },
        started.elapsed().as_secs_f64()
    );
    Ok(!failed)
}

/// The faults injected so far, and whether a check failed after one.
struct Phases<'a> {
    traffic: &'a Traffic,
    probes: &'a Probes,
    /// How long the load runs after a fault before the checks.
    settle: Duration,
    list: Vec<Phase>,
    failed: bool,
}

impl Phases<'_> {
    /// A fault just taken away: recorded, the load left to settle, then (after Postgres was
    /// away) how soon each instance served again, and the checks.
    async fn ended(
        &mut self,
        rig: &Rig,
        name: String,
        postgres: bool,
        began: Instant,
        when: &str,
    ) -> anyhow::Result<()> {
        let ended = Instant::now();
        self.list.push(Phase {
            name,
            postgres,
            began,
            ended,
        });
        tokio::time::sleep(self.settle).await;
        if postgres {
            report_recovery(self.probes, ended, rig.instances.len());
        }
        self.failed |= !check(rig, self.traffic, when).await?;
        Ok(())
    }
}

/// Asks each instance for `GET /v1/tools` every 50 ms, to see when it serves again.
fn start_prober(rig: &Rig, probes: Arc<Probes>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let addrs: Vec<_> = rig.instances.iter().map(|i| i.addr).collect();
    let key = rig.key.clone();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()?;
    Ok(tokio::spawn(async move {
        loop {
            for (i, addr) in addrs.iter().enumerate() {
                let ok = client
                    .get(format!("http://{addr}/v1/tools"))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                probes
                    .0
                    .lock()
                    .expect("probes")
                    .push((i, Instant::now(), ok));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }))
}

/// (a) Postgres restarted, then (full run) stopped for `outage`.
async fn postgres_faults(
    phases: &mut Phases<'_>,
    rig: &Rig,
    options: &Options,
) -> anyhow::Result<()> {
    let began = Instant::now();
    blocking(rig, |r| r.cluster.restart()).await?;
    let name = "Postgres restarted (pg_ctl restart -m fast)".to_owned();
    phases
        .ended(rig, name, true, began, "after the restart")
        .await?;
    if !options.short {
        let began = Instant::now();
        blocking(rig, |r| r.cluster.stop()).await?;
        tokio::time::sleep(options.outage).await;
        blocking(rig, |r| r.cluster.start()).await?;
        let name = format!("Postgres stopped for {} s", options.outage.as_secs());
        phases
            .ended(rig, name, true, began, "after the stop")
            .await?;
    }
    Ok(())
}

/// (b) One instance SIGKILLed, started again 3 s later.
async fn instance_killed(phases: &mut Phases<'_>, rig: &mut Rig) -> anyhow::Result<()> {
    let began = Instant::now();
    rig.instances[1].kill();
    *phases.traffic.killed.lock().expect("killed") = Some((1, Instant::now()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    rig.instances[1].spawn()?;
    let name = "instance 2 SIGKILLed, restarted after 3 s".to_owned();
    phases
        .ended(rig, name, false, began, "after the kill")
        .await
}

/// (c) The target slow (2 s an answer, under the tools' 5 s timeout), then refusing
/// connections, then back; (d) the target answering 429 with `Retry-After: 3`.
async fn target_faults(phases: &mut Phases<'_>, rig: &Rig) -> anyhow::Result<()> {
    let began = Instant::now();
    rig.target.set(Mode::Slow);
    tokio::time::sleep(Duration::from_secs(15)).await;
    rig.target.set(Mode::Normal);
    rig.target.refuse();
    tokio::time::sleep(Duration::from_secs(15)).await;
    rig.target.open().await?;
    let name = "target slow 15 s (2 s answers), then refusing 15 s".to_owned();
    phases
        .ended(
            rig,
            name,
            false,
            began,
            "after the slow and refusing target",
        )
        .await?;

    let began = Instant::now();
    rig.target.set(Mode::TooMany);
    tokio::time::sleep(Duration::from_secs(12)).await;
    rig.target.set(Mode::Normal);
    let name = "target answering 429 + Retry-After: 3 for 12 s".to_owned();
    phases
        .ended(rig, name, false, began, "after the 429s")
        .await
}

/// `hookline-bench pgbouncer`: one instance behind a PgBouncer in `mode`, `LISTEN` and
/// migrations straight to Postgres; awaited and fire-and-forget calls, conversation turns and
/// 50 event streams for `seconds`; then the nothing-lost checks. Every request must succeed.
pub async fn pooled(mode: &str, seconds: u64, port_base: Option<u16>) -> anyhow::Result<bool> {
    let ports = Ports::new(port_base);
    let rig = Rig::start(&ports, 1, 50, Some(mode)).await?;
    let pooler = rig.pooler.as_ref().context("the pooler")?;
    println!(
        "PgBouncer {} in {} mode (asked: {mode}) on 127.0.0.1:{} in front of Postgres on 127.0.0.1:{}",
        pooler.version, pooler.mode, pooler.port, rig.cluster.port
    );
    let traffic = Traffic::new(&rig)?;
    let tasks = traffic.start(Rates {
        awaited_per_second: 20.0,
        forget_per_second: 20.0,
        conversations: 2,
        streams: true,
    });
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    traffic.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut held = check(&rig, &traffic, "behind PgBouncer").await?;
    for t in tasks {
        t.abort();
    }
    let mut outcomes: BTreeMap<(Kind, Outcome), usize> = BTreeMap::new();
    for r in traffic.take_records() {
        *outcomes.entry((r.kind, r.outcome)).or_default() += 1;
    }
    for ((kind, outcome), n) in &outcomes {
        println!("  {kind:?}: {} {n}", outcome.name());
        held &= *outcome == Outcome::Ok;
    }
    let log = std::fs::read_to_string(rig.dir.join("hookline-0.log")).unwrap_or_default();
    let prepared = log.matches("prepared statement").count();
    println!("  Hookline's log: {prepared} errors naming a prepared statement");
    let refused = pooler
        .log()
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARNING"))
        .count();
    println!("  PgBouncer's log: {refused} errors or warnings");
    held &= prepared == 0;
    println!("{}", if held { "passed" } else { "FAILED" });
    Ok(held)
}

/// Runs a blocking step (pg_ctl) off the runtime's workers.
async fn blocking(
    rig: &Rig,
    step: impl FnOnce(&Rig) -> anyhow::Result<()> + Send,
) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| step(rig))
}

fn report_recovery(probes: &Probes, back: Instant, instances: usize) {
    for i in 0..instances {
        match probes.first_ok_after(i, back) {
            Some(d) => println!(
                "  instance {} served again {:.0} ms after Postgres was back",
                i + 1,
                d.as_secs_f64() * 1000.0
            ),
            None => println!("  instance {} has not served again yet", i + 1),
        }
    }
}

/// The nothing-lost checks, from the database and the target. Returns whether they held.
async fn check(rig: &Rig, traffic: &Traffic, when: &str) -> anyhow::Result<bool> {
    let began = Instant::now();
    println!("checks {when}:");
    let mut held = fire_and_forget_delivered(rig, traffic).await;
    let mut db = connect(rig).await?;
    held &= awaited_calls_held(rig, traffic, &mut db).await?;
    held &= events_numbered(&mut db).await?;
    held &= replies_stored_once(traffic, &mut db).await?;
    held &= streams_complete(rig, traffic, &mut db).await?;
    println!(
        "  {} ({:.1} s)",
        if held { "held" } else { "FAILED" },
        began.elapsed().as_secs_f64()
    );
    Ok(held)
}

/// Every fire-and-forget call accepted so far is delivered; waited for (retries back off).
async fn fire_and_forget_delivered(rig: &Rig, traffic: &Traffic) -> bool {
    let accepted: Vec<String> = traffic.accepted.lock().expect("accepted").clone();
    let deadline = Instant::now() + Duration::from_secs(150);
    let missing = loop {
        let missing: Vec<&String> = accepted
            .iter()
            .filter(|o| rig.target.count(o) == 0)
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let doubled: u32 = accepted
        .iter()
        .map(|o| rig.target.count(o).saturating_sub(1))
        .sum();
    println!(
        "  fire-and-forget: {} accepted, {} delivered, {} missing{}, {} delivered more than once",
        accepted.len(),
        accepted.len() - missing.len(),
        missing.len(),
        missing
            .iter()
            .take(5)
            .map(|m| format!(" {m}"))
            .collect::<String>(),
        doubled
    );
    missing.is_empty()
}

/// No awaited call both failed to its caller and reached the target; a call cut by the kill
/// may have (its instance died between the target's answer and the caller's), counted apart.
async fn awaited_calls_held(
    rig: &Rig,
    traffic: &Traffic,
    db: &mut sqlx::PgConnection,
) -> anyhow::Result<bool> {
    let awaited: Vec<(String, Awaited)> = traffic
        .awaited
        .lock()
        .expect("awaited")
        .iter()
        .map(|(o, a)| (o.clone(), *a))
        .collect();
    let mut both = Vec::new();
    let mut cut_delivered = 0;
    let mut answered = Vec::new();
    for (order, call) in &awaited {
        let delivered = rig.target.count(order) > 0;
        match call.outcome {
            Outcome::Ok => answered.push(order.to_lowercase()),
            Outcome::Cut if delivered => cut_delivered += 1,
            _ if delivered => both.push(format!("{order} ({})", call.outcome.name())),
            _ => {}
        }
    }
    // Every call answered 200 is completed in the call log (written after the answer, so
    // waited for a moment) — except a call the killed instance answered in its last second:
    // its end may have been queued for the call log's next write when the process died
    // (docs/reliability.md), so those are counted apart.
    let deadline = Instant::now() + Duration::from_secs(15);
    let unlogged = loop {
        let unlogged: Vec<String> = sqlx::query_scalar(
            "SELECT a FROM unnest($1::text[]) a
             WHERE NOT EXISTS (SELECT 1 FROM tool_calls t WHERE t.tool_call_id = a AND t.status = 'completed')",
        )
        .bind(&answered)
        .fetch_all(&mut *db)
        .await?;
        if unlogged.is_empty() || Instant::now() > deadline {
            break unlogged;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let killed = *traffic.killed.lock().expect("killed");
    let by_order: HashMap<String, Awaited> = awaited
        .iter()
        .map(|(o, a)| (o.to_lowercase(), *a))
        .collect();
    let (lost_with_kill, unlogged): (Vec<String>, Vec<String>) =
        unlogged
            .into_iter()
            .partition(|order| match (killed, by_order.get(order)) {
                (Some((instance, at)), Some(call)) => {
                    call.instance == instance
                        && call.ended <= at
                        && at.duration_since(call.ended) < Duration::from_secs(1)
                }
                _ => false,
            });
    println!(
        "  awaited: {} calls, {} answered completed; failed to the caller yet delivered: {}{}; cut by the kill after delivery: {}; answered by the killed instance in its last second, end not logged: {}; answered but not completed in the call log: {}{}",
        awaited.len(),
        answered.len(),
        both.len(),
        both.iter().take(5).map(|b| format!(" {b}")).collect::<String>(),
        cut_delivered,
        lost_with_kill.len(),
        unlogged.len(),
        unlogged.iter().take(5).map(|u| format!(" {u}")).collect::<String>(),
    );
    Ok(both.is_empty() && unlogged.is_empty())
}

/// Every session's events are numbered 1..n.
async fn events_numbered(db: &mut sqlx::PgConnection) -> anyhow::Result<bool> {
    let (sessions, gapped): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE n <> hi OR lo <> 1)
         FROM (SELECT session_id, count(*) n, min(seq) lo, max(seq) hi FROM session_events GROUP BY 1) s",
    )
    .fetch_one(&mut *db)
    .await?;
    println!("  events: {sessions} sessions, {gapped} with a gap or a repeat in 1..n");
    Ok(gapped == 0)
}

/// Every turn's reply stored once; every reply a caller got is stored.
async fn replies_stored_once(
    traffic: &Traffic,
    db: &mut sqlx::PgConnection,
) -> anyhow::Result<bool> {
    let replies: Vec<uuid::Uuid> = traffic
        .replies
        .lock()
        .expect("replies")
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    let (turns, doubled_turns): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE replies > 1)
         FROM (SELECT turn_id, count(*) FILTER (WHERE role = 'assistant' AND content <> '') replies
               FROM conversation_messages GROUP BY 1) t",
    )
    .fetch_one(&mut *db)
    .await?;
    let unstored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::uuid[]) r(id)
         WHERE NOT EXISTS (SELECT 1 FROM conversation_messages m WHERE m.id = r.id)",
    )
    .bind(&replies)
    .fetch_one(&mut *db)
    .await?;
    println!(
        "  turns: {turns} stored, {} answered with a reply; replies stored twice: {doubled_turns}; replies answered but not stored: {unstored}",
        replies.len()
    );
    Ok(doubled_turns == 0 && unstored == 0)
}

/// Every stream, resumed with Last-Event-ID, has everything its session stored, once.
async fn streams_complete(
    rig: &Rig,
    traffic: &Traffic,
    db: &mut sqlx::PgConnection,
) -> anyhow::Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stored: Vec<(String, i64)> = sqlx::query_as(
            "SELECT session_id::text, max(seq) FROM session_events WHERE session_id = ANY($1::uuid[]) GROUP BY 1",
        )
        .bind(
            rig.sessions
                .iter()
                .filter_map(|s| s.parse::<uuid::Uuid>().ok())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *db)
        .await?;
        let seen = traffic.seen.lock().expect("seen").clone();
        let behind: Vec<&(String, i64)> = stored
            .iter()
            .filter(|(s, hi)| seen.get(s).map_or(0, |x| x.last) < *hi)
            .collect();
        let skipped: u64 = seen.values().map(|s| s.skipped).sum();
        let doubled: u64 = seen.values().map(|s| s.doubled).sum();
        let reconnects: u64 = seen.values().map(|s| s.connections.saturating_sub(1)).sum();
        if behind.is_empty() || Instant::now() > deadline {
            println!(
                "  streams: {} followed, {reconnects} reconnections with Last-Event-ID; ids skipped: {skipped}, received twice: {doubled}; streams behind their session's last event: {}",
                seen.len(),
                behind.len()
            );
            return Ok(behind.is_empty() && skipped == 0 && doubled == 0);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A connection to the run's database, waiting for it if Postgres is still starting.
async fn connect(rig: &Rig) -> anyhow::Result<sqlx::PgConnection> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match rig.db().await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e).context("the run's database"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Requests by how they ended: how many, and the longest.
type Tally = BTreeMap<Outcome, (usize, Duration)>;

/// How requests ended in each fault's window (from its start to `settle` after it was taken
/// away) and outside them. None may answer 500 or a 503 without `Retry-After`; none may hang
/// past the client's timeout while Postgres is away. Returns whether that held.
fn report_requests(
    traffic: &Traffic,
    phases: &[Phase],
    load_ended: Instant,
    settle: Duration,
) -> bool {
    let records = traffic.take_records();
    let mut ok = true;
    let window = |r: &crate::traffic::Record| {
        phases
            .iter()
            .position(|p| r.at >= p.began && r.at <= p.ended + settle)
    };
    let mut by: BTreeMap<(Option<usize>, Kind), Tally> = BTreeMap::new();
    // The last request of each window that did not succeed, by when it ended.
    let mut last_failure: BTreeMap<usize, Instant> = BTreeMap::new();
    for r in records.iter().filter(|r| r.at <= load_ended) {
        let phase = window(r);
        let slot = by
            .entry((phase, r.kind))
            .or_default()
            .entry(r.outcome)
            .or_default();
        slot.0 += 1;
        slot.1 = slot.1.max(r.took);
        if let (Some(p), false) = (phase, r.outcome == Outcome::Ok) {
            let end = r.at + r.took;
            let last = last_failure.entry(p).or_insert(end);
            *last = (*last).max(end);
        }
    }
    println!(
        "requests, by fault window (injected → {} s after it was taken away):",
        settle.as_secs()
    );
    let mut shown = HashSet::new();
    for ((phase, kind), outcomes) in &by {
        if shown.insert(*phase) {
            match phase {
                None => println!("  outside the faults"),
                Some(p) => {
                    let ph = &phases[*p];
                    let after = last_failure
                        .get(p)
                        .map(|l| l.saturating_duration_since(ph.ended).as_secs_f64());
                    println!(
                        "  {} ({:.1} s){}",
                        ph.name,
                        (ph.ended - ph.began).as_secs_f64(),
                        after.map_or(String::new(), |a| format!(
                            "; the last unsuccessful request ended {a:.2} s after it was taken away"
                        ))
                    );
                }
            }
        }
        let line: Vec<String> = outcomes
            .iter()
            .map(|(o, (n, longest))| {
                format!("{} {n} (longest {:.2} s)", o.name(), longest.as_secs_f64())
            })
            .collect();
        println!("    {kind:?}: {}", line.join(", "));
        let postgres = phase.is_some_and(|p| phases[p].postgres);
        for o in outcomes.keys() {
            let bad = match o {
                Outcome::Status(500) | Outcome::UnavailableBare => true,
                Outcome::Hang => postgres || *kind != Kind::Turn,
                _ => false,
            };
            if bad {
                println!(
                    "    ^ {} is never an answer (client timeout {} s)",
                    o.name(),
                    CLIENT_TIMEOUT.as_secs()
                );
                ok = false;
            } else if *o == Outcome::Hang {
                println!(
                    "    ^ a turn of a session whose last turn ran on the killed instance waits for that turn's lease (30 s, docs/conversations.md)"
                );
            }
        }
    }
    let failures = traffic.failures.lock().expect("failures");
    if !failures.is_empty() {
        println!("calls and turns answered 200 that failed, by error:");
        for (why, n) in failures.iter() {
            println!("  {n:>5}  {why}");
        }
    }
    ok
}
