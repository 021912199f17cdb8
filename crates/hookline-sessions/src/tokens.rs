//! `POST /v1/auth/session-token`: a single-use token bound to a snapshot of the persona and its
//! tools as they are now.

use axum::extract::State;
use axum::Json;
use chrono::{Duration, Utc};
use hookline_core::http::problem::responses::{
    BadRequest, Invalid, TooLarge, Unauthorized, Unavailable,
};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use hookline_core::http::{ApiError, Caller, CoreState, JsonBody};
use hookline_core::repo::sessions::{self as repo, NewToken};
use hookline_core::repo::{llms, personas, tools};
use hookline_core::sealed_tool::SealedTool;
use hookline_core::snapshot::{PersonaSnapshot, SessionConfig, SnapshotTool};
use hookline_core::Settings;
use hookline_schema::fields::Fields;
use hookline_schema::persona::read_persona;
use hookline_schema::{ToolDefinition, Violations};

use hookline_core::http::session_auth::{generate, hash, SESSION_TOKEN_PREFIX};

use crate::requests::SessionTokenRequest;
use crate::views::SessionTokenView;

pub const DEFAULT_LIFETIME_SECONDS: i64 = 3600;
pub const MAX_LIFETIME_SECONDS: i64 = 86_400;

/// What the body asks for, checked; stored tools are looked up afterwards.
struct TokenRequest {
    client_label: Option<String>,
    lifetime: i64,
    persona: PersonaRequest,
}

enum PersonaRequest {
    Stored(Uuid),
    Ephemeral {
        persona: PersonaSnapshot,
        tool_ids: Vec<Uuid>,
        inline: Vec<ToolDefinition>,
    },
}

fn parse_request(body: &Value, settings: &Settings) -> Result<TokenRequest, Violations> {
    let mut v = Violations::new();
    let Some(map) = body.as_object() else {
        v.wrong_type("", "a JSON object");
        return Err(v);
    };
    let mut f = Fields::new(map, "", &mut v);
    let client_label = f.string("clientLabel").map(str::to_owned);
    let lifetime = f
        .integer_in("expiresInSeconds", 1..=MAX_LIFETIME_SECONDS)
        .unwrap_or(DEFAULT_LIFETIME_SECONDS);
    let config = f.required("personaConfig").cloned();
    f.finish("a session token request");
    let persona = match config {
        Some(Value::Object(config)) => parse_persona_config(&config, settings, &mut v),
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
        }),
        _ => Err(v),
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
        description: fields.description,
        system_prompt: fields.system_prompt,
        llm_id: fields.llm_id,
        language_code: fields.language_code,
        avatar_id: fields.avatar_id,
        voice_id: fields.voice_id,
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
) -> Result<Vec<SnapshotTool>, ApiError> {
    let found = tools::get_all(&mut *conn, org_id, ids, field)
        .await?
        .map_err(ApiError::invalid)?;
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
) -> Result<SessionConfig, ApiError> {
    let config = match request {
        PersonaRequest::Stored(id) => {
            let persona = personas::get(&mut *conn, org_id, id)
                .await?
                .ok_or_else(|| {
                    ApiError::field(
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
                    name: Some(persona.name),
                    description: persona.description,
                    system_prompt: persona.system_prompt,
                    llm_id: persona.llm_id,
                    language_code: persona.language_code,
                    avatar_id: persona.avatar_id,
                    voice_id: persona.voice_id,
                },
                tools: snapshot_stored(conn, org_id, &ids, "personaConfig.toolIds").await?,
            }
        }
        PersonaRequest::Ephemeral {
            persona,
            tool_ids,
            inline,
        } => {
            let mut tools =
                snapshot_stored(conn, org_id, &tool_ids, "personaConfig.toolIds").await?;
            if let Some(llm_id) = &persona.llm_id {
                llms::check_id(&mut *conn, org_id, llm_id, "personaConfig.llmId")
                    .await?
                    .map_err(ApiError::invalid)?;
            }
            tools.extend(inline.into_iter().map(|definition| SnapshotTool {
                tool_id: None,
                version: None,
                tool: SealedTool::seal(definition, org_id, &settings.secrets),
            }));
            SessionConfig {
                persona_id: None,
                persona,
                tools,
            }
        }
    };
    let mut names = std::collections::HashSet::new();
    for tool in &config.tools {
        let name = tool.tool.definition.name();
        if !names.insert(name) {
            return Err(ApiError::conflict(format!(
                "two tools named {name:?}: a persona's tool names must be unique"
            )));
        }
    }
    Ok(config)
}

#[utoipa::path(
    post, path = "/v1/auth/session-token", tag = "sessions",
    summary = "Issue a single-use session token for a stored or ephemeral persona",
    operation_id = "issueSessionToken",
    security(("apiKey" = [])),
    request_body = SessionTokenRequest,
    responses(
        (status = 200, body = SessionTokenView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, description = "Two tools with one name", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn issue(
    State(state): State<CoreState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Json<SessionTokenView>, ApiError> {
    let request = parse_request(&body.0, &state.settings).map_err(ApiError::invalid)?;
    let mut conn = state.pool.acquire().await?;
    let persona_id = match request.persona {
        PersonaRequest::Stored(id) => Some(id),
        PersonaRequest::Ephemeral { .. } => None,
    };
    let config = snapshot(&mut conn, &state.settings, caller.org_id, request.persona).await?;
    let token = generate(SESSION_TOKEN_PREFIX);
    let expires_at = Utc::now() + Duration::seconds(request.lifetime);
    repo::insert_token(
        &mut *conn,
        &NewToken {
            token_hash: &hash(&token),
            org_id: caller.org_id,
            persona_id,
            client_label: request.client_label.as_deref(),
            config: &config,
            expires_at,
        },
    )
    .await?;
    tracing::info!(tools = config.tools.len(), "session token issued");
    Ok(Json(SessionTokenView {
        session_token: token,
        expires_at,
    }))
}
