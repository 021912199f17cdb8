//! `cargo run --release -p hookline-bench`: starts the real `hookline` binary on a fresh database,
//! a minimal webhook target on loopback and (when installed) nginx as a plain keepalive proxy,
//! then drives each hot path with 1, 16 and 64 connections and prints throughput, p50/p99
//! latency, CPU per operation (Hookline, its Postgres backends, nginx) and Hookline ÷ direct
//! ratios; then the same at a fixed offered rate of half that throughput, for latency without
//! queueing. Fire-and-forget runs are followed by the drain of their backlog. All traffic stays
//! on 127.0.0.1.
//!
//! Subcommands, each on a private Postgres cluster of its own (`cluster.rs`, `rig.rs`):
//! `faults` (the fault run, `--short` for CI), `soak` (N minutes at half the capacity, sampled
//! each minute), `costs` (Postgres CPU, statement time and WAL per request) and `pgbouncer`
//! (Hookline behind a private PgBouncer). See docs/reliability.md and docs/scaling.md.

mod api;
mod cluster;
mod cpu;
mod embedder;
mod faults;
mod first_delta;
mod instant_llm;
mod knowledge;
mod load;
mod pooler;
mod power;
mod quality;
mod report;
mod rig;
mod setup;
mod soak;
mod streams;
mod summary;
mod traffic;

use std::time::Duration;

use anyhow::Context;
use load::{Drain, Measured, Pace, Scenario};
use report::{
    print_drains, print_ingested, print_quality, print_streams, print_table, report, report_gaps,
    report_ingested, report_quality,
};

struct Options {
    duration: Duration,
    concurrency: Vec<usize>,
    /// Scenario numbers to run (`1`, `1b`, `2`…); all when empty.
    only: Vec<String>,
    /// Also measure at half the closed loop's throughput.
    paced: bool,
    /// Scenario 3b: fire-and-forget calls stored at once, then drained.
    backlog: usize,
    /// Scenario 7: event streams held open, and the calls per second spread over them.
    streams: usize,
    stream_rate: f64,
    /// Scenario 8: chunks of the search corpus.
    chunks: usize,
    /// Scenario 8h: chunks of the hybrid search's corpus (each with a 1536-dimension vector).
    hybrid_chunks: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        duration: Duration::from_secs(4),
        concurrency: vec![1, 16, 64],
        only: Vec::new(),
        paced: true,
        backlog: 20_000,
        streams: 10_000,
        stream_rate: 1_000.0,
        chunks: 100_000,
        hybrid_chunks: 20_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--duration" => {
                let secs: f64 = args.next().context("--duration SECONDS")?.parse()?;
                o.duration = Duration::from_secs_f64(secs);
            }
            "--concurrency" => {
                o.concurrency = args
                    .next()
                    .context("--concurrency 1,16,64")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--only" => {
                o.only = args
                    .next()
                    .context("--only 1,1b,2")?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
            }
            "--no-paced" => o.paced = false,
            "--backlog" => o.backlog = args.next().context("--backlog CALLS")?.parse()?,
            "--streams" => o.streams = args.next().context("--streams N")?.parse()?,
            "--stream-rate" => {
                o.stream_rate = args.next().context("--stream-rate CALLS/S")?.parse()?;
            }
            "--chunks" => o.chunks = args.next().context("--chunks N")?.parse()?,
            "--hybrid-chunks" => {
                o.hybrid_chunks = args.next().context("--hybrid-chunks N")?.parse()?;
            }
            "-h" | "--help" => {
                println!("hookline-bench [--duration SECONDS] [--concurrency 1,16,64] [--only 1,1b,2,2p,2m,3,3b,4,5,6,7,8,8h] [--no-paced] [--backlog 20000] [--streams 10000] [--stream-rate 1000] [--chunks 100000] [--hybrid-chunks 20000]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("faults") => return faults(args),
        Some("soak") => return soak(args),
        Some("costs") => return costs(args),
        Some("pgbouncer") => return pgbouncer(args),
        _ => {}
    }
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    let wants = |label: &str| options.only.is_empty() || options.only.iter().any(|o| o == label);
    if wants("7") {
        // A stream is a socket here and one in the server (which inherits this limit).
        let limit = streams::raise_fd_limit(2 * options.streams as u64 + 1024)?;
        eprintln!("open-file limit: {limit}");
    }
    // `HOOKLINE_BENCH_BASELINE`: an older build measured first, the same way, for the summary's
    // before/after columns.
    let mut builds = Vec::new();
    if let Some(baseline) = std::env::var_os("HOOKLINE_BENCH_BASELINE") {
        builds.push(("before", std::path::PathBuf::from(baseline)));
    }
    let label = if builds.is_empty() { "now" } else { "after" };
    builds.push((label, setup::hookline_binary()?));
    let mut runs = Vec::new();
    for (label, binary) in builds {
        eprintln!("== {label}: {}", binary.display());
        let load_start = summary::load_average();
        let env = setup::Environment::start(&binary).await?;
        // Stopped whatever happens in between (the processes also stop when dropped).
        let result = run_in(&env, &options, &wants).await;
        env.stop();
        let (results, drains, turns) = result?;
        runs.push(summary::Run {
            label,
            binary: binary.display().to_string(),
            machine: env.machine.clone(),
            load: (load_start, summary::load_average()),
            results,
            drains,
            turns,
        });
    }
    summary::print(&runs);
    Ok(())
}

/// What one build's run measured: the closed and paced runs, the fire-and-forget drains and the
/// turns' own times.
type Outcome = (Vec<Measured>, Vec<Drain>, Vec<summary::TurnTimes>);

async fn run_in(
    env: &setup::Environment,
    options: &Options,
    wants: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Outcome> {
    let env = env.clone();
    eprintln!("machine: {}", env.machine);
    eprintln!(
        "hookline at {}, target at {}, nginx {}",
        env.hookline,
        env.target,
        env.nginx
            .as_ref()
            .map_or("not installed".to_owned(), |n| n.addr.to_string())
    );
    let scenarios = scenarios(&env, options);
    let (ingested, quality) = corpora(&env, options, &scenarios).await?;
    let mut outcome: Outcome = (Vec::new(), Vec::new(), Vec::new());
    for scenario in scenarios {
        run_scenario(&env, options, scenario, &mut outcome).await?;
    }
    let (results, mut drains, turns) = outcome;
    let rss = env.hookline_peak_rss_mib();
    let backlog = if wants("3b") {
        drains.push(stored_backlog_drained(&env, options).await?);
        true
    } else {
        false
    };
    let streamed = if wants("7") {
        let m =
            streams::measure(&env, options.streams, options.stream_rate, options.duration).await?;
        Some(m)
    } else {
        None
    };
    println!("\nMachine: {}", env.machine);
    print_table(&results, rss);
    print_drains(&drains);
    print_ingested(&ingested);
    print_quality(&quality);
    if backlog || streamed.is_some() {
        println!("\n(3b and 7 ran after the table's peak RSS was read.)");
    }
    if let Some(m) = streamed {
        print_streams(&m);
    }
    Ok((results, drains, turns))
}

/// The scenarios of the table in their order (nginx's only when it is installed), those `--only`
/// names.
fn scenarios(env: &setup::Environment, options: &Options) -> Vec<Scenario> {
    let mut scenarios = vec![Scenario::Direct];
    if env.nginx.is_some() {
        scenarios.push(Scenario::Nginx);
    }
    scenarios.extend([
        Scenario::ToolCall,
        Scenario::PowerCall,
        Scenario::McpCall,
        Scenario::FireAndForget,
        Scenario::SessionStart,
        Scenario::ReadTool,
        Scenario::Turn,
        Scenario::Search,
        Scenario::HybridSearch,
    ]);
    if options.only.is_empty() {
        return scenarios;
    }
    // In the order asked, a scenario asked twice measured twice: `--only 2p,2,2p,2` alternates
    // two scenarios, so that neither always runs on the fuller database.
    options
        .only
        .iter()
        .filter_map(|o| {
            scenarios
                .iter()
                .copied()
                .find(|s| s.label().starts_with(&format!("{o} ")))
        })
        .collect()
}

/// The searches' corpora, uploaded and processed before they are searched under load, and the
/// quality of their answers measured once.
async fn corpora(
    env: &setup::Environment,
    options: &Options,
    scenarios: &[Scenario],
) -> anyhow::Result<(Vec<knowledge::Ingested>, Vec<quality::Quality>)> {
    let (mut ingested, mut quality) = if scenarios.contains(&Scenario::Search) {
        let ingested = knowledge_corpus(env, options.chunks).await?;
        let quality = quality::measure(env, &env.key, "lexical").await?;
        report_quality(&quality);
        (ingested, quality)
    } else {
        (Vec::new(), Vec::new())
    };
    if scenarios.contains(&Scenario::HybridSearch) {
        ingested.push(hybrid_corpus(env, options.hybrid_chunks).await?);
        let hybrid = quality::measure(env, &env.hybrid_key, "hybrid").await?;
        report_quality(&hybrid);
        quality.extend(hybrid);
    }
    Ok((ingested, quality))
}

/// A fire-and-forget backlog is waited out before the next run, so it never loads another.
const DRAIN_LIMIT: Duration = Duration::from_secs(180);

/// One scenario at each concurrency, closed then (with `--paced`) at half the rate it reached;
/// a fire-and-forget run's backlog drained after it, a turn run's gaps reported.
async fn run_scenario(
    env: &setup::Environment,
    options: &Options,
    scenario: Scenario,
    (results, drains, turns): &mut Outcome,
) -> anyhow::Result<()> {
    if scenario == Scenario::Turn {
        let max_concurrency = options.concurrency.iter().copied().max().unwrap_or(1);
        let followed = &env.talk_sessions[..max_concurrency.min(env.talk_sessions.len())];
        env.first_deltas
            .open(env.hookline, &env.key, followed)
            .await?;
    }
    for &c in &options.concurrency {
        let m = load::measure(env, scenario, c, options.duration, Pace::Closed).await;
        report(&m);
        if scenario == Scenario::FireAndForget {
            let mut d = load::drain(env, c, DRAIN_LIMIT).await;
            d.during = m.delivered_rate;
            eprintln!(
                "{:<28} c={c:<3} backlog {} drained in {:.2} s{}",
                "",
                d.backlog,
                d.seconds,
                if d.complete { "" } else { " (NOT complete)" }
            );
            drains.push(d);
        }
        if scenario == Scenario::Turn {
            turns.push(report_gaps(env, c));
        }
        let half = m.rate / 2.0;
        results.push(m);
        if options.paced && half > 0.0 {
            let p = load::measure(env, scenario, c, options.duration, Pace::Rate(half)).await;
            report(&p);
            if scenario == Scenario::Turn {
                report_gaps(env, c);
            }
            if scenario == Scenario::FireAndForget {
                load::drain(env, c, DRAIN_LIMIT).await;
            }
            results.push(p);
        }
    }
    if scenario == Scenario::Turn {
        // Its streams end with it, so no later scenario holds (or pays for) them.
        env.first_deltas.close_all();
    }
    Ok(())
}

/// Scenario 3b: a backlog stored at once, then drained.
async fn stored_backlog_drained(
    env: &setup::Environment,
    options: &Options,
) -> anyhow::Result<Drain> {
    env.store_backlog(options.backlog).await?;
    let mut d = load::drain(env, 0, DRAIN_LIMIT).await;
    d.label = "3b stored at once";
    eprintln!(
        "{:<28} backlog {} drained in {:.2} s{}",
        "3b backlog",
        d.backlog,
        d.seconds,
        if d.complete { "" } else { " (NOT complete)" }
    );
    Ok(d)
}

/// Scenario 8's documents: a Markdown file of prose, then the search corpus, each uploaded and
/// processed; the folder is searched once both are ready.
async fn knowledge_corpus(
    env: &setup::Environment,
    chunks: usize,
) -> anyhow::Result<Vec<knowledge::Ingested>> {
    let prose_folder = knowledge::folder(env, "prose").await?;
    let prose = vec![("prose.md".to_owned(), knowledge::prose(10_000_000, 7))];
    let prose = knowledge::ingest(env, &prose_folder, "8 Markdown prose", prose).await?;
    report_ingested(&prose);
    let folder = knowledge::folder(env, "corpus").await?;
    let corpus = knowledge::log_corpus(chunks);
    let corpus = knowledge::ingest(env, &folder, "8 search corpus (log lines)", corpus).await?;
    report_ingested(&corpus);
    env.knowledge_folder.set(folder).ok();
    Ok(vec![prose, corpus])
}

/// Scenario 8h's corpus: log lines like scenario 8's, in a folder of an organization with an
/// embedding model; searched once every chunk has its vector.
async fn hybrid_corpus(
    env: &setup::Environment,
    chunks: usize,
) -> anyhow::Result<knowledge::Ingested> {
    knowledge::connect_embedder(env).await?;
    let folder = knowledge::folder_of(env, &env.hybrid_key, "hybrid corpus").await?;
    let corpus = knowledge::log_corpus(chunks);
    let label = "8h hybrid corpus (log lines)";
    let ingested = knowledge::ingest_as(env, &env.hybrid_key, &folder, label, corpus).await?;
    report_ingested(&ingested);
    let seconds = knowledge::embedded(env, &folder, ingested.chunks).await?;
    eprintln!(
        "{:<28} {} vectors of {} dimensions made and stored {seconds:.1} s after the last document was ready",
        "8h embedding", ingested.chunks, embedder::DIMENSIONS
    );
    // The server's first search of the folder reads its vectors for its copy (seconds): done
    // here, so the measured searches are those of a process already serving the folder.
    knowledge::search_once(env, &env.hybrid_key, &folder).await?;
    env.hybrid_folder.set(folder).ok();
    Ok(ingested)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `--port-base N`: the run's servers take ports N, N+1… (else any free port).
fn port_base(value: Option<String>) -> anyhow::Result<Option<u16>> {
    Ok(Some(value.context("--port-base PORT")?.parse()?))
}

/// `hookline-bench faults [--short] [--streams 1000] [--rate 40] [--outage 30] [--port-base N]`.
fn faults(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut o = faults::Options {
        short: false,
        streams: 1000,
        rate: 40.0,
        outage: Duration::from_secs(30),
        port_base: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--short" => o.short = true,
            "--streams" => o.streams = args.next().context("--streams N")?.parse()?,
            "--rate" => o.rate = args.next().context("--rate CALLS/S")?.parse()?,
            "--outage" => {
                o.outage = Duration::from_secs(args.next().context("--outage SECONDS")?.parse()?)
            }
            "--port-base" => o.port_base = port_base(args.next())?,
            other => anyhow::bail!("unknown argument {other}; hookline-bench faults [--short] [--streams 1000] [--rate 40] [--outage 30] [--port-base N]"),
        }
    }
    if !runtime()?.block_on(faults::run(o))? {
        std::process::exit(1);
    }
    Ok(())
}

/// `hookline-bench soak [--minutes 60] [--streams 200] [--port-base N]`.
fn soak(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut o = soak::Options {
        minutes: 60,
        streams: 200,
        port_base: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--minutes" => o.minutes = args.next().context("--minutes N")?.parse()?,
            "--streams" => o.streams = args.next().context("--streams N")?.parse()?,
            "--port-base" => o.port_base = port_base(args.next())?,
            other => anyhow::bail!("unknown argument {other}; hookline-bench soak [--minutes 60] [--streams 200] [--port-base N]"),
        }
    }
    runtime()?.block_on(soak::soak(o))
}

/// `hookline-bench costs [--seconds 20] [--port-base N]`.
fn costs(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let (mut seconds, mut base) = (20, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().context("--seconds N")?.parse()?,
            "--port-base" => base = port_base(args.next())?,
            other => anyhow::bail!(
                "unknown argument {other}; hookline-bench costs [--seconds 20] [--port-base N]"
            ),
        }
    }
    runtime()?.block_on(soak::costs(base, seconds))
}

/// `hookline-bench pgbouncer [--pool-mode auto|transaction|session] [--seconds 15] [--port-base N]`;
/// `auto`: transaction mode where the installed PgBouncer supports prepared statements in it.
fn pgbouncer(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let (mut mode, mut seconds, mut base) = ("auto".to_owned(), 15, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pool-mode" => mode = args.next().context("--pool-mode auto|transaction|session")?,
            "--seconds" => seconds = args.next().context("--seconds N")?.parse()?,
            "--port-base" => base = port_base(args.next())?,
            other => anyhow::bail!("unknown argument {other}; hookline-bench pgbouncer [--pool-mode auto|transaction|session] [--seconds 15] [--port-base N]"),
        }
    }
    if !runtime()?.block_on(faults::pooled(&mode, seconds, base))? {
        std::process::exit(1);
    }
    Ok(())
}
