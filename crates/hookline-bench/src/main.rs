//! `cargo run --release -p hookline-bench`: starts the real `hookline` binary on a fresh database,
//! a minimal webhook target on loopback and (when installed) nginx as a plain keepalive proxy,
//! then drives each hot path with 1, 16 and 64 connections and prints throughput, p50/p99
//! latency and Hookline ÷ direct ratios. All traffic stays on 127.0.0.1.

mod instant_llm;
mod load;
mod setup;

use std::time::Duration;

use anyhow::Context;
use load::{Measured, Scenario};

struct Options {
    duration: Duration,
    concurrency: Vec<usize>,
    /// Scenario numbers to run (`1`, `1b`, `2`…); all when empty.
    only: Vec<String>,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        duration: Duration::from_secs(4),
        concurrency: vec![1, 16, 64],
        only: Vec::new(),
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
            "-h" | "--help" => {
                println!("hookline-bench [--duration SECONDS] [--concurrency 1,16,64] [--only 1,1b,2,3,4,5,6]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    let env = setup::Environment::start().await?;
    eprintln!(
        "hookline at {}, target at {}, nginx {}",
        env.hookline,
        env.target,
        env.nginx
            .as_ref()
            .map_or("not installed".to_owned(), |n| n.addr.to_string())
    );
    let mut scenarios = vec![Scenario::Direct];
    if env.nginx.is_some() {
        scenarios.push(Scenario::Nginx);
    }
    scenarios.extend([
        Scenario::ToolCall,
        Scenario::FireAndForget,
        Scenario::SessionStart,
        Scenario::ReadTool,
        Scenario::Turn,
    ]);
    scenarios.retain(|s| {
        options.only.is_empty()
            || options
                .only
                .iter()
                .any(|o| s.label().starts_with(&format!("{o} ")))
    });
    let mut results: Vec<Measured> = Vec::new();
    for scenario in scenarios {
        for &c in &options.concurrency {
            let m = load::measure(&env, scenario, c, options.duration).await;
            eprintln!(
                "{:<28} c={c:<3} {:>9.0}/s p50 {:>7.2} ms p99 {:>7.2} ms errors {}",
                scenario.label(),
                m.rate,
                m.p50_ms,
                m.p99_ms,
                m.errors
            );
            if scenario == Scenario::Turn {
                let gaps = env.gaps.take();
                let pct = |p: f64| {
                    gaps.get(((gaps.len() as f64 * p) as usize).min(gaps.len().saturating_sub(1)))
                        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
                };
                eprintln!(
                    "{:<28} c={c:<3} tool call complete in the LLM stream -> webhook request: p50 {:.3} ms p99 {:.3} ms ({} calls)",
                    "",
                    pct(0.50),
                    pct(0.99),
                    gaps.len()
                );
            }
            results.push(m);
        }
    }
    let rss = env.hookline_peak_rss_mib();
    print_table(&results, rss);
    env.stop();
    Ok(())
}

fn print_table(results: &[Measured], rss: Option<f64>) {
    let find = |s: Scenario, c: usize| {
        results
            .iter()
            .find(|m| m.scenario == s && m.concurrency == c)
    };
    println!("\n| scenario | conns | throughput (/s) | p50 (ms) | p99 (ms) | errors | ÷ direct | ÷ nginx |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for m in results {
        let ratio = |base: Option<&Measured>| {
            base.filter(|b| b.rate > 0.0)
                .map_or("".to_owned(), |b| format!("{:.2}", m.rate / b.rate))
        };
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            m.scenario.label(),
            m.concurrency,
            m.rate,
            m.p50_ms,
            m.p99_ms,
            m.errors,
            ratio(find(Scenario::Direct, m.concurrency)),
            ratio(find(Scenario::Nginx, m.concurrency)),
        );
    }
    if let (Some(tool), Some(nginx)) = (find(Scenario::ToolCall, 64), find(Scenario::Nginx, 64)) {
        println!(
            "\nTool call at 64 connections: {:.2}× nginx throughput, p99 {:+.2} ms over nginx.",
            tool.rate / nginx.rate,
            tool.p99_ms - nginx.p99_ms
        );
    }
    match rss {
        Some(mib) => println!("hookline peak RSS: {mib:.1} MiB"),
        None => println!("hookline peak RSS: unknown (no /proc)"),
    }
}
