//! Development mode's encryption key: one per user, at a fixed absolute place, so every command
//! run from any directory seals and opens with the same key.
//!
//! A new key is only generated in memory when the settings are checked; it is written (0600)
//! by [`DevKey::keep`] once the command has reached its database, so a start that fails leaves
//! no key behind that nothing was ever sealed with.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::config_error::ConfigError;
use crate::secrets::{key_from_base64, KEY_BYTES};

/// The development key in use, and whether it still has to be written down.
#[derive(Debug, Clone)]
pub struct DevKey {
    pub path: PathBuf,
    text: Option<String>,
}

/// `$XDG_DATA_HOME/hookline/dev-key`, else `$HOME/.local/share/hookline/dev-key`.
pub fn default_path() -> Result<PathBuf, ConfigError> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(data) = absolute("XDG_DATA_HOME") {
        return Ok(data.join("hookline").join("dev-key"));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".local/share/hookline/dev-key"));
    }
    Err(ConfigError(
        "development mode keeps its key in $XDG_DATA_HOME or $HOME, and neither is set: set HOOKLINE_DEV_KEY_FILE to an absolute path".into(),
    ))
}

/// Reads the key at `path` (or the default place), or makes a new one to be kept later.
pub fn load_or_generate(path: Option<&Path>) -> Result<([u8; KEY_BYTES], DevKey), ConfigError> {
    let path = match path {
        Some(p) => std::path::absolute(p).map_err(|e| {
            ConfigError(format!(
                "HOOKLINE_DEV_KEY_FILE ({}) cannot be made absolute: {e}",
                p.display()
            ))
        })?,
        None => default_path()?,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = key_from_base64(&text).ok_or_else(|| {
                ConfigError(format!(
                    "{} must hold base64 of exactly 32 random bytes (delete it to make a new development key; anything sealed with it is then lost)",
                    path.display()
                ))
            })?;
            Ok((key, DevKey { path, text: None }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; KEY_BYTES] = rand::random();
            let text = base64::engine::general_purpose::STANDARD.encode(key);
            Ok((
                key,
                DevKey {
                    path,
                    text: Some(text),
                },
            ))
        }
        Err(e) => Err(ConfigError(format!(
            "cannot read the development encryption key at {}: {e}",
            path.display()
        ))),
    }
}

impl DevKey {
    /// Writes a newly generated key (readable by its owner only) and says where; does nothing
    /// for a key that was read from its file.
    pub fn keep(&self) -> Result<(), ConfigError> {
        let Some(text) = &self.text else {
            return Ok(());
        };
        let failed = |e: std::io::Error| {
            ConfigError(format!(
                "cannot write the development encryption key to {}: {e} (set HOOKLINE_DEV_KEY_FILE to another place)",
                self.path.display()
            ))
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let mut options = std::fs::OpenOptions::new();
        // create_new: a key another process wrote meanwhile is never overwritten.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(failed)?;
        file.write_all(format!("{text}\n").as_bytes())
            .map_err(failed)?;
        tracing::warn!(
            file = %self.path.display(),
            "development mode: generated an encryption key and stored it in this file; set HOOKLINE_ENCRYPTION_KEY in production"
        );
        Ok(())
    }
}
