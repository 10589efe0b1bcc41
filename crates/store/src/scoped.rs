//! What an account may see and change, applied below every handler: each read and
//! write the web application makes takes the [`Account`] and is confined here to its
//! scope. Something outside the scope is reported as not found, exactly as something
//! that does not exist, so that a URL cannot even tell which.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use domain::coverage::{CoverageRow, Region, Tally, tally_days_by, total_until};
use domain::{Action, DivisionCode, KeySet, Level, Scope, SessionFormat, SessionStatus, UnitKind, is_valid_key};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Campaign, CampaignEntry, Conn, LecturerRow, Record, Rollup, SessionRow, UnitRow, Value};
use crate::coverage::{self, far_future, find_campaign, terms};
use crate::Error;

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows in the whole list.
    pub total: i64,
    /// This page, from 1.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
}

/// Which page of a list to read.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// From 1.
    pub page: i64,
    /// Rows per page, at most [`Paging::MAX`].
    pub per_page: i64,
}

impl Paging {
    /// The most rows one page (or one export) holds.
    pub const MAX: i64 = 1_000_000;

    pub(crate) fn clamp(self) -> Paging {
        Paging { page: self.page.max(1), per_page: self.per_page.clamp(1, Paging::MAX) }
    }
}

/// A statement being built with its parameters, numbered as they are bound.
pub(crate) struct Sql {
    text: String,
    params: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql { text: text.to_owned(), params: Vec::new() }
    }

    pub(crate) fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    /// Binds a value and returns its placeholder.
    pub(crate) fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("${}", self.params.len())
    }

    pub(crate) fn run(&self, conn: &mut dyn Conn) -> Result<Vec<Record>, Error> {
        conn.query(&self.text, &self.params)
    }
}

pub(crate) fn level_column(level: Level) -> &'static str {
    match level {
        Level::Province => "province_id",
        Level::City => "city_id",
        Level::County => "county_id",
        Level::Township => "township_id",
        Level::Village => "id",
    }
}

/// Appends the condition "lies in `scope`" for rows joined to divisions as `d` (and,
/// where a unit is involved, units as `u`).
pub(crate) fn in_scope(sql: &mut Sql, scope: &Scope, d: &str, u: Option<&str>) {
    match (scope, u) {
        (Scope::All, _) => {}
        (Scope::Division { code }, _) => {
            let p = sql.bind(code.value());
            sql.push(&format!(" AND {d}.{} = {p}", level_column(code.level())));
        }
        (Scope::Unit { unit, .. }, Some(u)) => {
            let p = sql.bind(unit.as_str());
            sql.push(&format!(" AND {u}.code = {p}"));
        }
        (Scope::Unit { .. }, None) => {
            sql.push(" AND 1 = 0");
        }
    }
}

/// Appends "lies under the division `under`" for rows joined to divisions as `d`.
pub(crate) fn under(sql: &mut Sql, under: Option<DivisionCode>, d: &str) {
    if let Some(code) = under {
        let p = sql.bind(code.value());
        sql.push(&format!(" AND {d}.{} = {p}", level_column(code.level())));
    }
}

pub(crate) fn search(sql: &mut Sql, q: &str, columns: &[&str]) {
    let q = q.trim();
    if q.is_empty() {
        return;
    }
    let p = sql.bind(format!("%{}%", q.to_lowercase()));
    let any: Vec<String> = columns.iter().map(|c| format!("LOWER({c}) LIKE {p}")).collect();
    sql.push(&format!(" AND ({})", any.join(" OR ")));
}

pub(crate) fn paged<T>(conn: &mut dyn Conn, mut sql: Sql, count_sql: Sql, order: &str, paging: Paging, f: impl Fn(&Record) -> Result<T, Error>) -> Result<Page<T>, Error> {
    let paging = paging.clamp();
    let total = count_sql.run(conn)?.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let limit = sql.bind(paging.per_page);
    let offset = sql.bind((paging.page - 1) * paging.per_page);
    sql.push(&format!(" ORDER BY {order} LIMIT {limit} OFFSET {offset}"));
    let items = sql.run(conn)?.iter().map(f).collect::<Result<_, _>>()?;
    Ok(Page { items, total, page: paging.page, per_page: paging.per_page })
}

/// The same FROM and WHERE twice: once to count the rows, once to list `columns`.
pub(crate) fn count_and_list(from: &str, columns: &str, build: impl Fn(&mut Sql)) -> (Sql, Sql) {
    let mut count = Sql::new(&format!("SELECT COUNT(*) FROM {from} WHERE 1 = 1"));
    build(&mut count);
    let mut list = Sql::new(&format!("SELECT {columns} FROM {from} WHERE 1 = 1"));
    build(&mut list);
    (count, list)
}


// ---------------------------------------------------------------------------------
// Regions and coverage

/// A division as a page shows it: with the chain of its ancestors for breadcrumbs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionView {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Units under it.
    pub units: i64,
    /// Its ancestors from the province down to its parent, as (code, name), limited
    /// to those the account may see.
    #[schema(value_type = Vec<Vec<String>>)]
    pub chain: Vec<(String, String)>,
}

/// A region's coverage over time, for the dashboard's chart.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// The region's totals as of the report date.
    pub total: CoverageRow,
    /// From the campaign's start, each day on which something changed: (day, covered
    /// units so far).
    #[schema(value_type = Vec<Vec<Object>>)]
    pub days: Vec<(NaiveDate, i64)>,
    /// The campaign's start, deadline and target.
    pub start: NaiveDate,
    /// The deadline.
    pub deadline: NaiveDate,
    /// The share to cover.
    pub target: f64,
}

pub(crate) fn region(conn: &mut dyn Conn, acc: &Account, code: DivisionCode) -> Result<RegionView, Error> {
    let not_found = || Error::NotFound { what: "region", key: code.to_string() };
    let d = conn.division(code.value())?.ok_or_else(not_found)?;
    let mut chain_ids: Vec<i64> = d.ancestors.iter().flatten().copied().filter(|a| *a != d.id).collect();
    let mut all = chain_ids.clone();
    all.push(d.id);
    if !acc.scope.holds_division(&all) {
        return Err(not_found());
    }
    // Ancestors above the account's own root are context it may name but not open.
    if let Some(root) = acc.scope.root() {
        if let Some(i) = chain_ids.iter().position(|a| *a == root.value()) {
            chain_ids.drain(..i);
        }
    }
    let mut chain = Vec::new();
    for id in chain_ids {
        if let Some(a) = conn.division(id)? {
            chain.push((a.id.to_string(), a.name));
        }
    }
    Ok(RegionView { code: d.id.to_string(), name: d.name, level: d.level, units: d.units, chain })
}

/// The tree's province when it has just one (a provincial deployment): where the
/// campaign office's views open.
pub(crate) fn only_province(conn: &mut dyn Conn) -> Result<Option<DivisionCode>, Error> {
    match conn.divisions_at(Level::Province, None)?.as_slice() {
        [one] => DivisionCode::from_value(one.id).map(Some).map_err(|e| Error::Corrupt(e.to_string())),
        _ => Ok(None),
    }
}

/// The region a report is about when none is named: the account's own.
fn default_region(acc: &Account) -> Result<Option<DivisionCode>, Error> {
    match &acc.scope {
        Scope::All => Ok(None),
        Scope::Division { code } => Ok(Some(*code)),
        Scope::Unit { unit, .. } => Err(Error::Forbidden(format!("a unit contact sees its own unit only: see unit {unit}"))),
    }
}

pub(crate) fn coverage(conn: &mut dyn Conn, acc: &Account, q: &coverage::CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
    let mut q = q.clone();
    match q.under {
        Some(code) => {
            region(conn, acc, code)?;
        }
        None => q.under = default_region(acc)?,
    }
    coverage::report(conn, &q)
}

pub(crate) fn progress(conn: &mut dyn Conn, acc: &Account, campaign: &str, code: Option<DivisionCode>, as_of: NaiveDate) -> Result<Progress, Error> {
    let code = match code {
        Some(c) => Some(c),
        None => default_region(acc)?,
    };
    let campaign = find_campaign(conn, campaign)?;
    let slots = campaign.topic_slots();
    let (region, days) = match code {
        None => {
            let provinces = conn.divisions_at(Level::Province, None)?;
            let units = provinces.iter().map(|p| p.units).sum();
            let ids: Vec<i64> = provinces.iter().map(|p| p.id).collect();
            let days = conn.rollup_days(Rollup::Region, campaign.id, &ids, far_future())?;
            let region = Region { code: String::new(), name: String::new(), level: Level::Province, units };
            (region, days.into_iter().map(|r| (r.day, r.tally)).collect::<Vec<_>>())
        }
        Some(code) => {
            let view = region(conn, acc, code)?;
            let region = Region { code: view.code, name: view.name, level: view.level, units: view.units };
            let days = if view.level <= Level::County {
                conn.rollup_days(Rollup::Region, campaign.id, &[code.value()], far_future())?.into_iter().map(|r| (r.day, r.tally)).collect()
            } else {
                let facts = conn.township_facts(campaign.id, Some((view.level, code.value())), campaign.start, far_future())?;
                let by = tally_days_by(facts.into_iter().map(|(_, f)| f), campaign.start, slots, |_| Some(0));
                by.into_iter().flat_map(|(_, d)| d).collect()
            };
            (region, days)
        }
    };
    let mut merged: std::collections::BTreeMap<NaiveDate, Tally> = std::collections::BTreeMap::new();
    for (day, t) in days {
        merged.entry(day).or_insert_with(|| Tally::zero(slots)).add(&t);
    }
    let total = total_until(&merged, as_of, slots);
    let mut covered = 0;
    let series = merged
        .iter()
        .filter(|(day, _)| **day <= as_of)
        .map(|(day, t)| {
            covered += t.covered;
            (*day, covered)
        })
        .collect();
    Ok(Progress {
        total: CoverageRow::new(region, &total, &terms(&campaign), as_of),
        days: series,
        start: campaign.start,
        deadline: campaign.deadline,
        target: campaign.target,
    })
}

// ---------------------------------------------------------------------------------
// Units

/// A unit in a list or on its page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitView {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: UnitKind,
    /// The division it is attached to.
    pub division: String,
    /// That division's name.
    pub division_name: String,
}

/// Which units a list shows.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Words in the name or code.
    pub q: String,
    /// Only units under this division.
    pub under: Option<DivisionCode>,
    /// Only units of this kind.
    pub kind: Option<UnitKind>,
    /// Only units not covered by this campaign (its key) as of this date.
    pub uncovered: Option<(String, NaiveDate)>,
}

/// A new or changed organization unit.
#[derive(Debug, Clone)]
pub struct UnitInput {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its kind (not village).
    pub kind: UnitKind,
    /// The division it is attached to.
    pub division: DivisionCode,
}

const UNIT_FROM: &str = "units u JOIN divisions d ON d.id = u.division_id";

fn unit_of(r: &Record) -> Result<UnitView, Error> {
    Ok(UnitView {
        code: r.text(0)?,
        name: r.text(1)?,
        kind: UnitKind::from_stored(&r.text(2)?).ok_or_else(|| Error::Corrupt("unit kind".into()))?,
        division: r.int(3)?.to_string(),
        division_name: r.text(4)?,
    })
}


pub(crate) fn units(conn: &mut dyn Conn, acc: &Account, f: &UnitFilter, paging: Paging) -> Result<Page<UnitView>, Error> {
    if let Some(code) = f.under {
        region(conn, acc, code)?;
    }
    let uncovered = match &f.uncovered {
        Some((key, as_of)) => Some((find_campaign(conn, key)?, *as_of)),
        None => None,
    };
    let build = |sql: &mut Sql| {
        in_scope(sql, &acc.scope, "d", Some("u"));
        under(sql, f.under, "d");
        search(sql, &f.q, &["u.name", "u.code"]);
        if let Some(kind) = f.kind {
            let p = sql.bind(kind.as_str());
            sql.push(&format!(" AND u.kind = {p}"));
        }
        if let Some((c, as_of)) = &uncovered {
            let (id, start, until) = (sql.bind(c.id), sql.bind(c.start), sql.bind(*as_of));
            sql.push(&format!(
                " AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.campaign_id = {id} AND s.unit_id = u.id
                   AND s.status = 'held' AND s.held_on >= {start} AND s.held_on <= {until})"
            ));
        }
    };
    let (count, list) = count_and_list(UNIT_FROM, "u.code, u.name, u.kind, u.division_id, d.name", build);
    paged(conn, list, count, "u.code", paging, unit_of)
}

/// A unit in the account's scope, with its id and bucket.
pub(crate) fn find_unit(conn: &mut dyn Conn, acc: &Account, code: &str) -> Result<(i64, i64, UnitView), Error> {
    let rows = conn.query(
        &format!(
            "SELECT u.code, u.name, u.kind, u.division_id, d.name, u.id, u.bucket_id,
                    d.province_id, d.city_id, d.county_id, d.township_id
             FROM {UNIT_FROM} WHERE u.code = $1"
        ),
        &[code.into()],
    )?;
    let not_found = || Error::NotFound { what: "unit", key: code.to_owned() };
    let r = rows.first().ok_or_else(not_found)?;
    let view = unit_of(r)?;
    let mut chain: Vec<i64> = (7..11).map(|i| r.opt_int(i)).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    chain.push(r.int(3)?);
    if !acc.scope.holds_unit(code, &chain) {
        return Err(not_found());
    }
    Ok((r.int(5)?, r.int(6)?, view))
}

pub(crate) fn unit(conn: &mut dyn Conn, acc: &Account, code: &str) -> Result<UnitView, Error> {
    find_unit(conn, acc, code).map(|(.., v)| v)
}

pub(crate) fn save_unit(conn: &mut dyn Conn, acc: &Account, input: &UnitInput, existing: Option<&str>) -> Result<UnitView, Error> {
    acc.check(Action::EditUnit)?;
    let code = input.code.trim();
    if code.is_empty() {
        return Err(Error::field("code", "must not be empty"));
    }
    if input.name.trim().is_empty() {
        return Err(Error::field("name", "must not be empty"));
    }
    if input.kind == UnitKind::Village {
        return Err(Error::field("kind", "village units come from the division tree"));
    }
    let old = match existing {
        Some(old) => {
            let (_, bucket, view) = find_unit(conn, acc, old)?;
            if view.kind == UnitKind::Village {
                return Err(Error::field("kind", "village units come from the division tree and are not edited here"));
            }
            if old != code {
                return Err(Error::field("code", "a unit's code does not change"));
            }
            Some(bucket)
        }
        None => {
            if !conn.query("SELECT id FROM units WHERE code = $1", &[code.into()])?.is_empty() {
                return Err(Error::field("code", format!("a unit with code {code:?} exists already")));
            }
            None
        }
    };
    region(conn, acc, input.division).map_err(|_| Error::field("division", format!("unknown division {} (or outside your scope)", input.division)))?;
    let d = conn.division(input.division.value())?.ok_or_else(|| Error::field("division", "unknown division"))?;
    conn.put_units(&[UnitRow { id: 0, code: code.to_owned(), name: input.name.trim().to_owned(), kind: input.kind, division: d.id, bucket: d.bucket() }])?;
    coverage::recount_units(conn)?;
    if let Some(old_bucket) = old {
        if old_bucket != d.bucket() {
            coverage::refresh_all_campaigns(conn, &BTreeSet::from([old_bucket, d.bucket()]))?;
        }
    }
    unit(conn, acc, code)
}

// ---------------------------------------------------------------------------------
// Lecturers

/// A lecturer in a list or on its page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LecturerView {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// The division of its lecture group.
    pub group: String,
    /// That division's name.
    pub group_name: String,
    /// The topic keys it covers.
    pub topics: Vec<String>,
}

/// A new or changed lecturer.
#[derive(Debug, Clone)]
pub struct LecturerInput {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// The division of its lecture group (province, city or county).
    pub group: DivisionCode,
    /// Topic keys.
    pub topics: Vec<String>,
}

const LECTURER_FROM: &str = "lecturers l JOIN lecture_groups g ON g.id = l.group_id JOIN divisions d ON d.id = g.division_id";

fn lecturer_of(r: &Record) -> Result<LecturerView, Error> {
    Ok(LecturerView {
        key: r.text(0)?,
        name: r.text(1)?,
        group: r.int(2)?.to_string(),
        group_name: r.text(3)?,
        topics: r.text(4)?.split(';').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
    })
}

pub(crate) fn lecturers(conn: &mut dyn Conn, acc: &Account, q: &str, within: Option<DivisionCode>, paging: Paging) -> Result<Page<LecturerView>, Error> {
    if let Some(code) = within {
        region(conn, acc, code)?;
    }
    let build = |sql: &mut Sql| {
        in_scope(sql, &acc.scope, "d", None);
        under(sql, within, "d");
        search(sql, q, &["l.name", "l.key"]);
    };
    let (count, list) = count_and_list(LECTURER_FROM, "l.key, l.name, d.id, d.name, l.topics", build);
    paged(conn, list, count, "l.key", paging, lecturer_of)
}

pub(crate) fn lecturer(conn: &mut dyn Conn, acc: &Account, key: &str) -> Result<LecturerView, Error> {
    let mut sql = Sql::new(&format!("SELECT l.key, l.name, d.id, d.name, l.topics FROM {LECTURER_FROM} WHERE 1 = 1"));
    let p = sql.bind(key);
    sql.push(&format!(" AND l.key = {p}"));
    in_scope(&mut sql, &acc.scope, "d", None);
    let rows = sql.run(conn)?;
    rows.first().map(lecturer_of).transpose()?.ok_or_else(|| Error::NotFound { what: "lecturer", key: key.to_owned() })
}

pub(crate) fn save_lecturer(conn: &mut dyn Conn, acc: &Account, input: &LecturerInput, existing: Option<&str>) -> Result<LecturerView, Error> {
    acc.check(Action::EditLecturer)?;
    if !is_valid_key(&input.key) {
        return Err(Error::field("key", domain::Error::MalformedKey(input.key.clone()).to_string()));
    }
    if input.name.trim().is_empty() {
        return Err(Error::field("name", "must not be empty"));
    }
    let known: BTreeSet<String> = conn.campaigns()?.into_iter().flat_map(|c| c.topics).map(|t| t.key).collect();
    if let Some(t) = input.topics.iter().find(|t| !known.contains(*t)) {
        return Err(Error::field("topics", format!("unknown topic {t:?}: not a topic of any campaign")));
    }
    match existing {
        Some(old) => {
            lecturer(conn, acc, old)?;
            if old != input.key {
                return Err(Error::field("key", "a lecturer's key does not change"));
            }
        }
        None => {
            if !conn.query("SELECT id FROM lecturers WHERE key = $1", &[input.key.as_str().into()])?.is_empty() {
                return Err(Error::field("key", format!("a lecturer with key {:?} exists already", input.key)));
            }
        }
    }
    let group = region(conn, acc, input.group).map_err(|_| Error::field("group", format!("unknown division {} (or outside your scope)", input.group)))?;
    if group.level > Level::County {
        return Err(Error::field("group", format!("{} is a {}: lecture groups sit at province, city or county level", input.group, group.level)));
    }
    conn.put_lecturers(&[LecturerRow {
        id: 0,
        key: input.key.clone(),
        name: input.name.trim().to_owned(),
        group_division: input.group.value(),
        topics: input.topics.join(";"),
    }])?;
    lecturer(conn, acc, &input.key)
}

// ---------------------------------------------------------------------------------
// Sessions

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
    let campaign = find_campaign(conn, campaign)?;
    let mut sql = Sql::new(&format!("SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE 1 = 1"));
    let (c, i) = (sql.bind(campaign.id), sql.bind(id));
    sql.push(&format!(" AND s.campaign_id = {c} AND s.id = {i}"));
    in_scope(&mut sql, &acc.scope, "d", Some("u"));
    let rows = sql.run(conn)?;
    sessions_of(conn, &campaign, &rows)?.pop().ok_or_else(|| Error::NotFound { what: "session", key: id.to_string() })
}

pub(crate) fn key_set(entries: &[CampaignEntry], keys: &[String], field: &str) -> Result<i64, Error> {
    let mut set = KeySet::EMPTY;
    for k in keys {
        let e = entries.iter().find(|e| &e.key == k).ok_or_else(|| {
            let known: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            Error::field(field, format!("unknown key {k:?} (this campaign has {})", known.join(", ")))
        })?;
        set.insert(e.slot);
    }
    Ok(set.stored())
}

/// Stores a report and brings coverage up to date in the same transaction. Returns
/// the session's id; a new report whose `ext_id` was stored before updates that one.
pub(crate) fn save_session(conn: &mut dyn Conn, acc: &Account, campaign: &str, input: &SessionInput, id: Option<i64>) -> Result<i64, Error> {
    acc.check(Action::ReportSession)?;
    let campaign = find_campaign(conn, campaign)?;
    let (unit, bucket, _) = find_unit(conn, acc, input.unit.trim()).map_err(|e| match e {
        Error::NotFound { .. } => Error::field("unit", format!("unknown unit {:?} (or outside your scope)", input.unit)),
        other => other,
    })?;
    if input.headcount < 0 {
        return Err(Error::field("headcount", format!("{} is negative", input.headcount)));
    }
    let topics = key_set(&campaign.topics, &input.topics, "topics")?;
    if topics == 0 {
        return Err(Error::field("topics", "name at least one topic"));
    }
    let audiences = key_set(&campaign.audiences, &input.audiences, "audiences")?;
    let mut lecturers = Vec::new();
    for key in &input.lecturers {
        let rows = conn.query("SELECT id FROM lecturers WHERE key = $1", &[key.as_str().into()])?;
        let r = rows.first().ok_or_else(|| Error::field("lecturers", format!("unknown lecturer {key:?}")))?;
        lecturers.push(r.int(0)?);
    }
    let ext_id = input.ext_id.as_ref().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
    let row = SessionRow {
        campaign: campaign.id,
        ext_id: ext_id.clone(),
        unit,
        held_on: input.date,
        headcount: input.headcount,
        topics,
        audiences,
        format: input.format,
        status: input.status,
        title: input.title.trim().to_owned(),
        lecturers,
    };
    let earlier = match (id, &ext_id) {
        (Some(id), _) => Some(id),
        (None, Some(ext)) => conn.sessions_by_ext(campaign.id, &[ext.as_str()])?.first().map(|s| s.id),
        (None, None) => None,
    };
    let mut dirty = BTreeSet::from([bucket]);
    let id = match earlier {
        Some(id) => {
            let old = session(conn, acc, &campaign.key, id)?;
            let (_, old_bucket, _) = find_unit(conn, acc, &old.unit)?;
            dirty.insert(old_bucket);
            conn.update_sessions(&[(id, row)])?;
            id
        }
        None => {
            conn.insert_sessions(&[row])?;
            conn.max_session_id()?
        }
    };
    coverage::refresh(conn, &campaign, &dirty)?;
    Ok(id)
}

// ---------------------------------------------------------------------------------
// Imports and campaigns

/// The divisions an account may import rows into: None for the whole tree.
pub(crate) fn import_scope(conn: &mut dyn Conn, acc: &Account) -> Result<Option<BTreeSet<i64>>, Error> {
    acc.check(Action::ImportRows)?;
    let mut sql = Sql::new("SELECT d.id FROM divisions d WHERE 1 = 1");
    match &acc.scope {
        Scope::All => return Ok(None),
        scope => in_scope(&mut sql, scope, "d", None),
    }
    Ok(Some(sql.run(conn)?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?))
}

/// The stored campaign as a campaign definition, for editing.
pub(crate) fn spec_of(c: &Campaign) -> Result<domain::CampaignSpec, Error> {
    let table = |s: &str| s.parse::<toml::Table>().map_err(|e| Error::Corrupt(e.to_string()));
    let entries = |list: &[CampaignEntry]| -> Result<Vec<domain::Entry>, Error> {
        list.iter().map(|e| Ok(domain::Entry { key: e.key.clone(), title: e.title.clone(), extra: table(&e.extra)? })).collect()
    };
    Ok(domain::CampaignSpec {
        key: c.key.clone(),
        title: c.title.clone(),
        start: c.start,
        deadline: c.deadline,
        target: c.target,
        topics: entries(&c.topics)?,
        audiences: entries(&c.audiences)?,
        extra: table(&c.extra)?,
    })
}

