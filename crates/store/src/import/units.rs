//! `import units`: organization units (enterprises, schools, …) attached to divisions.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use domain::{DivisionCode, UnitKind};

use super::{Columns, CsvTable, Errors, ImportSummary};
use crate::conn::{Conn, UnitRow};
use crate::{Error, Progress, coverage};

/// Reads `path` (CSV `code,name,kind,division`) and adds or updates those units.
/// `allowed`: the divisions the importing account may write under (None: all).
pub(crate) fn import(conn: &mut dyn Conn, path: &Path, progress: &dyn Progress, allowed: Option<&BTreeSet<i64>>) -> Result<ImportSummary, Error> {
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
        if code.is_empty() {
            errors.push(t.field_error("code", "must not be empty"));
        } else if let Some(line) = seen.insert(code.to_owned(), t.line()) {
            errors.push(t.field_error("code", format!("{code:?} appears twice (also at line {line})")));
        } else if stored.get(code).is_some_and(|u| u.kind == UnitKind::Village) {
            errors.push(t.field_error("code", format!("{code:?} is the code of a village-level unit; give organizations codes of their own")));
        }
        let name = t.get("name");
        if name.is_empty() {
            errors.push(t.field_error("name", "must not be empty"));
        }
        let kind = t.get("kind").parse::<UnitKind>().map_err(|e| errors.push(t.field_error("kind", e.to_string())));
        let division = match t.get("division").parse::<DivisionCode>() {
            Err(e) => Err(errors.push(t.field_error("division", e.to_string()))),
            Ok(d) => divisions
                .get(&d.value())
                .map(|&bucket| (d.value(), bucket))
                .ok_or_else(|| errors.push(t.field_error("division", format!("unknown division {d} (import the division tree first)"))))
                .and_then(|found| match allowed {
                    Some(a) if !a.contains(&d.value()) => Err(errors.push(t.field_error("division", format!("{d} lies outside your scope")))),
                    _ => Ok(found),
                }),
        };
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
