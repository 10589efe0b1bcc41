//! Regions (divisions as pages show them) and the coverage reports an account reads:
//! confined to its scope, a region outside it answered "not found".

use chrono::NaiveDate;
use domain::coverage::{CoverageRow, Region, Tally, tally_days_by, total_until};
use domain::{Action, DivisionCode, Level, Scope};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Conn, Rollup};
use crate::coverage::{self, CoverageQuery, far_future, find_campaign, terms};
use crate::scoped::Scoped;
use crate::Error;

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

pub(crate) fn coverage(conn: &mut dyn Conn, acc: &Account, q: &CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
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

impl Scoped<'_> {
    /// The tree's only province, if it has just one (where the office's views open).
    pub fn only_province(&self) -> Result<Option<DivisionCode>, Error> {
        self.read(Action::DivisionRead, |c, _| only_province(c))
    }

    /// A region in the account's scope.
    pub fn region(&self, code: DivisionCode) -> Result<RegionView, Error> {
        self.read(Action::DivisionRead, |c, _| region(c, self.acc, code))
    }

    /// A coverage report confined to the account's scope; `under` defaults to its region.
    pub fn coverage(&self, q: &CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
        self.read(Action::CoverageRead, |c, _| coverage(c, self.acc, q))
    }

    /// [`Scoped::coverage`] for a download.
    pub fn export_coverage(&self, q: &CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
        self.read(Action::CoverageExport, |c, _| coverage(c, self.acc, q))
    }

    /// A region's totals and coverage over time (the account's own region by default).
    pub fn progress(&self, campaign: &str, code: Option<DivisionCode>, as_of: NaiveDate) -> Result<Progress, Error> {
        self.read(Action::CoverageRead, |c, _| progress(c, self.acc, campaign, code, as_of))
    }
}
