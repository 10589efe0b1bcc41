//! Lecture requests: a unit orders a lecture from the campaign's menu, a coordinator
//! reviews and dispatches it (to a suggested lecturer, or open to claims), the lecturer
//! accepts and reports it, the unit rates it; each step checked by the domain's state
//! machine and kept in the request's history. Also sessions planned in bulk without a
//! request. Pages and `/api/v1/…`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::{Action, RequestState, SessionFormat, SessionStatus, Step};
use domain::text::quote;
use serde::Deserialize;
use serde_json::json;
use store::{Page, PlanInput, RequestFilter, RequestInput, RequestView, SessionInput, StepInput, Suggestion, UnitFilter};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown, cell, merge, pager};
use crate::sessions::{Loose, entry_title};
use crate::units::{paging, today};
use crate::Shared;

/// This module's own words (see `i18n`).
pub(crate) static MESSAGES: crate::i18n::Messages = &[
    ("my_assignments", "我的任务", "My assignments"),
    ("my_claimable", "可认领的预约", "Requests I may claim"),
    ("my_offline", "网络不通：报告已保存在本机，联网后自动发送", "No connection: the report is kept on this phone and sent when the connection returns"),
    ("my_pending", "待发送的报告", "Reports waiting to be sent"),
    ("my_planned", "已计划的宣讲", "Planned sessions"),
    ("my_sent", "报告已发送", "Report sent"),
    ("my_work", "我的宣讲", "My lectures"),
    ("photos", "照片", "Photos"),
    ("req_accept", "接受", "Accept"),
    ("req_assign", "指派", "Assign"),
    ("req_cancel", "取消", "Cancel"),
    ("req_claim", "认领", "Claim"),
    ("req_comment", "评价", "Comment"),
    ("req_decline", "婉拒", "Decline"),
    ("req_history", "办理记录", "History"),
    ("req_new", "预约宣讲", "Request a lecture"),
    ("req_note", "备注", "Note"),
    ("req_open", "开放认领", "Open to claims"),
    ("req_plan", "计划宣讲", "Plan sessions"),
    ("req_rate", "评分", "Rate"),
    ("req_reason", "理由", "Reason"),
    ("req_reject", "驳回", "Reject"),
    ("req_report", "报告宣讲", "Report the session"),
    ("req_requests", "宣讲预约", "Lecture requests"),
    ("req_review", "受理", "Accept for dispatch"),
    ("req_state", "办理状态", "State"),
    ("req_suggested", "推荐宣讲员", "Suggested lecturers"),
    ("req_window", "期望时间", "Preferred window"),
    ("req_window_from", "最早日期", "From"),
    ("req_window_to", "最晚日期", "To"),
];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/requests", get(list_page))
        .route("/requests/{id}", get(detail_page))
        .route("/requests/{id}/steps", post(step_form))
        .route("/campaigns/{key}/requests/new", get(new_form).post(create_form))
        .route("/campaigns/{key}/plan", get(plan_form).post(plan_submit))
        .route("/api/v1/campaigns/{key}/requests", post(create_api))
        .route("/api/v1/campaigns/{key}/plan", post(plan_api))
        .route("/api/v1/requests", get(list_api))
        .route("/api/v1/requests/{id}", get(get_api))
        .route("/api/v1/requests/{id}/steps", post(step_api))
        .route("/api/v1/requests/{id}/suggestions", get(suggestions_api))
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Which requests to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RequestQuery {
    /// Only requests in this state.
    #[serde(default)]
    state: String,
    /// Only open requests the signed-in lecturer may claim.
    #[serde(default)]
    claimable: bool,
    /// Page, from 1.
    page: Option<i64>,
    /// Rows per page (default 50).
    per_page: Option<i64>,
}

impl RequestQuery {
    fn filter(&self) -> Result<RequestFilter, AppError> {
        let state = match self.state.trim() {
            "" => None,
            s => Some(s.parse::<RequestState>().map_err(|e| AppError::field("state", e.to_string()))?),
        };
        Ok(RequestFilter { state, mine: false, claimable: self.claimable })
    }
}

async fn fetch(state: &Shared, viewer: &Viewer, q: &RequestQuery) -> Result<Page<RequestView>, AppError> {
    let (acc, f, p) = (viewer.account.clone(), q.filter()?, paging(q.page, q.per_page, Default::default()));
    state.as_account(&acc, move |s| s.requests(&f, p)).await
}

/// Requests the account may see: in its scope; a unit contact's own; a lecturer's
/// assignments (or, with `claimable`, open requests it may claim).
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(RequestQuery),
    responses((status = 200, body = inline(Page<RequestView>))))]
async fn list_api(State(state): State<Shared>, viewer: Viewer, Query(q): Query<RequestQuery>) -> Result<Json<Page<RequestView>>, AppError> {
    Ok(Json(fetch(&state, &viewer, &q).await?))
}

/// One request with its history.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = i64, Path)),
    responses((status = 200, body = RequestView), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<i64>) -> Result<Json<RequestView>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.request(id)).await?))
}

/// A request as a form or the API sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RequestBody {
    /// The unit's code (a unit contact's own unit by default).
    #[serde(default)]
    unit: String,
    /// Topic keys of the campaign.
    #[serde(default)]
    topics: Vec<String>,
    /// Audience keys.
    #[serde(default)]
    audiences: Vec<String>,
    /// The preferred window's first day, YYYY-MM-DD.
    window_from: String,
    /// Its last day.
    window_to: String,
    /// The expected headcount.
    #[schema(value_type = i64)]
    headcount: Loose,
    /// A note for the coordinator.
    #[serde(default)]
    note: String,
}

fn date(field: &str, s: &str) -> Result<NaiveDate, AppError> {
    s.trim().parse().map_err(|_| AppError::field(field, format!("{} is not a date of the form YYYY-MM-DD", quote(s))))
}

impl RequestBody {
    fn input(&self, viewer: &Viewer) -> Result<RequestInput, AppError> {
        let unit = match (&viewer.account.scope, self.unit.trim()) {
            (domain::Scope::Unit { unit, .. }, "") => unit.clone(),
            (_, u) => u.to_owned(),
        };
        Ok(RequestInput {
            unit,
            topics: self.topics.clone(),
            audiences: self.audiences.clone(),
            window_from: date("window_from", &self.window_from)?,
            window_to: date("window_to", &self.window_to)?,
            headcount: self.headcount.text().trim().parse().map_err(|_| AppError::field("headcount", format!("{} is not a whole number", quote(&self.headcount.text()))))?,
            note: self.note.clone(),
        })
    }
}

async fn create(state: &Shared, viewer: &Viewer, key: String, body: &RequestBody) -> Result<RequestView, AppError> {
    let (acc, input) = (viewer.account.clone(), body.input(viewer)?);
    state.as_account(&acc, move |s| s.request_lecture(&key, &input, now())).await
}

/// A unit (its contact, or a coordinator for it) requests a lecture.
#[utoipa::path(post, path = "/api/v1/campaigns/{key}/requests", tag = "requests", params(("key" = String, Path)), request_body = RequestBody,
    responses((status = 200, body = RequestView), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn create_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Json(body): Json<RequestBody>) -> Result<Json<RequestView>, AppError> {
    Ok(Json(create(&state, &viewer, key, &body).await?))
}

/// A session report given with the `report` step.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ReportBody {
    /// An id made on the phone: the same report sent twice is stored once.
    #[serde(default)]
    ext_id: String,
    /// The day it was held, YYYY-MM-DD.
    date: String,
    /// How many came.
    #[schema(value_type = i64)]
    headcount: Loose,
    /// Topic keys.
    #[serde(default)]
    topics: Vec<String>,
    /// Audience keys.
    #[serde(default)]
    audiences: Vec<String>,
    /// Notes (the session's title).
    #[serde(default)]
    notes: String,
    /// in_person (default), broadcast or online.
    #[serde(default)]
    format: String,
}

/// A step in a request's life.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct StepBody {
    /// review, reject, assign, open, claim, accept, decline, report, rate or cancel.
    step: String,
    /// The reason (reject, decline, cancel) or comment (rate).
    #[serde(default)]
    text: String,
    /// The lecturer's key (assign).
    #[serde(default)]
    lecturer: String,
    /// The report (report).
    #[serde(default)]
    report: Option<ReportBody>,
    /// Ids of uploaded photos for the report.
    #[serde(default)]
    photos: Vec<i64>,
    /// 1 to 5 (rate).
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    rating: Option<Loose>,
}

impl StepBody {
    fn input(&self) -> Result<StepInput, AppError> {
        let step: Step = self.step.trim().parse().map_err(|e: domain::Error| AppError::field("step", e.to_string()))?;
        let report = match &self.report {
            None => None,
            Some(r) => Some(SessionInput {
                ext_id: Some(r.ext_id.trim().to_owned()).filter(|e| !e.is_empty()),
                unit: String::new(),
                date: date("date", &r.date)?,
                headcount: r.headcount.text().trim().parse().map_err(|_| AppError::field("headcount", format!("{} is not a whole number", quote(&r.headcount.text()))))?,
                topics: r.topics.clone(),
                audiences: r.audiences.clone(),
                lecturers: Vec::new(),
                format: match r.format.trim() {
                    "" => SessionFormat::InPerson,
                    f => f.parse().map_err(|e: domain::Error| AppError::field("format", e.to_string()))?,
                },
                status: SessionStatus::Held,
                title: r.notes.clone(),
            }),
        };
        let rating = match &self.rating {
            None => None,
            Some(r) if r.text().trim().is_empty() => None,
            Some(r) => Some(r.text().trim().parse().map_err(|_| AppError::field("rating", format!("{} is not from 1 to 5", quote(&r.text()))))?),
        };
        Ok(StepInput { step, text: self.text.clone(), lecturer: Some(self.lecturer.clone()).filter(|l| !l.trim().is_empty()), report, photos: self.photos.clone(), rating })
    }
}

async fn take_step(state: &Shared, viewer: &Viewer, id: i64, body: &StepBody) -> Result<RequestView, AppError> {
    let (acc, input) = (viewer.account.clone(), body.input()?);
    state.as_account(&acc, move |s| s.step_request(id, &input, now())).await
}

/// Takes a step: refused with 409 from the wrong state, 403 for the wrong role or
/// another's request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/steps", tag = "requests", params(("id" = i64, Path)), request_body = StepBody,
    responses((status = 200, body = RequestView), (status = 409, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn step_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<i64>, Json(body): Json<StepBody>) -> Result<Json<RequestView>, AppError> {
    Ok(Json(take_step(&state, &viewer, id, &body).await?))
}

/// Lecturers who may take the request, best first (topic match, load, distance).
#[utoipa::path(get, path = "/api/v1/requests/{id}/suggestions", tag = "requests", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Suggestion>), (status = 404, body = crate::error::ErrorJson)))]
async fn suggestions_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<i64>) -> Result<Json<Vec<Suggestion>>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.suggest_lecturers(id, today())).await?))
}

/// Sessions to plan for units without requests.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct PlanBody {
    /// Unit codes.
    #[serde(default)]
    units: Vec<String>,
    /// The lecturer's key.
    lecturer: String,
    /// The first day.
    from: String,
    /// The last day.
    to: String,
    /// Topic keys.
    #[serde(default)]
    topics: Vec<String>,
}

impl PlanBody {
    fn input(&self) -> Result<PlanInput, AppError> {
        Ok(PlanInput { units: self.units.clone(), lecturer: self.lecturer.trim().to_owned(), from: date("from", &self.from)?, to: date("to", &self.to)?, topics: self.topics.clone() })
    }
}

/// The answer to planning.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Planned {
    /// Sessions planned.
    planned: usize,
}

async fn plan(state: &Shared, viewer: &Viewer, key: String, body: &PlanBody) -> Result<usize, AppError> {
    let (acc, input) = (viewer.account.clone(), body.input()?);
    state.as_account(&acc, move |s| s.plan_sessions(&key, &input)).await
}

/// Plans sessions (status planned) for units of the scope, spread over a date range.
#[utoipa::path(post, path = "/api/v1/campaigns/{key}/plan", tag = "requests", params(("key" = String, Path)), request_body = PlanBody,
    responses((status = 200, body = Planned), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn plan_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Json(body): Json<PlanBody>) -> Result<Json<Planned>, AppError> {
    Ok(Json(Planned { planned: plan(&state, &viewer, key, &body).await? }))
}

fn state_label(lang: Lang, s: RequestState) -> String {
    let zh = match s {
        RequestState::Requested => "待受理",
        RequestState::Reviewed => "待指派",
        RequestState::Rejected => "已驳回",
        RequestState::Assigned => "待接受",
        RequestState::Open => "待认领",
        RequestState::Accepted => "已接受",
        RequestState::Held => "已宣讲",
        RequestState::Rated => "已评价",
        RequestState::Cancelled => "已取消",
    };
    match lang {
        Lang::Zh => zh.to_owned(),
        Lang::En => s.as_str().to_owned(),
    }
}

async fn list_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Query(q): Query<RequestQuery>) -> Result<Response, Shown> {
    let page = fetch(&state, &viewer, &q).await.shown(lang)?;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|r| {
            vec![
                cell(format!("#{}", r.id), Some(format!("/requests/{}", r.id))),
                cell(&r.unit_name, Some(format!("/units/{}", r.unit))),
                cell(r.topics.join(", "), None),
                cell(format!("{} – {}", r.window_from, r.window_to), None),
                cell(state_label(lang, r.state), None),
                cell(r.lecturer_name.clone().unwrap_or_default(), None),
            ]
        })
        .collect();
    let states: Vec<_> = std::iter::once(("".to_owned(), lang.t("all").to_owned()))
        .chain(RequestState::ALL.iter().map(|s| (s.as_str().to_owned(), state_label(lang, *s))))
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": v == q.state }))
        .collect();
    let params = vec![("state", q.state.clone()), ("claimable", if q.claimable { "true".into() } else { String::new() })];
    let mut actions = Vec::new();
    let campaigns = state.as_account(&viewer.account, |s| s.campaigns()).await.shown(lang)?;
    if let Some(c) = campaigns.first() {
        if viewer.account.may(Action::RequestCreate) {
            actions.push(json!({ "label": lang.t("req_new"), "href": format!("/campaigns/{}/requests/new", c.key) }));
        }
        if viewer.account.may(Action::SessionPlan) {
            actions.push(json!({ "label": lang.t("req_plan"), "href": format!("/campaigns/{}/plan", c.key) }));
        }
    }
    let ctx = merge(
        json!({ "title": lang.t("req_requests"), "columns": ["#", lang.t("unit"), lang.t("topics"), lang.t("req_window"), lang.t("req_state"), lang.t("lecturers")],
                "rows": rows, "filters": [{ "name": "state", "options": states }], "actions": actions, "exports": [] }),
        pager(&page, "/requests", &params),
    );
    Ok(render::page(&state, &viewer, lang, "list.html", ctx).await?.into_response())
}

/// The forms a request's page offers the account: each step the request's state
/// starts and the permission table lets the account take (the store decides the rest:
/// whose request it is). Reports have a page of their own.
fn step_forms(lang: Lang, viewer: &Viewer, r: &RequestView, suggestions: &[Suggestion]) -> Vec<serde_json::Value> {
    let reason = || json!([{ "name": "text", "label": lang.t("req_reason"), "type": "text", "required": true }]);
    Step::ALL
        .into_iter()
        .filter(|step| *step != Step::Report && r.state.starts(*step) && viewer.account.may(Action::step(*step)))
        .map(|step| {
            let (label, fields) = match step {
                Step::Review => ("req_review", json!([])),
                Step::Reject => ("req_reject", reason()),
                Step::Assign => {
                    let options: Vec<_> = suggestions
                        .iter()
                        .map(|s| json!({ "value": s.key, "label": format!("{} · {} · {}/{} · {}", s.name, s.group_name, s.topic_match, r.topics.len(), s.load) }))
                        .collect();
                    ("req_assign", json!([{ "name": "lecturer", "label": lang.t("req_suggested"), "type": "select", "options": options }]))
                }
                Step::OpenToClaim => ("req_open", json!([])),
                Step::Claim => ("req_claim", json!([])),
                Step::Accept => ("req_accept", json!([])),
                Step::Decline => ("req_decline", reason()),
                Step::Rate => (
                    "req_rate",
                    json!([{ "name": "rating", "label": "1–5", "type": "select", "options": (1..=5).rev().map(|n| json!({ "value": n, "label": "★".repeat(n) })).collect::<Vec<_>>() },
                           { "name": "text", "label": lang.t("req_comment"), "type": "text" }]),
                ),
                Step::Cancel | Step::Report => ("req_cancel", reason()),
            };
            json!({ "step": step.as_str(), "label": lang.t(label), "fields": fields })
        })
        .collect()
}

async fn detail_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<i64>) -> Result<Response, Shown> {
    let (r, suggestions) = state
        .as_account(&viewer.account, move |s| {
            let r = s.request(id)?;
            let assigns = r.state.starts(Step::Assign) && s.account().may(Action::RequestAssign);
            let suggestions = if assigns { s.suggest_lecturers(id, today())? } else { Vec::new() };
            Ok((r, suggestions))
        })
        .await
        .shown(lang)?;
    let forms = step_forms(lang, &viewer, &r, &suggestions);
    let report = (r.state.starts(Step::Report) && viewer.account.may(Action::RequestReport)).then(|| format!("/requests/{id}/report"));
    let session = r.session.map(|s| format!("/campaigns/{}/sessions/{s}", r.campaign));
    let history: Vec<_> = r
        .history
        .iter()
        .map(|h| json!({ "at": chrono::DateTime::from_timestamp(h.at, 0).map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(), "actor": h.actor, "step": h.step, "to": h.to.parse().map(|s| state_label(lang, s)).unwrap_or_default(), "note": h.note }))
        .collect();
    let ctx = json!({
        "title": format!("{} #{}", lang.t("req_requests"), r.id),
        "campaign": r.campaign,
        "request": r,
        "state_label": state_label(lang, r.state),
        "forms": forms,
        "report_href": report,
        "session_href": session,
        "history": history,
    });
    Ok(render::page(&state, &viewer, lang, "request.html", ctx).await?.into_response())
}

#[derive(Debug, Deserialize)]
struct StepForm {
    step: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    lecturer: String,
    #[serde(default)]
    rating: String,
}

async fn step_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<i64>, axum::Form(f): axum::Form<StepForm>) -> Result<Response, Shown> {
    let body = StepBody { step: f.step, text: f.text, lecturer: f.lecturer, report: None, photos: Vec::new(), rating: Some(Loose::Text(f.rating)) };
    take_step(&state, &viewer, id, &body).await.shown(lang)?;
    // A lecturer who declined (or cancelled) no longer sees the request: back to its
    // own list rather than to a page that is now "not found".
    let acc = viewer.account.clone();
    let still = state.as_account(&acc, move |s| s.request(id)).await.is_ok();
    let to = match (still, viewer.account.may(Action::RequestWork)) {
        (true, _) => format!("/requests/{id}"),
        (false, true) => "/my".to_owned(),
        (false, false) => "/requests".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}

fn request_form_ctx(lang: Lang, viewer: &Viewer, campaign: &store::Campaign, body: &RequestBody, error: Option<&AppError>) -> serde_json::Value {
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    let options = |list: &[store::CampaignEntry], chosen: &[String]| -> Vec<serde_json::Value> {
        list.iter().map(|e| json!({ "value": e.key, "label": entry_title(lang, e), "selected": chosen.contains(&e.key) })).collect()
    };
    let own_unit = matches!(viewer.account.scope, domain::Scope::Unit { .. });
    json!({
        "title": lang.t("req_new"),
        "campaign": campaign.key,
        "action": format!("/campaigns/{}/requests/new", campaign.key),
        "back": "/requests",
        "error": error.filter(|e| e.field_name().is_none()).map(|e| e.public_message()),
        "fields": [
            { "name": "unit", "label": lang.t("unit"), "type": if own_unit { "hidden" } else { "text" }, "value": body.unit, "required": true, "error": err("unit") },
            { "name": "topics", "label": lang.t("topics"), "type": "checkboxes", "options": options(&campaign.topics, &body.topics), "error": err("topics") },
            { "name": "audiences", "label": lang.t("audiences"), "type": "checkboxes", "options": options(&campaign.audiences, &body.audiences), "error": err("audiences") },
            { "name": "window_from", "label": lang.t("req_window_from"), "type": "date", "value": body.window_from, "required": true, "error": err("window_from") },
            { "name": "window_to", "label": lang.t("req_window_to"), "type": "date", "value": body.window_to, "required": true, "error": err("window_to") },
            { "name": "headcount", "label": lang.t("headcount"), "type": "number", "value": body.headcount.text(), "required": true, "error": err("headcount") },
            { "name": "note", "label": lang.t("req_note"), "type": "text", "value": body.note, "error": err("note") },
        ],
    })
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    unit: String,
}

async fn new_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, Query(q): Query<NewQuery>) -> Result<Response, Shown> {
    let campaign = state.as_account(&viewer.account, move |s| s.campaign(&key)).await.shown(lang)?;
    let unit = match &viewer.account.scope {
        domain::Scope::Unit { unit, .. } => unit.clone(),
        _ => q.unit,
    };
    let t = today();
    let body = RequestBody {
        unit,
        topics: Vec::new(),
        audiences: Vec::new(),
        window_from: t.to_string(),
        window_to: (t + chrono::Days::new(14)).to_string(),
        headcount: Loose::Number(30),
        note: String::new(),
    };
    Ok(render::page(&state, &viewer, lang, "form.html", request_form_ctx(lang, &viewer, &campaign, &body, None)).await?.into_response())
}

async fn create_form(
    State(state): State<Shared>,
    PageViewer(viewer, lang): PageViewer,
    Path(key): Path<String>,
    axum_extra::extract::Form(body): axum_extra::extract::Form<RequestBody>,
) -> Result<Response, Shown> {
    let result = create(&state, &viewer, key.clone(), &body).await;
    let campaign = state.as_account(&viewer.account, move |s| s.campaign(&key)).await.shown(lang)?;
    render::after_submit(&state, &viewer, lang, result, |r| format!("/requests/{}", r.id), |e| request_form_ctx(lang, &viewer, &campaign, &body, Some(e))).await
}

fn plan_ctx(lang: Lang, campaign: &store::Campaign, units: &[store::UnitView], body: &PlanBody, error: Option<&AppError>) -> serde_json::Value {
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    let topics: Vec<_> = campaign.topics.iter().map(|e| json!({ "value": e.key, "label": entry_title(lang, e), "selected": body.topics.contains(&e.key) })).collect();
    let unit_options: Vec<_> = units.iter().map(|u| json!({ "value": u.code, "label": format!("{} ({})", u.name, u.division_name), "selected": body.units.contains(&u.code) })).collect();
    json!({
        "title": lang.t("req_plan"),
        "campaign": campaign.key,
        "action": format!("/campaigns/{}/plan", campaign.key),
        "back": "/requests",
        "error": error.filter(|e| e.field_name().is_none()).map(|e| e.public_message()),
        "fields": [
            { "name": "units", "label": lang.t("uncovered_units"), "type": "checkboxes", "options": unit_options, "error": err("units") },
            { "name": "lecturer", "label": lang.t("lecturers"), "type": "text", "value": body.lecturer, "required": true, "error": err("lecturer") },
            { "name": "from", "label": lang.t("req_window_from"), "type": "date", "value": body.from, "required": true, "error": err("from") },
            { "name": "to", "label": lang.t("req_window_to"), "type": "date", "value": body.to, "required": true, "error": err("to") },
            { "name": "topics", "label": lang.t("topics"), "type": "checkboxes", "options": topics, "error": err("topics") },
        ],
    })
}

#[derive(Deserialize)]
struct PlanQuery {
    #[serde(default)]
    under: String,
}

async fn uncovered(state: &Shared, viewer: &Viewer, key: &str, under: &str) -> Result<(store::Campaign, Vec<store::UnitView>), AppError> {
    let (k, under) = (key.to_owned(), crate::units::division_param("under", under)?);
    state
        .as_account(&viewer.account, move |s| {
            let f = UnitFilter { under, uncovered: Some((k.clone(), today())), ..Default::default() };
            Ok((s.campaign(&k)?, s.units(&f, store::Paging { page: 1, per_page: 200 })?.items))
        })
        .await
}

async fn plan_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, Query(q): Query<PlanQuery>) -> Result<Response, Shown> {
    viewer.account.allow(Action::SessionPlan).shown(lang)?;
    let (campaign, units) = uncovered(&state, &viewer, &key, &q.under).await.shown(lang)?;
    let t = today();
    let body = PlanBody { units: Vec::new(), lecturer: String::new(), from: t.to_string(), to: (t + chrono::Days::new(14)).to_string(), topics: Vec::new() };
    Ok(render::page(&state, &viewer, lang, "form.html", plan_ctx(lang, &campaign, &units, &body, None)).await?.into_response())
}

async fn plan_submit(
    State(state): State<Shared>,
    PageViewer(viewer, lang): PageViewer,
    Path(key): Path<String>,
    axum_extra::extract::Form(body): axum_extra::extract::Form<PlanBody>,
) -> Result<Response, Shown> {
    let result = plan(&state, &viewer, key.clone(), &body).await;
    // The form comes back only on an error: only then are its units looked up again.
    let (campaign, units) = match &result {
        Err(_) => uncovered(&state, &viewer, &key, "").await.shown(lang)?,
        Ok(_) => (state.as_account(&viewer.account, move |s| s.campaign(&key)).await.shown(lang)?, Vec::new()),
    };
    let key = campaign.key.clone();
    render::after_submit(&state, &viewer, lang, result, |_| format!("/campaigns/{key}/sessions?status=planned"), |e| plan_ctx(lang, &campaign, &units, &body, Some(e))).await
}
