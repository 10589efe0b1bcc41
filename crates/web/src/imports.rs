//! Imports from the browser and the API: the command line's CSV formats and checks,
//! the same row-level errors, nothing stored on error; confined to the account's scope.

use std::io::Write;

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::text::quote;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{ImportKind, ImportSummary};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::render::{self, ShowErr, Shown};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/imports", get(page).post(upload).layer(crate::uploads()))
        .route("/api/v1/imports/{kind}", post(import_api).layer(crate::uploads()))
}

fn kind_of(s: &str) -> Result<ImportKind, AppError> {
    ImportKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| AppError::field("kind", format!("unknown import {}: expected divisions, units, lecturers or sessions", quote(s))))
}

/// Runs an import of `bytes` (named `file_name` in its errors).
async fn run(state: &Shared, viewer: &Viewer, kind: ImportKind, campaign: Option<String>, file_name: String, bytes: Bytes) -> Result<ImportSummary, AppError> {
    let name = sanitize(&file_name);
    state
        .as_account(&viewer.account, move |s| {
            // The importers read files by path (a national file is streamed, not held);
            // an upload is written to a private temporary directory under its own
            // name, so that errors name the file the user chose.
            let dir = tempfile::tempdir().map_err(|e| store::Error::Io { path: std::env::temp_dir(), source: e })?;
            let path = dir.path().join(&name);
            let io = |e| store::Error::Io { path: path.clone(), source: e };
            std::fs::File::create(&path).and_then(|mut f| f.write_all(&bytes)).map_err(io)?;
            s.import(kind, campaign.as_deref(), &path).map_err(|e| match e {
                // Errors name the file as the user knows it, not our temporary copy.
                store::Error::Invalid { mut errors, more } => {
                    for row in &mut errors {
                        row.file = name.clone();
                    }
                    store::Error::Invalid { errors, more }
                }
                other => other,
            })
        })
        .await
}

/// A file name as the upload gave it, with nothing that could leave the directory.
fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() || clean == "." || clean == ".." { "upload.csv".into() } else { clean }
}

/// Where an API import goes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportParams {
    /// The campaign, for sessions.
    campaign: Option<String>,
    /// The name errors give the file (default `<kind>.csv`).
    name: Option<String>,
}

/// What an import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SummaryJson {
    read: u64,
    added: u64,
    updated: u64,
    unchanged: u64,
}

/// Imports a CSV file sent as the request body (the same formats as the command line).
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "imports", params(("kind" = String, Path, description = "divisions, units, lecturers or sessions"), ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = SummaryJson), (status = 422, body = crate::error::ErrorJson, description = "bad rows, each with file, line and field; nothing stored"), (status = 403, body = crate::error::ErrorJson)))]
async fn import_api(State(state): State<Shared>, viewer: Viewer, Path(kind): Path<String>, Query(p): Query<ImportParams>, body: Bytes) -> Result<Json<SummaryJson>, AppError> {
    let kind = kind_of(&kind)?;
    let name = p.name.unwrap_or_else(|| format!("{}.csv", kind.as_str()));
    let s = run(&state, &viewer, kind, p.campaign, name, body).await?;
    Ok(Json(SummaryJson { read: s.read, added: s.added, updated: s.updated, unchanged: s.unchanged }))
}

fn ctx(kind: &str) -> serde_json::Value {
    json!({ "title": "imports", "kinds": ImportKind::ALL.map(|k| k.as_str()), "kind": kind })
}

async fn page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    if !ImportKind::ALL.iter().any(|k| viewer.account.may(k.action())) {
        return Err(Shown(store::Error::Forbidden(format!("a {} may not import anything", viewer.account.role)).into(), lang));
    }
    Ok(render::page(&state, &viewer, lang, "imports.html", ctx("sessions")).await?.into_response())
}

async fn upload(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, mut form: Multipart) -> Result<Response, Shown> {
    let (mut kind, mut campaign, mut file) = (String::new(), None, None);
    while let Some(field) = form.next_field().await.map_err(|e| AppError::BadRequest(e.to_string())).shown(lang)? {
        match field.name().unwrap_or("") {
            "kind" => kind = field.text().await.map_err(|e| AppError::BadRequest(e.to_string())).shown(lang)?,
            "campaign" => campaign = Some(field.text().await.map_err(|e| AppError::BadRequest(e.to_string())).shown(lang)?),
            "file" => {
                let name = field.file_name().unwrap_or("upload.csv").to_owned();
                file = Some((name, field.bytes().await.map_err(|e| AppError::BadRequest(e.to_string())).shown(lang)?));
            }
            _ => {}
        }
    }
    let k = kind_of(&kind).shown(lang)?;
    let (name, bytes) = file.ok_or_else(|| AppError::field("file", "choose a file")).shown(lang)?;
    let mut c = ctx(&kind);
    let status = match run(&state, &viewer, k, campaign, name, bytes).await {
        Ok(s) => {
            c["summary"] = json!(s.to_string());
            axum::http::StatusCode::OK
        }
        Err(e) if e.status().as_u16() == 422 => {
            c["message"] = json!(e.public_message().lines().next().unwrap_or("").to_owned());
            c["rows"] = json!(e.rows());
            e.status()
        }
        Err(e) => return Err(Shown(e, lang)),
    };
    Ok((status, render::page(&state, &viewer, lang, "imports.html", c).await?).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_names_stay_in_their_directory() {
        assert_eq!(super::sanitize("../../etc/passwd"), "passwd");
        assert_eq!(super::sanitize("C:\\x\\units.csv"), "units.csv");
        assert_eq!(super::sanitize(".."), "upload.csv");
        assert_eq!(super::sanitize(""), "upload.csv");
    }
}
