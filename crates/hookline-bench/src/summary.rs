//! The one table a run ends with: every scenario run (closed loop) and the issues' targets beside
//! the figures they are held against, for one build or, given `HOOKLINE_BENCH_BASELINE`, for the
//! build before and the build after in two columns. Above it, the machine and its load average
//! when each build's run began and ended: the machine may be shared, and the load says how much.

use crate::load::{Drain, Measured, Scenario};

/// One build's run.
pub struct Run {
    /// `before`, `after`, or `now` when only one build ran.
    pub label: &'static str,
    pub binary: String,
    pub machine: String,
    /// The 1-minute load average when the run began and when it ended.
    pub load: (String, String),
    pub results: Vec<Measured>,
    pub drains: Vec<Drain>,
    pub turns: Vec<TurnTimes>,
}

/// Scenario 6's own times at one concurrency (closed loop).
pub struct TurnTimes {
    pub concurrency: usize,
    /// Complete tool call in the LLM's stream → its webhook request, p50.
    pub call_p50_ms: f64,
    /// Message posted → the persona's first words on the event stream, p99.
    pub first_p99_ms: f64,
}

/// The 1-minute load average, as `/proc/loadavg` gives it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

impl Run {
    fn closed(&self, s: Scenario, c: usize) -> Option<&Measured> {
        self.results
            .iter()
            .find(|m| m.scenario == s && m.concurrency == c && m.offered.is_none())
    }

    /// Hookline + Postgres CPU per operation, averaged over every closed-loop run of `s` at `c`
    /// (`--only 2,2p,2,2p` alternates two scenarios: the database grows during a run, and a
    /// scenario always run second would always meet the fuller one).
    fn mean_cpu(&self, s: Scenario, c: usize) -> Option<f64> {
        let runs: Vec<f64> = self
            .results
            .iter()
            .filter(|m| m.scenario == s && m.concurrency == c && m.offered.is_none())
            .map(|m| m.cpu.hookline + m.cpu.postgres)
            .collect();
        (!runs.is_empty()).then(|| runs.iter().sum::<f64>() / runs.len() as f64)
    }

    fn drain(&self, c: usize) -> Option<&Drain> {
        self.drains
            .iter()
            .find(|d| d.concurrency == c && d.label != "3b stored at once")
    }

    fn turn(&self, c: usize) -> Option<&TurnTimes> {
        self.turns.iter().find(|t| t.concurrency == c)
    }
}

/// How a target's figure is read from a run (`None` when the run lacks what it needs).
type Reading = Box<dyn Fn(&Run) -> Option<f64>>;

/// A target: how to read it from a run, and whether a value meets it.
struct Target {
    what: String,
    bound: String,
    value: Reading,
    meets: Box<dyn Fn(f64) -> bool>,
    unit: &'static str,
}

fn at_most(limit: f64) -> Box<dyn Fn(f64) -> bool> {
    Box::new(move |v| v <= limit)
}

fn at_least(limit: f64) -> Box<dyn Fn(f64) -> bool> {
    Box::new(move |v| v >= limit)
}

/// The issues' targets at the concurrencies run: issue 28's for calls, messages and turns, and
/// issue 25's for tool power.
fn targets(concurrencies: &[usize]) -> Vec<Target> {
    let mut all = call_targets(concurrencies);
    all.extend(message_targets(concurrencies));
    all.extend(turn_targets(concurrencies));
    all
}

/// Scenario 2's targets against nginx, and 2p's against 2.
fn call_targets(concurrencies: &[usize]) -> Vec<Target> {
    let mut all = Vec::new();
    for &c in concurrencies {
        let nginx_cpu = move |r: &Run| {
            r.closed(Scenario::Nginx, c)
                .map(|n| n.cpu.nginx)
                .filter(|n| *n > 0.0)
        };
        all.push(Target {
            what: format!("2 Postgres CPU per call ÷ nginx CPU per request, c={c}"),
            bound: "≤ 3×".into(),
            value: Box::new(move |r| {
                Some(r.closed(Scenario::ToolCall, c)?.cpu.postgres / nginx_cpu(r)?)
            }),
            meets: at_most(3.0),
            unit: "×",
        });
        all.push(Target {
            what: format!("2 Hookline CPU per call ÷ nginx CPU per request, c={c}"),
            bound: "≤ 3×".into(),
            value: Box::new(move |r| {
                Some(r.closed(Scenario::ToolCall, c)?.cpu.hookline / nginx_cpu(r)?)
            }),
            meets: at_most(3.0),
            unit: "×",
        });
    }
    for &c in concurrencies {
        // Issue 25: variables, shaping and a cached OAuth2 token cost at most 5 % more.
        all.push(Target {
            what: format!("2p CPU per call (Hookline + Postgres) ÷ 2's, c={c}"),
            bound: "≤ 1.05×".into(),
            value: Box::new(move |r| {
                Some(r.mean_cpu(Scenario::PowerCall, c)? / r.mean_cpu(Scenario::ToolCall, c)?)
            }),
            meets: at_most(1.05),
            unit: "×",
        });
    }
    if concurrencies.contains(&64) {
        all.push(Target {
            what: "2 throughput ÷ nginx, c=64".into(),
            bound: "≥ 0.25×".into(),
            value: Box::new(|r| {
                Some(r.closed(Scenario::ToolCall, 64)?.rate / r.closed(Scenario::Nginx, 64)?.rate)
            }),
            meets: at_least(0.25),
            unit: "×",
        });
    }
    if concurrencies.contains(&1) {
        all.push(Target {
            what: "2 p50 added to nginx's, c=1".into(),
            bound: "≤ 0.3 ms".into(),
            value: Box::new(|r| {
                Some(r.closed(Scenario::ToolCall, 1)?.p50_ms - r.closed(Scenario::Nginx, 1)?.p50_ms)
            }),
            meets: at_most(0.3),
            unit: " ms",
        });
    }
    all
}

/// Scenario 3's targets: Postgres' cost of a fire-and-forget message, and accepts per second.
fn message_targets(concurrencies: &[usize]) -> Vec<Target> {
    let mut all = Vec::new();
    for &c in concurrencies {
        all.push(Target {
            what: format!("3 Postgres CPU per message: accept + its delivery, c={c}"),
            bound: "≤ 500 µs".into(),
            value: Box::new(move |r| {
                Some(r.closed(Scenario::FireAndForget, c)?.cpu.postgres + r.drain(c)?.cpu.postgres)
            }),
            meets: at_most(500.0),
            unit: " µs",
        });
    }
    if concurrencies.contains(&64) {
        all.push(Target {
            what: "3 accepts per second, c=64 (deliveries running)".into(),
            bound: "≥ 10,000/s (with none delivered)".into(),
            value: Box::new(|r| Some(r.closed(Scenario::FireAndForget, 64)?.rate)),
            meets: at_least(10_000.0),
            unit: "/s",
        });
    }
    all
}

/// Scenario 6's targets: a turn's CPU, its first words and its call's way to the webhook.
fn turn_targets(concurrencies: &[usize]) -> Vec<Target> {
    let mut all = Vec::new();
    for &c in concurrencies {
        all.push(Target {
            what: format!("6 CPU per turn, Hookline + Postgres, c={c}"),
            bound: "≤ 2,000 µs".into(),
            value: Box::new(move |r| {
                let m = r.closed(Scenario::Turn, c)?;
                Some(m.cpu.hookline + m.cpu.postgres)
            }),
            meets: at_most(2_000.0),
            unit: " µs",
        });
        all.push(Target {
            what: format!("6 message posted → first words on the stream, p99, c={c}"),
            bound: "≤ 5 ms (the fake LLM answers at once)".into(),
            value: Box::new(move |r| Some(r.turn(c)?.first_p99_ms)),
            meets: at_most(5.0),
            unit: " ms",
        });
        all.push(Target {
            what: format!("6 call complete in the LLM's stream → webhook request, p50, c={c}"),
            bound: "≤ 1 ms".into(),
            value: Box::new(move |r| Some(r.turn(c)?.call_p50_ms)),
            meets: at_most(1.0),
            unit: " ms",
        });
    }
    all
}

fn figures(m: &Measured) -> String {
    let own = if m.scenario == Scenario::Nginx {
        format!("{:.0} nginx", m.cpu.nginx)
    } else {
        format!("{:.0} + {:.0}", m.cpu.hookline, m.cpu.postgres)
    };
    format!(
        "{:.0}/s; {:.2} / {:.2} ms; {own} µs{}",
        m.rate,
        m.p50_ms,
        m.p99_ms,
        if m.errors > 0 {
            format!("; {} errors", m.errors)
        } else {
            String::new()
        }
    )
}

/// Prints the table: one row per scenario and concurrency (throughput; p50 / p99; Hookline +
/// Postgres CPU per operation), then one per target with the value each build reached.
pub fn print(runs: &[Run]) {
    let Some(last) = runs.last() else {
        return;
    };
    println!("\n## Summary\n");
    println!("Machine: {}", last.machine);
    for r in runs {
        println!(
            "- {} ({}): load average {} at its start, {} at its end",
            r.label, r.binary, r.load.0, r.load.1
        );
    }
    let mut header = "| scenario or target | target |".to_owned();
    let mut rule = "|---|---|".to_owned();
    for r in runs {
        header.push_str(&format!(" {} |", r.label));
        rule.push_str("---|");
    }
    println!("\nCells: throughput; p50 / p99; Hookline + Postgres CPU per operation (from /proc). Targets: issues 28 and 25 (2p).\n");
    println!("{header}\n{rule}");
    let mut rows: Vec<(Scenario, usize)> = Vec::new();
    for m in runs.iter().flat_map(|r| &r.results) {
        if m.offered.is_none() && !rows.contains(&(m.scenario, m.concurrency)) {
            rows.push((m.scenario, m.concurrency));
        }
    }
    for &(s, c) in &rows {
        let mut line = format!("| {} c={c} | |", s.label());
        for r in runs {
            line.push_str(&format!(
                " {} |",
                r.closed(s, c).map_or("—".to_owned(), figures)
            ));
        }
        println!("{line}");
    }
    let mut concurrencies: Vec<usize> = rows.iter().map(|&(_, c)| c).collect();
    concurrencies.sort_unstable();
    concurrencies.dedup();
    for t in targets(&concurrencies) {
        let values: Vec<Option<f64>> = runs.iter().map(|r| (t.value)(r)).collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        let mut line = format!("| {} | {} |", t.what, t.bound);
        for v in values {
            line.push_str(&match v {
                Some(v) => format!(
                    " {v:.2}{} {} |",
                    t.unit,
                    if (t.meets)(v) { "met" } else { "not met" }
                ),
                None => " — |".to_owned(),
            });
        }
        println!("{line}");
    }
}
