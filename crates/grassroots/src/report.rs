//! Printing reports: aligned tables for people, JSON for programs, CSV for spreadsheets.

use std::io::{self, Write};

use anyhow::Result;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use store::{Campaign, CoverageQuery, CoverageRow};

use crate::cli::Format;

/// Prints a coverage report.
pub fn coverage(campaign: &Campaign, q: &CoverageQuery, rows: &[CoverageRow], format: Format, topics: bool) -> Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let mut header = vec!["code", "name", "level", "units", "covered", "coverage", "sessions", "audience"];
            let topic_headers: Vec<String> = campaign.topics.iter().map(|t| format!("topic:{}", t.key)).collect();
            header.extend(topic_headers.iter().map(String::as_str));
            header.push("overdue");
            w.write_record(&header)?;
            for r in rows {
                let mut rec = vec![
                    r.code.clone(),
                    r.name.clone(),
                    r.level.to_string(),
                    r.units.to_string(),
                    r.covered.to_string(),
                    format!("{:.4}", r.coverage),
                    r.sessions.to_string(),
                    r.audience.to_string(),
                ];
                rec.extend(r.topics.iter().map(|(_, n)| n.to_string()));
                rec.push(r.overdue.to_string());
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let scope = q.under.map_or("the whole tree".to_owned(), |u| format!("under {u}"));
            writeln!(
                out,
                "Coverage of {} as of {} ({scope}); deadline {}, target {:.0}%",
                campaign.key,
                q.as_of,
                campaign.deadline,
                campaign.target * 100.0
            )?;
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
            let mut header = vec!["code".to_owned(), "region".into(), "units".into(), "covered".into(), "coverage".into(), "sessions".into(), "audience".into()];
            if topics {
                header.extend(campaign.topics.iter().map(|t| t.key.clone()));
            }
            header.push("overdue".into());
            t.set_header(header);
            for r in rows {
                let mut cells = vec![
                    r.code.clone(),
                    r.name.clone(),
                    r.units.to_string(),
                    r.covered.to_string(),
                    domain::coverage::percent(r.coverage),
                    r.sessions.to_string(),
                    r.audience.to_string(),
                ];
                if topics {
                    cells.extend(r.topics.iter().map(|(_, n)| n.to_string()));
                }
                cells.push(if r.overdue { "OVERDUE".into() } else { String::new() });
                t.add_row(cells);
            }
            let last = t.column_count();
            for i in 2..last - 1 {
                if let Some(c) = t.column_mut(i) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
            writeln!(out, "{t}")?;
            let overdue = rows.iter().filter(|r| r.overdue).count();
            writeln!(out, "{} regions, {overdue} overdue", rows.len())?;
        }
    }
    Ok(())
}

/// Prints the list of campaigns.
pub fn campaigns(list: &[Campaign], format: Format) -> Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json => {
            let v: Vec<serde_json::Value> = list
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "key": c.key, "title": c.title, "start": c.start, "deadline": c.deadline, "target": c.target,
                        "topics": c.topics.iter().map(|t| serde_json::json!({"key": t.key, "title": t.title})).collect::<Vec<_>>(),
                        "audiences": c.audiences.iter().map(|t| serde_json::json!({"key": t.key, "title": t.title})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["key", "title", "start", "deadline", "target", "topics", "audiences"])?;
            for c in list {
                let keys = |e: &[store::CampaignEntry]| e.iter().map(|t| t.key.as_str()).collect::<Vec<_>>().join(";");
                w.write_record([
                    c.key.clone(),
                    c.title.clone(),
                    c.start.to_string(),
                    c.deadline.to_string(),
                    c.target.to_string(),
                    keys(&c.topics),
                    keys(&c.audiences),
                ])?;
            }
            w.flush()?;
        }
        Format::Table => {
            if list.is_empty() {
                writeln!(out, "no campaigns yet: add one with `grassroots campaign apply FILE.toml`")?;
                return Ok(());
            }
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
            t.set_header(["key", "title", "start", "deadline", "target", "topics", "audiences"]);
            for c in list {
                t.add_row([
                    c.key.clone(),
                    c.title.clone(),
                    c.start.to_string(),
                    c.deadline.to_string(),
                    format!("{:.0}%", c.target * 100.0),
                    c.topics.len().to_string(),
                    c.audiences.len().to_string(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
    }
    Ok(())
}

/// Prints the accounts.
pub fn accounts(list: &[store::Account], format: Format) -> Result<()> {
    let mut out = io::stdout().lock();
    let row = |a: &store::Account| {
        let (scope, unit) = match &a.scope {
            domain::Scope::All => (String::new(), String::new()),
            domain::Scope::Division { code } => (code.to_string(), String::new()),
            domain::Scope::Unit { division, unit } => (division.to_string(), unit.clone()),
        };
        [a.name.clone(), a.role.to_string(), scope, unit]
    };
    match format {
        Format::Json => {
            let v: Vec<serde_json::Value> = list
                .iter()
                .map(|a| {
                    let [name, role, scope, unit] = row(a);
                    serde_json::json!({ "name": name, "role": role, "scope": (!scope.is_empty()).then_some(scope), "unit": (!unit.is_empty()).then_some(unit) })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["name", "role", "scope", "unit"])?;
            for a in list {
                w.write_record(row(a))?;
            }
            w.flush()?;
        }
        Format::Table => {
            if list.is_empty() {
                writeln!(out, "no accounts yet: add one with `grassroots user add NAME --role office`")?;
                return Ok(());
            }
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
            t.set_header(["name", "role", "scope", "unit"]);
            for a in list {
                t.add_row(row(a));
            }
            writeln!(out, "{t}")?;
        }
    }
    Ok(())
}
