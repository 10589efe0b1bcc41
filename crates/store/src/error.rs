//! The store's one error type.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// How many row errors an import collects before it stops looking.
pub const MAX_ROW_ERRORS: usize = 100;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing asked for does not exist.
    #[error("{what} {} not found", domain::text::quote(key))]
    NotFound {
        /// What kind of thing: "campaign", "division", …
        what: &'static str,
        /// The key that was looked up.
        key: String,
    },
    /// An input has bad rows; nothing of it was stored.
    #[error("{}", Invalid(errors, *more))]
    Invalid {
        /// The errors found, in file order, at most [`MAX_ROW_ERRORS`].
        errors: Vec<RowError>,
        /// How many more rows were bad past that limit.
        more: usize,
    },
    /// A request that breaks a rule of the data (the text says which).
    #[error("{0}")]
    Rejected(String),
    /// One field of a form or API request is bad; nothing was stored.
    #[error("{field}: {message}")]
    Field {
        /// The field, as the form and the API name it.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The thing to create exists already.
    #[error("{0}")]
    Conflict(String),
    /// The account's role may not do this at all (within its scope it may read).
    #[error("{0}")]
    Forbidden(String),
    /// The database stayed locked by another writer (a long import, say) for longer
    /// than a write waits: nothing was changed; try again shortly.
    #[error("the database is busy with another change (an import, perhaps): nothing was changed; try again in a moment")]
    Busy,
    /// A stored value is not what the schema promises.
    #[error("unexpected stored value: {0}")]
    Corrupt(String),
    /// A database URL we cannot use.
    #[error("unsupported database URL {0:?}: use sqlite://PATH, a file path, or postgres://…")]
    Url(String),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {}", postgres_message(.0))]
    Postgres(postgres::Error),
    /// No connection could be had.
    #[error("database connection: {0}")]
    Pool(r2d2::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migration(refinery::Error),
}

// The database errors carry their whole story in their message; they are not given as
// sources, so that a printed chain does not repeat it.
impl Error {
    /// A bad field.
    pub(crate) fn field(field: &str, message: impl Into<String>) -> Error {
        Error::Field { field: field.to_owned(), message: message.into() }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => Error::Busy,
            _ => Error::Sqlite(e),
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        // 55P03: lock_not_available, the lock_timeout running out.
        if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            return Error::Busy;
        }
        Error::Postgres(e)
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Error {
        Error::Pool(e)
    }
}

impl From<refinery::Error> for Error {
    fn from(e: refinery::Error) -> Error {
        Error::Migration(e)
    }
}

/// The server's own words where there are some ("FATAL: password authentication
/// failed…"), rather than the client's bare "db error".
fn postgres_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            m.push_str(&format!(" ({detail})"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        m.push_str(&format!(": {s}"));
        source = s.source();
    }
    m
}

/// One bad row (or a bad header) of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The file, as the user named it.
    pub file: String,
    /// The line in the file, 1 for the header.
    pub line: u64,
    /// The column at fault, if one is.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl RowError {
    /// An error in one field.
    pub fn field(file: &str, line: u64, field: &str, message: impl Into<String>) -> RowError {
        RowError { file: file.to_owned(), line, field: Some(field.to_owned()), message: message.into() }
    }

    /// An error of the whole row.
    pub fn row(file: &str, line: u64, message: impl Into<String>) -> RowError {
        RowError { file: file.to_owned(), line, field: None, message: message.into() }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

struct Invalid<'a>(&'a [RowError], usize);

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Invalid(errors, more) = *self;
        let total = errors.len() + more;
        let mut files: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
        files.dedup();
        write!(f, "{}: {total} error{}, nothing was stored", files.join(", "), if total == 1 { "" } else { "s" })?;
        for e in errors {
            write!(f, "\n  {e}")?;
        }
        if more > 0 {
            write!(f, "\n  … and {more} more")?;
        }
        Ok(())
    }
}
