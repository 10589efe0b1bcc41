//! The campaign dashboard: the scope's regions one level down (table and bars),
//! coverage over time against the deadline, overdue regions and regions behind the
//! planned pace marked, drill-down region by region to the uncovered units, the
//! supervision's alerts and rankings and the unread notifications; and the coverage
//! report in the API.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::{Action, Level};
use domain::coverage::CoverageRow;
use serde::Deserialize;
use serde_json::json;
use store::{CoverageQuery, Limits, Paging, RegionProgress, RegionView, UnitFilter};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::export::{Cell, Format, Table};
use crate::render::{self, ShowErr, Shown};
use crate::units::{division_param, today};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(home))
        .route("/campaigns/{key}", get(dashboard))
        .route("/api/v1/campaigns/{key}/coverage", get(coverage_api))
        .route("/api/v1/campaigns/{key}/progress", get(progress_api))
        .route("/api/v1/regions/{code}", get(region_api))
}

/// The first page after sign-in: the first campaign's dashboard, or a unit contact's
/// own unit.
async fn home(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    if let domain::Scope::Unit { unit, .. } = &viewer.account.scope {
        return Ok(Redirect::to(&format!("/units/{unit}")).into_response());
    }
    let campaigns = state.as_account(&viewer.account, |s| s.campaigns()).await.shown(lang)?;
    match campaigns.first() {
        Some(c) => Ok(Redirect::to(&format!("/campaigns/{}", c.key)).into_response()),
        None => Ok(render::page(&state, &viewer, lang, "error.html", json!({ "status": 404, "message": "no campaign yet: apply one with `grassroots campaign apply`" })).await?.into_response()),
    }
}

/// The most counting sessions a dashboard's region may hold for the dashboard to list
/// its planned sessions past their day and rank its lecturers: about the demo's
/// province (25,000 sessions, some 15 ms). Larger regions link to the daily digest,
/// which works them out when asked.
const DETAIL_UP_TO: i64 = 30_000;

/// What a coverage report is asked for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CoverageParams {
    /// The region whose subdivisions are listed (default: the account's own region).
    #[serde(default)]
    under: String,
    /// The level of the rows (default: one below `under`).
    #[serde(default)]
    level: String,
    /// The date the report is as of (default: today).
    as_of: Option<NaiveDate>,
    /// json (default), csv or xlsx.
    #[serde(default)]
    format: Format,
}

impl CoverageParams {
    fn query(&self, key: &str) -> Result<CoverageQuery, AppError> {
        let level = match self.level.trim() {
            "" => None,
            l => Some(l.parse::<Level>().map_err(|e| AppError::field("level", e.to_string()))?),
        };
        Ok(CoverageQuery { campaign: key.to_owned(), level, under: division_param("under", &self.under)?, as_of: self.as_of.unwrap_or_else(today) })
    }
}

async fn coverage(state: &Shared, viewer: &Viewer, key: &str, p: &CoverageParams) -> Result<Vec<CoverageRow>, AppError> {
    let (q, export) = (p.query(key)?, p.format != Format::Json);
    state.as_account(&viewer.account, move |s| if export { s.export_coverage(&q) } else { s.coverage(&q) }).await
}

fn coverage_table(rows: Vec<CoverageRow>) -> Table {
    let topics: Vec<String> = rows.first().map(|r| r.topics.iter().map(|(k, _)| format!("topic:{k}")).collect()).unwrap_or_default();
    let mut headers: Vec<String> = ["code", "name", "level", "units", "covered", "coverage", "sessions", "audience", "overdue"].map(String::from).to_vec();
    headers.extend(topics);
    Table {
        name: "coverage",
        headers,
        rows: rows
            .into_iter()
            .map(|r| {
                let mut row: Vec<Cell> = vec![
                    r.code.into(),
                    r.name.into(),
                    r.level.as_str().into(),
                    r.units.into(),
                    r.covered.into(),
                    r.coverage.into(),
                    r.sessions.into(),
                    r.audience.into(),
                    (if r.overdue { "yes" } else { "no" }).into(),
                ];
                row.extend(r.topics.into_iter().map(|(_, n)| Cell::Int(n)));
                row
            })
            .collect(),
    }
}

/// Coverage of the regions one level below `under`, as DESIGN.md defines it.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/coverage", tag = "coverage", params(("key" = String, Path), CoverageParams),
    responses((status = 200, body = Vec<CoverageRow>), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn coverage_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Query(p): Query<CoverageParams>) -> Result<Response, AppError> {
    let rows = coverage(&state, &viewer, &key, &p).await?;
    match p.format {
        Format::Json => Ok(Json(rows).into_response()),
        f => coverage_table(rows).download(f),
    }
}

/// Where a region's totals and time line are asked for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProgressParams {
    /// The region (default: the account's own).
    #[serde(default)]
    region: String,
    /// The date (default: today).
    as_of: Option<NaiveDate>,
}

/// A region's totals and its covered units day by day.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/progress", tag = "coverage", params(("key" = String, Path), ProgressParams),
    responses((status = 200, body = RegionProgress), (status = 404, body = crate::error::ErrorJson)))]
async fn progress_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Query(p): Query<ProgressParams>) -> Result<Json<RegionProgress>, AppError> {
    let (acc, region, as_of) = (viewer.account, division_param("region", &p.region)?, p.as_of.unwrap_or_else(today));
    Ok(Json(state.as_account(&acc, move |s| s.progress(&key, region, as_of)).await?))
}

/// A region the account may see, with its ancestors.
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "coverage", params(("code" = String, Path)),
    responses((status = 200, body = RegionView), (status = 404, body = crate::error::ErrorJson)))]
async fn region_api(State(state): State<Shared>, viewer: Viewer, Path(code): Path<String>) -> Result<Json<RegionView>, AppError> {
    let code = division_param("code", &code)?.ok_or_else(|| AppError::field("code", "must not be empty"))?;
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.region(code)).await?))
}

/// The time line as an SVG: covered share by day, the straight line from the start
/// to the target at the deadline, and the target.
fn chart(p: &RegionProgress, as_of: NaiveDate) -> String {
    let (w, h, pad) = (640.0, 220.0, 30.0);
    // The axis runs to the deadline or the last change, whichever is later, and not
    // on for years when a finished campaign is looked at long after.
    let last_change = p.days.last().map_or(p.start, |(d, _)| *d);
    let end = p.deadline.max(last_change).max(as_of.min(p.deadline + chrono::Days::new(30))).max(p.start + chrono::Days::new(1));
    let span = (end - p.start).num_days().max(1) as f64;
    let x = |d: NaiveDate| pad + (d - p.start).num_days().clamp(0, span as i64) as f64 / span * (w - 2.0 * pad);
    let y = |share: f64| h - pad - share.clamp(0.0, 1.0) * (h - 2.0 * pad);
    let units = p.total.units.max(1) as f64;
    let mut points = vec![format!("{:.1},{:.1}", x(p.start), y(0.0))];
    let mut last = 0.0;
    for (day, covered) in &p.days {
        let share = *covered as f64 / units;
        points.push(format!("{:.1},{:.1}", x(*day), y(last)));
        points.push(format!("{:.1},{:.1}", x(*day), y(share)));
        last = share;
    }
    points.push(format!("{:.1},{:.1}", x(as_of.min(end)), y(last)));
    format!(
        r##"<svg class="chart" id="progress-chart" viewBox="0 0 {w} {h}" role="img" aria-label="coverage over time">
<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>
<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="#999"/>
<line x1="{pad}" y1="{ty:.1}" x2="{r}" y2="{ty:.1}" stroke="#b71c1c" stroke-dasharray="4 4"/>
<line x1="{x0:.1}" y1="{b}" x2="{xd:.1}" y2="{ty:.1}" stroke="#999" stroke-dasharray="2 3"/>
<line x1="{xd:.1}" y1="{pad}" x2="{xd:.1}" y2="{b}" stroke="#b71c1c"/>
<polyline fill="none" stroke="#2e7d32" stroke-width="2" points="{pts}"/>
<text x="{pad}" y="{tb}" font-size="11">{start}</text><text x="{xd:.1}" y="{tb}" font-size="11" text-anchor="end">{deadline}</text>
<text x="2" y="{ty:.1}" font-size="11">{tp:.0}%</text>
</svg>"##,
        b = h - pad,
        r = w - pad,
        ty = y(p.target),
        x0 = x(p.start),
        xd = x(p.deadline),
        pts = points.join(" "),
        tb = h - 8.0,
        start = p.start,
        deadline = p.deadline,
        tp = p.target * 100.0,
    )
}

async fn dashboard(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, Query(p): Query<CoverageParams>) -> Result<Response, Shown> {
    if p.format != Format::Json {
        return coverage_api(State(state), viewer, Path(key), Query(p)).await.shown(lang);
    }
    if let domain::Scope::Unit { unit, .. } = &viewer.account.scope {
        return Ok(Redirect::to(&format!("/units/{unit}")).into_response());
    }
    let as_of = p.as_of.unwrap_or_else(today);
    let under = division_param("under", &p.under).shown(lang)?;
    let k = key.clone();
    let q = p.query(&key).shown(lang)?;
    let now = crate::supervision::now();
    let (campaign, progress, region, rows, uncovered, sup, unread) = state
        .as_account(&viewer.account, move |s| {
            let acc = s.account().clone();
            let campaign = s.campaign(&k)?;
            // A tree of one province (a provincial deployment) opens on its cities.
            let under = match (under, acc.scope.root()) {
                (None, None) => s.only_province()?,
                (u, _) => u,
            };
            let mut q = q;
            q.under = under;
            let progress = s.progress(&k, under, as_of)?;
            let region = match under.or(acc.scope.root()) {
                Some(code) => Some(s.region(code)?),
                None => None,
            };
            let level = region.as_ref().map_or(Level::Province, |r| r.level);
            // Those who supervise see the alerts and rankings of the region; the
            // dashboard shows a few of each.
            let limits = Limits { top: 5, items: 5, detail_up_to: Some(DETAIL_UP_TO), ..Limits::default() };
            let sup = if acc.may(Action::SupervisionRead) { Some(s.supervision_of(&k, under, as_of, now, &limits)?) } else { None };
            let unread = if store::is_notified(&acc) { Some(s.unread_notifications()?) } else { None };
            let (rows, uncovered) = if level < Level::Township {
                // The supervision's standings are the report one level down; a level
                // asked for by name is the plain report.
                let rows: Vec<serde_json::Value> = match (&sup, q.level) {
                    (Some(sup), None) => {
                        let mut rows = sup.regions_by_coverage.clone();
                        rows.sort_by(|a, b| a.code.cmp(&b.code));
                        rows.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect()
                    }
                    _ => s.coverage(&q)?.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect(),
                };
                (rows, None)
            } else {
                // Below a township the regions are the units themselves: list those
                // still to cover.
                let f = UnitFilter { under: region.as_ref().and_then(|r| r.code.parse().ok()), uncovered: Some((k.clone(), as_of)), ..Default::default() };
                (Vec::new(), Some(s.units(&f, Paging { page: 1, per_page: 200 })?))
            };
            Ok((campaign, progress, region, rows, uncovered, sup, unread))
        })
        .await
        .shown(lang)?;
    let base = format!("/campaigns/{key}");
    let mut crumbs = vec![];
    if let Some(r) = &region {
        // "All" leads above a region asked for; a tree's only province, opened by
        // itself, has nothing above it to go to.
        if viewer.account.scope.root().is_none() && under.is_some() {
            crumbs.push(json!({ "text": lang.t("all"), "href": base }));
        }
        for (code, name) in &r.chain {
            crumbs.push(json!({ "text": name, "href": format!("{base}?under={code}&as_of={as_of}") }));
        }
    }
    let region_name = region.as_ref().map_or(lang.t("all").to_owned(), |r| r.name.clone());
    let rows: Vec<_> = rows
        .into_iter()
        .map(|mut v| {
            let code = v["code"].as_str().unwrap_or_default().to_owned();
            v["href"] = json!(format!("{base}?under={code}&as_of={as_of}"));
            v["uncovered_href"] = json!(format!("/units?under={code}&uncovered={key}&as_of={as_of}"));
            v
        })
        .collect();
    let under_s = region.as_ref().map(|r| r.code.clone()).unwrap_or_default();
    let title = campaign_title(lang, &campaign);
    let ctx = json!({
        "title": lang.t("dashboard"),
        "campaign": key,
        "campaign_title": title,
        "crumbs": crumbs,
        "region_name": region_name,
        "under": under_s,
        "as_of": as_of.to_string(),
        "total": progress.total,
        "target": campaign.target,
        "deadline": campaign.deadline.to_string(),
        "days_left": (campaign.deadline - as_of).num_days(),
        "chart": chart(&progress, as_of),
        "rows": rows,
        "export_base": format!("/api/v1/campaigns/{key}/coverage?under={under_s}&as_of={as_of}"),
        "uncovered": uncovered.as_ref().map(|u| json!({ "total": u.total, "items": u.items })),
        "uncovered_href": format!("/units?under={under_s}&uncovered={key}&as_of={as_of}"),
        "sup": sup.as_ref().map(|sup| crate::supervision::page_context(lang, &key, sup)),
        "unread": unread,
    });
    Ok(render::page(&state, &viewer, lang, "dashboard.html", ctx).await?.into_response())
}

/// A campaign's title in the page's language: its English title if it has one.
pub(crate) fn campaign_title(lang: crate::Lang, campaign: &store::Campaign) -> String {
    if lang == crate::Lang::En {
        campaign.extra.parse::<toml::Table>().ok().and_then(|t| t.get("title_en").and_then(|v| v.as_str().map(str::to_owned))).unwrap_or(campaign.title.clone())
    } else {
        campaign.title.clone()
    }
}
