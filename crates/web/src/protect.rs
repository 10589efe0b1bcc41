//! What every response carries, whatever produced it: the security headers (a content
//! security policy that forbids framing and foreign scripts, no type sniffing, no
//! referrer beyond this site, HSTS under HTTPS), and, under `/api/`, our JSON error
//! format for what axum refuses before any handler runs (malformed JSON, a wrong content
//! type, a body over the limit, an unknown path or method).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, ErrorJson};
use crate::i18n::Lang;
use crate::render::Shown;
use crate::Shared;

/// The pages' policy: scripts, styles, pictures and connections (the meeting
/// WebSockets included) from this site only, and `data:` reads (the report form turns
/// a chosen photo, kept offline as a data URL, back into bytes with `fetch`); inline
/// `style` attributes are allowed for the bars and charts drawn by the server; no
/// page may be framed.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
     media-src 'self' blob: mediastream:; connect-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// How long browsers keep to HTTPS once they have seen it (a year).
const HSTS: &str = "max-age=31536000";

/// Adds the security headers to every response.
pub(crate) async fn headers(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if state.https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    res
}

/// Under `/api/`, turns axum's plain-text refusals into the API's JSON error body (with
/// their status kept); our own errors are JSON already and pass as they are.
pub(crate) async fn api_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let json = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
    if json {
        return res;
    }
    let (parts, body) = res.into_parts();
    // axum's texts are short; anything longer is cut rather than read whole.
    let text = axum::body::to_bytes(body, 64 * 1024).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let message = match (status, text.trim()) {
        (StatusCode::NOT_FOUND, "") => "no such API path".to_owned(),
        (StatusCode::METHOD_NOT_ALLOWED, "") => "this API path does not take that method".to_owned(),
        (StatusCode::PAYLOAD_TOO_LARGE, _) => "the request body is too large".to_owned(),
        (_, "") => status.canonical_reason().unwrap_or("refused").to_owned(),
        (_, t) => domain::text::cut(t),
    };
    let mut out = (status, axum::Json(ErrorJson { message, field: None, rows: Vec::new() })).into_response();
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n == header::ALLOW || *n == header::RETRY_AFTER) {
        out.headers_mut().insert(name, value.clone());
    }
    out
}

/// What no route answers: under `/api/`, the JSON error; a page in the reader's
/// language otherwise.
pub(crate) async fn not_found(lang: Lang, uri: Uri) -> Response {
    let e = AppError::Store(store::Error::NotFound { what: "page", key: domain::text::cut(uri.path()) });
    if uri.path().starts_with("/api/") { e.into_response() } else { Shown(e, lang).into_response() }
}
