//! The command line: `serve`, `migrate`, `orgs create`, `api-keys create`, `secrets rotate`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use hookline_core::db;
use hookline_core::repo::{api_keys, organizations};
use hookline_core::settings::{RawSettings, Settings};
use hookline_core::StoreError;

use crate::app;
use crate::telemetry;

#[derive(Parser)]
#[command(name = "hookline", version, about = "Webhook tools for AI personas")]
struct Cli {
    /// Development mode: http:// URLs and private destinations allowed, a local encryption key.
    #[arg(long, global = true)]
    dev: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API (migrations are applied first).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage organizations.
    Orgs {
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// Manage API keys.
    #[command(name = "api-keys")]
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// Print the OpenAPI document (as committed in docs/openapi.json).
    Openapi,
    /// Manage encrypted secrets.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Subcommand)]
enum OrgsCommand {
    /// Create an organization and print its id.
    Create { name: String },
}

#[derive(Subcommand)]
enum ApiKeysCommand {
    /// Create an API key; the key is printed once, as the last line of output.
    Create {
        /// The organization's name or id.
        #[arg(long)]
        org: String,
        /// A label for the key.
        #[arg(long, default_value = "default")]
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every secret under the current HOOKLINE_ENCRYPTION_KEY.
    Rotate,
}

/// Runs the command line; errors become one line on stderr and a non-zero exit.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Openapi = cli.command {
        print!("{}", crate::openapi::document_json());
        return Ok(());
    }
    let raw = RawSettings::load().map_err(|e| e.to_string())?;
    telemetry::init_logging(raw.log_format);
    let settings = Settings::check(raw, cli.dev).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let pool =
                db::connect_or_create(&settings.database_url, 2, db::COMMAND_ACQUIRE_TIMEOUT)
                    .await
                    .map_err(|e| e.to_string())?;
            db::migrate(
                &pool,
                &settings.database_url,
                settings.database_direct_url.as_deref(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
        Command::Orgs {
            command: OrgsCommand::Create { name },
        } => create_org(settings, &name).await,
        Command::ApiKeys {
            command: ApiKeysCommand::Create { org, name, json },
        } => create_api_key(settings, &org, &name, json).await,
        Command::Secrets {
            command: SecretsCommand::Rotate,
        } => rotate_secrets(settings).await,
        Command::Openapi => unreachable!("answered before the settings are read"),
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let listen = settings.listen;
    let mode = settings.mode;
    // The API's port first: a second instance on one host then fails naming HOOKLINE_LISTEN,
    // the setting to change first, rather than the metrics port bound by `app::build`.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} (HOOKLINE_LISTEN): {e}"))?;
    let app = app::build(settings).await.map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Only now, with the database reached and the port bound, is a new development key kept.
    app.state
        .settings
        .keep_dev_key()
        .map_err(|e| e.to_string())?;
    hookline_sessions::janitor::spawn(
        app.state.pool.clone(),
        app.state.settings.session_retention,
        app.state.away.clone(),
    );
    tracing::info!(
        address = %local,
        mode = ?mode,
        lab = %format!("http://{local}/lab"),
        docs = %format!("http://{local}/docs"),
        openapi = %format!("http://{local}/openapi.json"),
        "hookline is listening"
    );
    app::serve(app, listener, app::shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// The database of a command other than `serve` and `migrate`: it must exist already.
async fn connect(settings: &Settings) -> Result<sqlx::PgPool, String> {
    let pool = db::connect_existing(&settings.database_url, 2)
        .await
        .map_err(|e| e.to_string())?;
    db::migrate(
        &pool,
        &settings.database_url,
        settings.database_direct_url.as_deref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    settings.keep_dev_key().map_err(|e| e.to_string())?;
    Ok(pool)
}

async fn create_org(settings: Settings, name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("an organization name must be 1 to 100 characters".into());
    }
    let pool = connect(&settings).await?;
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let org = match organizations::create(&mut tx, &settings.secrets, name).await {
        Ok(org) => org,
        Err(StoreError::Conflict { .. }) => {
            return Err(format!("an organization named {name:?} exists already"))
        }
        Err(e) => return Err(e.to_string()),
    };
    tx.commit().await.map_err(|e| e.to_string())?;
    println!("{}", org.id);
    Ok(())
}

async fn create_api_key(
    settings: Settings,
    org: &str,
    name: &str,
    as_json: bool,
) -> Result<(), String> {
    let pool = connect(&settings).await?;
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    let Some(org) = organizations::find(&mut conn, org)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err(format!(
            "no organization named or with id {org:?}; create one with `hookline orgs create NAME`"
        ));
    };
    let created = api_keys::create(&mut *conn, org.id, name)
        .await
        .map_err(|e| e.to_string())?;
    if as_json {
        let out = json!({
            "id": created.record.id,
            "orgId": org.id,
            "name": created.record.name,
            "key": created.key.expose(),
            "createdAt": created.record.created_at,
        });
        println!("{out}");
    } else {
        println!(
            "API key {} ({}) for organization {}; it is shown only now:",
            created.record.id, created.record.name, org.name
        );
        println!("{}", created.key.expose());
    }
    Ok(())
}

async fn rotate_secrets(settings: Settings) -> Result<(), String> {
    let pool = connect(&settings).await?;
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let done = hookline_core::repo::reseal_all(&mut tx, &settings.secrets)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let key = settings.secrets.current_key_id();
    println!("re-encrypted {} secrets under key {key}", done.resealed);
    if done.unopened.is_empty() {
        println!("old keys can now be dropped");
        return Ok(());
    }
    for u in &done.unopened {
        eprintln!(
            "cannot open: organization {}: {}: {}",
            u.org_id, u.what, u.error
        );
    }
    Err(format!(
        "{} secrets could not be opened and were left as they are; add the keys they name to HOOKLINE_ENCRYPTION_OLD_KEYS and run this again",
        done.unopened.len()
    ))
}
