//! An event stream's connection is read by Hookline itself (not hyper): its request head is
//! bounded as hyper bounds one (16 KiB, CRLF or bare LF line ends), its time is counted once
//! from the connection's start, and a client that sends half a request line costs no CPU while
//! it waits.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{raw_settings, RawSettings, TestApp};

async fn answer(stream: &mut TcpStream) -> String {
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;
    String::from_utf8_lossy(&buffer).into_owned()
}

const PATH: &str = "/v1/sessions/0190f0e2-0000-7000-8000-000000000000/events";

#[tokio::test]
async fn a_head_past_16_kib_is_refused_and_bare_lf_heads_are_answered() {
    let app = TestApp::spawn().await;
    // The end of the head after 16 KiB: refused as hyper refuses it (was accepted up to 32 KiB).
    let mut big = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "GET {PATH} HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n",
        "p".repeat(20 * 1024)
    );
    big.write_all(head.as_bytes()).await.unwrap();
    let answered = answer(&mut big).await;
    assert!(answered.starts_with("HTTP/1.1 431"), "{answered}");

    // Bare LF line ends: answered (401, no credential), as hyper answers them.
    let mut lf = TcpStream::connect(app.addr).await.unwrap();
    lf.write_all(format!("GET {PATH} HTTP/1.1\nhost: x\n\n").as_bytes())
        .await
        .unwrap();
    let answered = answer(&mut lf).await;
    assert!(answered.starts_with("HTTP/1.1 401"), "{answered}");
}

#[tokio::test]
async fn the_heads_time_is_counted_once() {
    let app = TestApp::spawn_with(RawSettings {
        header_read_timeout_seconds: 2,
        ..raw_settings()
    })
    .await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    // Half the request line, then the rest, then the headers: 3 s in all, past the 2 s for a
    // head (each part alone was once given the whole 2 s).
    slow.write_all(b"GET /v1/sessions/").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let _ = slow
        .write_all(b"0190f0e2-0000-7000-8000-000000000000/events HTTP/1.1\r\n")
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let _ = slow.write_all(b"host: x\r\n\r\n").await;
    let answered = answer(&mut slow).await;
    assert!(
        !answered.starts_with("HTTP/1.1 401"),
        "a head that took 3 s was answered: {answered}"
    );
}

/// This process's CPU time (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[tokio::test]
async fn half_a_request_line_costs_no_cpu_while_it_waits() {
    let app = TestApp::spawn().await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(app.addr).await.unwrap();
        c.write_all(b"GET /v1/sessions/").await.unwrap();
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_seconds() - before;
    // Looked at every 2 ms each, 300 such connections cost most of a core; waiting for bytes,
    // nothing.
    assert!(
        used < 0.2,
        "{used:.2} s of CPU in 2 s for 300 waiting connections"
    );
    // They are still served once the line comes.
    let mut one = idle.pop().unwrap();
    one.write_all(b"0190f0e2-0000-7000-8000-000000000000/events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = answer(&mut one).await;
    assert!(answered.starts_with("HTTP/1.1 401"), "{answered}");
}
