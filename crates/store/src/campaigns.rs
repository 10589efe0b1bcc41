//! `campaign apply`: creating or updating a campaign from its definition.

use std::collections::HashSet;

use domain::{CampaignSpec, Entry};

use crate::conn::{Campaign, CampaignEntry, Conn};
use crate::{Error, coverage};

/// Whether `apply` created the campaign or changed a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A new campaign.
    Created,
    /// An existing campaign, changed.
    Updated,
    /// An existing campaign, already as defined.
    Unchanged,
}

/// Stores `spec`. Topics and audiences keep their slots across updates; one may be
/// removed only while no session names it. A new start date rebuilds the roll-ups,
/// since it changes which sessions count.
pub(crate) fn apply(conn: &mut dyn Conn, spec: &CampaignSpec) -> Result<(Campaign, Applied), Error> {
    let old = conn.campaigns()?.into_iter().find(|c| c.key == spec.key);
    let mut problems = Vec::new();
    let topics = slots(conn, old.as_ref(), false, &spec.topics, &mut problems)?;
    let audiences = slots(conn, old.as_ref(), true, &spec.audiences, &mut problems)?;
    if !problems.is_empty() {
        return Err(Error::Rejected(format!("campaign {}: {}", spec.key, problems.join("; "))));
    }
    let mut row = Campaign {
        id: old.as_ref().map_or(0, |o| o.id),
        key: spec.key.clone(),
        title: spec.title.clone(),
        start: spec.start,
        deadline: spec.deadline,
        target: spec.target,
        extra: toml_text(&spec.extra),
        topics,
        audiences,
    };
    if old.as_ref() == Some(&row) {
        return Ok((row, Applied::Unchanged));
    }
    row.id = conn.put_campaign(&row)?;
    match old {
        None => Ok((row, Applied::Created)),
        Some(old) => {
            if old.start != row.start {
                coverage::rebuild(conn, &row)?;
            }
            Ok((row, Applied::Updated))
        }
    }
}

fn slots(
    conn: &mut dyn Conn,
    old: Option<&Campaign>,
    audience: bool,
    entries: &[Entry],
    problems: &mut Vec<String>,
) -> Result<Vec<CampaignEntry>, Error> {
    let before: &[CampaignEntry] = match old {
        Some(o) if audience => &o.audiences,
        Some(o) => &o.topics,
        None => &[],
    };
    let what = if audience { "audience" } else { "topic" };
    for gone in before.iter().filter(|b| !entries.iter().any(|e| e.key == b.key)) {
        if let Some(o) = old {
            if conn.slot_in_use(o.id, audience, gone.slot)? {
                problems.push(format!("{what} {} cannot be removed: sessions name it", domain::text::quote(&gone.key)));
            }
        }
    }
    let kept: HashSet<usize> =
        before.iter().filter(|b| entries.iter().any(|e| e.key == b.key)).map(|b| b.slot).collect();
    let mut free = (0..domain::MAX_ENTRIES).filter(|s| !kept.contains(s));
    Ok(entries
        .iter()
        .map(|e| {
            let slot = before.iter().find(|b| b.key == e.key).map(|b| b.slot).or_else(|| free.next()).unwrap_or(0);
            CampaignEntry { slot, key: e.key.clone(), title: e.title.clone(), extra: toml_text(&e.extra) }
        })
        .collect())
}

fn toml_text(t: &toml::Table) -> String {
    if t.is_empty() { String::new() } else { toml::to_string(t).unwrap_or_default() }
}
