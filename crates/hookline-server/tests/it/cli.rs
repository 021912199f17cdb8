//! The real `hookline` binary.

use std::process::{Command, Output};

use crate::harness::{cleanup_guard, fresh_database_url, fresh_database_url_ending, test_key_b64};

fn hookline(args: &[&str], env: &[(&str, &str)]) -> Output {
    hookline_in(None, args, env)
}

/// Runs the binary in `dir` (the working directory a user happens to be in).
fn hookline_in(dir: Option<&std::path::Path>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookline"));
    cmd.args(args)
        .env_remove("HOOKLINE_ENV")
        .env_remove("HOOKLINE_ENCRYPTION_KEY")
        .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
        .env_remove("HOOKLINE_DEV_KEY_FILE")
        .env_remove("XDG_DATA_HOME")
        .env("RUST_LOG", "warn");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

/// A database created the way a user creates one: `hookline migrate`.
fn migrated_database() -> String {
    let db = fresh_database_url();
    let key = test_key_b64();
    let out = hookline(
        &["migrate"],
        &[
            ("DATABASE_URL", db.as_str()),
            ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

/// Whether the Postgres server has a database of that URL's name.
fn database_exists(url: &str) -> bool {
    let name = url.rsplit('/').next().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&format!("{}/postgres", crate::harness::server_url()))
            .await
            .unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
        n == 1
    })
}

fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hookline-{label}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// [`hookline`] from an async test whose app runs on the test's runtime: the command runs on a
/// blocking thread, so the app keeps serving (and finishing its transactions) meanwhile. Run
/// in place, it could wait for a row lock held by the app's call-log writer, which could not run.
pub(crate) async fn hookline_beside_an_app(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        hookline(&args, &env)
    })
    .await
    .expect("the command ran")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn orgs_and_api_keys_are_created_and_only_a_hash_is_stored() {
    let _cleanup = cleanup_guard();
    let db = migrated_database();
    let key = test_key_b64();
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
    ];

    let out = hookline(&["orgs", "create", "acme"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let org_id = text(&out.stdout).trim().to_owned();
    assert!(uuid::Uuid::parse_str(&org_id).is_ok(), "{org_id}");

    let out = hookline(&["orgs", "create", "acme"], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exists already"),
        "{}",
        text(&out.stderr)
    );

    let out = hookline(
        &["api-keys", "create", "--org", "acme", "--name", "ci"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let api_key = stdout.lines().last().unwrap().to_owned();
    assert!(
        api_key.starts_with("hk_") && api_key.len() >= 46,
        "{api_key}"
    );

    let out = hookline(&["api-keys", "create", "--org", &org_id, "--json"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["key"].as_str().unwrap().starts_with("hk_"));
    assert_eq!(json["orgId"], org_id.as_str());

    // The database holds hashes, never the keys.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&db).await.unwrap();
        let dump: Vec<(String,)> = sqlx::query_as("SELECT row_to_json(k)::text FROM api_keys k")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(dump.len(), 2);
        for (row,) in dump {
            assert!(!row.contains(&api_key[3..]), "{row}");
        }
    });
}

#[test]
fn api_key_for_an_unknown_org_fails_and_creates_nothing() {
    let _cleanup = cleanup_guard();
    let db = migrated_database();
    let key = test_key_b64();
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
    ];
    let out = hookline(&["api-keys", "create", "--org", "nobody"], &env);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no organization named or with id \"nobody\""),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&db).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM api_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn production_without_a_key_names_the_variable() {
    let out = hookline(
        &["serve"],
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_ENCRYPTION_KEY is required in production"),
        "{stderr}"
    );
    assert!(stderr.contains("openssl rand -base64 32"), "{stderr}");
    assert!(!stderr.contains("panicked"));

    let out = hookline(&["serve"], &[("HOOKLINE_ENCRYPTION_KEY", "dG9vIHNob3J0")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_ENCRYPTION_KEY must be base64 of exactly 32 random bytes"),
        "{stderr}"
    );
}

#[test]
fn a_second_instance_on_one_host_is_told_about_the_api_port_first() {
    // Both ports taken, as by a first instance with the default settings.
    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let key = test_key_b64();
    let api_addr = api.local_addr().unwrap().to_string();
    let metrics_addr = metrics.local_addr().unwrap().to_string();
    let out = hookline(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused"),
            ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
            ("HOOKLINE_LISTEN", api_addr.as_str()),
            ("HOOKLINE_METRICS_LISTEN", metrics_addr.as_str()),
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {api_addr} (HOOKLINE_LISTEN)")),
        "{stderr}"
    );
}

#[test]
fn the_production_hint_of_a_command_adds_the_flag() {
    let out = hookline(
        &["orgs", "create", "acme"],
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("or add `--dev` to the command to try Hookline locally"),
        "{stderr}"
    );
    let out = hookline(
        &["migrate"],
        &[("DATABASE_URL", "postgress://postgres@127.0.0.1:5432/unused")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("DATABASE_URL must start with postgres:// or postgresql://"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_lease_shorter_than_the_longest_timeout_is_refused_at_start() {
    let key = test_key_b64();
    let out = hookline(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused"),
            ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
            ("HOOKLINE_DELIVERY_LEASE_SECONDS", "30"),
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_DELIVERY_LEASE_SECONDS must be at least 75"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let key = test_key_b64();
    let out = hookline(
        &["migrate"],
        &[
            (
                "DATABASE_URL",
                "postgres://hook:s3cret@127.0.0.1:1/hookline",
            ),
            ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot reach the database at postgres://hook:***@127.0.0.1:1/hookline"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"));
}

#[test]
fn serve_starts_answers_and_stops_on_sigterm() {
    let _cleanup = cleanup_guard();
    let db = fresh_database_url();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let key = test_key_b64();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("HOOKLINE_ENCRYPTION_KEY", &key)
        .env("HOOKLINE_LISTEN", &listen)
        .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let url = format!("http://{listen}/readyz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ready = loop {
        if let Ok(r) = blocking::get(&url) {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(ready, 200);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

mod blocking {
    /// A tiny blocking GET over a fresh runtime, returning the status code.
    pub fn get(url: &str) -> Result<u16, ::reqwest::Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { Ok(::reqwest::get(url).await?.status().as_u16()) })
    }
}

#[test]
fn commands_other_than_serve_and_migrate_never_create_a_database() {
    let _cleanup = cleanup_guard();
    let db = fresh_database_url();
    let name = db.rsplit('/').next().unwrap().to_owned();
    let key = test_key_b64();
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
    ];
    for args in [
        &["orgs", "create", "acme"][..],
        &["api-keys", "create", "--org", "acme"][..],
        &["secrets", "rotate"][..],
    ] {
        let out = hookline(args, &env);
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("there is no database {name} at ")),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("`hookline migrate`"), "{stderr}");
        assert!(!database_exists(&db), "{args:?} created {name}");
    }
    let out = hookline(&["migrate"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(database_exists(&db));
    let out = hookline(&["orgs", "create", "acme"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `CREATE DATABASE` is the one statement built from text (a name is not a bind parameter, see
/// docs/architecture.md): a name that only works quoted is created exactly as written.
#[test]
fn migrate_creates_a_database_whose_name_must_be_quoted() {
    let _cleanup = cleanup_guard();
    let db = fresh_database_url_ending("-Mixed-Case");
    let key = test_key_b64();
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
    ];
    let out = hookline(&["migrate"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(database_exists(&db), "{db}");
    let out = hookline(&["orgs", "create", "acme"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn the_development_key_lives_in_one_place_whatever_the_directory() {
    let _cleanup = cleanup_guard();
    let home = temp_dir("home");
    let home_str = home.to_str().unwrap().to_owned();
    let key_file = home.join(".local/share/hookline/dev-key");
    let run = |dir: &std::path::Path, args: &[&str], db: &str| {
        hookline_in(
            Some(dir),
            args,
            &[("HOME", &home_str), ("DATABASE_URL", db)],
        )
    };

    // A start that fails (no database server there) leaves no key behind.
    let out = run(
        &home,
        &["--dev", "orgs", "create", "acme"],
        "postgres://postgres@127.0.0.1:1/hookline",
    );
    assert!(!out.status.success());
    assert!(
        !key_file.exists(),
        "a failed start wrote {}",
        key_file.display()
    );

    let db = migrated_database();
    let first_dir = temp_dir("first");
    let out = run(&first_dir, &["--dev", "orgs", "create", "acme"], &db);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(key_file.to_str().unwrap()),
        "the new key's full path is printed: {stderr}"
    );
    assert!(!first_dir.join(".hookline-dev-key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let written = std::fs::read_to_string(&key_file).unwrap();

    // Another directory: the same key opens what the first command sealed.
    let second_dir = temp_dir("second");
    let out = run(&second_dir, &["--dev", "orgs", "create", "globex"], &db);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("generated"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), written);
    let out = run(&second_dir, &["--dev", "secrets", "rotate"], &db);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for dir in [home, first_dir, second_dir] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn configuration_mistakes_are_one_line_naming_the_setting() {
    let out = hookline(&["migrate"], &[("HOOKLINE_ENV", "dev")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "error: HOOKLINE_ENV (`env` in hookline.toml) must be one of production, development (got \"dev\")"
    );
    let dir = temp_dir("toml");
    std::fs::write(dir.join("hookline.toml"), "listen_addr = \"127.0.0.1:9\"\n").unwrap();
    let out = hookline_in(Some(&dir), &["serve", "--dev"], &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("unknown setting `listen_addr` (did you mean `listen`?)"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_test_database_is_dropped_when_its_test_ends_even_on_failure() {
    // A test that fails while its app holds a database: the database is gone afterwards.
    let db = fresh_database_url();
    let db_in_test = db.clone();
    let failed = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let app = crate::harness::TestApp::spawn_with(crate::harness::RawSettings {
                database_url: db_in_test,
                ..crate::harness::raw_settings()
            })
            .await;
            app.org("acme").await;
            panic!("a failing test");
        });
    })
    .join();
    assert!(failed.is_err());
    assert!(!database_exists(&db), "{db} outlived its test");
}
