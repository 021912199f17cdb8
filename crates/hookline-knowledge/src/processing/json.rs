//! JSON: kept whole as one chunk when small; a larger document is cut into its top-level array
//! elements (or object members, as `"key": value`), each compact, one cut further as prose when
//! it is still larger than a chunk.

use serde_json::Value;

use super::chunks::{Collector, Failure};
use super::prose::{self, Place, TARGET_CHARS};

pub fn cut(text: &str, out: &mut Collector) -> Result<(), Failure> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Failure(format!("the file is not valid JSON: {e}")))?;
    let whole = value.to_string();
    if whole.chars().count() <= TARGET_CHARS {
        return prose::cut(&whole, &Place::default(), out);
    }
    let parts: Vec<String> = match value {
        Value::Array(items) => items.iter().map(Value::to_string).collect(),
        Value::Object(members) => members
            .iter()
            .map(|(k, v)| format!("{}: {v}", Value::String(k.clone())))
            .collect(),
        _ => vec![whole],
    };
    for part in parts {
        prose::cut(&part, &Place::default(), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn cut_all(text: &str) -> Result<Vec<String>, Failure> {
        let mut out = Collector::new(1000, Instant::now() + Duration::from_secs(60), 60);
        cut(text, &mut out)?;
        Ok(out.finish()?.into_iter().map(|c| c.content).collect())
    }

    #[test]
    fn small_json_is_whole_and_large_arrays_are_cut_per_element() {
        assert_eq!(cut_all(r#"{"a": [1, 2]}"#).unwrap(), [r#"{"a":[1,2]}"#]);
        let items: Vec<Value> = (0..100)
            .map(|i| serde_json::json!({"id": i, "text": "a product description"}))
            .collect();
        let chunks = cut_all(&Value::Array(items).to_string()).unwrap();
        assert_eq!(chunks.len(), 100);
        assert_eq!(chunks[7], r#"{"id":7,"text":"a product description"}"#);
        assert!(cut_all("{oops")
            .unwrap_err()
            .0
            .starts_with("the file is not valid JSON"));
    }
}
