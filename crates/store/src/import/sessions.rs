//! `import sessions`: reported sessions of one campaign.

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::path::Path;

use chrono::NaiveDate;
use foldhash::{HashMap, HashSet};
use domain::coverage::{Fact, tally_days_by};
use domain::{KeySet, SessionFormat, SessionStatus};

use domain::text::{CODE, TITLE, quote, too_long};

use super::{Columns, Confine, CsvTable, Errors, ImportSummary, split_list};
use crate::conn::{Campaign, Conn, CampaignEntry, SessionRow};
use crate::{Error, Progress, coverage};

/// Rows written per round trip.
const BATCH: usize = 32_768;

/// Reads `path` and adds (or, by `id`, updates) sessions of `campaign`, then brings
/// the campaign's coverage roll-ups up to date.
/// `confine`: where the importing account may reach (None: everywhere): a row's unit
/// must lie there, and so must the stored session whose `id` it repeats; its
/// lecturers must be of the lecture groups there or above.
pub(crate) fn import(
    conn: &mut dyn Conn,
    campaign: &Campaign,
    path: &Path,
    progress: &dyn Progress,
    confine: Option<&Confine>,
) -> Result<ImportSummary, Error> {
    let columns = Columns {
        required: &["unit", "date", "topics", "headcount"],
        optional: &["id", "audiences", "lecturers", "format", "status", "title"],
        others: false,
    };
    let mut t = CsvTable::open(path, &columns)?;
    progress.phase("loading units", 0);
    // Units and lecturers outside the account's reach are left out: to the file they
    // do not exist.
    let units: HashMap<String, (i64, i64)> = conn
        .units()?
        .into_iter()
        .filter(|u| confine.is_none_or(|c| c.divisions.contains(&u.division)))
        .map(|u| (u.code, (u.id, u.bucket)))
        .collect();
    let lecturers: HashMap<String, i64> =
        conn.lecturers()?.into_iter().filter(|l| confine.is_none_or(|c| c.names_group(l.group_division))).map(|l| (l.key, l.id)).collect();

    progress.phase(&format!("importing {}", t.name), t.size());

    let mut errors = Errors::default();
    let mut summary = ImportSummary::default();
    let mut batch = Batch {
        rows: Vec::new(),
        ext_lines: HashMap::default(),
        stored_before: conn.max_session_id()?,
        updates_possible: conn.has_ext_ids(campaign.id)?,
        earlier: HashSet::default(),
        written: if conn.has_sessions(campaign.id)? { None } else { Some(Default::default()) },
        reach: confine.map(|_| units.values().map(|(id, _)| *id).collect()),
    };
    let mut dirty = BTreeSet::new();
    while t.advance(&mut errors, progress) {
        summary.read += 1;
        let Some((row, bucket)) = check_row(&t, campaign, &units, &lecturers, &mut errors) else { continue };
        if let Some(ext) = &row.ext_id {
            if let Some(first) = batch.ext_lines.insert(hash(ext), t.line()) {
                // Same hash: the same id, unless 64-bit hashes collide (then the rows
                // tell, where they were kept).
                let same = batch.rows.iter().find(|(line, ..)| *line == first).is_none_or(|(.., r)| r.ext_id.as_ref() == Some(ext));
                if same {
                    errors.push(t.field_error("id", format!("{} appears twice (also at line {first})", quote(ext))));
                    continue;
                }
            }
        }
        if !errors.is_empty() {
            continue; // keep checking, stop writing: nothing will be stored
        }
        dirty.insert(bucket);
        batch.rows.push((t.line(), bucket, row));
        if batch.rows.len() >= BATCH {
            batch.flush(conn, campaign, &t.name, &mut summary, &mut dirty, &mut errors)?;
        }
    }
    if errors.is_empty() {
        batch.flush(conn, campaign, &t.name, &mut summary, &mut dirty, &mut errors)?;
    }
    errors.check()?;
    progress.phase("updating coverage", 0);
    match batch.written {
        // Everything the campaign holds came in with this file: tally it from the rows
        // in hand instead of reading millions of them back.
        Some((facts, bucket_of)) => {
            let fresh = tally_days_by(facts, campaign.start, campaign.topic_slots(), |u| bucket_of.get(&u).copied());
            coverage::apply(conn, campaign, &dirty, &fresh)?;
        }
        None => coverage::refresh(conn, campaign, &dirty)?,
    }
    Ok(summary)
}

struct Batch {
    rows: Vec<(u64, i64, SessionRow)>,
    /// Hashes of this batch's external ids and their lines, to catch one repeated
    /// within it without a copy of every id.
    ext_lines: HashMap<u64, u64>,
    /// Whether the campaign had sessions with external ids before this import; if
    /// not, an id can only match one this import wrote, and only ids in `earlier` are
    /// looked up.
    updates_possible: bool,
    /// Hashes of the external ids of earlier batches (8 bytes each where the ids
    /// themselves would take many times that): a hit may be a repeated id, and is
    /// checked against the database.
    earlier: HashSet<u64>,
    /// While the campaign holds nothing but this import's new sessions: the held ones
    /// as coverage facts, and each unit's bucket. None once anything else is involved.
    written: Option<(Vec<Fact>, HashMap<i64, i64>)>,
    /// The highest session id before this import: a match above it was inserted by
    /// this import, so its `id` is repeated in the file rather than stored before.
    stored_before: i64,
    /// For a confined import, the units a stored session matched by `id` must be at.
    reach: Option<HashSet<i64>>,
}

impl Batch {
    fn flush(
        &mut self,
        conn: &mut dyn Conn,
        campaign: &Campaign,
        file: &str,
        summary: &mut ImportSummary,
        dirty: &mut BTreeSet<i64>,
        errors: &mut Errors,
    ) -> Result<(), Error> {
        let exts: Vec<&str> = self
            .rows
            .iter()
            .filter_map(|(.., r)| r.ext_id.as_deref())
            .filter(|e| self.updates_possible || self.earlier.contains(&hash(e)))
            .collect();
        let found: HashMap<String, (i64, i64, i64)> = if exts.is_empty() {
            HashMap::default()
        } else {
            conn.sessions_by_ext(campaign.id, &exts)?.into_iter().map(|s| (s.ext_id, (s.id, s.bucket, s.unit))).collect()
        };
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for (line, bucket, row) in self.rows.drain(..) {
            match row.ext_id.as_ref().and_then(|e| found.get(e)) {
                Some((id, ..)) if *id > self.stored_before => {
                    let ext = row.ext_id.as_deref().unwrap_or_default();
                    errors.push(crate::error::RowError::field(file, line, "id", format!("{} appears twice in this file", quote(ext))));
                }
                Some((_, _, unit)) if self.reach.as_ref().is_some_and(|r| !r.contains(unit)) => {
                    // Another region's session: the row may neither change it nor learn of it.
                    let ext = row.ext_id.as_deref().unwrap_or_default();
                    errors.push(crate::error::RowError::field(file, line, "id", crate::units::unavailable_message(ext)));
                }
                Some((id, old_bucket, _)) => {
                    dirty.insert(*old_bucket);
                    updates.push((*id, row));
                    self.written = None;
                }
                None => {
                    if let Some((facts, bucket_of)) = &mut self.written {
                        if row.status == SessionStatus::Held {
                            let topics = KeySet::from_stored(row.topics);
                            facts.push(Fact { unit: row.unit, day: row.held_on, headcount: row.headcount, topics });
                            bucket_of.insert(row.unit, bucket);
                        }
                    }
                    inserts.push(row);
                }
            }
        }
        self.ext_lines.clear();
        if !self.updates_possible {
            self.earlier.extend(inserts.iter().filter_map(|r| r.ext_id.as_deref()).map(hash));
        }
        if !errors.is_empty() {
            return Ok(());
        }
        // In index order: the B-tree pages a batch touches are then visited once each,
        // in order, instead of at random.
        inserts.sort_unstable_by_key(|r| (r.unit, r.held_on));
        summary.added += inserts.len() as u64;
        summary.updated += updates.len() as u64;
        conn.insert_sessions(&inserts)?;
        conn.update_sessions(&updates)?;
        Ok(())
    }
}

fn hash(ext: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0).hash_one(ext)
}

/// Checks one row; None if it is bad (its errors pushed).
fn check_row(
    t: &CsvTable,
    campaign: &Campaign,
    units: &HashMap<String, (i64, i64)>,
    lecturers: &HashMap<String, i64>,
    errors: &mut Errors,
) -> Option<(SessionRow, i64)> {
    let before = errors.count();
    let unit_code = t.get("unit");
    let unit = units.get(unit_code).copied();
    if unit.is_none() {
        let m = if unit_code.is_empty() { "must not be empty".to_owned() } else { format!("unknown unit {}", quote(unit_code)) };
        errors.push(t.field_error("unit", m));
    }
    let date = t
        .get("date")
        .parse::<NaiveDate>()
        .map_err(|_| errors.push(t.field_error("date", format!("{} is not a date of the form YYYY-MM-DD", quote(t.get("date"))))))
        .ok();
    let topics = key_set(t, "topics", &campaign.topics, "topic", errors);
    let audiences = key_set(t, "audiences", &campaign.audiences, "audience", errors);
    let headcount = match t.get("headcount").parse::<i64>() {
        Ok(n) if n >= 0 => Some(n),
        Ok(n) => {
            errors.push(t.field_error("headcount", format!("{n} is negative")));
            None
        }
        Err(_) => {
            errors.push(t.field_error("headcount", format!("{} is not a whole number", quote(t.get("headcount")))));
            None
        }
    };
    let mut lecturer_ids = Vec::new();
    for key in split_list(t.get("lecturers")) {
        match lecturers.get(key) {
            Some(id) => lecturer_ids.push(*id),
            None => errors.push(t.field_error("lecturers", format!("unknown lecturer {}", quote(key)))),
        }
    }
    let format = match t.get("format") {
        "" => Some(SessionFormat::default()),
        f => f.parse().map_err(|e: domain::Error| errors.push(t.field_error("format", e.to_string()))).ok(),
    };
    let status = match t.get("status") {
        "" => Some(SessionStatus::default()),
        s => s.parse().map_err(|e: domain::Error| errors.push(t.field_error("status", e.to_string()))).ok(),
    };
    let ext_id = Some(t.get("id")).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(why) = ext_id.as_deref().and_then(|e| too_long(e, CODE)) {
        errors.push(t.field_error("id", why));
    }
    if let Some(why) = too_long(t.get("title"), TITLE) {
        errors.push(t.field_error("title", why));
    }
    if errors.count() != before {
        return None;
    }
    let (unit, bucket) = unit?;
    let row = SessionRow {
        campaign: campaign.id,
        ext_id,
        unit,
        held_on: date?,
        headcount: headcount?,
        topics: topics?.stored(),
        audiences: audiences?.stored(),
        format: format?,
        status: status?,
        title: t.get("title").to_owned(),
        lecturers: lecturer_ids,
    };
    Some((row, bucket))
}

fn key_set(t: &CsvTable, column: &str, entries: &[CampaignEntry], what: &str, errors: &mut Errors) -> Option<KeySet> {
    let mut set = KeySet::EMPTY;
    let mut ok = true;
    for key in split_list(t.get(column)) {
        match entries.iter().find(|e| e.key == key) {
            Some(e) => set.insert(e.slot),
            None => {
                let known: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
                errors.push(t.field_error(column, format!("unknown {what} {} (this campaign has {})", quote(key), known.join(", "))));
                ok = false;
            }
        }
    }
    ok.then_some(set)
}
