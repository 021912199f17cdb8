//! What a run of the scenarios prints: a line as each measurement ends (on stderr), then the
//! tables of the whole run (throughput, latency, CPU and the ratios to the direct request; the
//! drains, the ingestion, the retrieval quality, the event streams).

use std::time::Duration;

use crate::load::{Drain, Measured, Scenario};
use crate::{knowledge, quality, setup, streams, summary};

pub(crate) fn report_quality(all: &[quality::Quality]) {
    for q in all {
        eprintln!(
            "{:<28} {} ({}): recall@5 {:.2}, MRR {:.2}; not found: {:?}",
            "8 retrieval quality", q.label, q.ranking, q.recall_at_5, q.mrr, q.missed
        );
    }
}

pub(crate) fn report_ingested(i: &knowledge::Ingested) {
    eprintln!(
        "{:<28} {} documents, {:.1} MB, {} chunks in {:.2} s: {:.2} MB/s",
        i.label,
        i.documents,
        i.bytes as f64 / 1e6,
        i.chunks,
        i.seconds,
        i.mb_per_second()
    );
}

pub(crate) fn print_ingested(all: &[knowledge::Ingested]) {
    if all.is_empty() {
        return;
    }
    println!("\n| knowledge ingestion | documents | MB | chunks | upload to last ready (s) | MB/s | Hookline CPU s/MB | Postgres CPU s/MB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for i in all {
        println!(
            "| {} | {} | {:.1} | {} | {:.2} | {:.2} | {:.3} | {:.3} |",
            i.label,
            i.documents,
            i.bytes as f64 / 1e6,
            i.chunks,
            i.seconds,
            i.mb_per_second(),
            i.cpu.hookline,
            i.cpu.postgres,
        );
    }
}

pub(crate) fn print_quality(all: &[quality::Quality]) {
    if all.is_empty() {
        return;
    }
    println!("\n| retrieval quality | ranking | questions | recall@5 | MRR |");
    println!("|---|---|---:|---:|---:|");
    for q in all {
        println!(
            "| {} | {} | {} | {:.2} | {:.2} |",
            q.label, q.ranking, q.questions, q.recall_at_5, q.mrr
        );
    }
}

/// Scenario 7's one table: the streams held, the calls, their fan-out and the memory.
pub(crate) fn print_streams(m: &streams::StreamsMeasured) {
    println!("\n| event streams | held | calls/s offered | calls (errors) | call p50 / p99 (ms) | fan-out p50 / p99 / max (ms) | events fanned out | RSS idle / open / loaded (MiB) | above idle (MiB) | per stream (KiB) | Hookline CPU/call (µs) | Postgres CPU/call (µs) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.0} | {} ({}) | {:.2} / {:.2} | {:.2} / {:.2} / {:.2} | {} | {:.1} / {:.1} / {:.1} | {:.1} | {:.1} | {:.0} | {:.0} |",
        m.streams,
        m.held,
        m.offered,
        m.calls,
        m.call_errors,
        m.call_p50_ms,
        m.call_p99_ms,
        m.fanout_p50_ms,
        m.fanout_p99_ms,
        m.fanout_max_ms,
        m.fanned_out,
        m.idle_rss_mib,
        m.open_rss_mib,
        m.loaded_rss_mib,
        m.above_idle_mib(),
        m.per_stream_kib(),
        m.cpu.hookline,
        m.cpu.postgres,
    );
    let c = &m.cores;
    println!(
        "\nCores busy during the calls: {:.2} in all; Hookline {:.2}, its Postgres backends {:.2}, this benchmark {:.2}, everything else {:.2}.",
        c.machine,
        c.hookline,
        c.postgres,
        c.bench,
        (c.machine - c.hookline - c.postgres - c.bench - c.nginx).max(0.0),
    );
}

/// Completed tool call in the LLM's stream → webhook request, and message posted → first words
/// on the event stream, over the last run.
pub(crate) fn report_gaps(env: &setup::Environment, c: usize) -> summary::TurnTimes {
    let gaps = env.gaps.take();
    eprintln!(
        "{:<28} c={c:<3} tool call complete in the LLM stream -> webhook request: p50 {:.3} ms p99 {:.3} ms ({} calls)",
        "",
        pct(&gaps, 0.50),
        pct(&gaps, 0.99),
        gaps.len()
    );
    let firsts = env.first_deltas.take();
    eprintln!(
        "{:<28} c={c:<3} message posted -> first words on the event stream: p50 {:.3} ms p99 {:.3} ms ({} turns)",
        "",
        pct(&firsts, 0.50),
        pct(&firsts, 0.99),
        firsts.len()
    );
    summary::TurnTimes {
        concurrency: c,
        call_p50_ms: pct(&gaps, 0.50),
        first_p99_ms: pct(&firsts, 0.99),
    }
}

/// The `p` quantile of sorted durations, in milliseconds.
pub(crate) fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

pub(crate) fn report(m: &Measured) {
    let how = m
        .offered
        .map_or("closed".to_owned(), |r| format!("at {r:.0}/s"));
    eprintln!(
        "{:<28} c={:<3} {how:<12} {:>9.0}/s p50 {:>7.2} ms p99 {:>7.2} ms errors {} cpu/op: hookline {:.0} µs postgres {:.0} µs nginx {:.0} µs",
        m.scenario.label(),
        m.concurrency,
        m.rate,
        m.p50_ms,
        m.p99_ms,
        m.errors,
        m.cpu.hookline,
        m.cpu.postgres,
        m.cpu.nginx,
    );
}

pub(crate) fn print_table(results: &[Measured], rss: Option<f64>) {
    let find = |s: Scenario, c: usize| {
        results
            .iter()
            .find(|m| m.scenario == s && m.concurrency == c && m.offered.is_none())
    };
    println!("\n| scenario | conns | offered (/s) | throughput (/s) | p50 (ms) | p99 (ms) | errors | Hookline CPU/op (µs) | Postgres CPU/op (µs) | ÷ direct | ÷ nginx |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for m in results {
        let ratio = |base: Option<&Measured>| {
            base.filter(|b| b.rate > 0.0 && m.offered.is_none())
                .map_or("".to_owned(), |b| format!("{:.2}", m.rate / b.rate))
        };
        // nginx's own CPU stands in the Hookline column of its row.
        let own = if m.scenario == Scenario::Nginx {
            format!("{:.0} (nginx)", m.cpu.nginx)
        } else {
            format!("{:.0}", m.cpu.hookline)
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {:.0} | {} | {} |",
            m.scenario.label(),
            m.concurrency,
            m.offered.map_or("max".to_owned(), |r| format!("{r:.0}")),
            m.rate,
            m.p50_ms,
            m.p99_ms,
            m.errors,
            own,
            m.cpu.postgres,
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
    for c in [1, 16, 64] {
        if let (Some(tool), Some(mcp)) = (find(Scenario::ToolCall, c), find(Scenario::McpCall, c)) {
            println!(
                "tools/call over MCP at {c} connection(s): Hookline CPU/call {:+.1} % over /tool-calls ({:.0} vs {:.0} µs), Postgres {:+.1} %, throughput {:.2}×.",
                (mcp.cpu.hookline / tool.cpu.hookline - 1.0) * 100.0,
                mcp.cpu.hookline,
                tool.cpu.hookline,
                (mcp.cpu.postgres / tool.cpu.postgres - 1.0) * 100.0,
                mcp.rate / tool.rate,
            );
        }
    }
    for c in [1, 16, 64] {
        if let (Some(plain), Some(power)) =
            (find(Scenario::ToolCall, c), find(Scenario::PowerCall, c))
        {
            let total = |m: &Measured| m.cpu.hookline + m.cpu.postgres;
            println!(
                "tool power at {c} connection(s): CPU/call {:+.1} % over the plain call (Hookline {:.0} vs {:.0} µs, Postgres {:.0} vs {:.0} µs), throughput {:.2}×; {} OAuth2 token(s) fetched in the run.",
                (total(power) / total(plain) - 1.0) * 100.0,
                power.cpu.hookline,
                plain.cpu.hookline,
                power.cpu.postgres,
                plain.cpu.postgres,
                power.rate / plain.rate,
                crate::power::tokens_issued(),
            );
        }
    }
    match rss {
        Some(mib) => println!("hookline peak RSS: {mib:.1} MiB"),
        None => println!("hookline peak RSS: unknown (no /proc)"),
    }
}

pub(crate) fn print_drains(drains: &[Drain]) {
    if drains.is_empty() {
        return;
    }
    println!("\n| fire-and-forget backlog | conns | delivered/s during the load | backlog when it stopped | drained in (s) | delivered/s after | Hookline CPU per delivery (µs) | Postgres CPU per delivery (µs) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for d in drains {
        println!(
            "| {}{} | {} | {:.0} | {} | {:.2} | {:.0} | {:.0} | {:.0} |",
            d.label,
            if d.complete { "" } else { " (incomplete)" },
            d.concurrency,
            d.during,
            d.backlog,
            d.seconds,
            d.backlog as f64 / d.seconds.max(1e-9),
            d.cpu.hookline,
            d.cpu.postgres,
        );
    }
}
