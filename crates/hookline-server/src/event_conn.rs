//! Event streams served on a connection of their own, without hyper.
//!
//! A stream (`GET /v1/sessions/{id}/events`) holds its connection for as long as it runs, and
//! hyper keeps two buffers of 8 KiB for every HTTP/1 connection (its read buffer, which it keeps
//! filled-to-be while it watches for the client leaving, and its header write buffer), neither
//! configurable below 8 KiB: measured with massif at 1,000 streams, 16 KiB of the ~18.5 KiB live
//! per stream (docs/performance-history.md, stop 19). A connection whose first request is such a GET is
//! served here instead: the request head is read into a buffer dropped once parsed, the request
//! goes through the same router (auth, limits, middleware), the answer is written with
//! `Connection: close` (an event stream as a close-delimited body), and a 16-byte read watches
//! for the client leaving. Every other connection, and every later request, is hyper's.

use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode, Version};
use axum::Router;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::ServiceExt;

/// The start of an event stream's request line, built from the route the sessions crate serves
/// (`/v1/sessions/{id}/events`).
fn prefix() -> &'static [u8] {
    static PREFIX: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let route = hookline_sessions::EVENTS_ROUTE;
        let base = &route[..route.find('{').unwrap_or(route.len())];
        format!("GET {base}").into_bytes()
    })
}
/// A request head larger than this is not an event stream's: refused.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// Whether the connection's first request is an event stream's, from its request line as far as
/// it has arrived (peeked, not read: hyper gets the connection untouched otherwise). `None` when
/// the client sent nothing by `deadline` or left. While only part of the line is here, the task
/// sleeps until more bytes arrive (it never polls).
pub async fn first_request_is_stream(stream: &TcpStream, deadline: Instant) -> Option<bool> {
    let look = async {
        // The request line up to the path's end: `GET /v1/sessions/<uuid>/events`.
        let mut line = [0u8; 96];
        loop {
            let ready = stream.ready(Interest::READABLE).await.ok()?;
            // A client that sent part of a line and then closed its side: a closed read side
            // stays ready for good, so nothing more will come and looking again would spin.
            let closed = ready.is_read_closed();
            // Peeked inside `try_io`: when the line is still partial the closure says "would
            // block", which clears the socket's readiness as of this look, so the next
            // `ready()` waits for bytes that arrive after it (and wakes at once for any that
            // came during it).
            let seen = stream.try_io(Interest::READABLE, || {
                let mut buf = ReadBuf::new(&mut line);
                let mut cx = Context::from_waker(Waker::noop());
                match stream.poll_peek(&mut cx, &mut buf) {
                    Poll::Ready(Ok(0)) => Ok(None),
                    Poll::Ready(Ok(n)) => match classify(&line[..n], n == line.len()) {
                        Some(decided) => Ok(Some(decided)),
                        None if closed => Ok(None),
                        None => Err(std::io::ErrorKind::WouldBlock.into()),
                    },
                    Poll::Ready(Err(e)) => Err(e),
                    // The task's budget is spent (bytes may well be there): not "would block",
                    // which would clear the readiness; yield below and look again.
                    Poll::Pending => Err(std::io::ErrorKind::Interrupted.into()),
                }
            });
            match seen {
                Ok(decided) => return decided,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    tokio::task::yield_now().await;
                }
                Err(_) => return None,
            }
        }
    };
    tokio::time::timeout_at(deadline, look).await.ok().flatten()
}

/// What the start of a request line says: an event stream's, another request, or not known yet.
fn classify(seen: &[u8], full: bool) -> Option<bool> {
    let prefix = prefix();
    if !prefix.starts_with(&seen[..seen.len().min(prefix.len())]) {
        return Some(false);
    }
    let path = &seen[seen.len().min(prefix.len())..];
    if let Some(end) = path.iter().position(|b| *b == b' ' || *b == b'?') {
        return Some(path[..end].ends_with(b"/events"));
    }
    if full {
        return Some(false);
    }
    None
}

/// Serves the one request of a connection whose first request is an event stream's; its head
/// must be whole by `deadline` (the same deadline its first line had).
pub async fn serve(mut stream: TcpStream, router: Router, deadline: Instant) {
    let request = match tokio::time::timeout_at(deadline, read_head(&mut stream)).await {
        Ok(Ok(request)) => request,
        Ok(Err(status)) => {
            let _ = write_plain(&mut stream, status).await;
            return;
        }
        Err(_) => return,
    };
    // Boxed: the handler's future is large and gone once it answers, while this task's own
    // size is paid for as long as the stream runs.
    let response = match Box::pin(router.oneshot(request)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let streaming = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    if !streaming {
        // A refusal or an empty answer: small, so written whole with its length.
        let Ok(collected) = body.collect().await else {
            return;
        };
        let bytes = collected.to_bytes();
        let mut head = head(parts.status, &parts.headers);
        if parts.status != StatusCode::NO_CONTENT {
            head.extend_from_slice(format!("content-length: {}\r\n", bytes.len()).as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        head.extend_from_slice(&bytes);
        let _ = stream.write_all(&head).await;
        let _ = stream.shutdown().await;
        return;
    }
    let mut head = head(parts.status, &parts.headers);
    drop(parts);
    head.extend_from_slice(b"\r\n");
    if stream.write_all(&head).await.is_err() {
        return;
    }
    drop(head);
    stream_body(&mut stream, body).await;
    let _ = stream.shutdown().await;
}

/// Writes the body's frames as they come, until it ends or the client leaves.
async fn stream_body(stream: &mut TcpStream, mut body: Body) {
    let (mut reader, mut writer) = stream.split();
    let mut probe = [0u8; 16];
    loop {
        tokio::select! {
            frame = body.frame() => match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if writer.write_all(&data).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Err(_)) | None => return,
            },
            read = reader.read(&mut probe) => match read {
                // The client left (or broke the connection).
                Ok(0) | Err(_) => return,
                // Anything it sends while streaming (a pipelined request) is not answered.
                Ok(_) => {}
            },
        }
    }
}

/// Reads and parses the request head; the buffer is dropped once the request is built. A head
/// is whole when httparse says so (CRLF or bare LF line ends, as hyper reads them); one that is
/// not whole within [`MAX_HEAD`] bytes is refused with 431, as hyper refuses it.
async fn read_head(stream: &mut TcpStream) -> Result<Request<Body>, StatusCode> {
    let mut buffer = Vec::with_capacity(1024);
    let head_len = loop {
        if stream
            .read_buf(&mut buffer)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?
            == 0
        {
            return Err(StatusCode::BAD_REQUEST);
        }
        let within = &buffer[..buffer.len().min(MAX_HEAD)];
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(within) {
            Ok(httparse::Status::Complete(len)) => break len,
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            }
            Err(_) => return Err(StatusCode::BAD_REQUEST),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(
        parsed.parse(&buffer[..head_len]),
        Ok(httparse::Status::Complete(_))
    ) {
        return Err(StatusCode::BAD_REQUEST);
    }
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(parsed.path.unwrap_or("/"))
        .version(version);
    for h in parsed.headers.iter() {
        // A GET with a body is not an event stream request.
        if h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
        {
            return Err(StatusCode::BAD_REQUEST);
        }
        let value = HeaderValue::from_bytes(h.value).map_err(|_| StatusCode::BAD_REQUEST)?;
        request = request.header(h.name, value);
    }
    request
        .body(Body::empty())
        .map_err(|_| StatusCode::BAD_REQUEST)
}

/// The status line and the answer's headers, with `Connection: close` (one request per
/// connection here); the caller ends the head.
fn head(status: StatusCode, headers: &axum::http::HeaderMap) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .as_bytes(),
    );
    for (name, value) in headers {
        if name == header::CONNECTION
            || name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"connection: close\r\n");
    head
}

/// An answer without a body, for a request head that could not be read.
async fn write_plain(stream: &mut TcpStream, status: StatusCode) -> std::io::Result<()> {
    let mut head = head(status, &axum::http::HeaderMap::new());
    head.extend_from_slice(b"content-length: 0\r\n\r\n");
    stream.write_all(&head).await?;
    stream.shutdown().await
}
