//! Supervision: alerts, rankings, notifications and the daily digest.
//!
//! The figures are the store's ([`store::Store::supervision_of`]), confined to the
//! signed-in account's scope there. The daily digest adds the day's change to them, as
//! a printable page and in the API. Alerts become in-app notifications of the
//! responsible coordinators and the office: [`notifier`] looks for new ones every few
//! minutes while the server runs, and an account's own are brought up to date when it
//! opens its notifications.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::coverage::CoverageRow;
use domain::DivisionCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{Limits, Notification, Supervision};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown};
use crate::units::{division_param, today};
use crate::{AppState, Shared};

/// This module's own words (see `i18n`).
pub(crate) static MESSAGES: crate::i18n::Messages = &[
    ("sup_acceptance", "待宣讲员接受", "Waiting for the lecturer"),
    ("sup_alerts", "督导提醒", "Alerts"),
    ("sup_all_alerts", "查看每日督导简报", "See the daily digest"),
    ("sup_assignment", "待指派", "Waiting for assignment"),
    ("sup_behind", "差距（单位数）", "Units behind"),
    ("sup_by_audience", "按听众人次", "By audience"),
    ("sup_by_coverage", "按覆盖率", "By coverage"),
    ("sup_by_rating", "按平均评分", "By average rating"),
    ("sup_by_sessions", "按宣讲场次", "By sessions held"),
    ("sup_days_late", "逾期天数", "Days late"),
    ("sup_digest", "每日督导简报", "Daily supervision digest"),
    ("sup_expected", "按计划进度应达", "Planned pace by now"),
    ("sup_hours", "已等待小时数", "Hours waiting"),
    ("sup_kind_regions_trailing", "覆盖进度落后于计划的地区", "Regions behind the planned pace"),
    ("sup_kind_session_overdue", "计划宣讲已过日期仍未报告", "A planned session is past its date with no report"),
    ("sup_kind_waiting_acceptance", "宣讲预约等待宣讲员接受超时", "A request has waited too long for the lecturer"),
    ("sup_kind_waiting_assignment", "宣讲预约等待指派超时", "A request has waited too long for assignment"),
    ("sup_lecturer_ranking", "宣讲员排名", "Lecturers"),
    ("sup_mark_all_read", "全部标为已读", "Mark all read"),
    ("sup_mark_read", "标为已读", "Mark read"),
    ("sup_new_today", "当日新增", "New on the day"),
    ("sup_no_alerts", "暂无提醒", "No alerts"),
    ("sup_notifications", "通知", "Notifications"),
    ("sup_overdue_sessions", "过期未报告的计划宣讲", "Planned sessions past their date"),
    ("sup_print", "打印", "Print"),
    ("sup_rank", "名次", "Rank"),
    ("sup_rating", "平均评分", "Average rating"),
    ("sup_ratings", "评分次数", "Ratings"),
    ("sup_read", "已读", "Read"),
    ("sup_region_ranking", "地区排名", "Regions"),
    ("sup_trailing", "落后于计划进度", "Behind the planned pace"),
    ("sup_unread", "未读通知", "Unread notifications"),
    ("sup_waiting", "等待超时的宣讲预约", "Requests waiting too long"),
    ("sup_when", "时间", "When"),
];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/campaigns/{key}/digest", get(digest_page))
        .route("/notifications", get(notifications_page))
        .route("/notifications/read-all", post(read_all_form))
        .route("/notifications/{id}/read", post(read_form))
        .route("/api/v1/campaigns/{key}/supervision", get(supervision_api))
        .route("/api/v1/campaigns/{key}/digest", get(digest_api))
        .route("/api/v1/notifications", get(notifications_api))
        .route("/api/v1/notifications/read-all", post(read_all_api))
        .route("/api/v1/notifications/{id}/read", post(read_api))
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How often the server looks for new alerts to notify.
const NOTIFY_EVERY: Duration = Duration::from_secs(300);
/// The first look, soon after the start (not at once: the start is busy enough).
const NOTIFY_FIRST: Duration = Duration::from_secs(10);

/// Turns new alerts into notifications every [`NOTIFY_EVERY`] for as long as the
/// application's state lives; `launch` also stops it when the server stops. A failed
/// run is logged and the next one tries again.
pub(crate) async fn notifier(state: Weak<AppState>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + NOTIFY_FIRST, NOTIFY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else { return };
        let result = state.system(|s| s.notify(now(), today(), &Limits::default())).await;
        drop(state);
        if let Err(e) = result {
            eprintln!("notifications: {}", e.public_message());
        }
    }
}

/// What supervision is asked for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SupervisionParams {
    /// The region looked at (default: the account's own; the office's, a one-province tree's province).
    #[serde(default)]
    region: String,
    /// The date (default: today).
    as_of: Option<NaiveDate>,
    /// Hours a request may wait for a coordinator before it is an alert (default 48).
    assignment_hours: Option<i64>,
    /// Hours an assigned request may wait for the lecturer (default 24).
    acceptance_hours: Option<i64>,
    /// Rows of each lecturers' ranking (default 10).
    top: Option<usize>,
    /// Rows of each list of alerts (default 50).
    items: Option<usize>,
}

/// The most rows a list of alerts or a ranking gives.
const MAX_ROWS: usize = 1000;

impl SupervisionParams {
    fn limits(&self) -> Result<Limits, AppError> {
        let d = Limits::default();
        let hours = |field: &str, v: Option<i64>, default: i64| match v {
            Some(h) if h < 0 => Err(AppError::field(field, format!("{h} is negative"))),
            Some(h) => Ok(h),
            None => Ok(default),
        };
        let rows = |field: &str, v: Option<usize>, default: usize| match v {
            Some(n) if n > MAX_ROWS => Err(AppError::field(field, format!("{n} is more than {MAX_ROWS}"))),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        Ok(Limits {
            assignment_hours: hours("assignment_hours", self.assignment_hours, d.assignment_hours)?,
            acceptance_hours: hours("acceptance_hours", self.acceptance_hours, d.acceptance_hours)?,
            top: rows("top", self.top, d.top)?,
            items: rows("items", self.items, d.items)?,
            detail_up_to: None,
        })
    }

    fn region(&self) -> Result<Option<DivisionCode>, AppError> {
        division_param("region", &self.region)
    }
}

/// Alerts and rankings of a campaign in the account's scope (or a region in it):
/// requests waiting too long, planned sessions past their date with no report, regions
/// one level down against the straight line from the start to the target at the
/// deadline, those regions ranked by coverage and audience, and the lecturers of the
/// lecture groups there by sessions held and average rating. The office, coordinators
/// and supervisors only.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/supervision", tag = "supervision", params(("key" = String, Path), SupervisionParams),
    responses((status = 200, body = Supervision), (status = 403, body = crate::error::ErrorJson), (status = 404, body = crate::error::ErrorJson),
        (status = 422, body = crate::error::ErrorJson)))]
async fn supervision_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Query(p): Query<SupervisionParams>) -> Result<Json<Supervision>, AppError> {
    let (acc, region, as_of, limits) = (viewer.account, p.region()?, p.as_of.unwrap_or_else(today), p.limits()?);
    Ok(Json(state.as_account(&acc, move |s| s.supervision_of(&key, region, as_of, now(), &limits)).await?))
}

/// The daily digest: the region's figures on the day and what the day added, with
/// the day's alerts and rankings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Digest {
    /// The day.
    date: NaiveDate,
    /// The campaign's key.
    campaign: String,
    /// Its title.
    campaign_title: String,
    /// The region's totals as of the day.
    total: CoverageRow,
    /// Units first covered on the day.
    new_covered: i64,
    /// Sessions held on the day.
    new_sessions: i64,
    /// Their audience.
    new_audience: i64,
    /// Days to the deadline (negative: past it).
    days_left: i64,
    /// The alerts and rankings.
    supervision: Supervision,
}

async fn digest(state: &Shared, viewer: &Viewer, key: String, p: &SupervisionParams, lang: Lang) -> Result<Digest, AppError> {
    let (region, date, limits) = (p.region()?, p.as_of.unwrap_or_else(today), p.limits()?);
    state
        .as_account(&viewer.account, move |s| {
            let supervision = s.supervision_of(&key, region, date, now(), &limits)?;
            let code = supervision.region.as_deref().and_then(|c| c.parse().ok());
            let total = s.progress(&key, code, date)?.total;
            let before = match date.pred_opt() {
                Some(day) => s.progress(&key, code, day)?.total,
                None => total.clone(),
            };
            let campaign = s.campaign(&key)?;
            Ok(Digest {
                date,
                campaign: campaign.key.clone(),
                campaign_title: crate::dashboard::campaign_title(lang, &campaign),
                new_covered: total.covered - before.covered,
                new_sessions: total.sessions - before.sessions,
                new_audience: total.audience - before.audience,
                total,
                days_left: (campaign.deadline - date).num_days(),
                supervision,
            })
        })
        .await
}

/// The daily digest of a campaign in the account's scope (or a region in it): the
/// day's figures and change, alerts and rankings.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/digest", tag = "supervision", params(("key" = String, Path), SupervisionParams),
    responses((status = 200, body = Digest), (status = 403, body = crate::error::ErrorJson), (status = 404, body = crate::error::ErrorJson),
        (status = 422, body = crate::error::ErrorJson)))]
async fn digest_api(State(state): State<Shared>, viewer: Viewer, lang: Lang, Path(key): Path<String>, Query(p): Query<SupervisionParams>) -> Result<Json<Digest>, AppError> {
    Ok(Json(digest(&state, &viewer, key, &p, lang).await?))
}

/// Unix seconds as the server's local time.
fn local_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// A request's state in the page's words.
fn state_label(lang: Lang, waiting_for: &str) -> &'static str {
    lang.t(if waiting_for == "acceptance" { "sup_acceptance" } else { "sup_assignment" })
}

/// The supervision as the dashboard and the digest page show it: the JSON plus links
/// and words.
pub(crate) fn page_context(lang: Lang, key: &str, sup: &Supervision) -> serde_json::Value {
    let mut v = serde_json::to_value(sup).unwrap_or_default();
    let as_of = sup.as_of;
    for w in v["waiting"].as_array_mut().into_iter().flatten() {
        w["href"] = json!(format!("/requests/{}", w["id"]));
        w["label"] = json!(state_label(lang, w["waiting_for"].as_str().unwrap_or("")));
        w["since_text"] = json!(local_time(w["since"].as_i64().unwrap_or(0)));
    }
    for s in v["overdue_sessions"].as_array_mut().into_iter().flatten() {
        s["href"] = json!(format!("/campaigns/{key}/sessions/{}", s["id"]));
    }
    for list in ["trailing", "regions_by_coverage", "regions_by_audience"] {
        for r in v[list].as_array_mut().into_iter().flatten() {
            r["href"] = json!(format!("/campaigns/{key}?under={}&as_of={as_of}", r["code"].as_str().unwrap_or("")));
        }
    }
    for list in ["lecturers_by_sessions", "lecturers_by_rating"] {
        for l in v[list].as_array_mut().into_iter().flatten() {
            l["href"] = json!(format!("/lecturers/{}", l["key"].as_str().unwrap_or("")));
            l["rating_text"] = json!(l["rating"].as_f64().map(|r| format!("{r:.2}")).unwrap_or_default());
        }
    }
    v["digest_href"] = json!(format!("/campaigns/{key}/digest?as_of={as_of}{}", sup.region.as_ref().map(|r| format!("&region={r}")).unwrap_or_default()));
    v
}

async fn digest_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, Query(p): Query<SupervisionParams>) -> Result<Response, Shown> {
    let d = digest(&state, &viewer, key.clone(), &p, lang).await.shown(lang)?;
    let region_name = if d.supervision.region_name.is_empty() { lang.t("all").to_owned() } else { d.supervision.region_name.clone() };
    let ctx = json!({
        "title": lang.t("sup_digest"),
        "campaign": key,
        "campaign_title": d.campaign_title,
        "region_name": region_name,
        "region": d.supervision.region,
        "date": d.date.to_string(),
        "total": d.total,
        "new_covered": d.new_covered,
        "new_sessions": d.new_sessions,
        "new_audience": d.new_audience,
        "days_left": d.days_left,
        "deadline": d.supervision.deadline.to_string(),
        "target": d.supervision.target,
        "sup": page_context(lang, &key, &d.supervision),
        "dashboard_href": format!("/campaigns/{key}?as_of={}{}", d.date, d.supervision.region.as_ref().map(|r| format!("&under={r}")).unwrap_or_default()),
    });
    Ok(render::page(&state, &viewer, lang, "digest.html", ctx).await?.into_response())
}

/// Which notifications to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NotificationQuery {
    /// Page, from 1.
    page: Option<i64>,
    /// Rows per page (default 50).
    per_page: Option<i64>,
}

/// A page of the account's notifications.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct NotificationList {
    /// Newest first.
    items: Vec<Notification>,
    /// Notifications in all.
    total: i64,
    /// This page, from 1.
    page: i64,
    /// Rows per page.
    per_page: i64,
    /// How many are unread.
    unread: i64,
}

/// The account's notifications, after telling it of any alert it was not told of yet.
async fn list(state: &Shared, viewer: &Viewer, q: &NotificationQuery) -> Result<NotificationList, AppError> {
    let paging = crate::units::paging(q.page, q.per_page, Default::default());
    if store::is_notified(&viewer.account) {
        let acc = viewer.account.clone();
        state.system(move |s| s.notify_one(&acc, now(), today(), &Limits::default())).await?;
    }
    state
        .as_account(&viewer.account, move |s| {
            let page = s.notifications(paging)?;
            let unread = s.unread_notifications()?;
            Ok(NotificationList { items: page.items, total: page.total, page: page.page, per_page: page.per_page, unread })
        })
        .await
}

/// The signed-in account's notifications, newest first: alerts of its scope for
/// coordinators and the office, each told once.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "supervision", params(NotificationQuery), responses((status = 200, body = NotificationList)))]
async fn notifications_api(State(state): State<Shared>, viewer: Viewer, Query(q): Query<NotificationQuery>) -> Result<Json<NotificationList>, AppError> {
    Ok(Json(list(&state, &viewer, &q).await?))
}

/// Marks one of the account's notifications read (another account's is not found).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "supervision", params(("id" = i64, Path)),
    responses((status = 200, body = Notification), (status = 404, body = crate::error::ErrorJson)))]
async fn read_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<i64>) -> Result<Json<Notification>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.mark_read(id)).await?))
}

/// How many notifications were marked read.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Marked {
    /// Unread ones that are read now.
    marked: u64,
}

/// Marks all the account's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "supervision", responses((status = 200, body = Marked)))]
async fn read_all_api(State(state): State<Shared>, viewer: Viewer) -> Result<Json<Marked>, AppError> {
    let acc = viewer.account;
    Ok(Json(Marked { marked: state.as_account(&acc, move |s| s.mark_all_read()).await? }))
}

async fn notifications_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Query(q): Query<NotificationQuery>) -> Result<Response, Shown> {
    let l = list(&state, &viewer, &q).await.shown(lang)?;
    let items: Vec<_> = l
        .items
        .iter()
        .map(|n| {
            json!({ "id": n.id, "kind": lang.t(&format!("sup_kind_{}", n.kind)), "text": n.text, "link": n.link, "read": n.read, "when": local_time(n.created) })
        })
        .collect();
    let page = store::Page { items: Vec::<()>::new(), total: l.total, page: l.page, per_page: l.per_page };
    let ctx = render::merge(
        json!({ "title": lang.t("sup_notifications"), "items": items, "unread": l.unread }),
        render::pager(&page, "/notifications", &[("per_page", q.per_page.map(|n| n.to_string()).unwrap_or_default())]),
    );
    Ok(render::page(&state, &viewer, lang, "notifications.html", ctx).await?.into_response())
}

async fn read_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<i64>) -> Result<Response, Shown> {
    let acc = viewer.account;
    state.as_account(&acc, move |s| s.mark_read(id)).await.shown(lang)?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn read_all_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    let acc = viewer.account;
    state.as_account(&acc, move |s| s.mark_all_read()).await.shown(lang)?;
    Ok(Redirect::to("/notifications").into_response())
}

/// Starts the [`notifier`] on the runtime; `launch` aborts it when the server stops.
/// It holds the state weakly, so that it never keeps a stopped server's store open.
pub(crate) fn start_notifier(state: &Shared) -> tokio::task::JoinHandle<()> {
    tokio::spawn(notifier(Arc::downgrade(state)))
}
