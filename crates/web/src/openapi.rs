//! The API's OpenAPI document, served at `/api/v1/openapi.json`, built from the
//! handlers' own annotations so that it cannot drift from them.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::Shared;

#[derive(OpenApi)]
#[openapi(
    info(title = "Grassroots API", description = "The campaign's data, scoped to the signed-in account. Authenticate with the sign-in cookie (and send X-CSRF-Token on changes) or with `Authorization: Bearer TOKEN` from `grassroots user token NAME`."),
    paths(
        crate::auth::signin_api, crate::auth::me,
        crate::campaigns::list_api, crate::campaigns::get_api, crate::campaigns::put_api,
        crate::dashboard::coverage_api, crate::dashboard::progress_api, crate::dashboard::region_api,
        crate::units::list_api, crate::units::get_api, crate::units::create_api, crate::units::update_api,
        crate::lecturers::list_api, crate::lecturers::get_api, crate::lecturers::create_api, crate::lecturers::update_api,
        crate::sessions::list_api, crate::sessions::get_api, crate::sessions::create_api, crate::sessions::update_api,
        crate::imports::import_api,
        crate::bulletins::list_api, crate::bulletins::get_api, crate::bulletins::create_api, crate::bulletins::update_api, crate::bulletins::publish_api,
        crate::photos::upload_api, crate::photos::session_photos_api, crate::photos::attach_api,
        crate::requests::create_api, crate::requests::list_api, crate::requests::get_api, crate::requests::step_api,
        crate::requests::suggestions_api, crate::requests::plan_api, crate::lecturer::my_api,
        crate::supervision::supervision_api, crate::supervision::digest_api, crate::supervision::notifications_api, crate::supervision::read_api, crate::supervision::read_all_api,
    ),
    components(schemas(crate::error::ErrorJson, crate::error::RowJson, crate::export::Format))
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/api/v1/openapi.json", get(|| async { Json(document()) }))
}
