//! Sessions as an account sees and reports them, and the one write every path to a
//! stored session ends in ([`write_session`]), which keeps coverage in step and takes
//! no account: its callers have checked who may.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use domain::text::{CODE, TITLE, quote};
use domain::{Action, DivisionCode, KeySet, SessionFormat, SessionStatus};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Campaign, CampaignEntry, Conn, Record, SessionRow};
use crate::coverage::{self, find_campaign};
use crate::lecturers::nameable;
use crate::query::{Page, Paging, Sql, count_and_list, in_scope, paged, search, under};
use crate::regions::region;
use crate::scoped::Scoped;
use crate::units::{find_unit, unavailable};
use crate::{Error, valid};

/// A session in a list or on its page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Its id.
    pub id: i64,
    /// The id the reporting side gave it.
    pub ext_id: Option<String>,
    /// Its unit's code.
    pub unit: String,
    /// Its unit's name.
    pub unit_name: String,
    /// The day.
    pub date: NaiveDate,
    /// How many came.
    pub headcount: i64,
    /// Topic keys.
    pub topics: Vec<String>,
    /// Audience keys.
    pub audiences: Vec<String>,
    /// Lecturer keys.
    pub lecturers: Vec<String>,
    /// How it was held.
    pub format: SessionFormat,
    /// Where it stands.
    pub status: SessionStatus,
    /// Its title.
    pub title: String,
}

/// Which sessions a list shows.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Words in the title or the unit's name or code.
    pub q: String,
    /// Only sessions at units under this division.
    pub under: Option<DivisionCode>,
    /// Only sessions at this unit.
    pub unit: Option<String>,
    /// Only sessions with this status.
    pub status: Option<SessionStatus>,
}

/// A session report from a form or the API.
#[derive(Debug, Clone)]
pub struct SessionInput {
    /// The id the reporting side gave it: a report sent twice with the same id is
    /// stored once.
    pub ext_id: Option<String>,
    /// The unit's code.
    pub unit: String,
    /// The day.
    pub date: NaiveDate,
    /// How many came.
    pub headcount: i64,
    /// Topic keys.
    pub topics: Vec<String>,
    /// Audience keys.
    pub audiences: Vec<String>,
    /// Lecturer keys.
    pub lecturers: Vec<String>,
    /// How it was held.
    pub format: SessionFormat,
    /// Where it stands.
    pub status: SessionStatus,
    /// A title.
    pub title: String,
}

const SESSION_FROM: &str = "sessions s JOIN units u ON u.id = s.unit_id JOIN divisions d ON d.id = u.division_id";
const SESSION_COLUMNS: &str =
    "s.id, s.ext_id, u.code, u.name, s.held_on, s.headcount, s.topics, s.audiences, s.format, s.status, s.title";

pub(crate) fn keys(entries: &[CampaignEntry], set: i64) -> Vec<String> {
    let set = KeySet::from_stored(set);
    entries.iter().filter(|e| set.contains(e.slot)).map(|e| e.key.clone()).collect()
}

fn sessions_of(conn: &mut dyn Conn, campaign: &Campaign, rows: &[Record]) -> Result<Vec<SessionView>, Error> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let corrupt = |e: domain::Error| Error::Corrupt(e.to_string());
        out.push(SessionView {
            id: r.int(0)?,
            ext_id: r.opt_text(1)?,
            unit: r.text(2)?,
            unit_name: r.text(3)?,
            date: r.date(4)?,
            headcount: r.int(5)?,
            topics: keys(&campaign.topics, r.int(6)?),
            audiences: keys(&campaign.audiences, r.int(7)?),
            lecturers: Vec::new(),
            format: r.text(8)?.parse().map_err(corrupt)?,
            status: r.text(9)?.parse().map_err(corrupt)?,
            title: r.text(10)?,
        });
    }
    if !out.is_empty() {
        let mut sql = Sql::new("SELECT sl.session_id, l.key FROM session_lecturers sl JOIN lecturers l ON l.id = sl.lecturer_id WHERE sl.session_id IN (");
        let ids: Vec<String> = out.iter().map(|s| sql.bind(s.id)).collect();
        sql.push(&ids.join(", "));
        sql.push(") ORDER BY l.key");
        for r in sql.run(conn)? {
            let id = r.int(0)?;
            if let Some(s) = out.iter_mut().find(|s| s.id == id) {
                s.lecturers.push(r.text(1)?);
            }
        }
    }
    Ok(out)
}

pub(crate) fn sessions(conn: &mut dyn Conn, acc: &Account, campaign: &str, f: &SessionFilter, paging: Paging) -> Result<Page<SessionView>, Error> {
    let campaign = find_campaign(conn, campaign)?;
    if let Some(code) = f.under {
        region(conn, acc, code)?;
    }
    if let Some(unit) = &f.unit {
        find_unit(conn, acc, unit)?;
    }
    let build = |sql: &mut Sql| {
        let c = sql.bind(campaign.id);
        sql.push(&format!(" AND s.campaign_id = {c}"));
        in_scope(sql, &acc.scope, "d", Some("u"));
        under(sql, f.under, "d");
        if let Some(unit) = &f.unit {
            let p = sql.bind(unit.as_str());
            sql.push(&format!(" AND u.code = {p}"));
        }
        if let Some(status) = f.status {
            let p = sql.bind(status.as_str());
            sql.push(&format!(" AND s.status = {p}"));
        }
        search(sql, &f.q, &["s.title", "u.name", "u.code"]);
    };
    let (count, list) = count_and_list(SESSION_FROM, SESSION_COLUMNS, build);
    let page = paged(conn, list, count, "s.held_on DESC, s.id DESC", paging, |r| Ok(r.clone()))?;
    let items = sessions_of(conn, &campaign, &page.items)?;
    Ok(Page { items, total: page.total, page: page.page, per_page: page.per_page })
}

pub(crate) fn session(conn: &mut dyn Conn, acc: &Account, campaign: &str, id: i64) -> Result<SessionView, Error> {
    one(conn, Some(&acc.scope), campaign, id)
}

/// A session by id, wherever it lies: for callers that have established the account's
/// standing to it otherwise (a lecturer's own planned sessions, its request's report).
pub(crate) fn by_id(conn: &mut dyn Conn, campaign: &str, id: i64) -> Result<SessionView, Error> {
    one(conn, None, campaign, id)
}

fn one(conn: &mut dyn Conn, scope: Option<&domain::Scope>, campaign: &str, id: i64) -> Result<SessionView, Error> {
    let campaign = find_campaign(conn, campaign)?;
    let mut sql = Sql::new(&format!("SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE 1 = 1"));
    let (c, i) = (sql.bind(campaign.id), sql.bind(id));
    sql.push(&format!(" AND s.campaign_id = {c} AND s.id = {i}"));
    if let Some(scope) = scope {
        in_scope(&mut sql, scope, "d", Some("u"));
    }
    let rows = sql.run(conn)?;
    sessions_of(conn, &campaign, &rows)?.pop().ok_or_else(|| Error::NotFound { what: "session", key: id.to_string() })
}

pub(crate) fn key_set(entries: &[CampaignEntry], keys: &[String], field: &str) -> Result<i64, Error> {
    let mut set = KeySet::EMPTY;
    for k in keys {
        let e = entries.iter().find(|e| &e.key == k).ok_or_else(|| {
            let known: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            Error::field(field, format!("unknown key {} (this campaign has {})", quote(k), known.join(", ")))
        })?;
        set.insert(e.slot);
    }
    Ok(set.stored())
}

/// A report's fields checked against its campaign: the row to store at unit `unit`
/// with lecturers `lecturers` (ids the caller has resolved).
pub(crate) fn checked_row(campaign: &Campaign, unit: i64, input: &SessionInput, lecturers: Vec<i64>) -> Result<SessionRow, Error> {
    if input.headcount < 0 {
        return Err(Error::field("headcount", format!("{} is negative", input.headcount)));
    }
    let topics = key_set(&campaign.topics, &input.topics, "topics")?;
    if topics == 0 {
        return Err(Error::field("topics", "name at least one topic"));
    }
    let audiences = key_set(&campaign.audiences, &input.audiences, "audiences")?;
    let ext_id = match &input.ext_id {
        Some(e) => Some(valid::text("ext_id", e, CODE)?.to_owned()).filter(|e| !e.is_empty()),
        None => None,
    };
    Ok(SessionRow {
        campaign: campaign.id,
        ext_id,
        unit,
        held_on: input.date,
        headcount: input.headcount,
        topics,
        audiences,
        format: input.format,
        status: input.status,
        title: valid::text("title", &input.title, TITLE)?.to_owned(),
        lecturers,
    })
}

/// Stores a checked session (new, or in place of `earlier`: its id and its unit's
/// bucket) at a unit of `bucket`, and brings the campaign's coverage up to date in the
/// same transaction. Gives the session's id.
pub(crate) fn write_session(conn: &mut dyn Conn, campaign: &Campaign, row: SessionRow, bucket: i64, earlier: Option<(i64, i64)>) -> Result<i64, Error> {
    let mut dirty = BTreeSet::from([bucket]);
    let id = match earlier {
        Some((id, old_bucket)) => {
            dirty.insert(old_bucket);
            conn.update_sessions(&[(id, row)])?;
            id
        }
        None => {
            conn.insert_sessions(&[row])?;
            conn.max_session_id()?
        }
    };
    coverage::refresh(conn, campaign, &dirty)?;
    Ok(id)
}

/// Stores a report made by an account, at a unit in its scope: a new one, session
/// `id` (which must lie in its scope), or, for a new report whose `ext_id` was stored
/// before, that one (which must lie in its scope too: an id of a session elsewhere is
/// not available, and nothing tells of it).
pub(crate) fn save_session(conn: &mut dyn Conn, acc: &Account, campaign: &str, input: &SessionInput, id: Option<i64>) -> Result<i64, Error> {
    let campaign = find_campaign(conn, campaign)?;
    // The session changed must lie in the scope before anything else is looked at.
    if let Some(id) = id {
        session(conn, acc, &campaign.key, id)?;
    }
    let (unit, bucket, _) = find_unit(conn, acc, input.unit.trim()).map_err(|e| match e {
        Error::NotFound { .. } => Error::field("unit", format!("unknown unit {} (or outside your scope)", quote(&input.unit))),
        other => other,
    })?;
    let lecturers = nameable(conn, acc, &input.lecturers, "lecturers")?;
    let row = checked_row(&campaign, unit, input, lecturers)?;
    let stored = match (id, &row.ext_id) {
        (Some(id), _) => Some(id),
        (None, Some(ext)) => conn.sessions_by_ext(campaign.id, &[ext.as_str()])?.first().map(|s| s.id),
        (None, None) => None,
    };
    let earlier = match stored {
        Some(stored) => {
            let old = session(conn, acc, &campaign.key, stored).map_err(|e| match (e, id) {
                (e @ Error::NotFound { .. }, Some(_)) => e,
                (Error::NotFound { .. }, None) => unavailable("ext_id", row.ext_id.as_deref().unwrap_or_default()),
                (other, _) => other,
            })?;
            let (_, old_bucket, _) = find_unit(conn, acc, &old.unit)?;
            Some((stored, old_bucket))
        }
        None => None,
    };
    write_session(conn, &campaign, row, bucket, earlier)
}

impl Scoped<'_> {
    /// A page of a campaign's sessions at units the account sees, newest first.
    pub fn sessions(&self, campaign: &str, f: &SessionFilter, paging: Paging) -> Result<Page<SessionView>, Error> {
        self.read(Action::SessionList, |c, _| sessions(c, self.acc, campaign, f, paging))
    }

    /// Every session of [`Scoped::sessions`], for a download.
    pub fn export_sessions(&self, campaign: &str, f: &SessionFilter) -> Result<Page<SessionView>, Error> {
        self.read(Action::SessionExport, |c, _| sessions(c, self.acc, campaign, f, Paging::ALL))
    }

    /// One session the account sees.
    pub fn session(&self, campaign: &str, id: i64) -> Result<SessionView, Error> {
        self.read(Action::SessionRead, |c, _| session(c, self.acc, campaign, id))
    }

    /// Stores a new report at a unit in the account's scope (a report sent again with
    /// the same `ext_id` is stored once); gives its id. Coverage follows at once.
    pub fn report_session(&self, campaign: &str, input: &SessionInput) -> Result<i64, Error> {
        self.write(Action::SessionCreate, |c, _| save_session(c, self.acc, campaign, input, None))
    }

    /// Changes session `id`, which must lie in the account's scope (and stay in it).
    pub fn change_session(&self, campaign: &str, id: i64, input: &SessionInput) -> Result<i64, Error> {
        self.write(Action::SessionUpdate, |c, _| save_session(c, self.acc, campaign, input, Some(id)))
    }
}
