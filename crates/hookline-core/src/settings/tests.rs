//! The settings' own checks: defaults, files, the environment and the messages they give.

use super::*;
use base64::Engine as _;

fn raw() -> RawSettings {
    RawSettings::default()
}

#[test]
fn production_needs_a_key() {
    let err = Settings::check(raw(), false).err().unwrap();
    assert!(err.0.contains("HOOKLINE_ENCRYPTION_KEY"), "{err}");
    assert!(err.0.contains("openssl rand -base64 32"), "{err}");
    // Said to any command (`orgs create` too), so it names the flag, not `serve --dev`.
    assert!(err.0.contains("add `--dev` to the command"), "{err}");
    assert!(!err.0.contains('\n'));
}

#[test]
fn a_direct_database_url_is_checked_and_empty_means_unset() {
    let key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    let mut r = raw();
    r.database_direct_url = Some("postgress://postgres@db/hookline".into());
    let err = Settings::check(r, false).err().unwrap();
    assert_eq!(
        err.0,
        "HOOKLINE_DATABASE_DIRECT_URL must start with postgres:// or postgresql:// (its scheme is \"postgress\")"
    );
    for (given, kept) in [
        (
            Some("postgres://postgres@db:5432/hookline"),
            Some("postgres://postgres@db:5432/hookline"),
        ),
        (Some("  "), None),
        (None, None),
    ] {
        let mut r = raw();
        r.database_direct_url = given.map(str::to_owned);
        r.encryption_key = key.clone();
        let checked = Settings::check(r, false).unwrap();
        assert_eq!(checked.database_direct_url.as_deref(), kept);
    }
}

#[test]
fn a_database_url_must_be_a_postgres_url() {
    for (url, expected) in [
        (
            "postgress://postgres@localhost/hookline",
            "DATABASE_URL must start with postgres:// or postgresql:// (its scheme is \"postgress\")",
        ),
        (
            "localhost:5432/hookline",
            "DATABASE_URL must start with postgres:// or postgresql:// (its scheme is \"localhost\")",
        ),
    ] {
        let mut r = raw();
        r.database_url = url.into();
        let err = Settings::check(r, false).err().unwrap();
        assert_eq!(err.0, expected);
    }
    for good in [
        "postgresql://u:p@db:5432/h",
        "postgres:///h?host=/run/postgresql",
    ] {
        let mut r = raw();
        r.database_url = good.into();
        r.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        assert!(Settings::check(r, false).is_ok(), "{good}");
    }
}

#[test]
fn a_key_must_be_32_bytes_of_base64() {
    for bad in ["not base64!", "c2hvcnQ="] {
        let mut r = raw();
        r.encryption_key = Some(bad.into());
        let err = Settings::check(r, false).err().unwrap();
        assert!(
            err.0
                .contains("HOOKLINE_ENCRYPTION_KEY must be base64 of exactly 32"),
            "{err}"
        );
    }
    let mut r = raw();
    r.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    r.allowed_networks = "127.0.0.1/32, ::1".into();
    let s = Settings::check(r, false).unwrap();
    assert_eq!(s.mode, Mode::Production);
    assert_eq!(s.destinations.allowed_networks.len(), 2);
}

#[test]
fn bad_networks_and_listen_addresses_are_named() {
    let mut r = raw();
    r.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    r.allowed_networks = "10.0.0.0/33".into();
    assert!(Settings::check(r.clone(), false)
        .err()
        .unwrap()
        .0
        .contains("HOOKLINE_ALLOWED_NETWORKS"));
    r.allowed_networks.clear();
    r.listen = "localhost".into();
    assert!(Settings::check(r, false)
        .err()
        .unwrap()
        .0
        .contains("HOOKLINE_LISTEN"));
}

#[test]
fn development_generates_and_keeps_a_key() {
    let dir = std::env::temp_dir().join(format!("hookline-key-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = raw();
    r.dev_key_file = Some(dir.join("key"));
    let first = Settings::check(r.clone(), true).unwrap();
    // Not written until kept: a start that fails later leaves nothing behind.
    assert!(!dir.join("key").exists());
    first.keep_dev_key().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let sealed = first.secrets.seal("x", "ad");
    let second = Settings::check(r, true).unwrap();
    assert_eq!(second.secrets.open(&sealed, "ad").unwrap().expose(), "x");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_lease_shorter_than_the_longest_timeout_is_refused() {
    let mut r = raw();
    r.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    r.delivery_lease_seconds = MIN_LEASE_SECONDS - 1;
    let err = Settings::check(r.clone(), false).err().unwrap();
    assert!(
        err.0
            .starts_with("HOOKLINE_DELIVERY_LEASE_SECONDS must be at least 75"),
        "{err}"
    );
    assert!(!err.0.contains('\n'));
    r.delivery_lease_seconds = MIN_LEASE_SECONDS;
    let s = Settings::check(r.clone(), false).unwrap();
    assert_eq!(s.delivery.lease, Duration::from_secs(75));
    // A quarter of the workers by default, at least one.
    assert_eq!(s.delivery.org_concurrency, 16);
    r.delivery_workers = 2;
    assert_eq!(
        Settings::check(r.clone(), false)
            .unwrap()
            .delivery
            .org_concurrency,
        1
    );
    r.delivery_org_concurrency = Some(0);
    let err = Settings::check(r, false).err().unwrap();
    assert!(err.0.contains("HOOKLINE_DELIVERY_ORG_CONCURRENCY"), "{err}");
}

#[test]
// Jail's closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
fn a_bad_mode_names_the_setting_and_its_values() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("HOOKLINE_ENV", "dev");
        let err = RawSettings::load().unwrap_err();
        assert_eq!(
            err.0,
            "HOOKLINE_ENV (`env` in hookline.toml) must be one of production, development (got \"dev\")"
        );
        jail.set_env("HOOKLINE_ENV", "development");
        jail.set_env("HOOKLINE_DELIVERY_WORKERS", "many");
        let err = RawSettings::load().unwrap_err();
        assert!(
            err.0.starts_with(
                "HOOKLINE_DELIVERY_WORKERS (`delivery_workers` in hookline.toml) must be"
            ),
            "{err}"
        );
        Ok(())
    });
}

#[test]
// Jail's closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
fn unknown_keys_in_the_file_are_refused_with_a_suggestion() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("hookline.toml", "listen_addr = \"127.0.0.1:9000\"\n")?;
        let err = RawSettings::load().unwrap_err();
        assert_eq!(
            err.0,
            "hookline.toml has an unknown setting `listen_addr` (did you mean `listen`?); the settings are listed in docs/configuration.md"
        );
        jail.create_file("hookline.toml", "listen = \"127.0.0.1:9000\"\n")?;
        assert_eq!(RawSettings::load().unwrap().listen, "127.0.0.1:9000");
        Ok(())
    });
}

#[test]
fn pool_sizes_are_settings_of_at_least_one() {
    let mut r = raw();
    r.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    let s = Settings::check(r.clone(), false).unwrap();
    assert_eq!((s.database.pool_size, s.database.fast_pool_size), (32, 16));
    r.database_fast_pool_size = 0;
    let err = Settings::check(r, false).err().unwrap();
    assert_eq!(err.0, "HOOKLINE_DATABASE_FAST_POOL_SIZE must be at least 1");
}

#[test]
fn the_acquire_timeout_is_a_setting_within_its_bounds() {
    let mut r = raw();
    r.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    let s = Settings::check(r.clone(), false).unwrap();
    assert_eq!(s.database.acquire_timeout, Duration::from_secs(1));
    r.database_acquire_timeout_ms = 250;
    let s = Settings::check(r.clone(), false).unwrap();
    assert_eq!(s.database.acquire_timeout, Duration::from_millis(250));
    for wrong in [0, 99, 5_001] {
        r.database_acquire_timeout_ms = wrong;
        let err = Settings::check(r.clone(), false).err().unwrap();
        assert_eq!(
            err.0,
            format!("HOOKLINE_DATABASE_ACQUIRE_TIMEOUT_MS must be 100 to 5000 (got {wrong})")
        );
    }
}

#[test]
fn urls_lose_their_password() {
    assert_eq!(
        redact_url("postgres://u:secret@db:5432/h"),
        "postgres://u:***@db:5432/h"
    );
}
