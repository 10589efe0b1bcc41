//! Units as an account sees and keeps them: the searchable list, one unit, and the
//! organization units a coordinator adds or changes in its own subtree.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use domain::text::{CODE, NAME, quote};
use domain::{Action, DivisionCode, UnitKind};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Conn, Record, UnitRow};
use crate::coverage::{self, find_campaign};
use crate::query::{Page, Paging, Sql, count_and_list, in_scope, paged, search, under};
use crate::regions::region;
use crate::scoped::Scoped;
use crate::{Error, valid};

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
    let code = valid::required("code", &input.code, CODE)?;
    let name = valid::required("name", &input.name, NAME)?;
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
                // Said only of a unit the account sees: of one elsewhere, no more than
                // that the code cannot be had.
                return Err(match find_unit(conn, acc, code) {
                    Ok(_) => Error::field("code", format!("a unit with code {} exists already", quote(code))),
                    Err(_) => unavailable("code", code),
                });
            }
            None
        }
    };
    region(conn, acc, input.division).map_err(|_| Error::field("division", format!("unknown division {} (or outside your scope)", input.division)))?;
    let d = conn.division(input.division.value())?.ok_or_else(|| Error::field("division", "unknown division"))?;
    conn.put_units(&[UnitRow { id: 0, code: code.to_owned(), name: name.to_owned(), kind: input.kind, division: d.id, bucket: d.bucket() }])?;
    coverage::recount_units(conn)?;
    if let Some(old_bucket) = old {
        if old_bucket != d.bucket() {
            coverage::refresh_all_campaigns(conn, &BTreeSet::from([old_bucket, d.bucket()]))?;
        }
    }
    unit(conn, acc, code)
}

/// A key that names something the account may not see: refused with no word on what
/// or where it is.
pub(crate) fn unavailable(field: &str, key: &str) -> Error {
    Error::field(field, unavailable_message(key))
}

/// The words of [`unavailable`], for an import's row errors.
pub(crate) fn unavailable_message(key: &str) -> String {
    format!("{} is not available: choose another", quote(key))
}

impl Scoped<'_> {
    /// A page of the units the account sees.
    pub fn units(&self, f: &UnitFilter, paging: Paging) -> Result<Page<UnitView>, Error> {
        self.read(Action::UnitList, |c, _| units(c, self.acc, f, paging))
    }

    /// Every unit of [`Scoped::units`], for a download.
    pub fn export_units(&self, f: &UnitFilter) -> Result<Page<UnitView>, Error> {
        self.read(Action::UnitExport, |c, _| units(c, self.acc, f, Paging::ALL))
    }

    /// One unit the account sees.
    pub fn unit(&self, code: &str) -> Result<UnitView, Error> {
        self.read(Action::UnitRead, |c, _| unit(c, self.acc, code))
    }

    /// Adds an organization unit in the account's scope.
    pub fn add_unit(&self, input: &UnitInput) -> Result<UnitView, Error> {
        self.write(Action::UnitCreate, |c, _| save_unit(c, self.acc, input, None))
    }

    /// Changes the organization unit `code`, which must lie in the account's scope, and
    /// may move it only within it.
    pub fn change_unit(&self, code: &str, input: &UnitInput) -> Result<UnitView, Error> {
        self.write(Action::UnitUpdate, |c, _| save_unit(c, self.acc, input, Some(code)))
    }
}
