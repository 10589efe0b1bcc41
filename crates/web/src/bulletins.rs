//! Bulletins: written by the campaign office and coordinators, public once published (pages and an Atom feed).

use axum::Router;

use crate::Shared;

/// This module's own words (see `i18n`).
pub(crate) static MESSAGES: crate::i18n::Messages = &[];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
