//! `import units`: organization units (enterprises, schools, …) attached to divisions.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use domain::text::{CODE, NAME, quote, too_long};
use domain::{DivisionCode, UnitKind};

use super::{Columns, Confine, CsvTable, Errors, ImportSummary};
use crate::conn::{Conn, UnitRow};
use crate::{Error, Progress, coverage};

/// Reads `path` (CSV `code,name,kind,division`) and adds or updates those units.
/// `confine`: where the importing account may reach (None: everywhere). A row's
/// division must lie there, and so must the stored unit whose code it repeats.
pub(crate) fn import(conn: &mut dyn Conn, path: &Path, progress: &dyn Progress, confine: Option<&Confine>) -> Result<ImportSummary, Error> {
    let allowed = confine.map(|c| &c.divisions);
    let columns = Columns { required: &["code", "name", "kind", "division"], optional: &[], others: false };
    let mut t = CsvTable::open(path, &columns)?;
    progress.phase(&format!("reading {}", t.name), t.size());
    let mut errors = Errors::default();
    let divisions: HashMap<i64, i64> = conn.divisions()?.into_iter().map(|d| (d.id, d.bucket())).collect();
    let stored: HashMap<String, UnitRow> = conn.units()?.into_iter().map(|u| (u.code.clone(), u)).collect();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::new();
    let mut summary = ImportSummary::default();
    while t.advance(&mut errors, progress) {
        summary.read += 1;
        let code = t.get("code");
        let outside = |u: &UnitRow| allowed.is_some_and(|a| !a.contains(&u.division));
        if code.is_empty() {
            errors.push(t.field_error("code", "must not be empty"));
        } else if let Some(why) = too_long(code, CODE) {
            errors.push(t.field_error("code", why));
        } else if let Some(line) = seen.insert(code.to_owned(), t.line()) {
            errors.push(t.field_error("code", format!("{} appears twice (also at line {line})", quote(code))));
        } else if stored.get(code).is_some_and(outside) {
            // Another region's unit: the row may neither change it nor learn of it.
            errors.push(t.field_error("code", crate::units::unavailable_message(code)));
        } else if stored.get(code).is_some_and(|u| u.kind == UnitKind::Village) {
            errors.push(t.field_error("code", format!("{} is the code of a village-level unit; give organizations codes of their own", quote(code))));
        }
        let name = t.get("name");
        if name.is_empty() {
            errors.push(t.field_error("name", "must not be empty"));
        } else if let Some(why) = too_long(name, NAME) {
            errors.push(t.field_error("name", why));
        }
        let kind = t.get("kind").parse::<UnitKind>().map_err(|e| errors.push(t.field_error("kind", e.to_string())));
        let division = match t.get("division").parse::<DivisionCode>() {
            Err(e) => Err(e.to_string()),
            Ok(d) => match (divisions.get(&d.value()), allowed) {
                (Some(_), Some(a)) | (None, Some(a)) if !a.contains(&d.value()) => Err(format!("unknown division {d} (or outside your scope)")),
                (Some(&bucket), _) => Ok((d.value(), bucket)),
                (None, _) => Err(format!("unknown division {d} (import the division tree first)")),
            },
        };
        let division = division.map_err(|m| errors.push(t.field_error("division", m)));
        if let (Ok(kind), Ok((division, bucket))) = (kind, division) {
            rows.push(UnitRow { id: 0, code: code.to_owned(), name: name.to_owned(), kind, division, bucket });
        }
    }
    errors.check()?;

    progress.phase("writing", 0);
    let mut changed = Vec::new();
    let mut moved = BTreeSet::new();
    for u in rows {
        match stored.get(&u.code) {
            None => summary.added += 1,
            Some(old) if (&old.name, old.kind, old.division) == (&u.name, u.kind, u.division) => {
                summary.unchanged += 1;
                continue;
            }
            Some(old) => {
                summary.updated += 1;
                if old.bucket != u.bucket {
                    moved.insert(old.bucket);
                }
            }
        }
        moved.insert(u.bucket);
        changed.push(u);
    }
    conn.put_units(&changed)?;
    coverage::recount_units(conn)?;
    // A new unit has no sessions yet, but a moved one takes its sessions along.
    if changed.iter().any(|u| stored.contains_key(&u.code)) {
        coverage::refresh_all_campaigns(conn, &moved)?;
    }
    Ok(summary)
}
