//! Documents of records, a chunk each: a CSV row (its values named by the header), a log line.

use hookline_core::repo::knowledge::chunks::NewChunk;

use super::chunks::{Collector, Failure, MAX_RECORD_BYTES};

/// One chunk per data row, `name: value` a line, with its row number (from 1, the header not
/// counted). A row longer than [`MAX_RECORD_BYTES`] fails the document.
pub fn csv(content: &[u8], out: &mut Collector) -> Result<(), Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(content);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Failure(format!("the CSV header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut record = csv::StringRecord::new();
    let mut row = 0i32;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(Failure(format!("CSV row {} cannot be read: {e}", row + 1)));
            }
        }
        row += 1;
        if record.as_slice().len() > MAX_RECORD_BYTES {
            return Err(Failure(format!(
                "CSV row {row} is longer than {} KiB",
                MAX_RECORD_BYTES / 1024
            )));
        }
        let mut content = String::new();
        for (i, value) in record.iter().enumerate() {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let name = headers.get(i).map_or("", String::as_str);
            if !content.is_empty() {
                content.push('\n');
            }
            if name.is_empty() {
                content.push_str(value);
            } else {
                content.push_str(&format!("{name}: {value}"));
            }
        }
        out.push(NewChunk {
            content,
            row: Some(row),
            ..NewChunk::default()
        })?;
    }
    Ok(())
}

/// One chunk per non-blank line, with its line number (from 1). A line longer than
/// [`MAX_RECORD_BYTES`] fails the document.
pub fn log(text: &str, out: &mut Collector) -> Result<(), Failure> {
    for (i, line) in text.lines().enumerate() {
        let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
        if line.len() > MAX_RECORD_BYTES {
            return Err(Failure(format!(
                "line {number} is longer than {} KiB",
                MAX_RECORD_BYTES / 1024
            )));
        }
        out.push(NewChunk {
            content: line.trim().to_owned(),
            line: Some(number),
            ..NewChunk::default()
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn collector() -> Collector {
        Collector::new(100, Instant::now() + Duration::from_secs(60), 60)
    }

    #[test]
    fn a_csv_row_is_a_chunk_with_its_header_names() {
        let mut out = collector();
        csv(
            b"sku,name,price\nA1,\"Desk, oak\",120\n\nB2,Lamp,\n",
            &mut out,
        )
        .unwrap();
        let chunks = out.finish().unwrap();
        assert_eq!(chunks[0].content, "sku: A1\nname: Desk, oak\nprice: 120");
        assert_eq!(chunks[0].row, Some(1));
        assert_eq!(chunks[1].content, "sku: B2\nname: Lamp");
        assert_eq!(chunks[1].row, Some(2));
    }

    #[test]
    fn a_row_or_line_too_long_fails_the_document() {
        let long = format!("a\n{}\n", "x".repeat(MAX_RECORD_BYTES + 1));
        let e = csv(long.as_bytes(), &mut collector()).unwrap_err();
        assert_eq!(e.0, "CSV row 1 is longer than 16 KiB");
        let e = log(
            &format!("ok\n{}", "y".repeat(MAX_RECORD_BYTES + 1)),
            &mut collector(),
        );
        assert_eq!(e.unwrap_err().0, "line 2 is longer than 16 KiB");
    }

    #[test]
    fn a_log_line_is_a_chunk_with_its_number() {
        let mut out = collector();
        log("boot\n\nERROR disk full\n", &mut out).unwrap();
        let chunks = out.finish().unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            (chunks[1].content.as_str(), chunks[1].line),
            ("ERROR disk full", Some(3))
        );
    }
}
