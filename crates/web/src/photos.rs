//! Photos: uploaded, checked by content, served with their type.

use axum::Router;

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
