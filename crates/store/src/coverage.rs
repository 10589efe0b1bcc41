//! Keeping coverage roll-ups in step with sessions, and answering reports from them.
//!
//! The invariant: for every campaign, `bucket_days` holds [`tally_days`] of each
//! bucket's held sessions, and `rollup_days` of a division (province, city or county)
//! holds the day-by-day sum of `bucket_days` over the buckets under it. Every write
//! that changes sessions, units' places or a campaign's start calls [`refresh`] (or
//! [`rebuild`]) in the same transaction, so a report never sees sessions without
//! their roll-ups.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use domain::coverage::{CoverageRow, Days, Region, Tally, Terms, diff, tally_days, tally_days_by};
use domain::{DivisionCode, Level};

use crate::conn::{Campaign, Conn, DayRow, Rollup};
use crate::Error;

/// A date after any session: "no upper bound" for row queries.
pub(crate) fn far_future() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date")
}

/// Recomputes the roll-ups of `buckets` for one campaign and carries the change up to
/// every division above them.
pub(crate) fn refresh(conn: &mut dyn Conn, campaign: &Campaign, buckets: &BTreeSet<i64>) -> Result<(), Error> {
    let slots = campaign.topic_slots();
    let far = far_future();
    let fresh = if buckets.len() > 1 && buckets.len() * 2 > conn.buckets()?.len() {
        // Most of the campaign changed (a national import, say): one sequential pass
        // over its sessions beats thousands of index walks.
        let mut facts = Vec::new();
        let mut bucket_of = foldhash::HashMap::default();
        conn.campaign_facts(campaign.id, campaign.start, far, &mut |bucket, fact| {
            if buckets.contains(&bucket) {
                bucket_of.insert(fact.unit, bucket);
                facts.push(fact);
            }
        })?;
        tally_days_by(facts, campaign.start, slots, |u| bucket_of.get(&u).copied())
    } else {
        let mut out = foldhash::HashMap::default();
        for &bucket in buckets {
            let facts = conn.bucket_facts(campaign.id, bucket, campaign.start, far)?;
            out.insert(bucket, tally_days(facts, campaign.start, slots));
        }
        out
    };
    apply(conn, campaign, buckets, &fresh)
}

/// Makes the stored roll-ups of `buckets` equal `fresh` (their recomputed tallies; a
/// bucket missing from it has none) and carries the change to every division above.
pub(crate) fn apply(
    conn: &mut dyn Conn,
    campaign: &Campaign,
    buckets: &BTreeSet<i64>,
    fresh: &foldhash::HashMap<i64, Days>,
) -> Result<(), Error> {
    let slots = campaign.topic_slots();
    let far = far_future();
    let list: Vec<i64> = buckets.iter().copied().collect();
    let mut stored: HashMap<i64, Days> = HashMap::new();
    for chunk in list.chunks(512) {
        for row in conn.rollup_days(Rollup::Bucket, campaign.id, chunk, far)? {
            stored.entry(row.division).or_default().insert(row.day, row.tally);
        }
    }
    let mut deltas: HashMap<i64, Days> = HashMap::new();
    let mut bucket_rows = Vec::new();
    let empty = Days::new();
    for &bucket in buckets {
        let new = fresh.get(&bucket).unwrap_or(&empty);
        let delta = diff(stored.get(&bucket).unwrap_or(&empty), new);
        if delta.is_empty() {
            continue;
        }
        bucket_rows.extend(delta.keys().map(|&day| DayRow {
            division: bucket,
            day,
            tally: new.get(&day).cloned().unwrap_or_else(|| Tally::zero(slots)),
        }));
        let Some(division) = conn.division(bucket)? else { continue };
        for above in division.ancestors[..3].iter().flatten() {
            let days = deltas.entry(*above).or_default();
            for (day, t) in &delta {
                days.entry(*day).or_insert_with(|| Tally::zero(slots)).add(t);
            }
        }
    }
    conn.put_rollup_days(Rollup::Bucket, campaign.id, &bucket_rows)?;
    let divisions: Vec<i64> = deltas.keys().copied().collect();
    for chunk in divisions.chunks(512) {
        let mut current: HashMap<(i64, NaiveDate), Tally> =
            conn.rollup_days(Rollup::Region, campaign.id, chunk, far)?.into_iter().map(|r| ((r.division, r.day), r.tally)).collect();
        let mut rows = Vec::new();
        for division in chunk {
            for (day, t) in &deltas[division] {
                let mut sum = current.remove(&(*division, *day)).unwrap_or_else(|| Tally::zero(slots));
                sum.add(t);
                rows.push(DayRow { division: *division, day: *day, tally: sum });
            }
        }
        conn.put_rollup_days(Rollup::Region, campaign.id, &rows)?;
    }
    Ok(())
}

/// Rebuilds a campaign's roll-ups from its sessions.
pub(crate) fn rebuild(conn: &mut dyn Conn, campaign: &Campaign) -> Result<(), Error> {
    conn.clear_rollups(campaign.id)?;
    let buckets: BTreeSet<i64> = conn.buckets()?.into_iter().collect();
    refresh(conn, campaign, &buckets)
}

/// Rebuilds every campaign's roll-ups: after the division tree itself changed shape.
pub(crate) fn rebuild_all(conn: &mut dyn Conn) -> Result<(), Error> {
    for c in conn.campaigns()? {
        rebuild(conn, &c)?;
    }
    Ok(())
}

/// Refreshes these buckets in every campaign: after units moved between them.
pub(crate) fn refresh_all_campaigns(conn: &mut dyn Conn, buckets: &BTreeSet<i64>) -> Result<(), Error> {
    for c in conn.campaigns()? {
        refresh(conn, &c, buckets)?;
    }
    Ok(())
}

/// Recounts the units under every division, writing only counts that changed.
pub(crate) fn recount_units(conn: &mut dyn Conn) -> Result<(), Error> {
    let divisions = conn.divisions()?;
    let parents: HashMap<i64, Option<i64>> = divisions.iter().map(|d| (d.id, d.parent)).collect();
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for u in conn.units()? {
        let mut at = Some(u.division);
        while let Some(id) = at {
            *counts.entry(id).or_default() += 1;
            at = parents.get(&id).copied().flatten();
        }
    }
    let changed: Vec<(i64, i64)> = divisions
        .iter()
        .map(|d| (d.id, counts.get(&d.id).copied().unwrap_or(0)))
        .zip(&divisions)
        .filter(|((_, n), d)| *n != d.units)
        .map(|(c, _)| c)
        .collect();
    conn.set_unit_counts(&changed)
}

/// What a coverage report asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageQuery {
    /// The campaign's key.
    pub campaign: String,
    /// The level of the rows; by default the one below `under`, or province.
    pub level: Option<Level>,
    /// The region whose subdivisions are listed; by default the whole tree.
    pub under: Option<DivisionCode>,
    /// The date the report is as of.
    pub as_of: NaiveDate,
}

/// Answers a coverage report: province, city and county rows from `rollup_days`;
/// township rows (too many to keep roll-ups for) from the sessions under the region.
pub(crate) fn report(conn: &mut dyn Conn, q: &CoverageQuery) -> Result<Vec<CoverageRow>, Error> {
    let campaign = find_campaign(conn, &q.campaign)?;
    let under = match q.under {
        None => None,
        Some(code) => Some(conn.division(code.value())?.ok_or(Error::NotFound { what: "division", key: code.to_string() })?),
    };
    let level = q.level.or_else(|| under.as_ref().and_then(|u| u.level.below())).unwrap_or(Level::Province);
    if level > Level::Township {
        return Err(Error::Rejected(
            "coverage is reported down to township level; a township's units are listed on its page".into(),
        ));
    }
    if let Some(u) = &under {
        if level <= u.level {
            return Err(Error::Rejected(format!("level {level} is not below {} {} ({})", u.level, u.id, u.name)));
        }
    }
    let scope = under.as_ref().map(|u| (u.level, u.id));
    let regions = conn.divisions_at(level, scope)?;
    let slots = campaign.topic_slots();
    let mut totals: HashMap<i64, Tally> = HashMap::new();
    if level <= Level::County {
        let ids: Vec<i64> = regions.iter().map(|r| r.id).collect();
        for row in conn.rollup_days(Rollup::Region, campaign.id, &ids, q.as_of)? {
            totals.entry(row.division).or_insert_with(|| Tally::zero(slots)).add(&row.tally);
        }
    } else if q.as_of >= campaign.start {
        let facts = conn.township_facts(campaign.id, scope, campaign.start, q.as_of)?;
        let township: HashMap<i64, i64> = facts.iter().map(|(t, f)| (f.unit, *t)).collect();
        totals = domain::coverage::totals_by(facts.into_iter().map(|(_, f)| f), campaign.start, slots, |u| township.get(&u).copied())
            .into_iter()
            .collect();
    }
    let terms = terms(&campaign);
    let zero = Tally::zero(slots);
    Ok(regions
        .into_iter()
        .map(|d| {
            let t = totals.get(&d.id).unwrap_or(&zero);
            CoverageRow::new(Region { code: d.id.to_string(), name: d.name, level: d.level, units: d.units }, t, &terms, q.as_of)
        })
        .collect())
}

/// The campaign with `key`, or not-found.
pub(crate) fn find_campaign(conn: &mut dyn Conn, key: &str) -> Result<Campaign, Error> {
    conn.campaigns()?
        .into_iter()
        .find(|c| c.key == key)
        .ok_or_else(|| Error::NotFound { what: "campaign", key: key.to_owned() })
}

/// What rows of this campaign are judged by.
pub fn terms(c: &Campaign) -> Terms {
    Terms { deadline: c.deadline, target: c.target, topics: c.topics.iter().map(|t| (t.slot, t.key.clone())).collect() }
}
