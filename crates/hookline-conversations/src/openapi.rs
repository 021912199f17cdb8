//! The conversation routes' part of the OpenAPI document: the schemas are derived from the types
//! the handlers read and answer ([`crate::requests`], [`crate::views`]).

use hookline_core::http::ListPage;
use utoipa::OpenApi;

use crate::requests::PostMessage;
use crate::views::{
    FollowUpView, LlmTestResult, MessageView, PostedMessage, ReplyView, TurnCall, TurnError,
    TurnResult,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::routes::post,
        crate::routes::list,
        crate::routes::list_follow_ups,
        crate::llm_trial::test
    ),
    components(schemas(
        PostMessage, PostedMessage, ReplyView, TurnCall, TurnError, TurnResult, MessageView,
        ListPage<MessageView>, LlmTestResult, FollowUpView, ListPage<FollowUpView>
    )),
    tags((name = "conversations", description = "The built-in conversation runtime"))
)]
pub struct ConversationsApi;
