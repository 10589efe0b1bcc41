//! Lecturers as an account sees and keeps them: the lecturers of the lecture groups in
//! its scope, and which lecturers it may name on a session (those and the groups above
//! its scope, which serve its units too).

use std::collections::BTreeSet;

use domain::text::{NAME, quote};
use domain::{Action, DivisionCode, Level, Scope, is_valid_key};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Conn, LecturerRow, Record};
use crate::query::{Page, Paging, Sql, count_and_list, in_scope, paged, search, under};
use crate::regions::region;
use crate::scoped::Scoped;
use crate::units::unavailable;
use crate::{Error, valid};

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

/// The divisions whose lecture groups an account may name besides those in its
/// scope: the ancestors of its scope's root (a county's sessions may be given by the
/// city's and the province's lecturers). None: every group (the whole tree).
pub(crate) fn groups_above(conn: &mut dyn Conn, scope: &Scope) -> Result<Option<BTreeSet<i64>>, Error> {
    let Some(root) = scope.root() else { return Ok(None) };
    let d = conn.division(root.value())?.ok_or_else(|| Error::Corrupt(format!("scope {root}")))?;
    Ok(Some(d.ancestors.iter().flatten().copied().filter(|a| *a != d.id).collect()))
}

/// The ids of the lecturers `keys` names, each one the account may name on a session
/// (see the module's text); any other key is unknown to it, whether it exists or not.
pub(crate) fn nameable(conn: &mut dyn Conn, acc: &Account, keys: &[String], field: &str) -> Result<Vec<i64>, Error> {
    let above = groups_above(conn, &acc.scope)?;
    let mut ids = Vec::with_capacity(keys.len());
    for key in keys {
        let rows = conn.query(
            "SELECT l.id, d.id, d.province_id, d.city_id, d.county_id FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id
             JOIN divisions d ON d.id = g.division_id WHERE l.key = $1",
            &[key.as_str().into()],
        )?;
        let found = match rows.first() {
            Some(r) => {
                let chain: Vec<i64> = (1..5).map(|i| r.opt_int(i)).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
                let group = r.int(1)?;
                let ok = acc.scope.holds_division(&chain) || above.as_ref().is_none_or(|a| a.contains(&group));
                ok.then(|| r.int(0)).transpose()?
            }
            None => None,
        };
        let id = found.ok_or_else(|| Error::field(field, format!("unknown lecturer {} (or outside your scope)", quote(key))))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub(crate) fn save_lecturer(conn: &mut dyn Conn, acc: &Account, input: &LecturerInput, existing: Option<&str>) -> Result<LecturerView, Error> {
    if !is_valid_key(&input.key) {
        return Err(Error::field("key", domain::Error::MalformedKey(input.key.clone()).to_string()));
    }
    let name = valid::required("name", &input.name, NAME)?;
    let known: BTreeSet<String> = conn.campaigns()?.into_iter().flat_map(|c| c.topics).map(|t| t.key).collect();
    if let Some(t) = input.topics.iter().find(|t| !known.contains(*t)) {
        return Err(Error::field("topics", format!("unknown topic {}: not a topic of any campaign", quote(t))));
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
                return Err(match lecturer(conn, acc, &input.key) {
                    Ok(_) => Error::field("key", format!("a lecturer with key {} exists already", quote(&input.key))),
                    Err(_) => unavailable("key", &input.key),
                });
            }
        }
    }
    let group = region(conn, acc, input.group).map_err(|_| Error::field("group", format!("unknown division {} (or outside your scope)", input.group)))?;
    if group.level > Level::County {
        return Err(Error::field("group", format!("{} is a {}: lecture groups sit at province, city or county level", input.group, group.level)));
    }
    conn.put_lecturers(&[LecturerRow { id: 0, key: input.key.clone(), name: name.to_owned(), group_division: input.group.value(), topics: input.topics.join(";") }])?;
    lecturer(conn, acc, &input.key)
}

impl Scoped<'_> {
    /// A page of the lecturers of the lecture groups the account sees.
    pub fn lecturers(&self, q: &str, under: Option<DivisionCode>, paging: Paging) -> Result<Page<LecturerView>, Error> {
        self.read(Action::LecturerList, |c, _| lecturers(c, self.acc, q, under, paging))
    }

    /// Every lecturer of [`Scoped::lecturers`], for a download.
    pub fn export_lecturers(&self, q: &str, under: Option<DivisionCode>) -> Result<Page<LecturerView>, Error> {
        self.read(Action::LecturerExport, |c, _| lecturers(c, self.acc, q, under, Paging::ALL))
    }

    /// One lecturer the account sees.
    pub fn lecturer(&self, key: &str) -> Result<LecturerView, Error> {
        self.read(Action::LecturerRead, |c, _| lecturer(c, self.acc, key))
    }

    /// Adds a lecturer to a lecture group in the account's scope.
    pub fn add_lecturer(&self, input: &LecturerInput) -> Result<LecturerView, Error> {
        self.write(Action::LecturerCreate, |c, _| save_lecturer(c, self.acc, input, None))
    }

    /// Changes the lecturer `key`, which must be of a lecture group in the account's scope.
    pub fn change_lecturer(&self, key: &str, input: &LecturerInput) -> Result<LecturerView, Error> {
        self.write(Action::LecturerUpdate, |c, _| save_lecturer(c, self.acc, input, Some(key)))
    }
}
