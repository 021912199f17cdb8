//! The private Postgres cluster the fault and soak runs stand on (so they can restart and stop it
//! without touching anybody else's), and the waits for a process to listen, which the rig and
//! the pooler in front of the cluster share.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
pub const DATABASE: &str = "hookline_faults";

/// A Postgres cluster of the run's own, in a temporary directory, listening on loopback and on a
/// unix socket in that directory. Removed when dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
}

/// Runs a Postgres tool as the `postgres` user when we are root (initdb refuses root).
fn pg_tool(tool: &str) -> Command {
    let path = format!("{PG_BIN}/{tool}");
    if rustix::process::geteuid().is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        Command::new(path)
    }
}

pub(crate) fn run(mut c: Command, what: &str) -> anyhow::Result<()> {
    let out = c.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        bail!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl Cluster {
    pub fn create(port: u16) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("hookline-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        if rustix::process::geteuid().is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["postgres:postgres", &dir.display().to_string()]);
                    c
                },
                "chown",
            )?;
        }
        let data = dir.join("data");
        let mut init = pg_tool("initdb");
        init.args(["-D", &data.display().to_string()]).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(init, "initdb")?;
        // Settings a small production server would have; pg_stat_statements for the costs.
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 300\nshared_buffers = 256MB\n\
             shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n\
             track_io_timing = on\nlog_min_messages = warning\n",
            dir.display()
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))?;
        std::io::Write::write_all(&mut file, conf.as_bytes())?;
        let cluster = Self { dir, port };
        cluster.start()?;
        Ok(cluster)
    }

    fn ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut c = pg_tool("pg_ctl");
        c.args(["-D", &self.dir.join("data").display().to_string()])
            .args(["-l", &self.dir.join("log").display().to_string()])
            .args(["-w", "-t", "60"])
            .args(args);
        run(c, &format!("pg_ctl {args:?}"))
    }

    pub fn start(&self) -> anyhow::Result<()> {
        self.ctl(&["start"])
    }

    /// Stops the server the way an operator's restart does (`-m fast`: sessions are ended with
    /// "terminating connection due to administrator command").
    pub fn stop(&self) -> anyhow::Result<()> {
        self.ctl(&["-m", "fast", "stop"])
    }

    pub fn restart(&self) -> anyhow::Result<()> {
        self.ctl(&["-m", "fast", "restart"])
    }

    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("{}/{DATABASE}", self.server_url())
    }

    /// The postmaster's process id (the first line of `postmaster.pid`).
    pub fn postmaster(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        pid.lines().next()?.trim().parse().ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.ctl(&["-m", "immediate", "stop"]);
        // `HOOKLINE_BENCH_KEEP=1` keeps the directory (the instances' and Postgres' logs).
        if std::env::var_os("HOOKLINE_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits (30 s at most) until something accepts connections on `addr`.
pub fn wait_for_port(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            bail!("nothing answers on {addr}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}
