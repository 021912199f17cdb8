//! Session tokens: single-use, each bound to a snapshot of the persona and its tools as they
//! were when it was issued.

use super::SessionsError;
use chrono::{Duration, Utc};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use hookline_core::credential;
use hookline_core::http::session_auth::SESSION_TOKEN_PREFIX;
use hookline_core::http::{Check, CoreState};
use hookline_core::hub;
use hookline_core::repo::events;
use hookline_core::repo::knowledge::folders;
use hookline_core::repo::sessions::{self as repo, NewToken, Session};
use hookline_core::repo::{llms, personas, tools};
use hookline_core::sealed_tool::SealedTool;
use hookline_core::secrets::variable_context;
use hookline_core::snapshot::{PersonaSnapshot, SessionConfig, SnapshotTool};
use hookline_core::Settings;
use hookline_schema::fields::{object_at, Fields};
use hookline_schema::name::repeated_name;
use hookline_schema::persona::read_persona;
use hookline_schema::variables::parse_variables;
use hookline_schema::{ToolDefinition, Violations};

use crate::views::SessionTokenView;

pub const DEFAULT_LIFETIME_SECONDS: i64 = 3600;
pub const MAX_LIFETIME_SECONDS: i64 = 86_400;

/// What a token is asked for, checked; stored tools are looked up when it is issued.
#[derive(Debug)]
pub struct TokenRequest {
    client_label: Option<String>,
    lifetime: i64,
    persona: PersonaRequest,
    /// `personaConfig.variables`, plain until the token is issued (then sealed in its snapshot).
    variables: IndexMap<String, String>,
}

#[derive(Debug)]
enum PersonaRequest {
    Stored(Uuid),
    Ephemeral {
        persona: PersonaSnapshot,
        tool_ids: Vec<Uuid>,
        inline: Vec<ToolDefinition>,
    },
}

impl TokenRequest {
    /// Reads a `POST /v1/auth/session-token` body, reporting every problem by its field path
    /// (inline tools as `personaConfig.tools[i].field`).
    pub fn parse(body: &Value, settings: &Settings) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let client_label = f.string("clientLabel").map(str::to_owned);
        let lifetime = f
            .integer_in("expiresInSeconds", 1..=MAX_LIFETIME_SECONDS)
            .unwrap_or(DEFAULT_LIFETIME_SECONDS);
        let config = f.required("personaConfig").cloned();
        f.finish("a session token request");
        let mut variables = IndexMap::new();
        let persona = match config {
            Some(Value::Object(config)) => {
                if let Some(given) = config.get("variables").filter(|v| !v.is_null()) {
                    let path = "personaConfig.variables";
                    variables = parse_variables(given, path, &mut v).unwrap_or_default();
                }
                parse_persona_config(&config, settings, &mut v)
            }
            Some(_) => {
                v.wrong_type("personaConfig", "an object");
                None
            }
            None => None,
        };
        if let Some(label) = &client_label {
            if label.chars().count() > 256 {
                v.rule("clientLabel", "must be at most 256 characters");
            }
        }
        match persona {
            Some(persona) if v.is_empty() => Ok(TokenRequest {
                client_label,
                lifetime,
                persona,
                variables,
            }),
            _ => Err(v),
        }
    }
}

/// The route's reading; its document is [`crate::requests::SessionTokenRequest`] (the persona
/// config's two shapes are told apart by `personaId`, which a derived type cannot say).
impl Check for TokenRequest {
    fn check(body: &Value, settings: &Settings) -> Result<Self, Violations> {
        Self::parse(body, settings)
    }
}

fn parse_persona_config(
    config: &Map<String, Value>,
    settings: &Settings,
    v: &mut Violations,
) -> Option<PersonaRequest> {
    let prefix = "personaConfig";
    if config.contains_key("personaId") {
        let mut f = Fields::new(config, prefix, v);
        let id = f.required_string("personaId");
        f.get("variables"); // read by the caller
        f.finish("a personaConfig with personaId (a stored persona takes no other fields)");
        let id = id?;
        return match Uuid::parse_str(id) {
            Ok(id) => Some(PersonaRequest::Stored(id)),
            Err(_) => {
                v.rule(
                    "personaConfig.personaId",
                    "is not a persona of your organization",
                );
                None
            }
        };
    }
    let mut f = Fields::new(config, prefix, v);
    let fields = read_persona(&mut f, false);
    let tools = f.get("tools");
    f.get("variables"); // read by the caller
    f.finish("a personaConfig");
    let mut inline = Vec::new();
    match tools {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match ToolDefinition::parse(
                    item,
                    &format!("{prefix}.tools[{i}]"),
                    &settings.destinations,
                ) {
                    Ok(tool) => inline.push(tool),
                    Err(problems) => v.extend_prefixed("", problems),
                }
            }
        }
        Some(_) => v.wrong_type("personaConfig.tools", "an array of tool definitions"),
    }
    let persona = PersonaSnapshot {
        name: (!fields.name.is_empty()).then_some(fields.name),
        details: fields.details,
    };
    Some(PersonaRequest::Ephemeral {
        persona,
        tool_ids: fields.tool_ids,
        inline,
    })
}

/// Copies stored tools into snapshot form, in the order of `ids`; a missing one is a 422
/// naming `field[i]`.
async fn snapshot_stored(
    conn: &mut PgConnection,
    org_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> Result<Vec<SnapshotTool>, SessionsError> {
    let found = tools::get_all(&mut *conn, org_id, ids, field)
        .await?
        .map_err(SessionsError::Invalid)?;
    Ok(found
        .into_iter()
        .map(|t| SnapshotTool {
            tool_id: Some(t.id),
            version: Some(t.version),
            tool: t.tool,
        })
        .collect())
}

/// The configuration the token is issued for.
async fn snapshot(
    conn: &mut PgConnection,
    settings: &Settings,
    org_id: Uuid,
    request: PersonaRequest,
) -> Result<SessionConfig, SessionsError> {
    let config = match request {
        PersonaRequest::Stored(id) => {
            let persona = personas::get(&mut *conn, org_id, id)
                .await?
                .ok_or_else(|| {
                    SessionsError::field(
                        "personaConfig.personaId",
                        "is not a persona of your organization",
                    )
                })?;
            let ids: Vec<Uuid> = personas::tools_of(&mut *conn, &[id])
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect();
            SessionConfig {
                persona_id: Some(id),
                persona: PersonaSnapshot {
                    details: persona.details(),
                    name: Some(persona.name),
                },
                tools: snapshot_stored(conn, org_id, &ids, "personaConfig.toolIds").await?,
                variables: IndexMap::new(),
            }
        }
        PersonaRequest::Ephemeral {
            persona,
            tool_ids,
            inline,
        } => {
            let mut tools =
                snapshot_stored(conn, org_id, &tool_ids, "personaConfig.toolIds").await?;
            if let Some(llm_id) = &persona.details.llm_id {
                llms::check_id(&mut *conn, org_id, llm_id, "personaConfig.llmId")
                    .await?
                    .map_err(SessionsError::Invalid)?;
            }
            let mut problems = Violations::new();
            for (i, definition) in inline.iter().enumerate() {
                if let ToolDefinition::Server(tool) = definition {
                    if tool.is_knowledge() {
                        let field = format!("personaConfig.tools[{i}].documentFolderIds");
                        problems.extend_prefixed(
                            "",
                            folders::check_owned(
                                &mut *conn,
                                org_id,
                                &tool.document_folder_ids,
                                &field,
                            )
                            .await?,
                        );
                    }
                }
            }
            problems.into_result(()).map_err(SessionsError::Invalid)?;
            tools.extend(inline.into_iter().map(|definition| SnapshotTool {
                tool_id: None,
                version: None,
                tool: SealedTool::seal(definition, org_id, &settings.secrets),
            }));
            SessionConfig {
                persona_id: None,
                persona,
                tools,
                variables: IndexMap::new(),
            }
        }
    };
    if let Some(name) = repeated_name(config.tools.iter().map(|t| t.tool.definition.name())) {
        return Err(SessionsError::RepeatedToolName(name.to_owned()));
    }
    Ok(config)
}

/// Issues a single-use session token for `request`, bound to a snapshot of the persona and its
/// tools as they are now (later edits to stored tools do not reach it). Only the token's hash is
/// stored; the token itself is in the answer alone.
pub async fn issue_token(
    state: &CoreState,
    org_id: Uuid,
    request: TokenRequest,
) -> Result<SessionTokenView, SessionsError> {
    let mut conn = state.pool.acquire().await?;
    let persona_id = match request.persona {
        PersonaRequest::Stored(id) => Some(id),
        PersonaRequest::Ephemeral { .. } => None,
    };
    let mut config = snapshot(&mut conn, &state.settings, org_id, request.persona).await?;
    // Sealed like header values: a variable may carry a customer's token or account number.
    config.variables = request
        .variables
        .iter()
        .map(|(name, value)| {
            let context = variable_context(org_id, name);
            (name.clone(), state.settings.secrets.seal(value, &context))
        })
        .collect();
    let token = credential::generate(SESSION_TOKEN_PREFIX);
    let expires_at = Utc::now() + Duration::seconds(request.lifetime);
    repo::insert_token(
        &mut *conn,
        &NewToken {
            token_hash: &credential::hash(&token),
            org_id,
            persona_id,
            client_label: request.client_label.as_deref(),
            config: &config,
            expires_at,
        },
    )
    .await?;
    tracing::info!(tools = config.tools.len(), "session token issued");
    Ok(SessionTokenView {
        session_token: token,
        expires_at,
    })
}

/// Retakes the tools of an active session of a stored persona from the persona as it is now, and
/// stores them when they differ (another tool list, or another version of one): what an MCP
/// session does when its persona's tools change, so the client that lists again sees them. Other
/// sessions keep the snapshot they opened with. Answers the session as it is now: unchanged when
/// nothing differs, when it has no stored persona, or when the persona is gone (its calls then
/// run on what they had).
pub async fn follow_persona(state: &CoreState, session: Session) -> Result<Session, SessionsError> {
    let Some(persona_id) = session.persona_id else {
        return Ok(session);
    };
    let mut conn = state.pool.acquire().await?;
    let now = match snapshot(
        &mut conn,
        &state.settings,
        session.org_id,
        PersonaRequest::Stored(persona_id),
    )
    .await
    {
        Ok(config) => config,
        Err(e) if !e.is_fault() => return Ok(session),
        Err(e) => return Err(e),
    };
    let versions = |c: &SessionConfig| -> Vec<(Option<Uuid>, Option<i32>)> {
        c.tools.iter().map(|t| (t.tool_id, t.version)).collect()
    };
    if versions(&now) == versions(&session.config.0) {
        return Ok(session);
    }
    let config = SessionConfig {
        persona: session.config.0.persona.clone(),
        ..now
    };
    let (org_id, id) = (session.org_id, session.id);
    // Announced in the same transaction, so the word goes out exactly when the new snapshot is
    // there to read: instances keeping the old one in memory (the MCP server's) drop it.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let stored = repo::set_config(&mut *tx, org_id, id, &config).await?;
    if stored.is_some() {
        events::notify(&mut *tx, &[hub::config_changed(id)]).await?;
    }
    tx.commit().await?;
    tracing::info!(session_id = %id, tools = config.tools.len(), "session follows its persona's tools");
    Ok(stored.unwrap_or(session))
}
