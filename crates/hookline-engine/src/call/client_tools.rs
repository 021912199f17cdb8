//! Client tools: the browser runs them. A call without `awaitResult` is answered at once
//! (`pending`); one with it waits, holding a permit of the instance's bounded budget, until the
//! browser's answer is stored (on any instance: the event hub wakes the wait) or its timeout
//! settles it as `client_timeout`.

use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use hookline_core::hub;
use hookline_core::repo::tool_calls;
use hookline_core::{CallStatus, ErrorKind};
use hookline_schema::definition::ClientTool;
use hookline_schema::ToolType;

use super::answers::answer_for_record;
use super::settle::StartedCall;
use super::{CallAnswer, CallError, Engine};
use crate::outcome::Outcome;
use crate::views::CallAnswerView;

/// How often a waiting client-tool call looks at its row although no announcement came (a safety
/// net under NOTIFY, which wakes it as soon as an answer is stored on any instance).
const CLIENT_RECHECK: Duration = Duration::from_secs(2);

impl Engine {
    /// Runs a client-tool call: `pending` at once, or with `awaitResult`, the browser's answer
    /// (or the timeout's).
    pub(crate) async fn client_call(
        &self,
        call: &StartedCall<'_>,
        client: &ClientTool,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<CallAnswer, CallError> {
        let pending = CallAnswer {
            accepted: true,
            body: CallAnswerView::pending(call.id, &call.tool_call_id),
            recorded: false,
        };
        // The started event must be stored before the browser can answer it.
        self.log.flush().await;
        let Some(_permit) = permit else {
            return Ok(pending);
        };
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(u64::from(client.result_timeout_seconds));
        // Subscribed before the first look, so an answer stored in between still wakes us. The
        // answer may be posted to any instance; its event's announcement reaches every one.
        let mut notes = self.hub.subscribe();
        let org_id = call.session.org_id;
        let record = loop {
            if let Some(r) = tool_calls::get(&self.pool, org_id, call.id).await? {
                if r.status.is_settled() {
                    break Some(r);
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break None;
            }
            if !hub::wait_for_session(&mut notes, call.session.id, CLIENT_RECHECK.min(left)).await {
                // The hub has stopped (the process is closing): fall back to looking now and then.
                tokio::time::sleep(CLIENT_RECHECK.min(left)).await;
            }
        };
        if let Some(record) = record {
            return Ok(answer_for_record(&record));
        }
        let message = format!(
            "the browser did not answer within {} seconds",
            client.result_timeout_seconds
        );
        let outcome = Outcome::failed(ErrorKind::ClientTimeout, message);
        match tool_calls::settle_client_call(
            &self.pool,
            call.session.id,
            &call.tool_call_id,
            CallStatus::Failed,
            None,
            outcome.error.as_ref(),
        )
        .await?
        {
            Some(record) => {
                let ms = record.execution_time_ms.unwrap_or_default();
                crate::metrics::record_call(ToolType::Client, &outcome, call.started.elapsed());
                let (event, data) = call.end_event(&outcome, ms);
                self.record_event(call, event, data).await;
                Ok(answer_for_record(&record))
            }
            // The answer came in at the last moment.
            None => Ok(tool_calls::get(&self.pool, org_id, call.id)
                .await?
                .map_or(pending, |r| answer_for_record(&r))),
        }
    }
}
