//! A webhook target for tests: records every request it gets and answers from a script.

use std::net::SocketAddr;

use serde_json::Value;

/// A request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// How a [`Receiver`] answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub delay: std::time::Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            headers: vec![("content-type".into(), "application/json".into())],
            delay: std::time::Duration::ZERO,
        }
    }
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Script = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Reply>>>;

/// A webhook target on 127.0.0.1:0 that records every request and answers from a script (then
/// with its default reply).
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    recorded: std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>,
    script: Script,
}

impl Receiver {
    pub async fn start(default: Reply) -> Self {
        let recorded = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let script: Script = Default::default();
        let (rec, scr) = (recorded.clone(), script.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (rec, scr, default) = (rec.clone(), scr.clone(), default.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap()
                    .to_vec();
                rec.lock().unwrap().push(Recorded {
                    at: std::time::Instant::now(),
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    query: parts.uri.query().map(str::to_owned),
                    headers: parts.headers.clone(),
                    body,
                });
                let reply = scr.lock().unwrap().pop_front().unwrap_or(default);
                tokio::time::sleep(reply.delay).await;
                let mut response = axum::response::Response::builder().status(reply.status);
                for (k, v) in &reply.headers {
                    response = response.header(k, v);
                }
                response.body(axum::body::Body::from(reply.body)).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            recorded,
            script,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn then(&self, reply: Reply) -> &Self {
        self.script.lock().unwrap().push_back(reply);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (or panics after `within`).
    pub async fn wait_for(&self, n: usize, within: std::time::Duration) -> Vec<Recorded> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} requests arrived",
                got.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
