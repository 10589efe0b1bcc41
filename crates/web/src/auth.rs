//! Sign-in, sign-out, the signed-in account of every request, protection of forms
//! against cross-site request forgery, and the slowing down of password guessing.
//!
//! A browser signs in with a name and password and gets an HttpOnly, SameSite cookie
//! signed by the server (`signed.rs`: signing in writes nothing), with a form token
//! derived from it that every state-changing request signed in by cookie must carry
//! (a hidden `_csrf` field, or an `X-CSRF-Token` header). An API client may instead
//! send `Authorization: Bearer TOKEN` from `grassroots user token` (the store keeps
//! its SHA-256), which needs no form token because no browser sends it by itself.
//!
//! Passwords are checked on a bounded pool ([`AppState`]'s `hashing`: as many at once
//! as the machine has cores, the rest waiting their turn in order), so that 200
//! clients signing in at once cost the memory of a few argon2 hashes, not 200; and
//! guessing is slowed down by source and name (`throttle.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
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
use store::Account;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, Shown};
use crate::signed::{COOKIE_LIFE, Key};
use crate::Shared;

/// The sign-in cookie's name.
pub(crate) const COOKIE: &str = "gr_session";

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

/// The address a request came from (unspecified when served without one, as in
/// tests that call the router directly).
pub(crate) fn source(parts: &axum::http::Extensions) -> IpAddr {
    parts.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The key sign-in cookies are signed with, made and kept by the store on first use.
async fn cookie_key(state: &Shared) -> Result<Key, AppError> {
    state
        .cookie_key
        .get_or_try_init(|| async {
            let fresh = new_token();
            let stored = state.system(move |s| s.secret("cookie-key", &fresh)).await?;
            Key::from_hex(&stored).ok_or_else(|| AppError::Internal("the stored cookie key is not a key".into()))
        })
        .await
        .cloned()
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
    let mut req = req;
    let found = match (bearer, jar.get(COOKIE).map(|c| c.value().to_owned())) {
        (Some(token), _) => bearer_account(&state, token).await,
        (None, Some(cookie)) => cookie_account(&state, cookie).await,
        (None, None) => Ok(None),
    };
    match found {
        Ok(Some(viewer)) => {
            if !viewer.csrf.is_empty() && changes_state(req.method()) {
                req = match check_csrf(req, &viewer.csrf).await {
                    Ok(r) => r,
                    Err(e) => return e.into_response(),
                };
            }
            req.extensions_mut().insert(viewer);
        }
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    next.run(req).await
}

/// The account of an API token (the store keeps its hash); a sign-in cookie's value
/// sent as one is no token.
async fn bearer_account(state: &Shared, token: String) -> Result<Option<Viewer>, AppError> {
    let hash = token_hash(&token);
    let found = state.system(move |s| s.api_account(&hash, now())).await?;
    Ok(found.map(|account| Viewer { account, csrf: String::new() }))
}

/// The account of a signed sign-in cookie, with the cookie's form token.
async fn cookie_account(state: &Shared, value: String) -> Result<Option<Viewer>, AppError> {
    let key = cookie_key(state).await?;
    let Some(cookie) = key.open(&value, now()) else { return Ok(None) };
    let account = state.system(move |s| s.cookie_account(cookie.account, &cookie.nonce)).await?;
    Ok(account.map(|account| Viewer { account, csrf: key.form_token(&value) }))
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

/// Checks a name and password from `source`, slowing down repeated failures (the
/// attempt is counted before its password is checked); gives the account.
async fn check_password(state: &Shared, source: IpAddr, name: &str, password: &str) -> Result<Account, AppError> {
    let throttle = || state.throttle.lock().map_err(|_| AppError::Internal("throttle lock".into()));
    throttle()?.attempt(source, name, Instant::now()).map_err(AppError::Throttled)?;
    // One hash per core at a time, the others waiting their turn (the semaphore is
    // fair: first come, first answered).
    let _turn = state.hashing.acquire().await.map_err(|_| AppError::Internal("the hashing pool is closed".into()))?;
    // Guesses queued behind others are refused once their source has failed enough.
    throttle()?.may_check(source, Instant::now()).map_err(AppError::Throttled)?;
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
    match found {
        Some(account) => {
            throttle()?.succeeded(source, name);
            Ok(account)
        }
        None => {
            throttle()?.failed(source, Instant::now());
            Err(AppError::Store(store::Error::Field { field: "password".into(), message: "wrong name or password".into() }))
        }
    }
}

/// Starts a browser session: the cookie to set and its form token. Nothing is written.
async fn open_session(state: &Shared, account: &Account, jar: CookieJar) -> Result<(CookieJar, String), AppError> {
    let key = cookie_key(state).await?;
    let value = key.sign(account.id, now(), &new_token()[..32]);
    let csrf = key.form_token(&value);
    let cookie = Cookie::build((COOKIE, value))
        .http_only(true)
        .secure(state.https)
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

async fn signin_form(
    State(state): State<Shared>,
    lang: Lang,
    jar: CookieJar,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    axum::Form(f): axum::Form<SignIn>,
) -> Result<Response, Shown> {
    let next = safe_next(f.next.as_deref());
    if !same_origin(&headers) {
        return Err(Shown(AppError::Csrf, lang));
    }
    match check_password(&state, source(&extensions), f.name.trim(), &f.password).await {
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
async fn signin_api(State(state): State<Shared>, jar: CookieJar, headers: HeaderMap, extensions: axum::http::Extensions, Json(f): Json<SignIn>) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Err(AppError::Csrf);
    }
    let account = check_password(&state, source(&extensions), f.name.trim(), &f.password).await?;
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
        // The cookie is refused from now on, wherever a copy of it is.
        if let Some(cookie) = cookie_key(&state).await?.open(c.value(), now()) {
            let (nonce, expires) = (cookie.nonce.clone(), cookie.expires());
            state.system(move |s| s.revoke_cookie(&nonce, expires, now())).await?;
        }
    }
    Ok((jar.remove(Cookie::build(COOKIE).path("/")), Redirect::to("/signin")).into_response())
}

async fn switch_language(State(state): State<Shared>, axum::extract::Path(lang): axum::extract::Path<String>, jar: CookieJar, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&lang).unwrap_or(Lang::Zh);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned())))
        .unwrap_or_else(|| "/".into());
    let cookie = Cookie::build(("lang", lang.as_str())).path("/").secure(state.https).same_site(SameSite::Lax).max_age(time_duration(Duration::from_secs(365 * 86400))).build();
    (jar.add(cookie), Redirect::to(&safe_next(Some(&back)))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

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
