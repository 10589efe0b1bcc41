//! `import lecturers`: members of lecture groups, with the topics they cover.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use domain::text::{NAME, quote, too_long};
use domain::{DivisionCode, Level, is_valid_key};

use super::{Columns, Confine, CsvTable, Errors, ImportSummary, split_list};
use crate::conn::{Conn, LecturerRow};
use crate::{Error, Progress};

/// Reads `path` (CSV `key,name,group,topics`) and adds or updates those lecturers,
/// creating the lecture groups they belong to.
/// `confine`: where the importing account may reach (None: everywhere). A row's group
/// must lie there, and so must the group of the stored lecturer whose key it repeats.
pub(crate) fn import(conn: &mut dyn Conn, path: &Path, progress: &dyn Progress, confine: Option<&Confine>) -> Result<ImportSummary, Error> {
    let allowed: Option<&BTreeSet<i64>> = confine.map(|c| &c.divisions);
    let columns = Columns { required: &["key", "name", "group", "topics"], optional: &[], others: false };
    let mut t = CsvTable::open(path, &columns)?;
    progress.phase(&format!("reading {}", t.name), t.size());
    let mut errors = Errors::default();
    let divisions: HashMap<i64, Level> = conn.divisions()?.into_iter().map(|d| (d.id, d.level)).collect();
    let topics: HashSet<String> = conn.campaigns()?.into_iter().flat_map(|c| c.topics).map(|t| t.key).collect();
    let stored: HashMap<String, LecturerRow> = conn.lecturers()?.into_iter().map(|l| (l.key.clone(), l)).collect();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut summary = ImportSummary::default();
    let mut rows = Vec::new();
    while t.advance(&mut errors, progress) {
        summary.read += 1;
        let key = t.get("key");
        if !is_valid_key(key) {
            errors.push(t.field_error("key", domain::Error::MalformedKey(key.to_owned()).to_string()));
        } else if let Some(line) = seen.insert(key.to_owned(), t.line()) {
            errors.push(t.field_error("key", format!("{} appears twice (also at line {line})", quote(key))));
        } else if stored.get(key).is_some_and(|l| allowed.is_some_and(|a| !a.contains(&l.group_division))) {
            // Another region's lecturer: the row may neither change it nor learn of it.
            errors.push(t.field_error("key", crate::units::unavailable_message(key)));
        }
        let name = t.get("name");
        if name.is_empty() {
            errors.push(t.field_error("name", "must not be empty"));
        } else if let Some(why) = too_long(name, NAME) {
            errors.push(t.field_error("name", why));
        }
        let group = match t.get("group").parse::<DivisionCode>() {
            Err(e) => Err(e.to_string()),
            Ok(code) => match divisions.get(&code.value()) {
                _ if allowed.is_some_and(|a| !a.contains(&code.value())) => Err(format!("unknown division {code} (or outside your scope)")),
                None => Err(format!("unknown division {code} (import the division tree first)")),
                Some(level) if *level > Level::County => {
                    Err(format!("{code} is a {level}: lecture groups sit at province, city or county level"))
                }
                Some(_) => Ok(code.value()),
            },
        };
        let group = group.map_err(|m| errors.push(t.field_error("group", m)));
        let mut keys = Vec::new();
        for topic in split_list(t.get("topics")) {
            if topics.contains(topic) {
                keys.push(topic);
            } else {
                errors.push(t.field_error("topics", format!("unknown topic {}: not a topic of any campaign", quote(topic))));
            }
        }
        if let Ok(group) = group {
            rows.push(LecturerRow { id: 0, key: key.to_owned(), name: name.to_owned(), group_division: group, topics: keys.join(";") });
        }
    }
    errors.check()?;
    let mut changed = Vec::new();
    for l in rows {
        match stored.get(&l.key) {
            None => summary.added += 1,
            Some(old) if (&old.name, old.group_division, &old.topics) == (&l.name, l.group_division, &l.topics) => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
        }
        changed.push(l);
    }
    conn.put_lecturers(&changed)?;
    Ok(summary)
}
