//! Answers for calls already stored: a repeated `toolCallId` gets the first run's answer, and a
//! client call gets the browser's, in the same shape as a call answered as it ran.

use hookline_core::repo::tool_calls::{self, CallRecord};

use super::{CallAnswer, CallError, Engine};
use crate::call_log::CallRecorder;
use crate::views::CallAnswerView;

impl Engine {
    /// The stored call for a repeated `toolCallId`. If it looks unfinished, its end may still sit
    /// in this instance's call-log queue or the caller's recorder: write those out and look again.
    pub(crate) async fn repeated(
        &self,
        record: CallRecord,
        recorder: Option<&dyn CallRecorder>,
    ) -> Result<CallAnswer, CallError> {
        if record.status.is_settled() {
            return Ok(answer_for_record(&record));
        }
        if let Some(recorder) = recorder {
            recorder.written().await;
        }
        self.log.flush().await;
        let fresh = tool_calls::get(&self.pool, record.org_id, record.id).await?;
        Ok(answer_for_record(fresh.as_ref().unwrap_or(&record)))
    }
}

/// The answer for a call already stored (a repeated `toolCallId`, or a client answer).
pub(crate) fn answer_for_record(r: &CallRecord) -> CallAnswer {
    let body = CallAnswerView::of_record(r);
    CallAnswer {
        accepted: body.result.is_none(),
        body,
        recorded: false,
    }
}
