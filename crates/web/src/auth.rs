//! Sign-in, sign-out, the signed-in account of every request, protection of forms
//! against cross-site request forgery, and the slowing down of password guessing.
//!
//! A browser signs in with a name and password and gets an HttpOnly, SameSite cookie
//! holding a random token; the store keeps only the token's SHA-256, paired with a
//! form token that every state-changing request signed in by cookie must carry (a
//! hidden `_csrf` field, or an `X-CSRF-Token` header). An API client may instead send
//! `Authorization: Bearer TOKEN` from `grassroots user token`, which needs no form
//! token because no browser sends it by itself.

use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, body::Body};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{Account, TokenKind};

use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, Shown};
use crate::Shared;

/// The sign-in cookie's name.
pub(crate) const COOKIE: &str = "gr_session";
/// How long a browser stays signed in.
const COOKIE_LIFE: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins allowed before each further attempt must wait.
const FREE_FAILURES: u32 = 3;
/// The longest wait between attempts.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// The argon2 PHC string of a password.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| AppError::Internal(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new random token: 32 bytes from the operating system, in hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Failed sign-ins of one account name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// How long the next attempt must still wait at `now`; zero if it may go ahead.
    fn wait(&self, now: Instant) -> Duration {
        if self.count < FREE_FAILURES {
            return Duration::ZERO;
        }
        let wait = Duration::from_secs(1 << (self.count - FREE_FAILURES).min(16)).min(MAX_WAIT);
        (self.last + wait).saturating_duration_since(now)
    }
}

/// The signed-in account of a request, found by the [`authenticate`] layer.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account.
    pub account: Account,
    /// The form token to put in forms ("" for a bearer token).
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Viewer, AppError> {
        parts.extensions.get::<Viewer>().cloned().ok_or(AppError::Unauthorized)
    }
}

/// A page's signed-in account: without one, the browser is sent to sign in.
pub struct PageViewer(pub Viewer, pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageViewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<PageViewer, Response> {
        let lang = Lang::from_request_parts(parts, s).await.unwrap_or(Lang::Zh);
        match parts.extensions.get::<Viewer>() {
            Some(v) => Ok(PageViewer(v.clone(), lang)),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                Err(Redirect::to(&format!("/signin?next={}", urlencode(next))).into_response())
            }
        }
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn same(a: &str, b: &str) -> bool {
    // Constant time in the length of the expected token: a timing difference must not
    // tell how much of a guess was right.
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Finds the signed-in account of every request and, for a request that would change
/// something on the strength of a cookie, checks its form token.
pub(crate) async fn authenticate(State(state): State<Shared>, jar: CookieJar, req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let token = bearer.clone().or_else(|| jar.get(COOKIE).map(|c| c.value().to_owned()));
    let mut req = req;
    if let Some(token) = token {
        let hash = token_hash(&token);
        match state.system(move |s| s.signed_in(&hash, now())).await {
            Ok(Some(found)) => {
                // A cookie token used as a bearer token (or the reverse) is refused:
                // each is only good the way it was given.
                let kind_ok = match found.kind {
                    TokenKind::Bearer => bearer.is_some(),
                    TokenKind::Cookie => bearer.is_none(),
                };
                if kind_ok {
                    let viewer = Viewer { account: found.account, csrf: found.csrf };
                    if found.kind == TokenKind::Cookie && changes_state(req.method()) {
                        req = match check_csrf(req, &viewer.csrf).await {
                            Ok(r) => r,
                            Err(e) => return e.into_response(),
                        };
                    }
                    req.extensions_mut().insert(viewer);
                }
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    next.run(req).await
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The form token comes in a header (API, scripts), a query parameter (multipart
/// uploads, whose body is streamed to the handler) or a urlencoded form's `_csrf` field.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, AppError> {
    if let Some(h) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if same(h, expected) { Ok(req) } else { Err(AppError::Csrf) };
    }
    let in_query = req.uri().query().and_then(|q| form_value(q.as_bytes(), "_csrf"));
    if let Some(q) = in_query {
        return if same(&q, expected) { Ok(req) } else { Err(AppError::Csrf) };
    }
    let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 4 * 1024 * 1024).await.map_err(|e| AppError::BadRequest(e.to_string()))?;
    match form_value(&bytes, "_csrf") {
        Some(t) if same(&t, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(AppError::Csrf),
    }
}

fn form_value(body: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/signin", get(signin_page).post(signin_form))
        .route("/signout", post(signout))
        .route("/lang/{lang}", get(switch_language))
        .route("/api/v1/signin", post(signin_api))
        .route("/api/v1/me", get(me))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn signin_page(lang: Lang, axum::extract::Query(q): axum::extract::Query<NextQuery>) -> Result<Response, Shown> {
    let next = safe_next(q.next.as_deref());
    render::bare(lang, "signin.html", serde_json::json!({ "next": next, "error": null })).map(IntoResponse::into_response)
}

/// Only a path on this site may be a place to go after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SignIn {
    /// The account's name.
    name: String,
    /// Its password.
    password: String,
    #[serde(default)]
    #[schema(ignore)]
    next: Option<String>,
}

/// Checks a name and password, slowing down repeated failures; gives the account.
async fn check_password(state: &Shared, name: &str, password: &str) -> Result<Account, AppError> {
    let wait = state.throttle.lock().map_err(|_| AppError::Internal("throttle lock".into()))?.get(name).map(|f| f.wait(Instant::now()));
    if let Some(w) = wait.filter(|w| !w.is_zero()) {
        return Err(AppError::Throttled(w.as_secs().max(1)));
    }
    let (n, p) = (name.to_owned(), password.to_owned());
    // A name that does not exist costs the same hashing as a wrong password, so that
    // timing does not tell which names exist.
    let found = state
        .system(move |s| match s.account(&n) {
            Ok((account, phc)) => Ok(verify_password(&p, &phc).then_some(account)),
            Err(store::Error::NotFound { .. }) => {
                verify_password(&p, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG");
                Ok(None)
            }
            Err(e) => Err(e),
        })
        .await?;
    let mut throttle = state.throttle.lock().map_err(|_| AppError::Internal("throttle lock".into()))?;
    match found {
        Some(account) => {
            throttle.remove(name);
            Ok(account)
        }
        None => {
            let f = throttle.entry(name.to_owned()).or_insert(Failures { count: 0, last: Instant::now() });
            f.count += 1;
            f.last = Instant::now();
            Err(AppError::Store(store::Error::Field { field: "password".into(), message: "wrong name or password".into() }))
        }
    }
}

/// Starts a browser session: the cookie to set and the form token.
async fn open_session(state: &Shared, account: &Account, jar: CookieJar) -> Result<(CookieJar, String), AppError> {
    let token = new_token();
    let csrf = new_token();
    let (id, hash, c) = (account.id, token_hash(&token), csrf.clone());
    let t = now();
    state.system(move |s| s.put_token(id, &hash, TokenKind::Cookie, &c, t, Some(t + COOKIE_LIFE.as_secs() as i64))).await?;
    let cookie = Cookie::build((COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time_duration(COOKIE_LIFE))
        .build();
    Ok((jar.add(cookie), csrf))
}

fn time_duration(d: Duration) -> time::Duration {
    time::Duration::seconds(d.as_secs() as i64)
}

/// A sign-in form posted from another site is refused: a login CSRF would sign the
/// victim's browser in as the attacker.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_none_or(|s| s != "cross-site"),
        Some(origin) => origin.split("://").nth(1) == Some(host),
    }
}

async fn signin_form(State(state): State<Shared>, lang: Lang, jar: CookieJar, headers: HeaderMap, axum::Form(f): axum::Form<SignIn>) -> Result<Response, Shown> {
    let next = safe_next(f.next.as_deref());
    if !same_origin(&headers) {
        return Err(Shown(AppError::Csrf, lang));
    }
    match check_password(&state, f.name.trim(), &f.password).await {
        Ok(account) => {
            let (jar, _) = open_session(&state, &account, jar).await.map_err(|e| Shown(e, lang))?;
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(e @ (AppError::Throttled(_) | AppError::Store(store::Error::Field { .. }))) => {
            let key = if matches!(e, AppError::Throttled(_)) { "too_many_attempts" } else { "sign_in_failed" };
            let status = e.status();
            let html = render::bare(lang, "signin.html", serde_json::json!({ "next": next, "error": lang.t(key), "name": f.name }))?;
            Ok((if status == StatusCode::TOO_MANY_REQUESTS { status } else { StatusCode::UNAUTHORIZED }, html).into_response())
        }
        Err(e) => Err(Shown(e, lang)),
    }
}

/// The answer to a sign-in through the API.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SignedInJson {
    /// The account.
    account: AccountJson,
    /// The form token that state-changing requests signed in by this cookie must
    /// send as `X-CSRF-Token`.
    csrf: String,
}

/// An account as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AccountJson {
    name: String,
    /// office, coordinator, lecturer, unit-contact or supervisor.
    role: String,
    /// The division it is confined to, if any.
    scope: Option<String>,
    /// The unit of a unit contact.
    unit: Option<String>,
}

impl From<&Account> for AccountJson {
    fn from(a: &Account) -> AccountJson {
        let unit = match &a.scope {
            domain::Scope::Unit { unit, .. } => Some(unit.clone()),
            _ => None,
        };
        AccountJson { name: a.name.clone(), role: a.role.to_string(), scope: a.scope.root().map(|c| c.to_string()), unit }
    }
}

/// Signs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/signin", tag = "accounts", request_body = SignIn,
    responses((status = 200, body = SignedInJson), (status = 422, body = crate::error::ErrorJson), (status = 429, body = crate::error::ErrorJson)))]
async fn signin_api(State(state): State<Shared>, jar: CookieJar, headers: HeaderMap, Json(f): Json<SignIn>) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Err(AppError::Csrf);
    }
    let account = check_password(&state, f.name.trim(), &f.password).await?;
    let (jar, csrf) = open_session(&state, &account, jar).await?;
    Ok((jar, Json(SignedInJson { account: AccountJson::from(&account), csrf })).into_response())
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = AccountJson), (status = 401, body = crate::error::ErrorJson)))]
async fn me(viewer: Viewer) -> Json<AccountJson> {
    Json(AccountJson::from(&viewer.account))
}

async fn signout(State(state): State<Shared>, jar: CookieJar) -> Result<Response, AppError> {
    if let Some(c) = jar.get(COOKIE) {
        let hash = token_hash(c.value());
        state.system(move |s| s.drop_token(&hash)).await?;
    }
    Ok((jar.remove(Cookie::build(COOKIE).path("/")), Redirect::to("/signin")).into_response())
}

async fn switch_language(axum::extract::Path(lang): axum::extract::Path<String>, jar: CookieJar, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&lang).unwrap_or(Lang::Zh);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned())))
        .unwrap_or_else(|| "/".into());
    let cookie = Cookie::build(("lang", lang.as_str())).path("/").same_site(SameSite::Lax).max_age(time_duration(Duration::from_secs(365 * 86400))).build();
    (jar.add(cookie), Redirect::to(&safe_next(Some(&back)))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sign_ins_wait_longer_and_longer() {
        let t = Instant::now();
        let f = |count| Failures { count, last: t };
        assert!(f(2).wait(t).is_zero());
        assert_eq!(f(3).wait(t), Duration::from_secs(1));
        assert_eq!(f(5).wait(t), Duration::from_secs(4));
        assert_eq!(f(40).wait(t), MAX_WAIT);
        assert!(f(3).wait(t + Duration::from_secs(2)).is_zero());
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("S3cret", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn form_tokens_are_found_in_forms() {
        assert_eq!(form_value(b"a=1&_csrf=ab%2Bc&b=2", "_csrf").as_deref(), Some("ab+c"));
        assert_eq!(form_value(b"_csrf=x+y", "_csrf").as_deref(), Some("x y"));
        assert_eq!(form_value(b"a=1", "_csrf"), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/units?q=1")), "/units?q=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
