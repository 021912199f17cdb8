//! A tool as it is kept: the definition with header values masked, beside the real values
//! sealed by the secret box. Session snapshots carry this form as it is; headers are opened only
//! by the engine, at call time.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use hookline_schema::{mask_header_value, ToolDefinition};

use crate::secrets::{header_context, SecretBox, SecretError, SecretString};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedTool {
    /// The definition as the API shows it: header values replaced by their masked previews.
    pub definition: ToolDefinition,
    /// Header name → sealed value.
    #[serde(default)]
    pub sealed_headers: IndexMap<String, String>,
}

impl SealedTool {
    /// Seals the plain header values of a freshly parsed definition.
    pub fn seal(mut definition: ToolDefinition, org_id: Uuid, secrets: &SecretBox) -> Self {
        let mut sealed_headers = IndexMap::new();
        if let ToolDefinition::Server(webhook) = &mut definition {
            for (name, value) in &mut webhook.headers {
                sealed_headers.insert(
                    name.clone(),
                    secrets.seal(value, &header_context(org_id, name)),
                );
                if !webhook.plain_headers.contains(name) {
                    *value = mask_header_value(value);
                }
            }
        }
        Self {
            definition,
            sealed_headers,
        }
    }

    /// The real header values, in order.
    pub fn open_headers(
        &self,
        org_id: Uuid,
        secrets: &SecretBox,
    ) -> Result<Vec<(String, SecretString)>, SecretError> {
        self.sealed_headers
            .iter()
            .map(|(name, sealed)| {
                Ok((
                    name.clone(),
                    secrets.open(sealed, &header_context(org_id, name))?,
                ))
            })
            .collect()
    }

    /// Re-seals every value made with an older key; returns how many were re-sealed and the
    /// headers whose values did not open (left as they were).
    pub fn reseal(
        &mut self,
        org_id: Uuid,
        secrets: &SecretBox,
    ) -> (u64, Vec<(String, SecretError)>) {
        reseal_headers(&mut self.sealed_headers, org_id, secrets)
    }
}

/// Re-seals, under the current key, every header value made with an older one; a value that
/// does not open stays as it is and is returned with its header name, so one bad value does not
/// stop the others.
pub fn reseal_headers(
    sealed_headers: &mut IndexMap<String, String>,
    org_id: Uuid,
    secrets: &SecretBox,
) -> (u64, Vec<(String, SecretError)>) {
    let mut count = 0;
    let mut unopened = Vec::new();
    for (name, sealed) in sealed_headers {
        if secrets.is_stale(sealed) {
            match secrets.reseal(sealed, &header_context(org_id, name)) {
                Ok(fresh) => {
                    *sealed = fresh;
                    count += 1;
                }
                Err(e) => unopened.push((name.clone(), e)),
            }
        }
    }
    (count, unopened)
}
