//! Photos: uploaded, checked by content, served with their type.
//!
//! An upload is the raw body (any declared type: the store looks at the bytes) or a
//! multipart form's file; it is read no further than the size limit, and anything that
//! is not a JPEG, PNG or WebP image is refused with the field `photo` named. A photo is
//! served only to whom it is visible (see the store's `photos`), and 404 otherwise.

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use store::MAX_PHOTO_BYTES;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/photos", post(upload_api).layer(crate::uploads()))
        .route("/photos/{id}", get(serve))
        .route("/api/v1/campaigns/{key}/sessions/{id}/photos", get(session_photos_api).post(attach_api))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn too_large() -> AppError {
    AppError::field("photo", format!("the file is larger than {} MB, the most a photo may be", MAX_PHOTO_BYTES / (1024 * 1024)))
}

/// The bytes of a multipart file field, read no further than the size limit.
pub(crate) async fn read_field(mut field: Field<'_>) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
        if bytes.len() + chunk.len() > MAX_PHOTO_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Stores uploaded bytes as the viewer's photo; gives its id.
pub(crate) async fn store_photo(state: &Shared, viewer: &Viewer, bytes: Vec<u8>) -> Result<i64, AppError> {
    let acc = viewer.account.clone();
    state.as_account(&acc, move |s| s.add_photo(&bytes, now())).await
}

/// A stored photo.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PhotoJson {
    /// Its id: the photo is at `/photos/{id}`.
    id: i64,
    /// Its type, found from its content.
    content_type: String,
    /// Its size in bytes.
    size: usize,
}

/// Uploads a photo: the body is the image itself (its declared type is ignored: the
/// content decides), or a multipart form whose first file field is. JPEG, PNG or WebP
/// of at most 5 MB; anything else is refused with the field `photo`. Until attached to
/// a session or a bulletin, the photo is visible to its uploader only.
#[utoipa::path(post, path = "/api/v1/photos", tag = "photos",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the image (or multipart/form-data with a file field)"),
    responses((status = 200, body = PhotoJson), (status = 422, body = crate::error::ErrorJson, description = "not a JPEG, PNG or WebP image, or too large"),
        (status = 403, body = crate::error::ErrorJson)))]
async fn upload_api(State(state): State<Shared>, viewer: Viewer, req: Request) -> Result<Json<PhotoJson>, AppError> {
    let multipart = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
    let bytes = if multipart {
        let mut form = Multipart::from_request(req, &state).await.map_err(|e| AppError::BadRequest(e.body_text()))?;
        let mut found = None;
        while let Some(field) = form.next_field().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
            if field.file_name().is_some() || field.name() == Some("photo") {
                found = Some(read_field(field).await?);
                break;
            }
        }
        found.ok_or_else(|| AppError::field("photo", "the form has no file: send the photo in a file field"))?
    } else {
        axum::body::to_bytes(req.into_body(), MAX_PHOTO_BYTES).await.map_err(|_| too_large())?.to_vec()
    };
    let size = bytes.len();
    let content_type = store::photo_type(&bytes)?.to_owned();
    let id = store_photo(&state, &viewer, bytes).await?;
    Ok(Json(PhotoJson { id, content_type, size }))
}

/// A photo, with its type; not found unless the viewer may see it (a published
/// bulletin's photo is public).
async fn serve(State(state): State<Shared>, viewer: Option<Extension<Viewer>>, Path(id): Path<String>) -> Result<Response, AppError> {
    let not_found = || AppError::Store(store::Error::NotFound { what: "photo", key: id.clone() });
    let n: i64 = id.parse().map_err(|_| not_found())?;
    let photo = match viewer {
        Some(Extension(v)) => state.as_account(&v.account, move |s| s.photo(n)).await?,
        None => state.public(move |p| p.photo(n)).await?,
    };
    // A photo never changes under its id; only who may see it does, so a private one
    // is kept by the browser alone.
    let cache = if photo.public { "public, max-age=86400" } else { "private, max-age=3600" };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, photo.content_type), (header::CACHE_CONTROL, cache.to_owned()), (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned())],
        photo.bytes,
    )
        .into_response())
}

/// Photos to attach.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct AttachBody {
    /// Ids of uploaded photos (the account's own, or ones it sees).
    photos: Vec<i64>,
}

/// The ids of a session's photos.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SessionPhotosJson {
    /// Photo ids, each at `/photos/{id}`.
    photos: Vec<i64>,
}

/// A session's photos.
#[utoipa::path(get, path = "/api/v1/campaigns/{key}/sessions/{id}/photos", tag = "photos", params(("key" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = SessionPhotosJson), (status = 404, body = crate::error::ErrorJson)))]
async fn session_photos_api(State(state): State<Shared>, viewer: Viewer, Path((key, id)): Path<(String, i64)>) -> Result<Json<SessionPhotosJson>, AppError> {
    let acc = viewer.account;
    Ok(Json(SessionPhotosJson { photos: state.as_account(&acc, move |s| s.session_photos(&key, id)).await? }))
}

/// Attaches uploaded photos to a session the account sees; gives all its photos.
#[utoipa::path(post, path = "/api/v1/campaigns/{key}/sessions/{id}/photos", tag = "photos", params(("key" = String, Path), ("id" = i64, Path)),
    request_body = AttachBody,
    responses((status = 200, body = SessionPhotosJson), (status = 404, body = crate::error::ErrorJson), (status = 422, body = crate::error::ErrorJson)))]
async fn attach_api(State(state): State<Shared>, viewer: Viewer, Path((key, id)): Path<(String, i64)>, Json(body): Json<AttachBody>) -> Result<Json<SessionPhotosJson>, AppError> {
    let photos = state
        .as_account(&viewer.account, move |s| {
            s.attach_photos(&key, id, &body.photos)?;
            s.session_photos(&key, id)
        })
        .await?;
    Ok(Json(SessionPhotosJson { photos }))
}
