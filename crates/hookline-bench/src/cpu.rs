//! CPU time spent by the processes a run measures, read from `/proc`: the `hookline` server, the
//! Postgres backends connected to the benchmark's database (found by their process title, which
//! names the database), and nginx's master and worker. Taken before and after a scenario's
//! measured window, the difference divided by the operations done gives CPU per operation.
//!
//! Postgres' shared background processes (WAL writer, checkpointer…) are left out: on a shared
//! machine they also work for other databases. A backend that exits during the window loses its
//! last moments (the pools here keep their connections, so that is rare).

use std::collections::HashMap;

/// Seconds of CPU per process, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    hookline: f64,
    nginx: f64,
    postgres: HashMap<u32, f64>,
    /// This benchmark process (load generator, target, stream readers).
    bench: f64,
    /// Busy time of every CPU of the machine (`/proc/stat`), whoever used it.
    machine: f64,
}

/// CPU used between two samples, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Used {
    pub hookline: f64,
    pub postgres: f64,
    pub nginx: f64,
    pub bench: f64,
    /// The whole machine's busy CPU time: what is left after the four above is the neighbours'
    /// (and Postgres' shared background processes').
    pub machine: f64,
}

/// What to sample.
#[derive(Debug, Clone)]
pub struct Probe {
    pub hookline: u32,
    pub nginx: Option<u32>,
    pub database: String,
    ticks: f64,
}

impl Probe {
    pub fn new(hookline: u32, nginx: Option<u32>, database: &str) -> Self {
        Self {
            hookline,
            nginx,
            database: database.to_owned(),
            ticks: clock_ticks(),
        }
    }

    pub fn sample(&self) -> Sample {
        let postgres = postgres_backends(&self.database)
            .into_iter()
            .filter_map(|pid| Some((pid, self.cpu(pid)?)))
            .collect();
        let nginx = self.nginx.map_or(0.0, |master| {
            std::iter::once(master)
                .chain(children(master))
                .filter_map(|pid| self.cpu(pid))
                .sum()
        });
        Sample {
            hookline: self.cpu(self.hookline).unwrap_or(0.0),
            nginx,
            postgres,
            bench: self.cpu(std::process::id()).unwrap_or(0.0),
            machine: self.machine_busy().unwrap_or(0.0),
        }
    }

    /// utime + stime of one process, in seconds.
    fn cpu(&self, pid: u32) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command (which may hold spaces) start at the state, field 3.
        let rest = &stat[stat.rfind(')')? + 2..];
        let mut fields = rest.split_whitespace().skip(11);
        let user: f64 = fields.next()?.parse().ok()?;
        let system: f64 = fields.next()?.parse().ok()?;
        Some((user + system) / self.ticks)
    }

    /// Busy seconds of all CPUs together: the first line of `/proc/stat` less idle and iowait.
    fn machine_busy(&self) -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<f64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let idle = ticks.get(3)? + ticks.get(4)?;
        Some((ticks.iter().sum::<f64>() - idle) / self.ticks)
    }
}

impl Sample {
    /// What was used from `self` to `later`; a backend that started meanwhile counts whole.
    pub fn until(&self, later: &Sample) -> Used {
        let postgres = later
            .postgres
            .iter()
            .map(|(pid, t)| t - self.postgres.get(pid).copied().unwrap_or(0.0))
            .filter(|d| *d > 0.0)
            .sum();
        Used {
            hookline: (later.hookline - self.hookline).max(0.0),
            postgres,
            nginx: (later.nginx - self.nginx).max(0.0),
            bench: (later.bench - self.bench).max(0.0),
            machine: (later.machine - self.machine).max(0.0),
        }
    }
}

impl Used {
    /// Per operation, in microseconds.
    pub fn per_op(self, ops: usize) -> Used {
        self.scaled(1e6 / ops.max(1) as f64)
    }

    /// Per second of a window of `seconds`: how many cores each kept busy.
    pub fn per_second(self, seconds: f64) -> Used {
        self.scaled(1.0 / seconds.max(f64::EPSILON))
    }

    fn scaled(self, k: f64) -> Used {
        Used {
            hookline: self.hookline * k,
            postgres: self.postgres * k,
            nginx: self.nginx * k,
            bench: self.bench * k,
            machine: self.machine * k,
        }
    }
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// Backends serving `database`: their title is `postgres: [cluster: ]user database host…`.
fn postgres_backends(database: &str) -> Vec<u32> {
    let needle = format!(" {database} ");
    pids()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let title = String::from_utf8_lossy(&c);
                title.starts_with("postgres: ") && title.contains(&needle)
            })
        })
        .collect()
}

fn children(parent: u32) -> Vec<u32> {
    pids()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rfind(')')
                    .and_then(|i| s[i + 2..].split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

/// One line naming the machine: CPU model and count, memory, load, and the Postgres server.
pub fn machine(postgres_version: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kib: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} GiB", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "? GiB".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    format!(
        "{cores} cores ({model}), {memory}, load average {load} at the start; {postgres_version}"
    )
}
