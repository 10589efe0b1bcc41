//! Fresh databases for store tests: an SQLite file always, a PostgreSQL database when
//! `GRASSROOTS_TEST_POSTGRES` names a server (always in CI).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use store::Store;

/// The environment variable with an admin URL of a PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "GRASSROOTS_TEST_POSTGRES";

/// A store on a fresh database, removed when dropped.
pub struct TestStore {
    pub store: Store,
    pub name: &'static str,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((admin, db)) = &self.pg {
            // Best effort: a database left behind by a crashed run has a unique name.
            if let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
            }
        }
    }
}

impl TestStore {
    /// A file in this store's temporary directory with `content`.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self._dir.path().join(name);
        std::fs::File::create(&path).and_then(|mut f| f.write_all(content.as_bytes())).expect("temp dir is writable");
        path
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `test` on a fresh SQLite store and, if configured, a fresh PostgreSQL one.
pub fn each_backend(test: impl Fn(&TestStore)) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let s = TestStore { store: Store::open(&url).expect("open sqlite"), name: "sqlite", _dir: dir, pg: None };
    test(&s);
    drop(s);
    match std::env::var(POSTGRES_ENV) {
        Err(_) if std::env::var_os("CI").is_some() => panic!("{POSTGRES_ENV} must be set in CI: nothing is skipped there"),
        Err(_) => eprintln!("skipping the PostgreSQL run: {POSTGRES_ENV} is not set (e.g. postgres://postgres:pw@127.0.0.1/postgres)"),
        Ok(admin) => {
            let db = format!("grassroots_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), fastrand::u32(..));
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test PostgreSQL server");
            c.batch_execute(&format!("CREATE DATABASE {db}")).expect("create a test database");
            let base = admin.split('?').next().unwrap_or(&admin);
            let url = format!("{}/{db}", base.rsplit_once('/').map_or(base, |(b, _)| b));
            let dir = tempfile::tempdir().expect("temp dir");
            let s = TestStore { store: Store::open(&url).expect("open postgres"), name: "postgres", _dir: dir, pg: Some((admin, db)) };
            test(&s);
        }
    }
}

/// The Heilongjiang division tree shipped in the repository.
pub fn heilongjiang() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../grassroots/data/divisions-23.csv")
}
