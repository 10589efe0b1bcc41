//! Bulletins: written by the campaign office and coordinators, public once published
//! (pages and an Atom feed).
//!
//! The public side needs no sign-in: `/bulletins` (a page at a time), `/bulletins/{id}`
//! and `/bulletins.atom`, in the public layout. The authors' side (`/bulletins/drafts`,
//! `/bulletins/new`, `/bulletins/{id}/edit`, publish) is signed in; its form is
//! multipart, so that photos go up with it, with the form token in the action's query.
//! The API under `/api/v1/bulletins` answers the public too, with published bulletins
//! only. Who reads and edits what is decided by the store, never here.

use atom_syndication as atom;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, FixedOffset};
use domain::Action;
use domain::text::quote;
use serde::Deserialize;
use serde_json::json;
use store::{BulletinFilter, BulletinInput, BulletinStatus, BulletinView, Page, Paging};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown, cell, merge, pager};
use crate::Shared;

/// This module's own words (see `i18n`).
pub(crate) static MESSAGES: crate::i18n::Messages = &[
    ("bulletin_body", "正文", "Text"),
    ("bulletin_body_help", "段落之间空一行", "Leave a blank line between paragraphs"),
    ("bulletin_campaign_none", "（不指定）", "(none)"),
    ("bulletin_draft_note", "这是草稿，公众看不到。", "This is a draft: the public cannot see it."),
    ("bulletin_edit", "编辑简报", "Edit the bulletin"),
    ("bulletin_feed", "订阅（Atom）", "Subscribe (Atom)"),
    ("bulletin_keep", "保留", "Keep"),
    ("bulletin_manage", "简报管理", "Manage bulletins"),
    ("bulletin_new", "撰写简报", "Write a bulletin"),
    ("bulletin_none", "还没有发布的简报", "No bulletins have been published yet"),
    ("bulletin_people", "人", "people"),
    ("bulletin_photo_add", "添加照片", "Add photos"),
    ("bulletin_photo_help", "JPEG、PNG 或 WebP 格式，每张不超过 5 MB", "JPEG, PNG or WebP, at most 5 MB each"),
    ("bulletin_photos", "照片", "Photos"),
    ("bulletin_publish", "发布", "Publish"),
    ("bulletin_published", "发布时间", "Published"),
    ("bulletin_read", "阅读全文", "Read more"),
    ("bulletin_save_publish", "保存并发布", "Save and publish"),
    ("bulletin_sessions", "相关宣讲场次", "Sessions reported"),
    ("bulletin_sessions_help", "宣讲场次编号（见宣讲场次列表），用逗号分隔", "Session ids (see the sessions list), separated by commas"),
    ("bulletin_status_draft", "草稿", "Draft"),
    ("bulletin_status_published", "已发布", "Published"),
    ("bulletin_updated", "更新时间", "Updated"),
    ("bulletins", "宣讲简报", "Bulletins"),
];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/bulletins", get(list_page))
        .route("/bulletins.atom", get(feed))
        .route("/bulletins/drafts", get(drafts_page))
        .route("/bulletins/new", get(new_form).post(create_form).layer(crate::uploads()))
        .route("/bulletins/{id}", get(detail_page))
        .route("/bulletins/{id}/edit", get(edit_form).post(update_form).layer(crate::uploads()))
        .route("/bulletins/{id}/publish", post(publish_form))
        .route("/api/v1/bulletins", get(list_api).post(create_api))
        .route("/api/v1/bulletins/{id}", get(get_api).put(update_api))
        .route("/api/v1/bulletins/{id}/publish", post(publish_api))
}

/// How many bulletins the feed carries.
const FEED_ENTRIES: i64 = 20;
/// Bulletins on a page of the public list.
const PER_PAGE: i64 = 10;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The signed-in account, if any: public pages and the API serve anyone.
type MaybeViewer = Option<Extension<Viewer>>;

fn account(v: &MaybeViewer) -> Option<store::Account> {
    v.as_ref().map(|Extension(v)| v.account.clone())
}

/// A time for people: the day and minute, in the server's time zone.
fn when(t: i64) -> String {
    DateTime::from_timestamp(t, 0).map(|d| d.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

fn rfc3339(t: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp(t, 0).unwrap_or_default().fixed_offset()
}

/// A text as paragraphs (split at blank lines), each as its lines: the template joins
/// them with line breaks, escaping every piece.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.trim_end().to_owned());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The start of a text, for lists.
fn excerpt(text: &str, chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars { flat } else { format!("{}…", flat.chars().take(chars).collect::<String>()) }
}

fn status_label(lang: Lang, s: BulletinStatus) -> &'static str {
    lang.t(match s {
        BulletinStatus::Draft => "bulletin_status_draft",
        BulletinStatus::Published => "bulletin_status_published",
    })
}

// ---------------------------------------------------------------------------------
// The API

/// Which bulletins to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BulletinQuery {
    /// draft or published (default: both that the viewer may read).
    #[serde(default)]
    status: String,
    /// Words in the title or text.
    #[serde(default)]
    q: String,
    /// Page, from 1.
    page: Option<i64>,
    /// Rows per page (default 20, at most 100).
    per_page: Option<i64>,
}

impl BulletinQuery {
    fn filter(&self) -> Result<BulletinFilter, AppError> {
        let status = match self.status.trim() {
            "" | "all" => None,
            s => Some(BulletinStatus::parse(s).ok_or_else(|| AppError::field("status", format!("unknown status {}: draft or published", quote(s))))?),
        };
        Ok(BulletinFilter { status, q: self.q.clone() })
    }

    fn paging(&self, per_page: i64) -> Paging {
        Paging { page: self.page.unwrap_or(1), per_page: self.per_page.unwrap_or(per_page).clamp(1, 100) }
    }
}

async fn fetch(state: &Shared, acc: Option<store::Account>, f: BulletinFilter, paging: Paging) -> Result<Page<BulletinView>, AppError> {
    match acc {
        Some(acc) => state.as_account(&acc, move |s| s.bulletins(&f, paging)).await,
        None => state.public(move |p| p.bulletins(&f, paging)).await,
    }
}

/// A bulletin the viewer (signed in or not) may read, and every campaign.
async fn one(state: &Shared, acc: Option<store::Account>, id: i64) -> Result<(BulletinView, Vec<store::Campaign>), AppError> {
    match acc {
        Some(acc) => state.as_account(&acc, move |s| Ok((s.bulletin(id)?, s.campaigns()?))).await,
        None => state.public(move |p| Ok((p.bulletin(id)?, p.campaigns()?))).await,
    }
}

/// Bulletins, newest first: published ones for everyone (no sign-in needed), and the
/// drafts of their scope for the office and coordinators.
#[utoipa::path(get, path = "/api/v1/bulletins", tag = "bulletins", params(BulletinQuery),
    responses((status = 200, body = inline(Page<BulletinView>)), (status = 422, body = crate::error::ErrorJson)))]
async fn list_api(State(state): State<Shared>, viewer: MaybeViewer, Query(q): Query<BulletinQuery>) -> Result<Json<Page<BulletinView>>, AppError> {
    Ok(Json(fetch(&state, account(&viewer), q.filter()?, q.paging(20)).await?))
}

/// One bulletin: a published one for anyone, a draft for its authors only (404 for
/// everyone else).
#[utoipa::path(get, path = "/api/v1/bulletins/{id}", tag = "bulletins", params(("id" = i64, Path)),
    responses((status = 200, body = BulletinView), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: MaybeViewer, Path(id): Path<String>) -> Result<Json<BulletinView>, AppError> {
    let id = bulletin_id(&id)?;
    Ok(Json(one(&state, account(&viewer), id).await?.0))
}

fn bulletin_id(s: &str) -> Result<i64, AppError> {
    s.parse().map_err(|_| AppError::Store(store::Error::NotFound { what: "bulletin", key: s.to_owned() }))
}

/// A bulletin as the API sends it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct BulletinBody {
    /// Its title.
    title: String,
    /// Its text: paragraphs separated by blank lines (plain text, shown escaped).
    #[serde(default)]
    body: String,
    /// The campaign it reports on (its key); its sessions must then be of it.
    #[serde(default)]
    campaign: Option<String>,
    /// Ids of held sessions the author sees.
    #[serde(default)]
    sessions: Vec<i64>,
    /// Ids of photos uploaded with `POST /api/v1/photos`.
    #[serde(default)]
    photos: Vec<i64>,
}

impl BulletinBody {
    fn input(self) -> BulletinInput {
        BulletinInput { title: self.title, body: self.body, campaign: self.campaign, sessions: self.sessions, photos: self.photos }
    }
}

async fn save(state: &Shared, viewer: &Viewer, input: BulletinInput, id: Option<i64>) -> Result<BulletinView, AppError> {
    state
        .as_account(&viewer.account, move |s| match id {
            Some(id) => s.change_bulletin(id, &input, now()),
            None => s.add_bulletin(&input, now()),
        })
        .await
}

async fn publish(state: &Shared, viewer: &Viewer, id: i64) -> Result<BulletinView, AppError> {
    state.as_account(&viewer.account, move |s| s.publish_bulletin(id, now())).await
}

/// Writes a draft (the office, or a coordinator for its scope).
#[utoipa::path(post, path = "/api/v1/bulletins", tag = "bulletins", request_body = BulletinBody,
    responses((status = 200, body = BulletinView), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn create_api(State(state): State<Shared>, viewer: Viewer, Json(body): Json<BulletinBody>) -> Result<Json<BulletinView>, AppError> {
    Ok(Json(save(&state, &viewer, body.input(), None).await?))
}

/// Changes a bulletin the account may edit; its sessions and photos become those given.
#[utoipa::path(put, path = "/api/v1/bulletins/{id}", tag = "bulletins", params(("id" = i64, Path)), request_body = BulletinBody,
    responses((status = 200, body = BulletinView), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn update_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<String>, Json(body): Json<BulletinBody>) -> Result<Json<BulletinView>, AppError> {
    Ok(Json(save(&state, &viewer, body.input(), Some(bulletin_id(&id)?)).await?))
}

/// Publishes a bulletin: from then on anyone may read it. Publishing again changes
/// nothing.
#[utoipa::path(post, path = "/api/v1/bulletins/{id}/publish", tag = "bulletins", params(("id" = i64, Path)),
    responses((status = 200, body = BulletinView), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn publish_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<String>) -> Result<Json<BulletinView>, AppError> {
    Ok(Json(publish(&state, &viewer, bulletin_id(&id)?).await?))
}

// ---------------------------------------------------------------------------------
// Public pages and the feed

/// The context every public page shares: whether the viewer writes bulletins (for a
/// link to the authors' side) and its form token.
fn public_ctx(viewer: &MaybeViewer, ctx: serde_json::Value) -> serde_json::Value {
    let author = viewer.as_ref().is_some_and(|Extension(v)| v.account.may(Action::BulletinCreate));
    let csrf = viewer.as_ref().map(|Extension(v)| v.csrf.clone());
    merge(ctx, json!({ "author": author, "csrf": csrf }))
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

async fn list_page(State(state): State<Shared>, lang: Lang, viewer: MaybeViewer, Query(q): Query<PageQuery>) -> Result<Response, Shown> {
    let filter = BulletinFilter { status: Some(BulletinStatus::Published), q: String::new() };
    let page = fetch(&state, None, filter, Paging { page: q.page.unwrap_or(1), per_page: PER_PAGE }).await.shown(lang)?;
    let items: Vec<_> = page
        .items
        .iter()
        .map(|b| json!({ "id": b.id, "title": b.title, "date": b.published.map(when), "excerpt": excerpt(&b.body, 140), "photo": b.photos.first() }))
        .collect();
    let ctx = merge(json!({ "title": lang.t("bulletins"), "items": items }), pager(&page, "/bulletins", &[]));
    Ok(render::bare(lang, "bulletins.html", public_ctx(&viewer, ctx))?.into_response())
}

async fn detail_page(State(state): State<Shared>, lang: Lang, viewer: MaybeViewer, Path(id): Path<String>) -> Result<Response, Shown> {
    let id = bulletin_id(&id).shown(lang)?;
    let (b, campaigns) = one(&state, account(&viewer), id).await.shown(lang)?;
    let campaign = b.campaign.as_ref().and_then(|k| campaigns.iter().find(|c| &c.key == k)).map(|c| c.title.clone());
    let sessions: Vec<_> = b
        .sessions
        .iter()
        .map(|s| {
            // Authors may open the sessions; the public sees what they were.
            let href = b.editable.then(|| format!("/campaigns/{}/sessions/{}", s.campaign, s.id));
            json!({ "unit": s.unit_name, "date": s.date.to_string(), "headcount": s.headcount, "href": href })
        })
        .collect();
    let ctx = json!({
        "title": b.title,
        "id": b.id,
        "draft": b.status == BulletinStatus::Draft,
        "date": when(b.published.unwrap_or(b.updated)),
        "campaign_title": campaign,
        "paragraphs": paragraphs(&b.body),
        "photos": b.photos,
        "sessions": sessions,
        "editable": b.editable,
    });
    Ok(render::bare(lang, "bulletin.html", public_ctx(&viewer, ctx))?.into_response())
}

/// The site's address as the client reached it, for the feed's absolute links: the
/// Host header (checked to be a host name or address with an optional port) and the
/// scheme a proxy in front says it used.
fn site(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)))
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The latest published bulletins as an Atom feed.
async fn feed(State(state): State<Shared>, lang: Lang, headers: HeaderMap) -> Result<Response, AppError> {
    let filter = BulletinFilter { status: Some(BulletinStatus::Published), q: String::new() };
    let page = fetch(&state, None, filter, Paging { page: 1, per_page: FEED_ENTRIES }).await?;
    let base = site(&headers);
    let link = |href: String, rel: &str, mime: &str| atom::Link { href, rel: rel.into(), mime_type: Some(mime.into()), ..Default::default() };
    let entries: Vec<atom::Entry> = page
        .items
        .iter()
        .map(|b| {
            let url = format!("{base}/bulletins/{}", b.id);
            atom::Entry {
                title: b.title.as_str().into(),
                id: url.clone(),
                updated: rfc3339(b.updated),
                published: b.published.map(rfc3339),
                links: vec![link(url, "alternate", "text/html")],
                content: Some(atom::Content { value: Some(b.body.clone()), content_type: Some("text".into()), ..Default::default() }),
                ..Default::default()
            }
        })
        .collect();
    // An empty feed was last updated now: it has nothing older to tell.
    let updated = page.items.iter().map(|b| b.updated).max().unwrap_or_else(now);
    let feed = atom::Feed {
        title: format!("{} · Grassroots", lang.t("bulletins")).into(),
        id: format!("{base}/bulletins"),
        updated: rfc3339(updated),
        authors: vec![atom::Person { name: "Grassroots".into(), ..Default::default() }],
        links: vec![link(format!("{base}/bulletins"), "alternate", "text/html"), link(format!("{base}/bulletins.atom"), "self", "application/atom+xml")],
        lang: Some(if lang == Lang::Zh { "zh-CN" } else { "en" }.into()),
        entries,
        ..Default::default()
    };
    Ok(([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], feed.to_string()).into_response())
}

// ---------------------------------------------------------------------------------
// The authors' pages

fn check_author(viewer: &Viewer, lang: Lang) -> Result<(), Shown> {
    viewer.account.allow(Action::BulletinCreate).map(drop).shown(lang)
}

#[derive(Debug, Deserialize)]
struct DraftsQuery {
    /// draft (default), published or all.
    status: Option<String>,
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

async fn drafts_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Query(q): Query<DraftsQuery>) -> Result<Response, Shown> {
    check_author(&viewer, lang)?;
    let status = q.status.clone().unwrap_or_else(|| "draft".into());
    let query = BulletinQuery { status: status.clone(), q: q.q.clone(), page: q.page, per_page: Some(50) };
    let filter = query.filter().shown(lang)?;
    let page = fetch(&state, Some(viewer.account.clone()), filter, query.paging(50)).await.shown(lang)?;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|b| {
            let edit = b.editable.then(|| format!("/bulletins/{}/edit", b.id));
            vec![
                cell(&b.title, Some(format!("/bulletins/{}", b.id))),
                cell(status_label(lang, b.status), None),
                cell(b.campaign.clone().unwrap_or_default(), None),
                cell(when(b.updated), None),
                cell(if edit.is_some() { lang.t("edit") } else { "" }, edit),
            ]
        })
        .collect();
    let options: Vec<_> = [("draft", lang.t("bulletin_status_draft")), ("published", lang.t("bulletin_status_published")), ("all", lang.t("all"))]
        .iter()
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": *v == status }))
        .collect();
    let params = [("status", status.clone()), ("q", q.q.clone())];
    let ctx = merge(
        json!({ "title": lang.t("bulletin_manage"), "q": q.q,
                "columns": [lang.t("title"), lang.t("status"), lang.t("campaign"), lang.t("bulletin_updated"), ""],
                "rows": rows, "filters": [{ "name": "status", "options": options }],
                "actions": [{ "label": lang.t("bulletin_new"), "href": "/bulletins/new" }, { "label": lang.t("bulletins"), "href": "/bulletins" }] }),
        pager(&page, "/bulletins/drafts", &params),
    );
    Ok(render::page(&state, &viewer, lang, "list.html", ctx).await?.into_response())
}

/// The form as filled in (or as stored, to edit).
#[derive(Debug, Default, Clone)]
struct FormValues {
    title: String,
    body: String,
    campaign: String,
    sessions: String,
    /// Photos kept (stored ones, and ones uploaded with a form that was refused).
    photos: Vec<i64>,
}

impl FormValues {
    fn of(b: &BulletinView) -> FormValues {
        FormValues {
            title: b.title.clone(),
            body: b.body.clone(),
            campaign: b.campaign.clone().unwrap_or_default(),
            sessions: b.sessions.iter().map(|s| s.id.to_string()).collect::<Vec<_>>().join(", "),
            photos: b.photos.clone(),
        }
    }

    fn input(&self) -> Result<BulletinInput, AppError> {
        let sessions = self
            .sessions
            .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<i64>().map_err(|_| AppError::field("sessions", format!("{} is not a session id: give the numbers, separated by commas", quote(s)))))
            .collect::<Result<_, _>>()?;
        Ok(BulletinInput {
            title: self.title.clone(),
            body: self.body.clone(),
            campaign: Some(self.campaign.clone()).filter(|c| !c.trim().is_empty()),
            sessions,
            photos: self.photos.clone(),
        })
    }
}

async fn form_page(state: &Shared, viewer: &Viewer, lang: Lang, v: &FormValues, id: Option<i64>, error: Option<&AppError>) -> Result<Response, Shown> {
    let campaigns = state.as_account(&viewer.account, |s| s.campaigns()).await.shown(lang)?;
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    let known = ["title", "body", "campaign", "sessions", "photo", "photos"];
    let general = error.filter(|e| e.field_name().is_none_or(|f| !known.contains(&f))).map(|e| e.public_message());
    let options: Vec<_> = std::iter::once(json!({ "value": "", "label": lang.t("bulletin_campaign_none"), "selected": v.campaign.is_empty() }))
        .chain(campaigns.iter().map(|c| json!({ "value": c.key, "label": c.title, "selected": c.key == v.campaign })))
        .collect();
    let ctx = json!({
        "title": lang.t(if id.is_some() { "bulletin_edit" } else { "bulletin_new" }),
        "action": id.map_or("/bulletins/new".to_owned(), |id| format!("/bulletins/{id}/edit")),
        "back": id.map_or("/bulletins/drafts".to_owned(), |id| format!("/bulletins/{id}")),
        "v": { "title": v.title, "body": v.body, "sessions": v.sessions, "photos": v.photos },
        "campaign_options": options,
        "error": general,
        "errors": { "title": err("title"), "body": err("body"), "campaign": err("campaign"), "sessions": err("sessions"),
                    "photo": err("photo").or_else(|| err("photos")) },
    });
    let status = error.map_or(StatusCode::OK, |e| e.status());
    Ok((status, render::page(state, viewer, lang, "bulletin_form.html", ctx).await?).into_response())
}

async fn new_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    check_author(&viewer, lang)?;
    let campaign = state.as_account(&viewer.account, |s| s.campaigns()).await.shown(lang)?.first().map(|c| c.key.clone()).unwrap_or_default();
    form_page(&state, &viewer, lang, &FormValues { campaign, ..Default::default() }, None, None).await
}

async fn edit_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<String>) -> Result<Response, Shown> {
    let id = bulletin_id(&id).shown(lang)?;
    let acc = viewer.account.clone();
    let b = state.as_account(&acc, move |s| s.bulletin_to_edit(id)).await.shown(lang)?;
    form_page(&state, &viewer, lang, &FormValues::of(&b), Some(id), None).await
}

/// A submitted form: its fields, the photos uploaded with it, and whether to publish.
struct Submitted {
    values: FormValues,
    uploads: Vec<Vec<u8>>,
    publish: bool,
    /// An upload refused while reading (too large): the form comes back with it.
    refused: Option<AppError>,
}

async fn read_form(mut form: Multipart) -> Result<Submitted, AppError> {
    let mut s = Submitted { values: FormValues::default(), uploads: Vec::new(), publish: false, refused: None };
    let bad = |e: axum::extract::multipart::MultipartError| AppError::BadRequest(e.body_text());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "photo" => {
                // A file input left empty sends a part with no name and no bytes.
                let chosen = field.file_name().is_some_and(|n| !n.is_empty());
                match crate::photos::read_field(field).await {
                    Ok(bytes) if chosen || !bytes.is_empty() => s.uploads.push(bytes),
                    Ok(_) => {}
                    Err(e) => s.refused = s.refused.or(Some(e)),
                }
            }
            "photos" => {
                let t = field.text().await.map_err(bad)?;
                if let Ok(id) = t.trim().parse() {
                    s.values.photos.push(id);
                }
            }
            "title" => s.values.title = field.text().await.map_err(bad)?,
            "body" => s.values.body = field.text().await.map_err(bad)?.replace("\r\n", "\n"),
            "campaign" => s.values.campaign = field.text().await.map_err(bad)?,
            "sessions" => s.values.sessions = field.text().await.map_err(bad)?,
            "action" => s.publish = field.text().await.map_err(bad)? == "publish",
            _ => {}
        }
    }
    Ok(s)
}

/// Stores the form's photos, then the bulletin, then publishes it if asked; a bad field
/// anywhere brings the form back with what was sent (photos already stored are kept in
/// it, so they need not be sent again).
async fn submit(state: Shared, viewer: Viewer, lang: Lang, form: Multipart, id: Option<i64>) -> Result<Response, Shown> {
    check_author(&viewer, lang)?;
    if let Some(id) = id {
        // Not found (or not the viewer's to edit) before anything is stored.
        let acc = viewer.account.clone();
        state.as_account(&acc, move |s| s.bulletin_to_edit(id)).await.shown(lang)?;
    }
    let Submitted { mut values, uploads, publish: and_publish, refused } = read_form(form).await.shown(lang)?;
    let mut failed = refused;
    for bytes in uploads {
        if failed.is_some() {
            break;
        }
        match crate::photos::store_photo(&state, &viewer, bytes).await {
            Ok(photo) => values.photos.push(photo),
            Err(e) => failed = Some(e),
        }
    }
    // Once saved, a refused publication comes back as the saved bulletin's form, so
    // that sending it again does not write a second draft.
    let mut saved = id;
    let result = async {
        if let Some(e) = failed {
            return Err(e);
        }
        let b = save(&state, &viewer, values.input()?, id).await?;
        saved = Some(b.id);
        if and_publish { publish(&state, &viewer, b.id).await } else { Ok(b) }
    }
    .await;
    match result {
        Ok(b) => Ok(Redirect::to(&format!("/bulletins/{}", b.id)).into_response()),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY || e.status() == StatusCode::CONFLICT => form_page(&state, &viewer, lang, &values, saved, Some(&e)).await,
        Err(e) => Err(Shown(e, lang)),
    }
}

async fn create_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, form: Multipart) -> Result<Response, Shown> {
    submit(state, viewer, lang, form, None).await
}

async fn update_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<String>, form: Multipart) -> Result<Response, Shown> {
    let id = bulletin_id(&id).shown(lang)?;
    submit(state, viewer, lang, form, Some(id)).await
}

async fn publish_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<String>) -> Result<Response, Shown> {
    let id = bulletin_id(&id).shown(lang)?;
    match publish(&state, &viewer, id).await {
        Ok(b) => Ok(Redirect::to(&format!("/bulletins/{}", b.id)).into_response()),
        // A draft that may not be published as it is (no text yet): to its form.
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let acc = viewer.account.clone();
            let b = state.as_account(&acc, move |s| s.bulletin_to_edit(id)).await.shown(lang)?;
            form_page(&state, &viewer, lang, &FormValues::of(&b), Some(id), Some(&e)).await
        }
        Err(e) => Err(Shown(e, lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_become_paragraphs_of_lines() {
        let p = |t: &str| paragraphs(t);
        assert_eq!(p(""), Vec::<Vec<String>>::new());
        assert_eq!(p("one"), vec![vec!["one".to_owned()]]);
        assert_eq!(p("a\nb\n\n\n  \nc  \n"), vec![vec!["a".to_owned(), "b".to_owned()], vec!["c".to_owned()]]);
        assert_eq!(excerpt("a  b\n\nc", 10), "a b c");
        assert_eq!(excerpt("一二三四五", 3), "一二三…");
    }

    #[test]
    fn feed_links_use_the_host_asked_for_and_nothing_else() {
        let h = |host: &str, proto: Option<&str>| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, host.parse().unwrap());
            if let Some(p) = proto {
                m.insert("x-forwarded-proto", p.parse().unwrap());
            }
            site(&m)
        };
        assert_eq!(h("example.org", None), "http://example.org");
        assert_eq!(h("127.0.0.1:8080", Some("https")), "https://127.0.0.1:8080");
        assert_eq!(h("[::1]:80", Some("gopher")), "http://[::1]:80");
        assert_eq!(h("evil.org/<script>", None), "http://localhost");
    }
}
