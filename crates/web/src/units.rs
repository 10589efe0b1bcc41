//! Units: the searchable list, a unit's page, and the form for organization units;
//! the same under `/api/v1/units`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::{DivisionCode, UnitKind};
use serde::Deserialize;
use serde_json::json;
use store::{Page, Paging, SessionFilter, UnitFilter, UnitInput, UnitView};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::export::{Format, Table};
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown, cell, merge, pager};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/units", get(list_page))
        .route("/units/new", get(new_form).post(create_form))
        .route("/units/{code}", get(detail_page))
        .route("/units/{code}/edit", get(edit_form).post(update_form))
        .route("/api/v1/units", get(list_api).post(create_api))
        .route("/api/v1/units/{code}", get(get_api).put(update_api))
}

/// Which units to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UnitQuery {
    /// Words in the name or code.
    #[serde(default)]
    q: String,
    /// Only units under this division.
    #[serde(default)]
    under: String,
    /// Only units of this kind.
    #[serde(default)]
    kind: String,
    /// Only units not yet covered by this campaign (its key).
    #[serde(default)]
    uncovered: String,
    /// The date for `uncovered` (default today).
    as_of: Option<NaiveDate>,
    /// Page, from 1.
    page: Option<i64>,
    /// Rows per page (default 50).
    per_page: Option<i64>,
    /// json (default), csv or xlsx: csv and xlsx give every matching row.
    #[serde(default)]
    format: Format,
}

pub(crate) fn division_param(field: &str, s: &str) -> Result<Option<DivisionCode>, AppError> {
    match s.trim() {
        "" => Ok(None),
        s => s.parse().map(Some).map_err(|e: domain::Error| AppError::field(field, e.to_string())),
    }
}

pub(crate) fn paging(page: Option<i64>, per_page: Option<i64>, format: Format) -> Paging {
    match format {
        Format::Json => Paging { page: page.unwrap_or(1), per_page: per_page.unwrap_or(50).min(1000) },
        _ => Paging { page: 1, per_page: Paging::MAX },
    }
}

impl UnitQuery {
    fn filter(&self) -> Result<UnitFilter, AppError> {
        let kind = match self.kind.trim() {
            "" => None,
            k => Some(UnitKind::from_stored(k).ok_or_else(|| AppError::field("kind", domain::Error::UnknownKind(k.to_owned()).to_string()))?),
        };
        let uncovered = match self.uncovered.trim() {
            "" => None,
            key => Some((key.to_owned(), self.as_of.unwrap_or_else(today))),
        };
        Ok(UnitFilter { q: self.q.clone(), under: division_param("under", &self.under)?, kind, uncovered })
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("under", self.under.clone()),
            ("kind", self.kind.clone()),
            ("uncovered", self.uncovered.clone()),
            ("as_of", self.as_of.map(|d| d.to_string()).unwrap_or_default()),
        ]
    }
}

pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

async fn fetch(state: &Shared, viewer: &Viewer, q: &UnitQuery) -> Result<Page<UnitView>, AppError> {
    let (f, p, export) = (q.filter()?, paging(q.page, q.per_page, q.format), q.format != Format::Json);
    state.as_account(&viewer.account, move |s| if export { s.export_units(&f) } else { s.units(&f, p) }).await
}

fn table(units: Vec<UnitView>) -> Table {
    Table {
        name: "units",
        headers: ["code", "name", "kind", "division", "division_name"].map(String::from).to_vec(),
        rows: units.into_iter().map(|u| vec![u.code.into(), u.name.into(), u.kind.as_str().into(), u.division.into(), u.division_name.into()]).collect(),
    }
}

/// Units the account sees, a page at a time (or all of them as CSV or XLSX).
#[utoipa::path(get, path = "/api/v1/units", tag = "units", params(UnitQuery),
    responses((status = 200, body = inline(Page<UnitView>)), (status = 404, body = crate::error::ErrorJson)))]
async fn list_api(State(state): State<Shared>, viewer: Viewer, Query(q): Query<UnitQuery>) -> Result<Response, AppError> {
    let page = fetch(&state, &viewer, &q).await?;
    match q.format {
        Format::Json => Ok(Json(page).into_response()),
        f => table(page.items).download(f),
    }
}

/// One unit.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "units", params(("code" = String, Path)),
    responses((status = 200, body = UnitView), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: Viewer, Path(code): Path<String>) -> Result<Json<UnitView>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.unit(&code)).await?))
}

/// An organization unit as a form or the API sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct UnitBody {
    /// Its code (fixed once created).
    #[serde(default)]
    code: String,
    /// Its name.
    name: String,
    /// enterprise, school, agency, hospital or other.
    kind: String,
    /// The division it is attached to.
    division: String,
}

impl UnitBody {
    fn input(&self) -> Result<UnitInput, AppError> {
        Ok(UnitInput {
            code: self.code.trim().to_owned(),
            name: self.name.clone(),
            kind: self.kind.parse().map_err(|e: domain::Error| AppError::field("kind", e.to_string()))?,
            division: division_param("division", &self.division)?.ok_or_else(|| AppError::field("division", "must not be empty"))?,
        })
    }
}

async fn save(state: &Shared, viewer: &Viewer, body: &UnitBody, existing: Option<String>) -> Result<UnitView, AppError> {
    let input = body.input()?;
    state
        .as_account(&viewer.account, move |s| match existing {
            Some(code) => s.change_unit(&code, &input),
            None => s.add_unit(&input),
        })
        .await
}

/// Adds an organization unit.
#[utoipa::path(post, path = "/api/v1/units", tag = "units", request_body = UnitBody,
    responses((status = 200, body = UnitView), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn create_api(State(state): State<Shared>, viewer: Viewer, Json(body): Json<UnitBody>) -> Result<Json<UnitView>, AppError> {
    Ok(Json(save(&state, &viewer, &body, None).await?))
}

/// Changes an organization unit.
#[utoipa::path(put, path = "/api/v1/units/{code}", tag = "units", params(("code" = String, Path)), request_body = UnitBody,
    responses((status = 200, body = UnitView), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn update_api(State(state): State<Shared>, viewer: Viewer, Path(code): Path<String>, Json(mut body): Json<UnitBody>) -> Result<Json<UnitView>, AppError> {
    if body.code.is_empty() {
        body.code = code.clone();
    }
    Ok(Json(save(&state, &viewer, &body, Some(code)).await?))
}

async fn list_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Query(q): Query<UnitQuery>) -> Result<Response, Shown> {
    if q.format != Format::Json {
        return list_api(State(state), viewer, Query(q)).await.shown(lang);
    }
    let page = fetch(&state, &viewer, &q).await.shown(lang)?;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|u| vec![cell(&u.name, Some(format!("/units/{}", u.code))), cell(&u.code, None), cell(u.kind, None), cell(&u.division_name, Some(format!("/units?under={}", u.division)))])
        .collect();
    let params = q.params();
    let mut export = params.clone();
    let kinds: Vec<_> = std::iter::once(("", lang.t("all").to_owned()))
        .chain(std::iter::once(UnitKind::Village).chain(UnitKind::ORGANIZATIONS).map(|k| (k.as_str(), k.as_str().to_owned())))
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": v == q.kind }))
        .collect();
    let mut filters = vec![json!({ "name": "kind", "options": kinds })];
    for (k, v) in [("under", &q.under), ("uncovered", &q.uncovered)] {
        if !v.is_empty() {
            filters.push(json!({ "name": k, "value": v }));
        }
    }
    export.push(("format", "csv".into()));
    let csv = render::url("/units", &export);
    export.pop();
    export.push(("format", "xlsx".into()));
    let xlsx = render::url("/units", &export);
    let title = if q.uncovered.is_empty() { lang.t("units").to_owned() } else { lang.t("uncovered_units").to_owned() };
    let actions = if viewer.account.may(domain::Action::UnitCreate) { vec![json!({ "label": lang.t("add"), "href": "/units/new" })] } else { vec![] };
    let ctx = merge(
        json!({ "title": title, "q": q.q, "columns": [lang.t("name"), lang.t("code"), lang.t("kind"), lang.t("division")], "rows": rows,
                "filters": filters, "exports": [{ "label": "CSV", "href": csv }, { "label": "XLSX", "href": xlsx }], "actions": actions }),
        pager(&page, "/units", &params),
    );
    Ok(render::page(&state, &viewer, lang, "list.html", ctx).await?.into_response())
}

async fn detail_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(code): Path<String>) -> Result<Response, Shown> {
    let c = code.clone();
    let (unit, sessions) = state
        .as_account(&viewer.account, move |s| {
            let unit = s.unit(&c)?;
            let sessions = match s.campaigns()?.first() {
                Some(campaign) => Some((campaign.key.clone(), s.sessions(&campaign.key, &SessionFilter { unit: Some(c.clone()), ..Default::default() }, Paging { page: 1, per_page: 100 })?)),
                None => None,
            };
            Ok((unit, sessions))
        })
        .await
        .shown(lang)?;
    let mut actions = Vec::new();
    if viewer.account.may(domain::Action::UnitUpdate) && unit.kind != UnitKind::Village {
        actions.push(json!({ "label": lang.t("edit"), "href": format!("/units/{code}/edit") }));
    }
    let related = sessions.map(|(key, page)| {
        if viewer.account.may(domain::Action::SessionCreate) {
            actions.push(json!({ "label": lang.t("new_session"), "href": format!("/campaigns/{key}/sessions/new?unit={code}") }));
        }
        json!({ "title": lang.t("sessions"), "columns": [lang.t("date"), lang.t("title"), lang.t("headcount"), lang.t("status")],
            "rows": page.items.iter().map(|s| vec![cell(s.date, Some(format!("/campaigns/{key}/sessions/{}", s.id))), cell(&s.title, None), cell(s.headcount, None), cell(s.status.as_str(), None)]).collect::<Vec<_>>() })
    });
    let ctx = json!({
        "title": unit.name,
        "fields": [
            { "label": lang.t("code"), "value": unit.code },
            { "label": lang.t("kind"), "value": unit.kind.as_str() },
            { "label": lang.t("division"), "value": format!("{} ({})", unit.division_name, unit.division), "href": format!("/units?under={}", unit.division) },
        ],
        "actions": actions,
        "related": related,
    });
    Ok(render::page(&state, &viewer, lang, "detail.html", ctx).await?.into_response())
}

fn form_ctx(lang: Lang, body: Option<&UnitBody>, existing: Option<&str>, error: Option<&AppError>) -> serde_json::Value {
    let v = |f: fn(&UnitBody) -> &String| body.map(f).cloned().unwrap_or_default();
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    let kind = v(|b| &b.kind);
    let kinds: Vec<_> = UnitKind::ORGANIZATIONS.iter().map(|k| json!({ "value": k.as_str(), "label": k.as_str(), "selected": k.as_str() == kind })).collect();
    let action = existing.map_or("/units/new".to_owned(), |c| format!("/units/{c}/edit"));
    json!({
        "title": format!("{} {}", lang.t(if existing.is_some() { "edit" } else { "add" }), lang.t("unit")),
        "action": action,
        "back": existing.map_or("/units".to_owned(), |c| format!("/units/{c}")),
        "error": error.filter(|e| e.field_name().is_none()).map(|e| e.public_message()),
        "fields": [
            { "name": "code", "label": lang.t("code"), "type": "text", "value": existing.map(str::to_owned).unwrap_or_else(|| v(|b| &b.code)), "required": true, "readonly": existing.is_some(), "error": err("code") },
            { "name": "name", "label": lang.t("name"), "type": "text", "value": v(|b| &b.name), "required": true, "error": err("name") },
            { "name": "kind", "label": lang.t("kind"), "type": "select", "options": kinds, "error": err("kind") },
            { "name": "division", "label": lang.t("division"), "type": "text", "value": v(|b| &b.division), "required": true, "error": err("division") },
        ],
    })
}

async fn new_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::UnitCreate).shown(lang)?;
    let scope = viewer.account.scope.root().map(|c| c.to_string()).unwrap_or_default();
    let body = UnitBody { code: String::new(), name: String::new(), kind: "enterprise".into(), division: scope };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, Some(&body), None, None)).await?.into_response())
}

async fn edit_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(code): Path<String>) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::UnitUpdate).shown(lang)?;
    let (acc, c) = (viewer.account.clone(), code.clone());
    let u = state.as_account(&acc, move |s| s.unit(&c)).await.shown(lang)?;
    let body = UnitBody { code: u.code, name: u.name, kind: u.kind.as_str().into(), division: u.division };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, Some(&body), Some(&code), None)).await?.into_response())
}

async fn submit(state: Shared, viewer: Viewer, lang: Lang, body: UnitBody, existing: Option<String>) -> Result<Response, Shown> {
    let result = save(&state, &viewer, &body, existing.clone()).await;
    render::after_submit(&state, &viewer, lang, result, |u| format!("/units/{}", u.code), |e| form_ctx(lang, Some(&body), existing.as_deref(), Some(e))).await
}

async fn create_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, axum::Form(body): axum::Form<UnitBody>) -> Result<Response, Shown> {
    submit(state, viewer, lang, body, None).await
}

async fn update_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(code): Path<String>, axum::Form(mut body): axum::Form<UnitBody>) -> Result<Response, Shown> {
    body.code = code.clone();
    submit(state, viewer, lang, body, Some(code)).await
}
