//! The seam between Grassroots' storage logic and a database: [`Conn`].
//!
//! Everything that decides (validation, roll-up arithmetic, what changed) lives once,
//! in the modules that call these methods; each backend (`sqlite.rs`, `postgres.rs`)
//! only moves rows, in its own SQL. The methods are the smallest set of row movements
//! the logic needs, batched where a national import would otherwise make millions of
//! round trips.

use chrono::NaiveDate;
use domain::coverage::{Fact, Tally};
use domain::{Level, SessionFormat, SessionStatus, UnitKind};

use crate::Error;

/// A division as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionRow {
    /// The official code as a number.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Its parent's id; none for a province.
    pub parent: Option<i64>,
    /// Its ancestor (or itself) at province, city, county and township level.
    pub ancestors: [Option<i64>; 4],
    /// The units under it.
    pub units: i64,
}

impl DivisionRow {
    /// The deepest of its ancestors at county level or above: the bucket of a unit
    /// attached here.
    pub fn bucket(&self) -> i64 {
        self.ancestors[..3].iter().rev().flatten().next().copied().unwrap_or(self.id)
    }
}

/// A unit as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    /// Its id; ignored when inserting.
    pub id: i64,
    /// Its code: the division code for a village unit, the file's code otherwise.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: UnitKind,
    /// The division it is attached to.
    pub division: i64,
    /// Its coverage bucket (see [`DivisionRow::bucket`]).
    pub bucket: i64,
}

/// A topic or audience of a stored campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEntry {
    /// The bit it takes in a session's set.
    pub slot: usize,
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Other fields of the campaign file, as TOML.
    pub extra: String,
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    /// Its id; ignored when inserting.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
    /// The first day that counts.
    pub start: NaiveDate,
    /// The deadline.
    pub deadline: NaiveDate,
    /// The share of units to cover.
    pub target: f64,
    /// Other fields of the campaign file, as TOML.
    pub extra: String,
    /// Topics in the campaign's order.
    pub topics: Vec<CampaignEntry>,
    /// Audiences in the campaign's order.
    pub audiences: Vec<CampaignEntry>,
}

impl Campaign {
    /// How many topic slots tallies of this campaign need.
    pub fn topic_slots(&self) -> usize {
        self.topics.iter().map(|t| t.slot + 1).max().unwrap_or(0)
    }
}

/// A lecturer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LecturerRow {
    /// Its id; ignored when inserting.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// The division of its lecture group.
    pub group_division: i64,
    /// Topic keys, `;`-separated.
    pub topics: String,
}

/// A session as written by an import or a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Its campaign.
    pub campaign: i64,
    /// The id the reporting side gave it, if any.
    pub ext_id: Option<String>,
    /// The unit it was held at.
    pub unit: i64,
    /// The day.
    pub held_on: NaiveDate,
    /// How many people came.
    pub headcount: i64,
    /// Topic slots as a set.
    pub topics: i64,
    /// Audience slots as a set.
    pub audiences: i64,
    /// How it was held.
    pub format: SessionFormat,
    /// Where it stands.
    pub status: SessionStatus,
    /// A title, possibly empty.
    pub title: String,
    /// Lecturer ids.
    pub lecturers: Vec<i64>,
}

/// A stored session found by its external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingSession {
    /// The external id.
    pub ext_id: String,
    /// The stored id.
    pub id: i64,
    /// Its unit's id.
    pub unit: i64,
    /// The unit's bucket, whose roll-ups change when the session does.
    pub bucket: i64,
}

/// One row of a roll-up table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    /// The division (or bucket) it belongs to.
    pub division: i64,
    /// The day.
    pub day: NaiveDate,
    /// The tally of that day.
    pub tally: Tally,
}

/// Which of the two roll-up tables a call means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// Each bucket's own tallies.
    Bucket,
    /// The sums over all buckets under a division.
    Region,
}

/// A value passed to or read from a portable statement ([`Conn::query`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer (any width).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// A date (TEXT `YYYY-MM-DD` in SQLite, DATE in PostgreSQL).
    Date(NaiveDate),
    /// Bytes (BLOB in SQLite, BYTEA in PostgreSQL).
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Value {
        Value::Date(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// One row of a portable statement's result, read by column position.
#[derive(Debug, Clone, PartialEq)]
pub struct Record(pub Vec<Value>);

impl Record {
    fn at(&self, i: usize) -> Result<&Value, Error> {
        self.0.get(i).ok_or_else(|| Error::Corrupt(format!("no column {i}")))
    }

    /// An integer column.
    pub fn int(&self, i: usize) -> Result<i64, Error> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            other => Err(Error::Corrupt(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }

    /// An integer column that may be NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, Error> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// A text column.
    pub fn text(&self, i: usize) -> Result<String, Error> {
        match self.at(i)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(Error::Corrupt(format!("column {i}: expected text, found {other:?}"))),
        }
    }

    /// A text column that may be NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, Error> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    /// A floating-point column.
    pub fn real(&self, i: usize) -> Result<f64, Error> {
        match self.at(i)? {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            other => Err(Error::Corrupt(format!("column {i}: expected a number, found {other:?}"))),
        }
    }

    /// A bytes column.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, Error> {
        match self.at(i)? {
            Value::Bytes(b) => Ok(b.clone()),
            other => Err(Error::Corrupt(format!("column {i}: expected bytes, found {other:?}"))),
        }
    }

    /// A date column (a DATE, or TEXT `YYYY-MM-DD`).
    pub fn date(&self, i: usize) -> Result<NaiveDate, Error> {
        match self.at(i)? {
            Value::Date(d) => Ok(*d),
            Value::Text(t) => t.parse().map_err(|_| Error::Corrupt(format!("column {i}: {t:?} is not a date"))),
            other => Err(Error::Corrupt(format!("column {i}: expected a date, found {other:?}"))),
        }
    }
}

/// The row movements Grassroots' logic needs from a database. One value is one
/// connection; methods run in whatever transaction [`Conn::begin`] opened.
pub trait Conn {
    /// Opens a transaction; `write` ones take the write lock at once, so that two
    /// writers queue rather than fail half-way.
    fn begin(&mut self, write: bool) -> Result<(), Error>;
    /// Commits the open transaction.
    fn commit(&mut self) -> Result<(), Error>;
    /// Rolls the open transaction back.
    fn rollback(&mut self) -> Result<(), Error>;

    /// Refreshes the planner's statistics after a bulk import, outside any
    /// transaction, so that the next reports are planned on the data as it now is.
    fn analyze(&mut self) -> Result<(), Error>;

    /// Every division (for imports that must see the whole tree).
    fn divisions(&mut self) -> Result<Vec<DivisionRow>, Error>;
    /// One division.
    fn division(&mut self, id: i64) -> Result<Option<DivisionRow>, Error>;
    /// Divisions at `level`, under the division `under` (of level `under.0`) if given.
    fn divisions_at(&mut self, level: Level, under: Option<(Level, i64)>) -> Result<Vec<DivisionRow>, Error>;
    /// Inserts or replaces divisions by id.
    fn put_divisions(&mut self, rows: &[DivisionRow]) -> Result<(), Error>;
    /// Sets the unit counts of divisions.
    fn set_unit_counts(&mut self, counts: &[(i64, i64)]) -> Result<(), Error>;

    /// Every unit.
    fn units(&mut self) -> Result<Vec<UnitRow>, Error>;
    /// Inserts units (ids ignored) or updates them by code.
    fn put_units(&mut self, rows: &[UnitRow]) -> Result<(), Error>;
    /// The distinct buckets of all units.
    fn buckets(&mut self) -> Result<Vec<i64>, Error>;

    /// Every campaign, with topics and audiences.
    fn campaigns(&mut self) -> Result<Vec<Campaign>, Error>;
    /// Inserts or updates a campaign by key, replacing its topics and audiences; returns its id.
    fn put_campaign(&mut self, c: &Campaign) -> Result<i64, Error>;
    /// Whether any session of the campaign has the topic (or, if `audience`, the
    /// audience) in `slot`.
    fn slot_in_use(&mut self, campaign: i64, audience: bool, slot: usize) -> Result<bool, Error>;

    /// Every lecturer.
    fn lecturers(&mut self) -> Result<Vec<LecturerRow>, Error>;
    /// Inserts or updates lecturers by key, creating the lecture groups they name.
    fn put_lecturers(&mut self, rows: &[LecturerRow]) -> Result<(), Error>;

    /// Sessions of a campaign with these external ids.
    fn sessions_by_ext(&mut self, campaign: i64, ext_ids: &[&str]) -> Result<Vec<ExistingSession>, Error>;
    /// Whether the campaign has any session at all.
    fn has_sessions(&mut self, campaign: i64) -> Result<bool, Error>;
    /// Whether any session of the campaign has an external id: if none has, a new
    /// import's ids cannot update anything, and need not be looked up.
    fn has_ext_ids(&mut self, campaign: i64) -> Result<bool, Error>;
    /// The highest session id (0 if there is none).
    fn max_session_id(&mut self) -> Result<i64, Error>;
    /// Inserts sessions with their lecturers.
    fn insert_sessions(&mut self, rows: &[SessionRow]) -> Result<(), Error>;
    /// Replaces stored sessions (by id) with new contents, lecturers included.
    fn update_sessions(&mut self, rows: &[(i64, SessionRow)]) -> Result<(), Error>;

    /// Held sessions of the campaign dated from `from` to `until` at units of `bucket`.
    fn bucket_facts(&mut self, campaign: i64, bucket: i64, from: NaiveDate, until: NaiveDate) -> Result<Vec<Fact>, Error>;
    /// Every held session of the campaign dated from `from` to `until`, with its unit's
    /// bucket, streamed to `each` in one pass: for refreshing most buckets at once.
    fn campaign_facts(
        &mut self,
        campaign: i64,
        from: NaiveDate,
        until: NaiveDate,
        each: &mut dyn FnMut(i64, Fact),
    ) -> Result<(), Error>;
    /// Held sessions of the campaign dated from `from` to `until` at units whose
    /// division lies under a township, under `under` if given, each with that township.
    fn township_facts(
        &mut self,
        campaign: i64,
        under: Option<(Level, i64)>,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<(i64, Fact)>, Error>;
    /// Roll-up rows of these divisions (or buckets), dated up to `until`.
    fn rollup_days(&mut self, table: Rollup, campaign: i64, divisions: &[i64], until: NaiveDate) -> Result<Vec<DayRow>, Error>;
    /// Writes roll-up rows, replacing rows of the same division and day; rows whose
    /// tally is zero are deleted.
    fn put_rollup_days(&mut self, table: Rollup, campaign: i64, rows: &[DayRow]) -> Result<(), Error>;
    /// Deletes all roll-up rows of a campaign, before a rebuild.
    fn clear_rollups(&mut self, campaign: i64) -> Result<(), Error>;

    /// Runs a portable statement and returns its rows. Portable statements are the
    /// plain queries of the web's lists and accounts, which both databases take in the
    /// same words: parameters are `$1`, `$2`…, first used in that order; no
    /// backend-specific functions; sums cast to BIGINT. Everything that must be fast
    /// at national scale stays in the typed methods above.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Record>, Error>;
    /// Runs a portable statement that returns no rows; gives the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Error>;
}

/// Encodes per-slot topic counts as stored ("3 0 1").
pub(crate) fn encode_topics(topics: &[i64]) -> String {
    let mut s = String::with_capacity(topics.len() * 3);
    for (i, t) in topics.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&t.to_string());
    }
    s
}

/// Decodes stored topic counts; a corrupt entry reads as 0 rather than failing a report.
pub(crate) fn decode_topics(s: &str) -> Vec<i64> {
    s.split_ascii_whitespace().map(|t| t.parse().unwrap_or(0)).collect()
}
