//! Grassroots' web application: sign-in and scoping, server-rendered pages (Chinese by
//! default, English as a choice) and the same data as a JSON API under `/api/v1/`.
//!
//! [`router`] builds the application over a [`Store`]; [`launch`] serves it on a
//! listener until a shutdown future resolves. Every handler reaches the data through
//! the store's scoped calls, which take the signed-in [`store::Account`]: scoping is
//! enforced there, once, not by hiding links.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let store = store::Store::open("sqlite://grassroots.db").unwrap();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! web::launch(listener, web::AppState::new(store), std::future::pending()).await
//! # }
//! ```

mod auth;
mod bulletins;
mod campaigns;
mod dashboard;
mod error;
mod export;
mod i18n;
mod imports;
mod lecturers;
mod meetings;
mod lecturer;
mod openapi;
mod photos;
mod protect;
mod render;
mod requests;
mod sessions;
mod signed;
mod supervision;
mod throttle;
mod units;

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use store::{Account, Store};

pub use auth::{hash_password, new_token, token_hash};
pub use error::AppError;
pub use i18n::Lang;

/// What every request shares: the store, the sign-in throttle and the media server.
pub struct AppState {
    /// Whether browsers reach this server over HTTPS (directly or through a proxy that
    /// terminates it): cookies are then `Secure`, and HSTS is sent.
    https: bool,
    /// Whether the background notifier runs.
    notifier: bool,
    /// Always `Some` until dropped (see the `Drop` impl).
    store: Option<Arc<Store>>,
    throttle: Mutex<throttle::Throttle>,
    /// Turns at checking a password: as many at once as the machine has cores.
    hashing: tokio::sync::Semaphore,
    /// The key sign-in cookies are signed with (read from the store on first use).
    cookie_key: tokio::sync::OnceCell<signed::Key>,
    /// The live meetings' media server (`None` if its socket could not be bound).
    media: Option<conference::driver::Media>,
    /// Every change of a live meeting's state, as JSON, for the venues' pages.
    meeting_states: tokio::sync::broadcast::Sender<(i64, String)>,
}

/// The synchronous PostgreSQL client blocks on a runtime of its own when its
/// connections close, which panics on a thread that drives async tasks; the last
/// reference to the state may go on such a thread (when the server stops), so the
/// store is closed on a plain thread instead.
impl Drop for AppState {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(store)).join();
            }
        }
    }
}

/// The state as handlers hold it.
pub type Shared = Arc<AppState>;

/// How the application is served.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live meetings' media address (UDP).
    pub media: std::net::SocketAddr,
    /// Whether browsers reach the server over HTTPS.
    pub https: bool,
    /// Whether alerts become notifications in the background while the server runs
    /// (off only where a test must see the database change by its own requests alone).
    pub notifier: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { media: ([127, 0, 0, 1], 0).into(), https: false, notifier: true }
    }
}

impl AppState {
    /// The application's state over a store.
    pub fn new(store: Store) -> Shared {
        AppState::with_media(store, ([127, 0, 0, 1], 0).into())
    }

    /// The application's state with its media server's UDP socket bound at `media`
    /// (the address browsers send media to: a public one in a deployment).
    pub fn with_media(store: Store, media: std::net::SocketAddr) -> Shared {
        AppState::with_options(store, Options { media, ..Options::default() })
    }

    /// The application's state as `options` say.
    pub fn with_options(store: Store, options: Options) -> Shared {
        let media = options.media;
        let (meeting_states, _) = tokio::sync::broadcast::channel(1024);
        let tx = meeting_states.clone();
        let on_state = Box::new(move |id: conference::core::MeetingId, m: &conference::meeting::Meeting| {
            let _ = tx.send((id.0, meetings::state_json(m)));
        });
        let media = match conference::driver::Media::start(media, on_state) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("warning: no live meetings: cannot bind the media socket {media}: {e}");
                None
            }
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(AppState {
            https: options.https,
            notifier: options.notifier,
            store: Some(Arc::new(store)),
            throttle: Mutex::new(throttle::Throttle::default()),
            hashing: tokio::sync::Semaphore::new(cores),
            cookie_key: tokio::sync::OnceCell::new(),
            media,
            meeting_states,
        })
    }

    /// Runs `f` on the blocking pool with the store as `acc` sees it: the one way a
    /// handler reaches the campaign's data on an account's behalf (the handle checks
    /// the permission table and confines every query to the account's scope). The
    /// store's drivers are synchronous, and a database call must not hold up the
    /// runtime's threads.
    pub(crate) async fn as_account<T, F>(&self, acc: &Account, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(store::Scoped<'_>) -> Result<T, store::Error> + Send + 'static,
    {
        let acc = acc.clone();
        self.blocking(move |s| f(s.as_account(&acc))).await
    }

    /// Runs `f` with the store as a visitor (no account) sees it: published things only.
    pub(crate) async fn public<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(store::Public<'_>) -> Result<T, store::Error> + Send + 'static,
    {
        self.blocking(move |s| f(s.public())).await
    }

    /// Runs `f` with what a meeting's join link opens (`None` if it opens nothing): one
    /// venue of one open meeting, checked again at every call.
    pub(crate) async fn link<T, F>(&self, token: String, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(Option<store::Link<'_>>) -> Result<T, store::Error> + Send + 'static,
    {
        self.blocking(move |s| f(s.meeting_link(&token)?)).await
    }

    /// Runs `f` with the store itself, for what no account does: signing in (finding
    /// the account a name or token stands for) and the background notifier. Nothing
    /// else calls this (the tidy test in `tests/tidy.rs` holds every other module to
    /// the handles above).
    pub(crate) async fn system<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, store::Error> + Send + 'static,
    {
        self.blocking(f).await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, store::Error> + Send + 'static,
    {
        let store = self.store.clone().ok_or_else(|| AppError::Internal("the store is closed".into()))?;
        Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
    }
}

/// The largest request body: forms and JSON are small.
const BODY_LIMIT: usize = 1024 * 1024;

/// The largest upload (a file to import, photos with a bulletin): the routes that take
/// them say so with [`uploads`].
pub(crate) const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// Lets a route take an upload of up to [`UPLOAD_LIMIT`].
pub(crate) fn uploads() -> DefaultBodyLimit {
    DefaultBodyLimit::max(UPLOAD_LIMIT)
}

/// The whole application: pages, API and static files.
pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(auth::routes())
        .merge(dashboard::routes())
        .merge(campaigns::routes())
        .merge(units::routes())
        .merge(lecturers::routes())
        .merge(sessions::routes())
        .merge(imports::routes())
        .merge(requests::routes())
        .merge(lecturer::routes())
        .merge(bulletins::routes())
        .merge(photos::routes())
        .merge(supervision::routes())
        .merge(meetings::routes())
        .merge(openapi::routes())
        .merge(render::static_routes())
        .fallback(protect::not_found)
        .layer(middleware::from_fn(protect::api_errors))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), protect::headers))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn launch(listener: tokio::net::TcpListener, state: Shared, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    // Alerts become notifications in the background while the server runs.
    let notifier = state.notifier.then(|| supervision::start_notifier(&state));
    // Connections carry their peer's address: sign-in throttling goes by it.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    if let Some(n) = notifier {
        n.abort();
    }
    served
}
