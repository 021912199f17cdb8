//! Reading the fields of an untrusted JSON object, recording every wrong type, missing field and
//! unknown field instead of stopping at the first.

use serde_json::{Map, Value};

use crate::violations::{join, Violations};

/// `value` as a JSON object, or the one violation saying it is not one (reported at `prefix`):
/// every body parser starts here.
pub fn object_at<'a>(value: &'a Value, prefix: &str) -> Result<&'a Map<String, Value>, Violations> {
    value.as_object().ok_or_else(|| {
        let mut v = Violations::new();
        v.wrong_type(prefix, "a JSON object");
        v
    })
}

pub struct Fields<'a, 'v> {
    map: &'a Map<String, Value>,
    prefix: String,
    known: Vec<&'static str>,
    pub v: &'v mut Violations,
}

impl<'a, 'v> Fields<'a, 'v> {
    pub fn new(map: &'a Map<String, Value>, prefix: &str, v: &'v mut Violations) -> Self {
        Self {
            map,
            prefix: prefix.to_owned(),
            known: Vec::new(),
            v,
        }
    }

    pub fn path(&self, key: &str) -> String {
        join(&self.prefix, key)
    }

    /// The value of `key`; `null` counts as absent.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn required(&mut self, key: &'static str) -> Option<&'a Value> {
        let value = self.get(key);
        if value.is_none() {
            let path = self.path(key);
            self.v.missing(path);
        }
        value
    }

    fn typed<T>(
        &mut self,
        key: &'static str,
        value: Option<&'a Value>,
        expected: &str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let value = value?;
        let read = read(value);
        if read.is_none() {
            let path = self.path(key);
            self.v.wrong_type(path, expected);
        }
        read
    }

    pub fn string(&mut self, key: &'static str) -> Option<&'a str> {
        let value = self.get(key);
        self.typed(key, value, "a string", Value::as_str)
    }

    pub fn required_string(&mut self, key: &'static str) -> Option<&'a str> {
        let value = self.required(key);
        self.typed(key, value, "a string", Value::as_str)
    }

    pub fn bool(&mut self, key: &'static str) -> Option<bool> {
        let value = self.get(key);
        self.typed(key, value, "true or false", Value::as_bool)
    }

    pub fn object(&mut self, key: &'static str) -> Option<&'a Map<String, Value>> {
        let value = self.get(key);
        self.typed(key, value, "an object", Value::as_object)
    }

    /// An integer within `range`, reported as a rule violation when outside it.
    pub fn integer_in(
        &mut self,
        key: &'static str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let value = self.get(key);
        let n = self.typed(key, value, "an integer", whole_number)?;
        if range.contains(&n) {
            Some(n)
        } else {
            let path = self.path(key);
            self.v.rule(
                path,
                format!("must be between {} and {}", range.start(), range.end()),
            );
            None
        }
    }

    /// Reports every key that was never asked for, suggesting the nearest known one.
    pub fn finish(self, what: &str) {
        for key in self.map.keys() {
            if self.known.contains(&key.as_str()) {
                continue;
            }
            let mut message = format!("is not a field of {what}");
            if let Some(near) = nearest(key, &self.known) {
                message.push_str(&format!(" (did you mean \"{near}\"?)"));
            }
            self.v.rule(join(&self.prefix, key), message);
        }
    }
}

/// A JSON number without a fraction, as JSON Schema's `integer` takes it: `30`, `30.0` and
/// `3e1` alike. One beyond the `i64` range saturates, so the range check names it.
fn whole_number(value: &Value) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    if value.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let f = value.as_f64()?;
    // `as` saturates at the bounds of i64.
    (f.fract() == 0.0).then_some(f as i64)
}

/// The known name closest to `key`, when it is close enough to be a typo.
pub fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(&key.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diag = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos() {
        assert_eq!(
            nearest("awaitRespose", &["awaitResponse", "method"]),
            Some("awaitResponse")
        );
        assert_eq!(nearest("colour", &["name", "url"]), None);
    }
}
