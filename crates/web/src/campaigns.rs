//! Campaigns: the list and one campaign in the API, and the campaign office's
//! settings (title, deadline, target, topics), checked by the campaign file's rules.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::NaiveDate;
use domain::CampaignSpec;
use domain::text::quote;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/campaigns/{key}/settings", get(settings_form).post(settings_submit))
        .route("/api/v1/campaigns", get(list_api))
        .route("/api/v1/campaigns/{key}", get(get_api).put(put_api))
}

/// A topic or audience of a campaign.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct EntryJson {
    /// Its key.
    key: String,
    /// Its title.
    title: String,
    /// Its English title, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title_en: Option<String>,
}

/// A campaign as the API shows it and takes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct CampaignJson {
    /// Its key (fixed).
    #[serde(default)]
    key: String,
    /// Its title.
    title: String,
    /// The first day a session counts (fixed here; use `campaign apply` to move it).
    #[serde(default)]
    start: Option<NaiveDate>,
    /// The deadline.
    deadline: NaiveDate,
    /// The share of units to cover, 0 to 1.
    target: f64,
    /// The topics, in order.
    topics: Vec<EntryJson>,
    /// The audience segments (unchanged by a PUT if left out).
    #[serde(default)]
    audiences: Option<Vec<EntryJson>>,
}

fn entries_json(list: &[domain::Entry]) -> Vec<EntryJson> {
    list.iter()
        .map(|e| EntryJson { key: e.key.clone(), title: e.title.clone(), title_en: e.extra.get("title_en").and_then(|v| v.as_str()).map(str::to_owned) })
        .collect()
}

fn to_json(s: &CampaignSpec) -> CampaignJson {
    CampaignJson {
        key: s.key.clone(),
        title: s.title.clone(),
        start: Some(s.start),
        deadline: s.deadline,
        target: s.target,
        topics: entries_json(&s.topics),
        audiences: Some(entries_json(&s.audiences)),
    }
}

/// Applies an edit to a stored campaign and checks the result by the campaign file's
/// rules; entries keep the fields the form does not show.
fn edited(mut spec: CampaignSpec, c: &CampaignJson) -> Result<CampaignSpec, AppError> {
    let merge = |old: &[domain::Entry], new: &[EntryJson]| -> Vec<domain::Entry> {
        new.iter()
            .map(|e| {
                let mut extra = old.iter().find(|o| o.key == e.key).map(|o| o.extra.clone()).unwrap_or_default();
                match &e.title_en {
                    Some(t) if !t.is_empty() => {
                        extra.insert("title_en".into(), t.clone().into());
                    }
                    _ => {
                        extra.remove("title_en");
                    }
                }
                domain::Entry { key: e.key.trim().to_owned(), title: e.title.trim().to_owned(), extra }
            })
            .collect()
    };
    spec.title = c.title.trim().to_owned();
    spec.deadline = c.deadline;
    spec.target = c.target;
    spec.topics = merge(&spec.topics, &c.topics);
    if let Some(a) = &c.audiences {
        spec.audiences = merge(&spec.audiences, a);
    }
    CampaignSpec::from_toml(&spec.to_toml()).map_err(|e| AppError::field(field_of(&e.to_string()), e.to_string()))
}

/// The field a campaign rule's message names first ("topics[2].key: …" → topics).
fn field_of(message: &str) -> &str {
    let head = message.split(':').next().unwrap_or("");
    let end = head.find(['[', '.', ' ']).unwrap_or(head.len());
    &head[..end]
}

/// Every campaign: public, as published bulletins report on them.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", responses((status = 200, body = Vec<CampaignJson>)))]
async fn list_api(State(state): State<Shared>, viewer: Option<Extension<Viewer>>) -> Result<Json<Vec<CampaignJson>>, AppError> {
    let specs = match viewer {
        Some(Extension(v)) => state.as_account(&v.account, |s| s.campaigns()?.iter().map(|c| s.campaign_spec(&c.key)).collect::<Result<Vec<_>, _>>()).await?,
        None => state.public(|p| p.campaigns()?.iter().map(|c| p.campaign_spec(&c.key)).collect::<Result<Vec<_>, _>>()).await?,
    };
    Ok(Json(specs.iter().map(to_json).collect()))
}

/// One campaign.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}", tag = "campaigns", params(("key" = String, Path)),
    responses((status = 200, body = CampaignJson), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: Option<Extension<Viewer>>, Path(key): Path<String>) -> Result<Json<CampaignJson>, AppError> {
    let spec = match viewer {
        Some(Extension(v)) => state.as_account(&v.account, move |s| s.campaign_spec(&key)).await?,
        None => state.public(move |p| p.campaign_spec(&key)).await?,
    };
    Ok(Json(to_json(&spec)))
}

async fn save(state: &Shared, viewer: &Viewer, key: String, c: CampaignJson) -> Result<CampaignSpec, AppError> {
    viewer.account.allow(domain::Action::CampaignUpdate)?;
    let spec = state.as_account(&viewer.account, move |s| s.campaign_spec(&key)).await?;
    let spec = edited(spec, &c)?;
    let s2 = spec.clone();
    state.as_account(&viewer.account, move |s| s.change_campaign(&s2)).await?;
    Ok(spec)
}

/// Changes a campaign's title, deadline, target and topics (campaign office only).
#[utoipa::path(put, path = "/api/v1/campaigns/{key}", tag = "campaigns", params(("key" = String, Path)), request_body = CampaignJson,
    responses((status = 200, body = CampaignJson), (status = 403, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn put_api(State(state): State<Shared>, viewer: Viewer, Path(key): Path<String>, Json(c): Json<CampaignJson>) -> Result<Json<CampaignJson>, AppError> {
    Ok(Json(to_json(&save(&state, &viewer, key, c).await?)))
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    title: String,
    deadline: String,
    target: String,
    topics: String,
}

fn topics_text(list: &[EntryJson]) -> String {
    list.iter().map(|e| format!("{} | {} | {}", e.key, e.title, e.title_en.clone().unwrap_or_default())).collect::<Vec<_>>().join("\n")
}

fn form_ctx(lang: Lang, key: &str, f: &SettingsForm, error: Option<&AppError>) -> serde_json::Value {
    let err = |name: &str| error.filter(|e| e.field_name() == Some(name)).map(|e| e.public_message());
    json!({
        "title": lang.t("settings"),
        "campaign": key,
        "action": format!("/campaigns/{key}/settings"),
        "back": format!("/campaigns/{key}"),
        "error": error.filter(|e| !matches!(e.field_name(), Some("title" | "deadline" | "target" | "topics"))).map(|e| e.public_message()),
        "fields": [
            { "name": "title", "label": lang.t("title"), "type": "text", "value": f.title, "required": true, "error": err("title") },
            { "name": "deadline", "label": lang.t("deadline"), "type": "date", "value": f.deadline, "required": true, "error": err("deadline") },
            { "name": "target", "label": lang.t("target"), "type": "number", "value": f.target, "required": true, "help": "0 – 1", "error": err("target") },
            { "name": "topics", "label": lang.t("topics"), "type": "textarea", "value": f.topics, "help": lang.t("settings_topics_help"), "error": err("topics") },
        ],
    })
}

async fn settings_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>) -> Result<Response, Shown> {
    viewer.account.allow(domain::Action::CampaignUpdate).shown(lang)?;
    let k = key.clone();
    let spec = to_json(&state.as_account(&viewer.account, move |s| s.campaign_spec(&k)).await.shown(lang)?);
    let f = SettingsForm { title: spec.title, deadline: spec.deadline.to_string(), target: spec.target.to_string(), topics: topics_text(&spec.topics) };
    Ok(render::page(&state, &viewer, lang, "form.html", form_ctx(lang, &key, &f, None)).await?.into_response())
}

fn parse_form(f: &SettingsForm) -> Result<CampaignJson, AppError> {
    let deadline = f.deadline.trim().parse().map_err(|_| AppError::field("deadline", format!("{} is not a date of the form YYYY-MM-DD", quote(&f.deadline))))?;
    let target = f.target.trim().parse().map_err(|_| AppError::field("target", format!("{} is not a number from 0 to 1", quote(&f.target))))?;
    let mut topics = Vec::new();
    for (i, line) in f.topics.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut parts = line.split('|').map(str::trim);
        let key = parts.next().unwrap_or("").to_owned();
        let title = parts.next().unwrap_or("").to_owned();
        if title.is_empty() {
            return Err(AppError::field("topics", format!("line {}: write key | title | English title", i + 1)));
        }
        topics.push(EntryJson { key, title, title_en: parts.next().map(str::to_owned) });
    }
    Ok(CampaignJson { key: String::new(), title: f.title.clone(), start: None, deadline, target, topics, audiences: None })
}

async fn settings_submit(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(key): Path<String>, axum::Form(f): axum::Form<SettingsForm>) -> Result<Response, Shown> {
    let result = match parse_form(&f) {
        Ok(c) => save(&state, &viewer, key.clone(), c).await,
        Err(e) => Err(e),
    };
    render::after_submit(&state, &viewer, lang, result, |_| format!("/campaigns/{key}"), |e| form_ctx(lang, &key, &f, Some(e))).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_messages_name_their_field() {
        assert_eq!(super::field_of("topics[2].key: malformed"), "topics");
        assert_eq!(super::field_of("deadline: 2022-01-01 is before the start"), "deadline");
        assert_eq!(super::field_of("target: 2 is not a number from 0 to 1"), "target");
    }
}
