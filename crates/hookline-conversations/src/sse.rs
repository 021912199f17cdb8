//! Server-Sent Events read from an LLM's answer, a line at a time, with a bound on a line's
//! length (and on an event's data). The LLM is a tenant's choice, so its stream is attacker
//! input: a line that never ends must cost neither memory past the bound nor a re-read of what
//! was already looked at (each byte is scanned once).
//!
//! The format (WHATWG HTML, "server-sent events"): lines end with CRLF, LF or CR; `event:` names
//! the event, `data:` lines are joined with LF, a line starting with `:` is a comment, and an
//! empty line ends the event (one without data is not dispatched).

use bytes::Bytes;
use futures::{Stream, StreamExt};

/// One event of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// Empty when the stream names none.
    pub event: String,
    pub data: String,
}

/// Why reading the stream stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("a line (or an event) of the LLM's stream is longer than {0} bytes")]
    LineTooLong(usize),
    #[error("the LLM's stream broke off")]
    Broken,
}

/// Events parsed from `bytes` as they arrive.
pub struct SseReader<S> {
    bytes: S,
    max_line: usize,
    /// Received and not yet consumed; `buffer[start..]` is unread.
    buffer: Vec<u8>,
    start: usize,
    /// How far past `start` has been looked at for a line's end.
    scanned: usize,
    event: String,
    data: String,
    /// Any data field seen for the current event (an empty `data:` still counts).
    has_data: bool,
    ended: bool,
}

impl<S, E> SseReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    pub fn new(bytes: S, max_line: usize) -> Self {
        Self {
            bytes,
            max_line,
            buffer: Vec::new(),
            start: 0,
            scanned: 0,
            event: String::new(),
            data: String::new(),
            has_data: false,
            ended: false,
        }
    }

    /// The next event; `None` once the stream has ended (an event not closed by an empty line
    /// is dispatched at the end, as most clients do).
    pub async fn next(&mut self) -> Option<Result<SseEvent, SseError>> {
        loop {
            match self.next_line() {
                Err(e) => return Some(Err(self.fail(e))),
                Ok(Some(line)) => match self.take_line(&line) {
                    Ok(Some(event)) => return Some(Ok(event)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(self.fail(e))),
                },
                Ok(None) => {}
            }
            if self.ended {
                return self.dispatch().map(Ok);
            }
            match self.bytes.next().await {
                Some(Ok(chunk)) => {
                    if self.start > 0 && self.start >= self.buffer.len() / 2 {
                        self.buffer.drain(..self.start);
                        self.start = 0;
                    }
                    self.buffer.extend_from_slice(&chunk);
                }
                Some(Err(_)) => return Some(Err(self.fail(SseError::Broken))),
                None => {
                    self.ended = true;
                    // The last line may lack its end.
                    if self.start < self.buffer.len() {
                        let line = self.buffer[self.start..].to_vec();
                        self.start = self.buffer.len();
                        self.scanned = 0;
                        match self.take_line(&line) {
                            Ok(Some(event)) => return Some(Ok(event)),
                            Ok(None) => {}
                            Err(e) => return Some(Err(self.fail(e))),
                        }
                    }
                }
            }
        }
    }

    /// Ends the stream at an error: nothing more is read, and what was held is given back.
    fn fail(&mut self, e: SseError) -> SseError {
        self.ended = true;
        self.buffer = Vec::new();
        self.data = String::new();
        (self.start, self.scanned, self.has_data) = (0, 0, false);
        e
    }

    /// A whole line from the buffer, without its end; `None` when none is complete yet.
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, SseError> {
        let unread = &self.buffer[self.start..];
        let found = unread[self.scanned..]
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
            .map(|i| i + self.scanned);
        let Some(end) = found else {
            self.scanned = unread.len();
            if unread.len() > self.max_line {
                return Err(SseError::LineTooLong(self.max_line));
            }
            return Ok(None);
        };
        if end > self.max_line {
            return Err(SseError::LineTooLong(self.max_line));
        }
        let width = match (unread[end], unread.get(end + 1)) {
            (b'\r', Some(b'\n')) => 2,
            // A CR last in what has come may be the first half of a CRLF: wait for the next byte.
            (b'\r', None) if !self.ended => {
                self.scanned = end;
                return Ok(None);
            }
            _ => 1,
        };
        let line = unread[..end].to_vec();
        self.start += end + width;
        self.scanned = 0;
        Ok(Some(line))
    }

    /// Applies one line; an empty line dispatches the event.
    fn take_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
                if self.data.len() > self.max_line {
                    return Err(SseError::LineTooLong(self.max_line));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        std::mem::replace(&mut self.has_data, false).then_some(SseEvent { event, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(
        chunks: Vec<&'static [u8]>,
        max_line: usize,
    ) -> SseReader<impl Stream<Item = Result<Bytes, ()>> + Unpin> {
        let items: Vec<Result<Bytes, ()>> = chunks
            .into_iter()
            .map(|c| Ok(Bytes::from_static(c)))
            .collect();
        SseReader::new(futures::stream::iter(items), max_line)
    }

    async fn all(
        mut r: SseReader<impl Stream<Item = Result<Bytes, ()>> + Unpin>,
    ) -> Vec<Result<SseEvent, SseError>> {
        let mut out = Vec::new();
        while let Some(item) = r.next().await {
            out.push(item);
        }
        out
    }

    fn ev(event: &str, data: &str) -> Result<SseEvent, SseError> {
        Ok(SseEvent {
            event: event.into(),
            data: data.into(),
        })
    }

    #[tokio::test]
    async fn events_across_chunks_and_line_ends() {
        let events = all(reader(
            vec![
                b"event: message_start\r\nda",
                b"ta: {\"a\":1}\r",
                b"\n\r\n: a comment\n\ndata: x\rdata:y\r\rdata: [DONE]\n\n",
                b"data: last without its end",
            ],
            1024,
        ))
        .await;
        assert_eq!(
            events,
            [
                ev("message_start", "{\"a\":1}"),
                ev("", "x\ny"),
                ev("", "[DONE]"),
                ev("", "last without its end"),
            ]
        );
    }

    #[tokio::test]
    async fn a_line_past_the_bound_stops_the_stream() {
        let events = all(reader(
            vec![b"data: 0123456789", b"0123456789", b"0123456789\n\n"],
            24,
        ))
        .await;
        assert_eq!(events, [Err(SseError::LineTooLong(24))]);
        let fits = all(reader(vec![b"data: 0123456789\n\n"], 24)).await;
        assert_eq!(fits, [ev("", "0123456789")]);
    }
}
