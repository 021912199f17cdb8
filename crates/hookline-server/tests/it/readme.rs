//! The README's walk-through blocks, run as a new user runs them: each in a fresh shell that
//! stops at the first failure, against the real binary in development mode, each after the
//! other and each again (a block that created a name the second time round failed with 409).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::harness::{free_port, fresh_database_url, test_key_b64, Server};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first ```sh block after `heading` in the README.
fn block_after(readme: &str, heading: &str) -> String {
    let at = readme.find(heading).expect("the README has the heading");
    let rest = &readme[at..];
    let start = rest.find("```sh\n").expect("a sh block follows") + "```sh\n".len();
    let end = rest[start..].find("\n```").expect("the block ends");
    rest[start..start + end].to_owned()
}

struct Run {
    status: ExitStatus,
    output: String,
}

/// Runs `block` with `bash -e -o pipefail` from the repository's root, as its own process group
/// (the servers a block leaves running in the background are stopped with it). Its output goes to
/// a file: a pipe would stay open as long as those servers run.
fn run(block: &str, server: &Server, database_url: &str) -> Run {
    use std::os::unix::process::CommandExt;
    let log = std::env::temp_dir().join(format!("hookline-readme-{}", uuid::Uuid::new_v4()));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", block])
        .current_dir(repository_root())
        .env("HOOKLINE_URL", format!("http://{}", server.addr))
        .env("HOOKLINE_BIN", env!("CARGO_BIN_EXE_hookline"))
        .env("DATABASE_URL", database_url)
        .env("HOOKLINE_ENCRYPTION_KEY", test_key_b64())
        .env("RECEIVER_PORT", free_port().to_string())
        .env("LLM_PORT", free_port().to_string())
        .env("RUST_LOG", "warn")
        .env("no_proxy", "*")
        .env_remove("HOOKLINE_ENV")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let status = child.wait().unwrap();
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Run { status, output }
}

#[tokio::test]
async fn each_readme_block_runs_on_its_own_and_again() {
    let database_url = fresh_database_url();
    let server = Server::start(&database_url, &[("HOOKLINE_ENV", "development")]).await;
    let readme = std::fs::read_to_string(repository_root().join("README.md")).unwrap();
    let walk = block_after(&readme, "## A first walk through");
    let talk = block_after(&readme, "### A conversation");
    for (name, block) in [
        ("the walk through", &walk),
        ("the conversation", &talk),
        ("the walk through, again", &walk),
        ("the conversation, again", &talk),
    ] {
        // Blocking is fine: the server is a process of its own.
        let done = run(block, &server, &database_url);
        assert!(done.status.success(), "{name} failed:\n{}", done.output);
        if name.starts_with("the conversation") {
            // The stand-in asked for the tool; the receiver's tracking number is in the answer.
            assert!(
                done.output.contains("1Z999AA10123456784"),
                "{name}:\n{}",
                done.output
            );
        } else {
            assert!(
                done.output.contains("\"webhook-signature\""),
                "{}",
                done.output
            );
        }
    }
}

/// The stand-in LLM the README offers takes `--delay` (so a person can interrupt a reply by
/// hand): the pace is said when it starts, and a pace outside 0–10 s is refused.
#[test]
fn the_stand_in_llm_can_be_slowed() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let script = repository_root().join("examples/standin_llm.py");
    let refused = Command::new("python3")
        .arg(&script)
        .args(["--delay", "11"])
        .output()
        .expect("python3 runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("--delay must be between 0 and 10 seconds"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let port = free_port().to_string();
    let mut slow = Command::new("python3")
        .arg(&script)
        .args([port.as_str(), "--delay", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(slow.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    slow.kill().unwrap();
    slow.wait().unwrap();
    assert_eq!(
        line.trim(),
        format!("stand-in LLM (scripted, OpenAI-compatible) on http://localhost:{port}/v1, 0.5 s between pieces")
    );
}
