//! The portable query builder every feature's lists share: a statement and its
//! parameters built together ([`Sql`]), the conditions "lies in this scope", "lies
//! under this division" and "matches these words", and paging. The statements are
//! the plain ones both databases take in the same words (see `Conn::query`).

use domain::{DivisionCode, Level, Scope};
use serde::Serialize;

use crate::conn::{Conn, Record, Value};
use crate::Error;

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows in the whole list.
    pub total: i64,
    /// This page, from 1.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
}

/// Which page of a list to read.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// From 1.
    pub page: i64,
    /// Rows per page, at most [`Paging::MAX`].
    pub per_page: i64,
}

impl Paging {
    /// The most rows one page (or one export) holds.
    pub const MAX: i64 = 1_000_000;

    /// Everything, as one page: for exports.
    pub const ALL: Paging = Paging { page: 1, per_page: Paging::MAX };

    pub(crate) fn clamp(self) -> Paging {
        Paging { page: self.page.max(1), per_page: self.per_page.clamp(1, Paging::MAX) }
    }
}

/// A statement being built with its parameters, numbered as they are bound.
pub(crate) struct Sql {
    text: String,
    params: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql { text: text.to_owned(), params: Vec::new() }
    }

    pub(crate) fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    /// Binds a value and returns its placeholder.
    pub(crate) fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("${}", self.params.len())
    }

    pub(crate) fn run(&self, conn: &mut dyn Conn) -> Result<Vec<Record>, Error> {
        conn.query(&self.text, &self.params)
    }
}

pub(crate) fn level_column(level: Level) -> &'static str {
    match level {
        Level::Province => "province_id",
        Level::City => "city_id",
        Level::County => "county_id",
        Level::Township => "township_id",
        Level::Village => "id",
    }
}

/// Appends the condition "lies in `scope`" for rows joined to divisions as `d` (and,
/// where a unit is involved, units as `u`).
pub(crate) fn in_scope(sql: &mut Sql, scope: &Scope, d: &str, u: Option<&str>) {
    match (scope, u) {
        (Scope::All, _) => {}
        (Scope::Division { code }, _) => {
            let p = sql.bind(code.value());
            sql.push(&format!(" AND {d}.{} = {p}", level_column(code.level())));
        }
        (Scope::Unit { unit, .. }, Some(u)) => {
            let p = sql.bind(unit.as_str());
            sql.push(&format!(" AND {u}.code = {p}"));
        }
        (Scope::Unit { .. }, None) => {
            sql.push(" AND 1 = 0");
        }
    }
}

/// Appends "lies under the division `under`" for rows joined to divisions as `d`.
pub(crate) fn under(sql: &mut Sql, under: Option<DivisionCode>, d: &str) {
    if let Some(code) = under {
        let p = sql.bind(code.value());
        sql.push(&format!(" AND {d}.{} = {p}", level_column(code.level())));
    }
}

pub(crate) fn search(sql: &mut Sql, q: &str, columns: &[&str]) {
    let q = q.trim();
    if q.is_empty() {
        return;
    }
    let p = sql.bind(format!("%{}%", q.to_lowercase()));
    let any: Vec<String> = columns.iter().map(|c| format!("LOWER({c}) LIKE {p}")).collect();
    sql.push(&format!(" AND ({})", any.join(" OR ")));
}

pub(crate) fn paged<T>(conn: &mut dyn Conn, mut sql: Sql, count_sql: Sql, order: &str, paging: Paging, f: impl Fn(&Record) -> Result<T, Error>) -> Result<Page<T>, Error> {
    let paging = paging.clamp();
    let total = count_sql.run(conn)?.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let limit = sql.bind(paging.per_page);
    let offset = sql.bind((paging.page - 1) * paging.per_page);
    sql.push(&format!(" ORDER BY {order} LIMIT {limit} OFFSET {offset}"));
    let items = sql.run(conn)?.iter().map(f).collect::<Result<_, _>>()?;
    Ok(Page { items, total, page: paging.page, per_page: paging.per_page })
}

/// The same FROM and WHERE twice: once to count the rows, once to list `columns`.
pub(crate) fn count_and_list(from: &str, columns: &str, build: impl Fn(&mut Sql)) -> (Sql, Sql) {
    let mut count = Sql::new(&format!("SELECT COUNT(*) FROM {from} WHERE 1 = 1"));
    build(&mut count);
    let mut list = Sql::new(&format!("SELECT {columns} FROM {from} WHERE 1 = 1"));
    build(&mut list);
    (count, list)
}

