//! The lecturers' own view: assignments, requests they may claim, sessions planned with
//! them by date, and the phone-sized report form. Villages often have a poor
//! connection: the form (with `static/report.js`) keeps a report on the phone when it
//! cannot be sent and sends it when the connection returns; the report carries an id
//! made on the phone, so a report sent twice is stored once.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use store::MyWork;

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::render::{self, ShowErr, Shown};
use crate::sessions::entry_title;
use crate::units::today;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/my", get(my_page))
        .route("/requests/{id}/report", get(report_page))
        .route("/api/v1/my", get(my_api))
}

/// Whose work, in which campaign.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MyQuery {
    /// The campaign (default: the first).
    #[serde(default)]
    campaign: String,
}

async fn work(state: &Shared, viewer: &Viewer, campaign: String) -> Result<(String, MyWork), AppError> {
    state
        .as_account(&viewer.account, move |s| {
            let key = if campaign.is_empty() { s.campaigns()?.first().map(|c| c.key.clone()).unwrap_or_default() } else { campaign };
            let work = s.my_work(&key, today())?;
            Ok((key, work))
        })
        .await
}

/// The signed-in lecturer's assignments, claimable requests and planned sessions.
#[utoipa::path(get, path = "/api/v1/my", tag = "requests", params(MyQuery),
    responses((status = 200, body = MyWork), (status = 403, body = crate::error::ErrorJson)))]
async fn my_api(State(state): State<Shared>, viewer: Viewer, Query(q): Query<MyQuery>) -> Result<Json<MyWork>, AppError> {
    Ok(Json(work(&state, &viewer, q.campaign).await?.1))
}

async fn my_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Query(q): Query<MyQuery>) -> Result<Response, Shown> {
    let (key, work) = work(&state, &viewer, q.campaign).await.shown(lang)?;
    let ctx = json!({ "title": lang.t("my_work"), "campaign": key, "work": work });
    Ok(render::page(&state, &viewer, lang, "my.html", ctx).await?.into_response())
}

async fn report_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<i64>) -> Result<Response, Shown> {
    let (request, campaign) = state
        .as_account(&viewer.account, move |s| {
            let r = s.request(id)?;
            let c = s.campaign(&r.campaign)?;
            Ok((r, c))
        })
        .await
        .shown(lang)?;
    let options = |list: &[store::CampaignEntry], chosen: &[String]| -> Vec<serde_json::Value> {
        list.iter().map(|e| json!({ "value": e.key, "label": entry_title(lang, e), "selected": chosen.contains(&e.key) })).collect()
    };
    let ctx = json!({
        "title": lang.t("req_report"),
        "campaign": campaign.key,
        "request": request,
        "today": today().to_string(),
        "topics": options(&campaign.topics, &request.topics),
        "audiences": options(&campaign.audiences, &request.audiences),
    });
    Ok(render::page(&state, &viewer, lang, "my.html", ctx).await?.into_response())
}
