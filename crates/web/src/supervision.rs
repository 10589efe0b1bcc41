//! Supervision: alerts, rankings, notifications and the daily digest.

use axum::Router;

use crate::Shared;

/// This module's own words (see `i18n`).
pub(crate) static MESSAGES: crate::i18n::Messages = &[];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
