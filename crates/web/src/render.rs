//! Pages from templates: the template set (embedded in the binary: no files to
//! deploy), the layout's shared context, error pages and the static assets.

use std::sync::OnceLock;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::{Environment, State};
use serde_json::json;
use domain::Action;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::Shared;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

static TEMPLATES: &[(&str, &str)] = templates!(
    "base.html", "signin.html", "error.html", "dashboard.html", "list.html", "detail.html", "form.html", "imports.html",
    // Requests and the lecturers' view.
    "request.html", "requests.html", "my.html",
    // Bulletins (public and editing).
    "public.html", "bulletins.html", "bulletin.html", "bulletin_form.html",
    // Supervision.
    "digest.html", "notifications.html",
    // Live meetings.
    "meetings.html", "meeting.html", "venue.html",
);

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("the embedded templates parse (a test renders each)");
        }
        env.add_function("t", |state: &State, key: &str| -> String {
            let lang = state.lookup("lang").and_then(|l| l.as_str().and_then(Lang::parse)).unwrap_or(Lang::Zh);
            lang.t(key).to_owned()
        });
        // A share above nought never reads as 0.0%: a first covered unit must show.
        env.add_filter("pct", domain::coverage::percent);
        env
    })
}

/// A page that failed, shown in the page's language.
pub struct Shown(pub AppError, pub Lang);

impl From<(AppError, Lang)> for Shown {
    fn from((e, l): (AppError, Lang)) -> Shown {
        Shown(e, l)
    }
}

/// Turns an error into a shown one: `.shown(lang)?` in page handlers.
pub(crate) trait ShowErr<T> {
    fn shown(self, lang: Lang) -> Result<T, Shown>;
}

impl<T, E: Into<AppError>> ShowErr<T> for Result<T, E> {
    fn shown(self, lang: Lang) -> Result<T, Shown> {
        self.map_err(|e| Shown(e.into(), lang))
    }
}

impl IntoResponse for Shown {
    fn into_response(self) -> Response {
        let Shown(e, lang) = self;
        if matches!(e, AppError::Unauthorized) {
            return Redirect::to("/signin").into_response();
        }
        let status = e.status();
        let message = match status {
            StatusCode::NOT_FOUND => lang.t("not_found").to_owned(),
            StatusCode::SERVICE_UNAVAILABLE => lang.t("busy").to_owned(),
            _ if matches!(e, AppError::Csrf) => lang.t("csrf_failed").to_owned(),
            _ => e.public_message(),
        };
        let mut res = match bare(lang, "error.html", json!({ "status": status.as_u16(), "message": message })) {
            Ok(html) => (status, html).into_response(),
            Err(_) => (status, message).into_response(),
        };
        if let Some(secs) = e.retry_after() {
            res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        res
    }
}

fn render(name: &str, ctx: serde_json::Value) -> Result<Html<String>, AppError> {
    let t = env().get_template(name).map_err(|e| AppError::Internal(e.to_string()))?;
    t.render(minijinja::value::Serde(&ctx)).map(Html).map_err(|e| AppError::Internal(format!("{e:#}")))
}

/// A page outside the signed-in layout (sign-in, errors).
pub(crate) fn bare(lang: Lang, name: &str, mut ctx: serde_json::Value) -> Result<Html<String>, Shown> {
    ctx["lang"] = json!(lang.as_str());
    render(name, ctx).shown(lang)
}

/// A page of the signed-in application: `ctx` plus the layout's own context (the
/// account, its form token, the campaigns for the navigation).
pub(crate) async fn page(state: &Shared, viewer: &Viewer, lang: Lang, name: &str, mut ctx: serde_json::Value) -> Result<Html<String>, Shown> {
    let (campaigns, scope_name) = state
        .as_account(&viewer.account, move |s| {
            let name = match s.account().scope.root() {
                Some(code) => s.region(code).map(|r| r.name).ok(),
                None => None,
            };
            Ok((s.campaigns()?, name))
        })
        .await
        .shown(lang)?;
    let a = &viewer.account;
    let unit = match &a.scope {
        domain::Scope::Unit { unit, .. } => Some(unit.clone()),
        _ => None,
    };
    ctx["lang"] = json!(lang.as_str());
    ctx["csrf"] = json!(viewer.csrf);
    // What the menu offers is what the permission table allows, nothing else.
    let may = |action| a.may(action);
    ctx["me"] = json!({ "name": a.name, "role": a.role.as_str(), "scope": a.scope.root().map(|c| c.to_string()), "scope_name": scope_name.or(unit.clone()), "unit": unit,
        "may": {
            "lecturers": may(Action::LecturerList),
            "my_work": may(Action::RequestWork),
            "drafts": may(Action::BulletinCreate),
            "import": store::ImportKind::ALL.iter().any(|k| may(k.action())),
            "meetings": may(Action::MeetingList),
            "settings": may(Action::CampaignUpdate),
        } });
    ctx["campaigns"] = json!(campaigns.iter().map(|c| json!({ "key": c.key, "title": c.title })).collect::<Vec<_>>());
    if ctx.get("campaign").is_none() {
        ctx["campaign"] = json!(campaigns.first().map(|c| c.key.clone()));
    }
    render(name, ctx).shown(lang)
}

const STYLE: &str = include_str!("../static/app.css");
const REPORT_JS: &str = include_str!("../static/report.js");
const PRINT_JS: &str = include_str!("../static/print.js");
const MEETING_JS: &str = include_str!("../static/meeting.js");

pub(crate) fn static_routes() -> Router<Shared> {
    Router::new()
        .route("/static/app.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLE) }))
        .route("/static/meeting.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], MEETING_JS) }))
        .route("/static/print.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], PRINT_JS) }))
        .route("/static/report.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], REPORT_JS) }))
}


/// Paging links of a list page: the number of pages and the previous and next
/// page's URLs, keeping the list's other query parameters.
pub(crate) fn pager<T>(page: &store::Page<T>, path: &str, query: &[(&str, String)]) -> serde_json::Value {
    let pages = ((page.total + page.per_page - 1) / page.per_page).max(1);
    let href = |p: i64| {
        let mut q: Vec<String> = query.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", crate::auth::urlencode(v))).collect();
        q.push(format!("page={p}"));
        format!("{path}?{}", q.join("&"))
    };
    json!({
        "page": page.page,
        "pages": pages,
        "total": page.total,
        "prev_href": (page.page > 1).then(|| href(page.page - 1)),
        "next_href": (page.page < pages).then(|| href(page.page + 1)),
    })
}

/// A URL with a query string of the non-empty parameters.
pub(crate) fn url(path: &str, query: &[(&str, String)]) -> String {
    let q: Vec<String> = query.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", crate::auth::urlencode(v))).collect();
    if q.is_empty() { path.to_owned() } else { format!("{path}?{}", q.join("&")) }
}

/// A table cell, linked or not.
pub(crate) fn cell(text: impl ToString, href: Option<String>) -> serde_json::Value {
    json!({ "text": text.to_string(), "href": href })
}

/// Merges two JSON objects (the second wins).
pub(crate) fn merge(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    if let (Some(a), serde_json::Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// The answer to a submitted form: on success, a redirect to `to(value)`; on a bad
/// field (or row), the form again with `again(error)`'s context, the error shown at its
/// field; anything else (not found, forbidden, …) as an error page.
pub(crate) async fn after_submit<T>(
    state: &Shared,
    viewer: &Viewer,
    lang: Lang,
    result: Result<T, AppError>,
    to: impl FnOnce(&T) -> String,
    again: impl FnOnce(&AppError) -> serde_json::Value,
) -> Result<Response, Shown> {
    match result {
        Ok(v) => Ok(Redirect::to(&to(&v)).into_response()),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY || e.status() == StatusCode::CONFLICT => {
            let html = page(state, viewer, lang, "form.html", again(&e)).await?;
            Ok((e.status(), html).into_response())
        }
        Err(e) => Err(Shown(e, lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(env().get_template(name).is_ok(), "{name}");
        }
    }
}
