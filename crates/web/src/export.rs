//! Any list, and the coverage report, as CSV or XLSX: one table shape, two writers.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::Workbook;
use serde::Deserialize;

use crate::error::AppError;

/// One cell of an exported table.
pub(crate) enum Cell {
    Text(String),
    Int(i64),
    Real(f64),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(v)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Cell {
        Cell::Real(v)
    }
}

/// A table to export: a header row and rows of cells.
pub(crate) struct Table {
    pub name: &'static str,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The format a list is asked for in (`?format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (the default).
    #[default]
    Json,
    /// CSV, with a header row.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// A text cell as a CSV file may carry it: one that a spreadsheet would take for a
/// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading `'`, so that a name typed as `=HYPERLINK(…)` stays a name when the office
/// opens the export in Excel or WPS.
fn inert(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

impl Table {
    /// The table as a download in `format` (CSV or XLSX).
    pub(crate) fn download(self, format: Format) -> Result<Response, AppError> {
        match format {
            Format::Xlsx => {
                let bytes = self.xlsx()?;
                Ok((
                    [
                        (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
                        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.xlsx\"", self.name)),
                    ],
                    bytes,
                )
                    .into_response())
            }
            _ => {
                let bytes = self.csv()?;
                Ok((
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", self.name)),
                    ],
                    bytes,
                )
                    .into_response())
            }
        }
    }

    fn csv(&self) -> Result<Vec<u8>, AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let internal = |e: csv::Error| AppError::Internal(e.to_string());
        w.write_record(&self.headers).map_err(internal)?;
        for row in &self.rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(s) => inert(s),
                Cell::Int(v) => v.to_string(),
                Cell::Real(v) => format!("{v:.4}"),
            }))
            .map_err(internal)?;
        }
        w.into_inner().map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The workbook: text cells are written as strings, which a spreadsheet never reads
    /// as formulas.
    fn xlsx(&self) -> Result<Vec<u8>, AppError> {
        let internal = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(self.name).map_err(internal)?;
        for (c, h) in self.headers.iter().enumerate() {
            sheet.write_string(0, c as u16, h).map_err(internal)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => sheet.write_string(r, c, s),
                    Cell::Int(v) => sheet.write_number(r, c, *v as f64),
                    Cell::Real(v) => sheet.write_number(r, c, *v),
                }
                .map_err(internal)?;
            }
        }
        book.save_to_buffer().map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_made_inert() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("道里区", "道里区"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(inert(cell), expected, "{cell:?}");
        }
        let t = Table { name: "units", headers: vec!["name".into(), "n".into()], rows: vec![vec!["=1+1".into(), Cell::Int(-5)]] };
        assert_eq!(String::from_utf8(t.csv().unwrap()).unwrap(), "name,n\n'=1+1,-5\n");
    }
}
