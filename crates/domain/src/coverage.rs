//! Coverage arithmetic: from held sessions to the numbers supervisors watch.
//!
//! The definition (DESIGN.md, "Coverage"): for a campaign, a region R and a date D, a
//! session counts when it is held and dated within [start, D]; a unit is covered when
//! it has a counting session; topic t covers a unit when a counting session of the
//! unit includes t.
//!
//! Stores do not rescan sessions for every report. They keep, for each *bucket* (a
//! group of units, such as a county's), a [`Days`] table: for every day, how many of
//! the bucket's units were first covered that day, how many sessions were held and
//! how many people came, and per topic how many units were first covered for it.
//! Because "first covered" happens once per unit, the covered count as of D is the sum
//! of the days up to D, and buckets add up to any region above them. When sessions
//! change, the store recomputes the affected buckets with [`tally_days`] and applies
//! the [`diff`] to every region above.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::hash::Hash;

use chrono::NaiveDate;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::{KeySet, Level};

/// One held session, as coverage sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    /// The unit it was held at.
    pub unit: i64,
    /// The day it was held.
    pub day: NaiveDate,
    /// How many people came.
    pub headcount: i64,
    /// The topics it covered.
    pub topics: KeySet,
}

/// Counts for a set of units: either one day's increments or the totals up to a date.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    /// Units (first) covered.
    pub covered: i64,
    /// Counting sessions.
    pub sessions: i64,
    /// Summed headcount of counting sessions.
    pub audience: i64,
    /// Units (first) covered per topic, by topic slot.
    pub topics: Vec<i64>,
}

impl Tally {
    /// An empty tally for a campaign of `topics` topics.
    pub fn zero(topics: usize) -> Tally {
        Tally { topics: vec![0; topics], ..Tally::default() }
    }

    /// Adds `other`, growing the topic counts to the longer of the two.
    pub fn add(&mut self, other: &Tally) {
        self.combine(other, 1);
    }

    /// Subtracts `other`.
    pub fn sub(&mut self, other: &Tally) {
        self.combine(other, -1);
    }

    fn combine(&mut self, other: &Tally, sign: i64) {
        self.covered += sign * other.covered;
        self.sessions += sign * other.sessions;
        self.audience += sign * other.audience;
        if self.topics.len() < other.topics.len() {
            self.topics.resize(other.topics.len(), 0);
        }
        for (mine, theirs) in self.topics.iter_mut().zip(&other.topics) {
            *mine += sign * theirs;
        }
    }

    /// Whether every count is zero.
    pub fn is_zero(&self) -> bool {
        self.covered == 0 && self.sessions == 0 && self.audience == 0 && self.topics.iter().all(|&t| t == 0)
    }
}

/// A tally per day.
pub type Days = BTreeMap<NaiveDate, Tally>;

/// Tallies facts by day for one bucket: the increments described in the module docs.
/// Facts dated before `start` do not count and are skipped here, whatever the caller
/// filtered.
pub fn tally_days(facts: impl IntoIterator<Item = Fact>, start: NaiveDate, topics: usize) -> Days {
    tally_days_by(facts, start, topics, |_| Some(())).remove(&()).unwrap_or_default()
}

/// Like [`tally_days`], but for many groups at once: `group` places a unit in its
/// group (a township, say), or nowhere.
pub fn tally_days_by<K: Hash + Eq + Copy>(
    facts: impl IntoIterator<Item = Fact>,
    start: NaiveDate,
    topics: usize,
    group: impl Fn(i64) -> Option<K>,
) -> HashMap<K, Days> {
    // Per unit: its first day, and per topic its first day.
    struct First {
        day: NaiveDate,
        topics: Vec<Option<NaiveDate>>,
    }
    let mut firsts: HashMap<i64, First> = HashMap::default();
    let mut out: HashMap<K, Days> = HashMap::default();
    for f in facts {
        if f.day < start {
            continue;
        }
        let Some(k) = group(f.unit) else { continue };
        let t = out.entry(k).or_default().entry(f.day).or_insert_with(|| Tally::zero(topics));
        t.sessions += 1;
        t.audience += f.headcount;
        let first = firsts.entry(f.unit).or_insert_with(|| First { day: f.day, topics: vec![None; topics] });
        first.day = first.day.min(f.day);
        for slot in f.topics.slots().filter(|&s| s < topics) {
            let d = &mut first.topics[slot];
            *d = Some(d.map_or(f.day, |d| d.min(f.day)));
        }
    }
    for (unit, first) in firsts {
        let Some(k) = group(unit) else { continue };
        let days = out.entry(k).or_default();
        days.entry(first.day).or_insert_with(|| Tally::zero(topics)).covered += 1;
        for (slot, day) in first.topics.iter().enumerate() {
            if let Some(day) = day {
                days.entry(*day).or_insert_with(|| Tally::zero(topics)).topics[slot] += 1;
            }
        }
    }
    out
}

/// The totals of facts per group, as [`tally_days_by`] followed by summing every day,
/// without the days: what a report of regions below the roll-ups needs.
pub fn totals_by<K: Hash + Eq + Copy>(
    facts: impl IntoIterator<Item = Fact>,
    start: NaiveDate,
    topics: usize,
    group: impl Fn(i64) -> Option<K>,
) -> HashMap<K, Tally> {
    let mut units: HashMap<i64, (K, i64)> = HashMap::default();
    let mut out: HashMap<K, Tally> = HashMap::default();
    for f in facts {
        if f.day < start {
            continue;
        }
        let Some(k) = group(f.unit) else { continue };
        let t = out.entry(k).or_insert_with(|| Tally::zero(topics));
        t.sessions += 1;
        t.audience += f.headcount;
        units.entry(f.unit).or_insert((k, 0)).1 |= f.topics.stored();
    }
    for (k, bits) in units.into_values() {
        let t = out.entry(k).or_insert_with(|| Tally::zero(topics));
        t.covered += 1;
        for slot in KeySet::from_stored(bits).slots().filter(|&s| s < topics) {
            t.topics[slot] += 1;
        }
    }
    out
}

/// What must be added to `old` to make `new`, day by day; days that do not change are
/// left out.
pub fn diff(old: &Days, new: &Days) -> Days {
    let mut out = Days::new();
    for (day, t) in new {
        out.entry(*day).or_default().add(t);
    }
    for (day, t) in old {
        out.entry(*day).or_default().sub(t);
    }
    out.retain(|_, t| !t.is_zero());
    out
}

/// The totals of the days up to and including `as_of`.
pub fn total_until<'a>(days: impl IntoIterator<Item = (&'a NaiveDate, &'a Tally)>, as_of: NaiveDate, topics: usize) -> Tally {
    let mut sum = Tally::zero(topics);
    for (_, t) in days.into_iter().filter(|(d, _)| **d <= as_of) {
        sum.add(t);
    }
    sum.topics.truncate(topics);
    sum
}

/// What a report needs of a campaign to judge its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    /// The day by which the target must be met.
    pub deadline: NaiveDate,
    /// The share of units to cover.
    pub target: f64,
    /// The topics in the campaign's order: each topic's slot and key.
    pub topics: Vec<(usize, String)>,
}

/// A region as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Its division code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// The units under it.
    pub units: i64,
}

/// One row of a coverage report: the shape of `report coverage --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CoverageRow {
    /// The region's division code.
    pub code: String,
    /// The region's name.
    pub name: String,
    /// The region's level.
    pub level: Level,
    /// Units under the region.
    pub units: i64,
    /// Units with at least one counting session.
    pub covered: i64,
    /// `covered / units`, 0 to 1 (0 where the region has no units).
    pub coverage: f64,
    /// Counting sessions.
    pub sessions: i64,
    /// Their summed headcount.
    pub audience: i64,
    /// Topic key → covered units, in the campaign's order.
    #[serde(serialize_with = "ordered_map")]
    #[schema(value_type = Object)]
    pub topics: Vec<(String, i64)>,
    /// Past the deadline and below the target.
    pub overdue: bool,
}

fn ordered_map<S: Serializer>(pairs: &[(String, i64)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

impl CoverageRow {
    /// Judges a region's totals as of `as_of`. A region with no units has nothing to
    /// cover: its coverage is 0 and it is never overdue.
    pub fn new(region: Region, totals: &Tally, terms: &Terms, as_of: NaiveDate) -> CoverageRow {
        let coverage = if region.units > 0 { totals.covered as f64 / region.units as f64 } else { 0.0 };
        let overdue = region.units > 0 && as_of > terms.deadline && coverage < terms.target;
        let topics = terms
            .topics
            .iter()
            .map(|(slot, key)| (key.clone(), totals.topics.get(*slot).copied().unwrap_or(0)))
            .collect();
        CoverageRow {
            code: region.code,
            name: region.name,
            level: region.level,
            units: region.units,
            covered: totals.covered,
            coverage,
            sessions: totals.sessions,
            audience: totals.audience,
            topics,
            overdue,
        }
    }
}

/// A share as people read it, to one decimal, rounded down: "100.0%" means every
/// unit is covered, never 3194 of 3195; a share above nothing is never "0.0%" ("<0.1%").
/// The command line's tables and the pages both write shares this way.
pub fn percent(share: f64) -> String {
    if share > 0.0 && share < 0.001 {
        return "<0.1%".to_owned();
    }
    // A tiny allowance: 0.3 (as 0.30000000000000004 or 0.29999999999999999) is 30.0%.
    let tenths = (share * 1000.0 + 1e-6).floor() / 10.0;
    format!("{tenths:.1}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_written_rounded_down_to_one_decimal() {
        let check = |share: f64, expected: &str| assert_eq!(percent(share), expected, "{share}");
        check(3194.0 / 3195.0, "99.9%");
        check(1.0, "100.0%");
        check(0.0, "0.0%");
        check(0.0004, "<0.1%");
        check(0.001, "0.1%");
        check(0.3, "30.0%");
        check(2.0 / 3.0, "66.6%");
        check(0.125, "12.5%");
    }

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2022, 11, day).unwrap()
    }

    fn fact(unit: i64, day: u32, headcount: i64, topics: &[usize]) -> Fact {
        let mut set = KeySet::EMPTY;
        topics.iter().for_each(|&t| set.insert(t));
        Fact { unit, day: d(day), headcount, topics: set }
    }

    fn tally(covered: i64, sessions: i64, audience: i64, topics: &[i64]) -> Tally {
        Tally { covered, sessions, audience, topics: topics.to_vec() }
    }

    // Three units, start on the 4th: unit 1 has sessions on the 5th (topic 0) and the
    // 10th (topics 0, 1); unit 2 one on the 10th (topic 1); unit 3 one on the 2nd,
    // before the start, which does not count.
    fn sample() -> Vec<Fact> {
        vec![fact(1, 10, 30, &[0, 1]), fact(1, 5, 20, &[0]), fact(2, 10, 50, &[1]), fact(3, 2, 99, &[0])]
    }

    #[test]
    fn days_count_first_coverage_once_per_unit() {
        let days = tally_days(sample(), d(4), 2);
        let expected: Days = [(d(5), tally(1, 1, 20, &[1, 0])), (d(10), tally(1, 2, 80, &[0, 2]))].into();
        assert_eq!(days, expected);
    }

    #[test]
    fn totals_follow_the_as_of_date() {
        let days = tally_days(sample(), d(4), 2);
        assert_eq!(total_until(&days, d(4), 2), tally(0, 0, 0, &[0, 0]));
        assert_eq!(total_until(&days, d(9), 2), tally(1, 1, 20, &[1, 0]));
        assert_eq!(total_until(&days, d(30), 2), tally(2, 3, 100, &[1, 2]));
    }

    #[test]
    fn a_diff_applied_to_the_old_days_gives_the_new() {
        let old = tally_days(sample(), d(4), 2);
        // Unit 1's session of the 5th is cancelled; unit 3 gets one on the 20th.
        let mut changed = sample();
        changed.remove(1);
        changed.push(fact(3, 20, 10, &[]));
        let new = tally_days(changed, d(4), 2);
        let delta = diff(&old, &new);
        let mut rebuilt = old.clone();
        for (day, t) in &delta {
            rebuilt.entry(*day).or_insert_with(|| Tally::zero(2)).add(t);
        }
        rebuilt.retain(|_, t| !t.is_zero());
        assert_eq!(rebuilt, new);
        // The 5th loses its session and unit 1's first coverage moves to the 10th.
        assert_eq!(delta[&d(5)], tally(-1, -1, -20, &[-1, 0]));
        assert_eq!(delta[&d(10)], tally(1, 0, 0, &[1, 0]));
    }

    #[test]
    fn groups_tally_apart() {
        let by = tally_days_by(sample(), d(4), 2, |u| if u == 3 { None } else { Some(u % 2) });
        assert_eq!(total_until(&by[&1], d(30), 2), tally(1, 2, 50, &[1, 1]));
        assert_eq!(total_until(&by[&0], d(30), 2), tally(1, 1, 50, &[0, 1]));
        assert_eq!(by.len(), 2);
    }

    fn region(units: i64) -> Region {
        Region { code: "2301".into(), name: "哈尔滨市".into(), level: Level::City, units }
    }

    fn terms() -> Terms {
        Terms { deadline: d(30), target: 0.5, topics: vec![(0, "theme".into()), (1, "decade".into())] }
    }

    #[test]
    fn rows_judge_overdue_after_the_deadline_only() {
        let t = tally(1, 2, 3, &[1, 0]);
        let before = CoverageRow::new(region(4), &t, &terms(), d(30));
        assert_eq!((before.coverage, before.overdue), (0.25, false));
        let after = CoverageRow::new(region(4), &t, &terms(), NaiveDate::from_ymd_opt(2022, 12, 1).unwrap());
        assert!(after.overdue);
        let met = CoverageRow::new(region(2), &t, &terms(), NaiveDate::from_ymd_opt(2022, 12, 1).unwrap());
        assert_eq!((met.coverage, met.overdue), (0.5, false));
        let empty = CoverageRow::new(region(0), &Tally::zero(2), &terms(), NaiveDate::from_ymd_opt(2022, 12, 1).unwrap());
        assert_eq!((empty.coverage, empty.overdue), (0.0, false));
    }

    #[test]
    fn rows_serialize_with_topics_in_campaign_order() {
        let row = CoverageRow::new(region(4), &tally(1, 2, 3, &[1, 0]), &terms(), d(30));
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"code":"2301","name":"哈尔滨市","level":"city","units":4,"covered":1,"coverage":0.25,"sessions":2,"audience":3,"topics":{"theme":1,"decade":0},"overdue":false}"#
        );
    }
}
