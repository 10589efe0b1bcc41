//! Lecturers: the searchable list, a lecturer's page and form; the same under
//! `/api/v1/lecturers`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use store::{LecturerInput, LecturerView, Page};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::export::{Format, Table};
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown, cell, merge, pager};
use crate::units::{division_param, paging};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/lecturers", get(list_page))
        .route("/lecturers/new", get(new_form).post(create_form))
        .route("/lecturers/{key}", get(detail_page))
        .route("/lecturers/{key}/edit", get(edit_form).post(update_form))
        .route("/api/v1/lecturers", get(list_api).post(create_api))
        .route("/api/v1/lecturers/{key}", get(get_api).put(update_api))
}

/// Which lecturers to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LecturerQuery {
    /// Words in the name or key.
    #[serde(default)]
    q: String,
    /// Only lecturers of groups under this division.
    #[serde(default)]
    under: String,
    /// Page, from 1.
    page: Option<i64>,
    /// Rows per page (default 50).
    per_page: Option<i64>,
    /// json (default), csv or xlsx.
    #[serde(default)]
    format: Format,
}

async fn fetch(state: &Shared, viewer: &Viewer, q: &LecturerQuery) -> Result<Page<LecturerView>, AppError> {
    let (text, under, p, export) = (q.q.clone(), division_param("under", &q.under)?, paging(q.page, q.per_page, q.format), q.format != Format::Json);
    state.as_account(&viewer.account, move |s| if export { s.export_lecturers(&text, under) } else { s.lecturers(&text, under, p) }).await
}

/// Lecturers of the groups the account sees.
#[utoipa::path(get, path = "/api/v1/lecturers", tag = "lecturers", params(LecturerQuery),
    responses((status = 200, body = inline(Page<LecturerView>)), (status = 404, body = crate::error::ErrorJson)))]
async fn list_api(State(state): State<Shared>, viewer: Viewer, Query(q): Query<LecturerQuery>) -> Result<Response, AppError> {
    let page = fetch(&state, &viewer, &q).await?;
    match q.format {
        Format::Json => Ok(Json(page).into_response()),
        f => Table {
            name: "lecturers",
            headers: ["key", "name", "group", "group_name", "topics"].map(String::from).to_vec(),
            rows: page.items.into_iter().map(|l| vec![l.key.into(), l.name.into(), l.group.into(), l.group_name.into(), l.topics.join(";").into()]).collect(),
        }
        .download(f),
    }
}

/// One lecturer.
#[utoipa::path(get, path = "/api/v1/lecturers/{key}", tag = "lecturers", params(("key" = String, Path)),
    responses((status = 200, body = LecturerView), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>) -> Result<Json<LecturerView>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.lecturer(&key)).await?))
}

/// A lecturer as a form or the API sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct LecturerBody {
    /// Its key (fixed once created).
    #[serde(default)]
    key: String,
    /// Its name.
    name: String,
    /// The division of its lecture group (province, city or county).
    group: String,
    /// Topic keys, separated by `;` or `,`.
    #[serde(default)]
    topics: String,
}

impl LecturerBody {
    fn input(&self) -> Result<LecturerInput, AppError> {
        Ok(LecturerInput {
            key: self.key.trim().to_owned(),
            name: self.name.clone(),
            group: division_param("group", &self.group)?.ok_or_else(|| AppError::field("group", "must not be empty"))?,
            topics: self.topics.split([';', ',']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        })
    }
}

async fn save(state: &Shared, viewer: &Viewer, body: &LecturerBody, existing: Option<String>) -> Result<LecturerView, AppError> {
    let input = body.input()?;
    state
        .as_account(&viewer.account, move |s| match existing {
            Some(key) => s.change_lecturer(&key, &input),
            None => s.add_lecturer(&input),
        })
        .await
}

/// Adds a lecturer (creating its lecture group if needed).
#[utoipa::path(post, path = "/api/v1/lecturers", tag = "lecturers", request_body = LecturerBody,
    responses((status = 200, body = LecturerView), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn create_api(State(state): State<Shared>, viewer: Viewer, Json(body): Json<LecturerBody>) -> Result<Json<LecturerView>, AppError> {
    Ok(Json(save(&state, &viewer, &body, None).await?))
}

/// Changes a lecturer.
#[utoipa::path(put, path = "/api/v1/lecturers/{key}", tag = "lecturers", params(("key" = String, Path)), request_body = LecturerBody,
    responses((status = 200, body = LecturerView), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn update_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Json(mut body): Json<LecturerBody>) -> Result<Json<LecturerView>, AppError> {
    if body.key.is_empty() {
        body.key = key.clone();
    }
    Ok(Json(save(&state, &viewer, &body, Some(key)).await?))
}

async fn list_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Query(q): Query<LecturerQuery>) -> Result<Response, Shown> {
    if q.format != Format::Json {
        return list_api(State(state), viewer, Query(q)).await.shown(lang);
    }
    let page = fetch(&state, &viewer, &q).await.shown(lang)?;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|l| vec![cell(&l.name, Some(format!("/lecturers/{}", l.key))), cell(&l.key, None), cell(&l.group_name, None), cell(l.topics.join(", "), None)])
        .collect();
    let params = vec![("q", q.q.clone()), ("under", q.under.clone())];
    let export = |f: &str| render::url("/lecturers", &[("q", q.q.clone()), ("under", q.under.clone()), ("format", f.to_owned())]);
    let actions = if viewer.account.may(domain::Action::LecturerCreate) { vec![json!({ "label": lang.t("add"), "href": "/lecturers/new" })] } else { vec![] };
    let ctx = merge(
        json!({ "title": lang.t("lecturers"), "q": q.q, "columns": [lang.t("name"), "key", lang.t("group"), lang.t("topics")], "rows": rows,
                "filters": if q.under.is_empty() { vec![] } else { vec![json!({ "name": "under", "value": q.under })] },
                "exports": [{ "label": "CSV", "href": export("csv") }, { "label": "XLSX", "href": export("xlsx") }], "actions": actions }),
        pager(&page, "/lecturers", &params),
    );
    Ok(render::page(&state, &viewer, lang, "list.html", ctx).await?.into_response())
}

async fn detail_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>) -> Result<Response, Shown> {
    let (acc, k) = (viewer.account.clone(), key.clone());
    let l = state.as_account(&acc, move |s| s.lecturer(&k)).await.shown(lang)?;
    let actions = if viewer.account.may(domain::Action::LecturerUpdate) { vec![json!({ "label": lang.t("edit"), "href": format!("/lecturers/{key}/edit") })] } else { vec![] };
    let ctx = json!({
        "title": l.name,
        "fields": [
            { "label": "key", "value": l.key },
            { "label": lang.t("group"), "value": format!("{} ({})", l.group_name, l.group) },
            { "label": lang.t("topics"), "value": l.topics.join(", ") },
        ],
        "actions": actions,
    });
    Ok(render::page(&state, &viewer, lang, "detail.html", ctx).await?.into_response())
}

fn form_ctx(lang: Lang, body: &LecturerBody, existing: Option<&str>, error: Option<&AppError>) -> serde_json::Value {
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    json!({
        "title": format!("{} {}", lang.t(if existing.is_some() { "edit" } else { "add" }), lang.t("lecturers")),
        "action": existing.map_or("/lecturers/new".to_owned(), |k| format!("/lecturers/{k}/edit")),
        "back": existing.map_or("/lecturers".to_owned(), |k| format!("/lecturers/{k}")),
        "error": error.filter(|e| e.field_name().is_none()).map(|e| e.public_message()),
        "fields": [
            { "name": "key", "label": "key", "type": "text", "value": body.key, "required": true, "readonly": existing.is_some(), "error": err("key") },
            { "name": "name", "label": lang.t("name"), "type": "text", "value": body.name, "required": true, "error": err("name") },
            { "name": "group", "label": lang.t("group"), "type": "text", "value": body.group, "required": true, "error": err("group") },
            { "name": "topics", "label": lang.t("topics"), "type": "text", "value": body.topics, "help": "theme;decade", "error": err("topics") },
        ],
    })
}

async fn new_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::LecturerCreate).shown(lang)?;
    let group = viewer.account.scope.root().map(|c| c.to_string()).unwrap_or_default();
    let body = LecturerBody { key: String::new(), name: String::new(), group, topics: String::new() };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, &body, None, None)).await?.into_response())
}

async fn edit_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::LecturerUpdate).shown(lang)?;
    let (acc, k) = (viewer.account.clone(), key.clone());
    let l = state.as_account(&acc, move |s| s.lecturer(&k)).await.shown(lang)?;
    let body = LecturerBody { key: l.key, name: l.name, group: l.group, topics: l.topics.join(";") };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, &body, Some(&key), None)).await?.into_response())
}

async fn submit(state: Shared, viewer: Viewer, lang: Lang, body: LecturerBody, existing: Option<String>) -> Result<Response, Shown> {
    let result = save(&state, &viewer, &body, existing.clone()).await;
    render::after_submit(&state, &viewer, lang, result, |l| format!("/lecturers/{}", l.key), |e| form_ctx(lang, &body, existing.as_deref(), Some(e))).await
}

async fn create_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, axum::Form(body): axum::Form<LecturerBody>) -> Result<Response, Shown> {
    submit(state, viewer, lang, body, None).await
}

async fn update_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, axum::Form(mut body): axum::Form<LecturerBody>) -> Result<Response, Shown> {
    body.key = key.clone();
    submit(state, viewer, lang, body, Some(key)).await
}
