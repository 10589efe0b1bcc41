//! A campaign's session reports: the list, a report's page, the report form; the same
//! under `/api/v1/campaigns/{key}/sessions`. A saved report changes coverage at once.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::{SessionFormat, SessionStatus};
use domain::text::quote;
use serde::Deserialize;
use serde_json::json;
use store::{Campaign, Page, SessionFilter, SessionInput, SessionView};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::export::{Format, Table};
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown, cell, merge, pager};
use crate::units::{division_param, paging, today};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/campaigns/{key}/sessions", get(list_page))
        .route("/campaigns/{key}/sessions/new", get(new_form).post(create_form))
        .route("/campaigns/{key}/sessions/{id}", get(detail_page))
        .route("/campaigns/{key}/sessions/{id}/edit", get(edit_form).post(update_form))
        .route("/api/v1/campaigns/{key}/sessions", get(list_api).post(create_api))
        .route("/api/v1/campaigns/{key}/sessions/{id}", get(get_api).put(update_api))
}

/// Which sessions to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SessionQuery {
    /// Words in the title or the unit's name or code.
    #[serde(default)]
    q: String,
    /// Only sessions at units under this division.
    #[serde(default)]
    under: String,
    /// Only sessions at this unit.
    #[serde(default)]
    unit: String,
    /// held, planned or cancelled.
    #[serde(default)]
    status: String,
    /// Page, from 1.
    page: Option<i64>,
    /// Rows per page (default 50).
    per_page: Option<i64>,
    /// json (default), csv or xlsx.
    #[serde(default)]
    format: Format,
}

impl SessionQuery {
    fn filter(&self) -> Result<SessionFilter, AppError> {
        let status = match self.status.trim() {
            "" => None,
            s => Some(s.parse().map_err(|e: domain::Error| AppError::field("status", e.to_string()))?),
        };
        let unit = Some(self.unit.trim().to_owned()).filter(|u| !u.is_empty());
        Ok(SessionFilter { q: self.q.clone(), under: division_param("under", &self.under)?, unit, status })
    }
}

async fn fetch(state: &Shared, viewer: &Viewer, key: String, q: &SessionQuery) -> Result<Page<SessionView>, AppError> {
    let (f, p, export) = (q.filter()?, paging(q.page, q.per_page, q.format), q.format != Format::Json);
    state.as_account(&viewer.account, move |s| if export { s.export_sessions(&key, &f) } else { s.sessions(&key, &f, p) }).await
}

/// A campaign's sessions at units the account sees, newest first.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/sessions", tag = "sessions", params(("key" = String, Path), SessionQuery),
    responses((status = 200, body = inline(Page<SessionView>)), (status = 404, body = crate::error::ErrorJson)))]
async fn list_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Query(q): Query<SessionQuery>) -> Result<Response, AppError> {
    let page = fetch(&state, &viewer, key, &q).await?;
    match q.format {
        Format::Json => Ok(Json(page).into_response()),
        f => Table {
            name: "sessions",
            headers: ["id", "ext_id", "unit", "unit_name", "date", "headcount", "topics", "audiences", "lecturers", "format", "status", "title"].map(String::from).to_vec(),
            rows: page
                .items
                .into_iter()
                .map(|s| {
                    vec![
                        s.id.into(),
                        s.ext_id.unwrap_or_default().into(),
                        s.unit.into(),
                        s.unit_name.into(),
                        s.date.to_string().into(),
                        s.headcount.into(),
                        s.topics.join(";").into(),
                        s.audiences.join(";").into(),
                        s.lecturers.join(";").into(),
                        s.format.as_str().into(),
                        s.status.as_str().into(),
                        s.title.into(),
                    ]
                })
                .collect(),
        }
        .download(f),
    }
}

/// One session.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/sessions/{id}", tag = "sessions", params(("key" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: Viewer, Path((key, id)): Path<(String, i64)>) -> Result<Json<SessionView>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.session(&key, id)).await?))
}

/// A session report as a form or the API sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct SessionBody {
    /// An id made by the reporting side: a report sent twice with it is stored once.
    #[serde(default)]
    ext_id: String,
    /// The unit's code.
    unit: String,
    /// The day, YYYY-MM-DD.
    date: String,
    /// How many came (a number, or its digits).
    #[schema(value_type = i64)]
    headcount: Loose,
    /// Topic keys.
    #[serde(default)]
    topics: Vec<String>,
    /// Audience keys.
    #[serde(default)]
    audiences: Vec<String>,
    /// Lecturer keys: a list, or one text separated by commas.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    lecturers: Loose,
    /// in_person (default), broadcast or online.
    #[serde(default)]
    format: String,
    /// held (default), planned or cancelled.
    #[serde(default)]
    status: String,
    /// A title.
    #[serde(default)]
    title: String,
}

/// A field that forms send as text and JSON clients as a number or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Loose {
    Number(i64),
    List(Vec<String>),
    Text(String),
}

impl Default for Loose {
    fn default() -> Loose {
        Loose::Text(String::new())
    }
}

impl Loose {
    pub(crate) fn text(&self) -> String {
        match self {
            Loose::Number(n) => n.to_string(),
            Loose::List(l) => l.join(", "),
            Loose::Text(t) => t.clone(),
        }
    }
}

impl SessionBody {
    fn input(&self) -> Result<SessionInput, AppError> {
        let date: NaiveDate = self.date.trim().parse().map_err(|_| AppError::field("date", format!("{} is not a date of the form YYYY-MM-DD", quote(&self.date))))?;
        let headcount = self.headcount.text().trim().parse::<i64>().map_err(|_| AppError::field("headcount", format!("{} is not a whole number", quote(&self.headcount.text()))))?;
        let format = match self.format.trim() {
            "" => SessionFormat::default(),
            f => f.parse().map_err(|e: domain::Error| AppError::field("format", e.to_string()))?,
        };
        let status = match self.status.trim() {
            "" => SessionStatus::default(),
            s => s.parse().map_err(|e: domain::Error| AppError::field("status", e.to_string()))?,
        };
        Ok(SessionInput {
            ext_id: Some(self.ext_id.clone()).filter(|e| !e.trim().is_empty()),
            unit: self.unit.trim().to_owned(),
            date,
            headcount,
            topics: self.topics.clone(),
            audiences: self.audiences.clone(),
            lecturers: self.lecturers.text().split([',', ';']).map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            format,
            status,
            title: self.title.clone(),
        })
    }
}

async fn save(state: &Shared, viewer: &Viewer, key: String, body: &SessionBody, id: Option<i64>) -> Result<SessionView, AppError> {
    let input = body.input()?;
    state
        .as_account(&viewer.account, move |s| {
            let id = match id {
                Some(id) => s.change_session(&key, id, &input)?,
                None => s.report_session(&key, &input)?,
            };
            s.session(&key, id)
        })
        .await
}

/// Reports a session.
#[utoipa::path(post, path = "/api/v1/campaigns/{key}/sessions", tag = "sessions", params(("key" = String, Path)), request_body = SessionBody,
    responses((status = 200, body = SessionView), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn create_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Json(body): Json<SessionBody>) -> Result<Json<SessionView>, AppError> {
    Ok(Json(save(&state, &viewer, key, &body, None).await?))
}

/// Changes a session report.
#[utoipa::path(put, path = "/api/v1/campaigns/{key}/sessions/{id}", tag = "sessions", params(("key" = String, Path), ("id" = i64, Path)), request_body = SessionBody,
    responses((status = 200, body = SessionView), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn update_api(State(state): State<Shared>, viewer: Viewer, Path((key, id)): Path<(String, i64)>, Json(body): Json<SessionBody>) -> Result<Json<SessionView>, AppError> {
    Ok(Json(save(&state, &viewer, key, &body, Some(id)).await?))
}

async fn list_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, Query(q): Query<SessionQuery>) -> Result<Response, Shown> {
    if q.format != Format::Json {
        return list_api(State(state), viewer, Path(key), Query(q)).await.shown(lang);
    }
    let page = fetch(&state, &viewer, key.clone(), &q).await.shown(lang)?;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|s| {
            vec![
                cell(s.date, Some(format!("/campaigns/{key}/sessions/{}", s.id))),
                cell(&s.unit_name, Some(format!("/units/{}", s.unit))),
                cell(&s.title, None),
                cell(s.headcount, None),
                cell(s.topics.join(", "), None),
                cell(s.status.as_str(), None),
            ]
        })
        .collect();
    let path = format!("/campaigns/{key}/sessions");
    let params = vec![("q", q.q.clone()), ("under", q.under.clone()), ("unit", q.unit.clone()), ("status", q.status.clone())];
    let export = |f: &str| {
        let mut p = params.clone();
        p.push(("format", f.to_owned()));
        render::url(&path, &p)
    };
    let statuses: Vec<_> = [("", lang.t("all")), ("held", "held"), ("planned", "planned"), ("cancelled", "cancelled")]
        .iter()
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": *v == q.status }))
        .collect();
    let mut filters = vec![json!({ "name": "status", "options": statuses })];
    for (k, v) in [("under", &q.under), ("unit", &q.unit)] {
        if !v.is_empty() {
            filters.push(json!({ "name": k, "value": v }));
        }
    }
    let actions = if viewer.account.may(domain::Action::SessionCreate) { vec![json!({ "label": lang.t("new_session"), "href": format!("{path}/new") })] } else { vec![] };
    let ctx = merge(
        json!({ "title": lang.t("sessions"), "campaign": key, "q": q.q,
                "columns": [lang.t("date"), lang.t("unit"), lang.t("title"), lang.t("headcount"), lang.t("topics"), lang.t("status")],
                "rows": rows, "filters": filters, "actions": actions,
                "exports": [{ "label": "CSV", "href": export("csv") }, { "label": "XLSX", "href": export("xlsx") }] }),
        pager(&page, &path, &params),
    );
    Ok(render::page(&state, &viewer, lang, "list.html", ctx).await?.into_response())
}

async fn detail_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path((key, id)): Path<(String, i64)>) -> Result<Response, Shown> {
    let k = key.clone();
    let s = state.as_account(&viewer.account, move |st| st.session(&k, id)).await.shown(lang)?;
    let actions = if viewer.account.may(domain::Action::SessionUpdate) { vec![json!({ "label": lang.t("edit"), "href": format!("/campaigns/{key}/sessions/{id}/edit") })] } else { vec![] };
    let ctx = json!({
        "title": if s.title.is_empty() { format!("{} · {}", s.unit_name, s.date) } else { s.title.clone() },
        "campaign": key,
        "fields": [
            { "label": lang.t("unit"), "value": format!("{} ({})", s.unit_name, s.unit), "href": format!("/units/{}", s.unit) },
            { "label": lang.t("date"), "value": s.date.to_string() },
            { "label": lang.t("headcount"), "value": s.headcount },
            { "label": lang.t("topics"), "value": s.topics.join(", ") },
            { "label": lang.t("audiences"), "value": s.audiences.join(", ") },
            { "label": lang.t("lecturers"), "value": s.lecturers.join(", ") },
            { "label": lang.t("format"), "value": s.format.as_str() },
            { "label": lang.t("status"), "value": s.status.as_str() },
        ],
        "actions": actions,
    });
    Ok(render::page(&state, &viewer, lang, "detail.html", ctx).await?.into_response())
}

pub(crate) fn entry_title(lang: Lang, e: &store::CampaignEntry) -> String {
    title_in(lang, &e.title, &e.extra)
}

/// A title in the page's language: in English the campaign file's `title_en` (kept in
/// `extra`), where it gives one.
pub(crate) fn title_in(lang: Lang, title: &str, extra: &str) -> String {
    let english = || extra.parse::<toml::Table>().ok()?.get("title_en")?.as_str().map(str::to_owned);
    match lang {
        Lang::En => english().unwrap_or_else(|| title.to_owned()),
        Lang::Zh => title.to_owned(),
    }
}

fn form_ctx(lang: Lang, campaign: &Campaign, body: &SessionBody, id: Option<i64>, error: Option<&AppError>) -> serde_json::Value {
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    let key = &campaign.key;
    let options = |list: &[store::CampaignEntry], chosen: &[String]| -> Vec<serde_json::Value> {
        list.iter().map(|e| json!({ "value": e.key, "label": entry_title(lang, e), "selected": chosen.contains(&e.key) })).collect()
    };
    let select = |values: &[&str], chosen: &str| -> Vec<serde_json::Value> { values.iter().map(|v| json!({ "value": v, "label": v, "selected": *v == chosen })).collect() };
    json!({
        "title": lang.t("new_session"),
        "campaign": key,
        "action": id.map_or(format!("/campaigns/{key}/sessions/new"), |id| format!("/campaigns/{key}/sessions/{id}/edit")),
        "back": id.map_or(format!("/campaigns/{key}/sessions"), |id| format!("/campaigns/{key}/sessions/{id}")),
        "error": error.filter(|e| e.field_name().is_none()).map(|e| e.public_message()),
        "fields": [
            { "name": "ext_id", "type": "hidden", "value": body.ext_id },
            { "name": "unit", "label": lang.t("unit"), "type": "text", "value": body.unit, "required": true, "error": err("unit") },
            { "name": "date", "label": lang.t("date"), "type": "date", "value": body.date, "required": true, "error": err("date") },
            { "name": "headcount", "label": lang.t("headcount"), "type": "number", "value": body.headcount.text(), "required": true, "error": err("headcount") },
            { "name": "topics", "label": lang.t("topics"), "type": "checkboxes", "options": options(&campaign.topics, &body.topics), "error": err("topics") },
            { "name": "audiences", "label": lang.t("audiences"), "type": "checkboxes", "options": options(&campaign.audiences, &body.audiences), "error": err("audiences") },
            { "name": "lecturers", "label": lang.t("lecturers"), "type": "text", "value": body.lecturers.text(), "help": lang.t("lecturers_help"), "error": err("lecturers") },
            { "name": "format", "label": lang.t("format"), "type": "select", "options": select(&["in_person", "broadcast", "online"], &body.format), "error": err("format") },
            { "name": "status", "label": lang.t("status"), "type": "select", "options": select(&["held", "planned", "cancelled"], &body.status), "error": err("status") },
            { "name": "title", "label": lang.t("title"), "type": "text", "value": body.title, "error": err("title") },
        ],
    })
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    unit: String,
}

async fn new_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, Query(q): Query<NewQuery>) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::SessionCreate).shown(lang)?;
    let campaign = state.as_account(&viewer.account, move |s| s.campaign(&key)).await.shown(lang)?;
    let body = SessionBody {
        ext_id: crate::auth::new_token()[..16].to_owned(),
        unit: q.unit,
        date: today().to_string(),
        headcount: Loose::default(),
        topics: vec![],
        audiences: vec![],
        lecturers: Loose::default(),
        format: "in_person".into(),
        status: "held".into(),
        title: String::new(),
    };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, &campaign, &body, None, None)).await?.into_response())
}

async fn edit_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path((key, id)): Path<(String, i64)>) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::SessionUpdate).shown(lang)?;
    let (campaign, s) = state.as_account(&viewer.account, move |st| Ok((st.campaign(&key)?, st.session(&key, id)?))).await.shown(lang)?;
    let body = SessionBody {
        ext_id: s.ext_id.unwrap_or_default(),
        unit: s.unit,
        date: s.date.to_string(),
        headcount: Loose::Number(s.headcount),
        topics: s.topics,
        audiences: s.audiences,
        lecturers: Loose::List(s.lecturers),
        format: s.format.as_str().into(),
        status: s.status.as_str().into(),
        title: s.title,
    };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, &campaign, &body, Some(id), None)).await?.into_response())
}

async fn submit(state: Shared, viewer: Viewer, lang: Lang, key: String, body: SessionBody, id: Option<i64>) -> Result<Response, Shown> {
    let result = save(&state, &viewer, key.clone(), &body, id).await;
    let campaign = match &result {
        Err(e) if e.status().is_client_error() => {
            let k = key.clone();
            Some(state.as_account(&viewer.account, move |s| s.campaign(&k)).await.shown(lang)?)
        }
        _ => None,
    };
    render::after_submit(&state, &viewer, lang, result, |s| format!("/campaigns/{key}/sessions/{}", s.id), |e| match &campaign {
        Some(c) => form_ctx(lang, c, &body, id, Some(e)),
        None => json!({}),
    })
    .await
}

async fn create_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, axum_extra::extract::Form(body): axum_extra::extract::Form<SessionBody>) -> Result<Response, Shown> {
    submit(state, viewer, lang, key, body, None).await
}

async fn update_form(
    State(state): State<Shared>,
    PageViewer(viewer, lang): PageViewer,
    Path((key, id)): Path<(String, i64)>,
    axum_extra::extract::Form(body): axum_extra::extract::Form<SessionBody>,
) -> Result<Response, Shown> {
    submit(state, viewer, lang, key, body, Some(id)).await
}
