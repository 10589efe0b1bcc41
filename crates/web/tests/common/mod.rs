//! A real server for tests: a fresh database (SQLite always, PostgreSQL when
//! `GRASSROOTS_TEST_POSTGRES` names a server, always in CI) holding the Heilongjiang
//! tree, the seed campaign, a few units, lecturers and sessions, and one account per
//! role; served on a loopback port until the test ends.

#![allow(dead_code)]

pub mod browser;

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use domain::Role;
use serde_json::Value;
use store::{NewAccount, Quiet, Store};

/// The environment variable with an admin URL of a PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "GRASSROOTS_TEST_POSTGRES";

/// An API token of `daoli`, issued as `grassroots user token` does.
pub const BEARER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Every account's password.
pub const PASSWORD: &str = "correct horse";

/// (name, role, scope, unit) of the test accounts.
pub const ACCOUNTS: &[(&str, Role, Option<&str>, Option<&str>)] = &[
    ("office", Role::Office, None, None),
    ("harbin", Role::Coordinator, Some("2301"), None),
    ("daoli", Role::Coordinator, Some("230102"), None),
    ("nangang", Role::Coordinator, Some("230103"), None),
    ("supervisor", Role::Supervisor, Some("23"), None),
    ("lecturer", Role::Lecturer, Some("230102"), None),
    ("contact", Role::UnitContact, None, Some("230102001001")),
    // A unit nothing has covered yet.
    ("contact2", Role::UnitContact, None, Some("230102001002")),
];

pub const UNITS: &str = "code,name,kind,division
E230102,道里农机厂,enterprise,230102
S230103,南岗第一中学,school,230103
H230202,龙沙医院,hospital,230202
";

pub const LECTURERS: &str = "key,name,group,topics
l-daoli,道里讲师,230102,theme;decade
l-nangang,南岗讲师,230103,theme
l-prov,省讲师,23,theme;theory
";

/// Two sessions in Daoli, one in Nangang.
pub const SESSIONS: &str = "id,unit,date,topics,headcount,lecturers
s1,230102001001,2022-11-10,theme,40,l-daoli
s2,E230102,2022-11-12,theme;decade,25,l-daoli
s3,230103001001,2022-11-15,theme,30,l-nangang
";

/// A served test database.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// "sqlite" or "postgres".
    pub backend: &'static str,
    /// The database's URL.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Server {
    /// A file in the server's temporary directory.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::File::create(&path).and_then(|mut f| f.write_all(content.as_bytes())).expect("temp dir is writable");
        path
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some((admin, db)) = self.pg.take() {
            tokio::task::spawn_blocking(move || {
                if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
                }
            })
            .await
            .ok();
        }
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../grassroots/data").join(name)
}

fn seed(store: &Store, dir: &Path) {
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("temp dir is writable");
        p
    };
    store.import_divisions(&data("divisions-23.csv"), &Quiet).expect("divisions");
    let spec = domain::CampaignSpec::from_toml(&std::fs::read_to_string(data("campaign-cpc20.toml")).unwrap()).expect("campaign");
    store.apply_campaign(&spec).expect("campaign");
    store.import_units(&file("units.csv", UNITS), &Quiet).expect("units");
    store.import_lecturers(&file("lecturers.csv", LECTURERS), &Quiet).expect("lecturers");
    store.import_sessions("cpc20", &file("sessions.csv", SESSIONS), &Quiet).expect("sessions");
    // One hash for all: argon2 is slow on purpose.
    let hash = web::hash_password(PASSWORD).expect("hash");
    for (name, role, scope, unit) in ACCOUNTS {
        let new = NewAccount {
            name: (*name).into(),
            role: *role,
            scope: scope.map(|s| s.parse().unwrap()),
            unit: unit.map(str::to_owned),
            password_hash: hash.clone(),
        };
        let account = store.add_account(&new, 0).expect("account");
        if *name == "lecturer" {
            store.link_lecturer(name, "l-daoli").expect("link the lecturer");
        }
        if *name == "daoli" {
            store.put_api_token(account.id, &web::token_hash(BEARER), 0, None).expect("token");
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// How a test's server is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// How long a write waits for another writer before "busy".
    pub lock_wait: std::time::Duration,
    /// Whether the server is told browsers reach it over HTTPS.
    pub https: bool,
    /// Whether the background notifier runs.
    pub notifier: bool,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup { lock_wait: std::time::Duration::from_secs(60), https: false, notifier: true }
    }
}

async fn start(url: String, backend: &'static str, dir: tempfile::TempDir, pg: Option<(String, String)>, setup: &Setup) -> Server {
    let path = dir.path().to_owned();
    let (u, wait) = (url.clone(), setup.lock_wait);
    let store = tokio::task::spawn_blocking(move || {
        let store = Store::open_waiting(&u, wait).expect("open the test database");
        seed(&store, &path);
        store
    })
    .await
    .expect("seeding");
    // Bind first, then serve: the port is ready before any request is made.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let options = web::Options { https: setup.https, notifier: setup.notifier, ..web::Options::default() };
    let task = tokio::spawn(async move {
        web::launch(listener, web::AppState::with_options(store, options), async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    Server { base, backend, url, stop: Some(tx), task: Some(task), dir, pg }
}

/// Runs `test` against a server on a fresh SQLite database and, if configured, one on
/// a fresh PostgreSQL database.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(std::sync::Arc<Server>) -> Fut,
    Fut: Future<Output = ()>,
{
    each_backend_with(&Setup::default(), test).await
}

/// [`each_backend`] with servers set up as `setup` says.
pub async fn each_backend_with<F, Fut>(setup: &Setup, test: F)
where
    F: Fn(std::sync::Arc<Server>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    run_one(start(url, "sqlite", dir, None, setup).await, &test).await;
    match std::env::var(POSTGRES_ENV) {
        Err(_) if std::env::var_os("CI").is_some() => panic!("{POSTGRES_ENV} must be set in CI: nothing is skipped there"),
        Err(_) => eprintln!("skipping the PostgreSQL run: {POSTGRES_ENV} is not set"),
        Ok(admin) => {
            let db = format!("grassroots_web_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), fastrand::u32(..));
            let (a, d) = (admin.clone(), db.clone());
            tokio::task::spawn_blocking(move || {
                let mut c = postgres::Client::connect(&a, postgres::NoTls).expect("connect to the test PostgreSQL server");
                c.batch_execute(&format!("CREATE DATABASE {d}")).expect("create a test database");
            })
            .await
            .unwrap();
            let base = admin.split('?').next().unwrap_or(&admin);
            let url = format!("{}/{db}", base.rsplit_once('/').map_or(base, |(b, _)| b));
            run_one(start(url, "postgres", tempfile::tempdir().unwrap(), Some((admin, db)), setup).await, &test).await;
        }
    }
}

async fn run_one<F, Fut>(server: Server, test: &F)
where
    F: Fn(std::sync::Arc<Server>) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = std::sync::Arc::new(server);
    test(server.clone()).await;
    if let Ok(s) = std::sync::Arc::try_unwrap(server) {
        s.stop().await;
    }
}

/// An HTTP client with its own cookies, signed in or not.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    /// The form token of the signed-in cookie.
    pub csrf: Option<String>,
    /// A bearer token to send instead of the cookie.
    pub bearer: Option<String>,
}

impl Client {
    /// A client with no sign-in.
    pub fn anonymous(server: &Server) -> Client {
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Client { http, base: server.base.clone(), csrf: None, bearer: None }
    }

    /// A client signed in as `name` through the API.
    pub async fn signed_in(server: &Server, name: &str) -> Client {
        let mut c = Client::anonymous(server);
        let (status, body) = c.post("/api/v1/signin", &serde_json::json!({ "name": name, "password": PASSWORD })).await;
        assert_eq!(status, 200, "sign in as {name}: {body}");
        c.csrf = Some(body["csrf"].as_str().unwrap().to_owned());
        c
    }

    fn with_auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let r = match &self.bearer {
            Some(t) => r.bearer_auth(t),
            None => r,
        };
        match &self.csrf {
            Some(t) => r.header("X-CSRF-Token", t),
            None => r,
        }
    }

    /// GET a JSON path: status and body (Null if not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.with_auth(self.http.get(format!("{}{path}", self.base))).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// GET a page: status and text.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let r = self.with_auth(self.http.get(format!("{}{path}", self.base))).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// GET raw bytes with the content type.
    pub async fn bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let r = self.with_auth(self.http.get(format!("{}{path}", self.base))).send().await.expect("request");
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, ct, r.bytes().await.unwrap().to_vec())
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.with_auth(self.http.post(format!("{}{path}", self.base))).json(body).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.with_auth(self.http.put(format!("{}{path}", self.base))).json(body).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST a CSV body.
    pub async fn post_csv(&self, path: &str, csv: &str) -> (u16, Value) {
        let r = self.with_auth(self.http.post(format!("{}{path}", self.base))).header("content-type", "text/csv").body(csv.to_owned()).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST a urlencoded form (as a browser does): status, Location and text.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let r = self.http.post(format!("{}{path}", self.base)).form(fields).send().await.expect("request");
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, location, r.text().await.unwrap_or_default())
    }
}
