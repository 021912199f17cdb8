//! Hookline's REST API as the set-ups (the bench's and the fault rig's) use it to make their
//! tools, personas and sessions: every answer must be a success. Also its CLI, which they use
//! to migrate the database and make organizations and keys.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::{json, Value};

pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(client: reqwest::Client, hookline: SocketAddr) -> Self {
        Self {
            client,
            base: format!("http://{hookline}"),
        }
    }

    /// POSTs `body` to `path`; the answer's JSON, or an error naming its status.
    pub async fn post(&self, path: &str, body: Value, bearer: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("{status}: {body}");
        }
        Ok(body)
    }

    /// A persona that talks through the instant LLM at `llm` (`/v1`) with one tool, `lookup`,
    /// whose webhook at `hook` measures the gap from the LLM's tool call; its id.
    pub async fn make_talker(
        &self,
        key: &str,
        llm: SocketAddr,
        hook: SocketAddr,
        mut lookup: Value,
    ) -> anyhow::Result<Value> {
        let instant = self
            .post(
                "/v1/llms",
                json!({"name": "instant", "provider": "openai", "model": "instant",
                       "baseUrl": format!("http://{llm}/v1")}),
                key,
            )
            .await?;
        lookup["url"] = json!(format!("http://{hook}/conv-hook"));
        let lookup = self.post("/v1/tools", lookup, key).await?;
        self.post(
            "/v1/personas",
            json!({"name": "Talker", "systemPrompt": "Answer order questions.",
                   "llmId": instant["id"], "toolIds": [lookup["id"]]}),
            key,
        )
        .await
    }
}

/// Runs `hookline ARGS` of `binary` with `env`; what it printed, or an error naming the command
/// and its standard error.
pub fn cli<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    binary: &Path,
    env: &[(K, V)],
    args: &[&str],
) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !out.status.success() {
        bail!(
            "hookline {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Makes the organization `org` and an API key of it with the CLI; the key.
pub fn org_with_key<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    binary: &Path,
    env: &[(K, V)],
    org: &str,
) -> anyhow::Result<String> {
    cli(binary, env, &["orgs", "create", org])?;
    Ok(cli(binary, env, &["api-keys", "create", "--org", org])?
        .lines()
        .last()
        .context("no key printed")?
        .to_owned())
}
