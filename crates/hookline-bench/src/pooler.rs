//! A PgBouncer in front of the rig's private cluster, for the run behind a pooler (docs/scaling.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cluster::{run, wait_for_port, Cluster, DATABASE};

/// A PgBouncer of the run's own in front of the cluster (Debian's `pgbouncer`), in the given
/// pool mode. Prepared statements in transaction mode need PgBouncer 1.21 or later
/// (`max_prepared_statements`), which is set when the installed one has it.
pub struct Pooler {
    pub port: u16,
    pub mode: String,
    pub version: String,
    pid: Option<u32>,
    dir: PathBuf,
}

impl Pooler {
    pub fn start(cluster: &Cluster, port: u16, mode: &str) -> anyhow::Result<Self> {
        let out = Command::new("pgbouncer")
            .arg("--version")
            .output()
            .context("pgbouncer is not installed (apt-get install pgbouncer)")?;
        let version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("PgBouncer ")
            .to_owned();
        let numbers: Vec<u32> = version.split('.').filter_map(|n| n.parse().ok()).collect();
        let prepared = numbers >= vec![1, 21];
        // `auto`: transaction mode where the installed PgBouncer keeps prepared statements in
        // it (1.21 and later), else session mode (sqlx prepares every statement by name, which
        // an older PgBouncer in transaction mode sends to whichever server connection is free).
        let mode = match mode {
            "auto" if prepared => "transaction",
            "auto" => "session",
            other => other,
        };
        let dir = cluster.dir.join("pgbouncer");
        std::fs::create_dir_all(&dir)?;
        let d = dir.display();
        let conf = format!(
            "[databases]\n* = host=127.0.0.1 port={}\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {d}/users.txt\n\
             pool_mode = {mode}\ndefault_pool_size = {}\nmax_client_conn = 2000\n\
             ignore_startup_parameters = extra_float_digits,options\n{}\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
            cluster.port,
            // In session mode a client keeps its server connection for as long as it is
            // connected, and Hookline's pools keep theirs: one server connection each.
            if mode == "session" { 150 } else { 20 },
            if prepared { "max_prepared_statements = 200\n" } else { "" }
        );
        std::fs::write(dir.join("pgbouncer.ini"), conf)?;
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n")?;
        let mut c = if rustix::process::geteuid().is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres", &d.to_string()]);
                    c
                },
                "chown",
            )?;
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "pgbouncer"]);
            c
        } else {
            Command::new("pgbouncer")
        };
        c.args(["-d", &format!("{d}/pgbouncer.ini")]);
        run(c, "pgbouncer")?;
        // The daemon is on its own from here (`-d`): the guard that stops it is made before
        // anything else can fail, and it waits for the pid file (written as the daemon starts),
        // so a run that fails while PgBouncer starts leaves no PgBouncer behind.
        let pooler = Self {
            port,
            mode: mode.to_owned(),
            version,
            pid: read_pid(&dir.join("pgbouncer.pid")),
            dir,
        };
        wait_for_port(format!("127.0.0.1:{port}").parse()?)?;
        Ok(pooler)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

/// A daemon's pid from its pid file, waited for up to 5 s.
fn read_pid(file: &Path) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pid = std::fs::read_to_string(file)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        if pid.is_some() || Instant::now() > deadline {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

impl Drop for Pooler {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}
