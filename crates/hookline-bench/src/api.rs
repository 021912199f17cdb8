//! Hookline's REST API as the set-ups (the bench's and the fault rig's) use it to make their
//! tools, personas and sessions: every answer must be a success.

use std::net::SocketAddr;

use anyhow::bail;
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
