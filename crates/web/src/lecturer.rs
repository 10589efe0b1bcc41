//! The lecturers' own view: assignments, claimable requests, planned sessions, and the
//! report form that works offline.

use axum::Router;

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
