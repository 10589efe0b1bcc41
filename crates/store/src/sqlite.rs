//! The SQLite backend: one file in WAL mode, the embedded default.

use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use domain::coverage::{Fact, Tally};
use domain::{KeySet, Level, UnitKind};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, Row, params};

use crate::conn::{
    Campaign, Conn, DayRow, DivisionRow, CampaignEntry, ExistingSession, LecturerRow, Record, Rollup, SessionRow, UnitRow, Value,
    decode_topics, encode_topics,
};
use crate::Error;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// Page cache of a connection between writes, in KiB (SQLite's negative form).
const READ_CACHE: i64 = -32_768;
/// Page cache during a write transaction, in KiB.
const WRITE_CACHE: i64 = -393_216;

/// A pool of connections to one SQLite file.
pub(crate) type Pool = r2d2::Pool<SqliteConnectionManager>;

/// Opens (creating if needed) the file at `path` and brings its schema up to date. A
/// write waits at most `lock_wait` for another to finish.
pub(crate) fn open(path: &Path, lock_wait: Duration) -> Result<Pool, Error> {
    let manager = SqliteConnectionManager::file(path).with_init(move |c| {
        // WAL lets reports read while an import writes. FULL sync makes every commit
        // durable before it is acknowledged, even across a power loss; imports are one
        // transaction each, so the cost is one sync per file, not per row.
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;",
        )?;
        c.execute_batch(&format!("PRAGMA cache_size = {READ_CACHE}; PRAGMA mmap_size = 17179869184"))?;
        c.busy_timeout(lock_wait)
    });
    let pool = r2d2::Pool::builder().max_size(8).build(manager)?;
    let mut c = pool.get()?;
    embedded::migrations::runner().run(&mut *c)?;
    Ok(pool)
}

/// A connection to the file at `path` whose schema is brought to `version` only, for
/// tests of a later migration (which start from the state before it).
#[cfg(test)]
pub(crate) fn at_version(path: &Path, version: i32) -> Result<Box<dyn Conn>, Error> {
    let pool = r2d2::Pool::builder().max_size(1).build(SqliteConnectionManager::file(path).with_init(|c| c.execute_batch("PRAGMA foreign_keys = ON;")))?;
    let mut c = pool.get()?;
    embedded::migrations::runner().set_target(refinery::Target::Version(version)).run(&mut *c)?;
    Ok(Box::new(SqliteConn(c)))
}

/// One pooled SQLite connection.
pub(crate) struct SqliteConn(pub(crate) r2d2::PooledConnection<SqliteConnectionManager>);

fn level_col(level: Level) -> &'static str {
    match level {
        Level::Province => "province_id",
        Level::City => "city_id",
        Level::County => "county_id",
        Level::Township | Level::Village => "township_id",
    }
}

fn division_of(r: &Row<'_>) -> rusqlite::Result<DivisionRow> {
    let level: i64 = r.get(2)?;
    Ok(DivisionRow {
        id: r.get(0)?,
        name: r.get(1)?,
        level: Level::from_rank(level).unwrap_or(Level::Village),
        parent: r.get(3)?,
        ancestors: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        units: r.get(8)?,
    })
}

const DIVISION_COLUMNS: &str = "id, name, level, parent_id, province_id, city_id, county_id, township_id, units";

fn entries(c: &rusqlite::Connection, table: &str, campaign: i64) -> Result<Vec<CampaignEntry>, Error> {
    let mut st = c.prepare_cached(&format!(
        "SELECT slot, key, title, extra FROM {table} WHERE campaign_id = ?1 ORDER BY position"
    ))?;
    let rows = st.query_map([campaign], |r| {
        Ok(CampaignEntry { slot: r.get::<_, i64>(0)? as usize, key: r.get(1)?, title: r.get(2)?, extra: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn put_entries(c: &rusqlite::Connection, table: &str, campaign: i64, rows: &[CampaignEntry]) -> Result<(), Error> {
    c.execute(&format!("DELETE FROM {table} WHERE campaign_id = ?1"), [campaign])?;
    let mut st = c.prepare_cached(&format!(
        "INSERT INTO {table} (campaign_id, slot, position, key, title, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?;
    for (pos, e) in rows.iter().enumerate() {
        st.execute(params![campaign, e.slot as i64, pos as i64, e.key, e.title, e.extra])?;
    }
    Ok(())
}

fn rollup_table(t: Rollup) -> (&'static str, &'static str) {
    match t {
        Rollup::Bucket => ("bucket_days", "bucket_id"),
        Rollup::Region => ("rollup_days", "division_id"),
    }
}

fn fact_of(r: &Row<'_>, offset: usize) -> rusqlite::Result<Fact> {
    Ok(Fact {
        unit: r.get(offset)?,
        day: {
            let text = r.get_ref(offset + 1)?.as_str()?;
            text.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(offset + 1, rusqlite::types::Type::Text, Box::new(e)))?
        },
        headcount: r.get(offset + 2)?,
        topics: KeySet::from_stored(r.get(offset + 3)?),
    })
}

fn insert_lecturers(c: &rusqlite::Connection, session: i64, lecturers: &[i64]) -> Result<(), Error> {
    let mut st = c.prepare_cached("INSERT OR IGNORE INTO session_lecturers (session_id, lecturer_id) VALUES (?1, ?2)")?;
    for l in lecturers {
        st.execute([session, *l])?;
    }
    Ok(())
}

impl Conn for SqliteConn {
    fn begin(&mut self, write: bool) -> Result<(), Error> {
        if write {
            // A national import touches indexes far larger than the readers' cache;
            // the big cache is only allocated as pages are used, and given back at
            // the end of the transaction.
            self.0.execute_batch(&format!("PRAGMA cache_size = {WRITE_CACHE}; BEGIN IMMEDIATE"))?;
        } else {
            self.0.execute_batch("BEGIN DEFERRED")?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Error> {
        self.0.execute_batch(&format!("COMMIT; PRAGMA cache_size = {READ_CACHE}"))?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), Error> {
        if !self.0.is_autocommit() {
            self.0.execute_batch("ROLLBACK")?;
        }
        self.0.execute_batch(&format!("PRAGMA cache_size = {READ_CACHE}"))?;
        Ok(())
    }

    fn analyze(&mut self) -> Result<(), Error> {
        // Analyzes the tables whose statistics are stale (cheap when none are).
        self.0.execute_batch("PRAGMA optimize")?;
        Ok(())
    }

    fn divisions(&mut self) -> Result<Vec<DivisionRow>, Error> {
        let mut st = self.0.prepare_cached(&format!("SELECT {DIVISION_COLUMNS} FROM divisions"))?;
        let rows = st.query_map([], division_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn division(&mut self, id: i64) -> Result<Option<DivisionRow>, Error> {
        let mut st = self.0.prepare_cached(&format!("SELECT {DIVISION_COLUMNS} FROM divisions WHERE id = ?1"))?;
        Ok(st.query_row([id], division_of).optional()?)
    }

    fn divisions_at(&mut self, level: Level, under: Option<(Level, i64)>) -> Result<Vec<DivisionRow>, Error> {
        let rows = match under {
            None => {
                let mut st = self
                    .0
                    .prepare_cached(&format!("SELECT {DIVISION_COLUMNS} FROM divisions WHERE level = ?1 ORDER BY id"))?;
                st.query_map([level.rank()], division_of)?.collect::<Result<_, _>>()?
            }
            Some((l, id)) => {
                let mut st = self.0.prepare_cached(&format!(
                    "SELECT {DIVISION_COLUMNS} FROM divisions WHERE {} = ?1 AND level = ?2 ORDER BY id",
                    level_col(l)
                ))?;
                st.query_map(params![id, level.rank()], division_of)?.collect::<Result<_, _>>()?
            }
        };
        Ok(rows)
    }

    fn put_divisions(&mut self, rows: &[DivisionRow]) -> Result<(), Error> {
        let mut st = self.0.prepare_cached(
            "INSERT INTO divisions (id, name, level, parent_id, province_id, city_id, county_id, township_id, units)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, level = excluded.level,
                 parent_id = excluded.parent_id, province_id = excluded.province_id, city_id = excluded.city_id,
                 county_id = excluded.county_id, township_id = excluded.township_id, units = excluded.units",
        )?;
        for d in rows {
            let [p, c, k, t] = d.ancestors;
            st.execute(params![d.id, d.name, d.level.rank(), d.parent, p, c, k, t, d.units])?;
        }
        Ok(())
    }

    fn set_unit_counts(&mut self, counts: &[(i64, i64)]) -> Result<(), Error> {
        let mut st = self.0.prepare_cached("UPDATE divisions SET units = ?2 WHERE id = ?1")?;
        for (id, n) in counts {
            st.execute([*id, *n])?;
        }
        Ok(())
    }

    fn units(&mut self) -> Result<Vec<UnitRow>, Error> {
        let mut st = self.0.prepare_cached("SELECT id, code, name, kind, division_id, bucket_id FROM units")?;
        let rows = st.query_map([], |r| {
            let kind: String = r.get(3)?;
            Ok(UnitRow {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                kind: UnitKind::from_stored(&kind).unwrap_or(UnitKind::Other),
                division: r.get(4)?,
                bucket: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_units(&mut self, rows: &[UnitRow]) -> Result<(), Error> {
        let mut st = self.0.prepare_cached(
            "INSERT INTO units (code, name, kind, division_id, bucket_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                 division_id = excluded.division_id, bucket_id = excluded.bucket_id",
        )?;
        for u in rows {
            st.execute(params![u.code, u.name, u.kind.as_str(), u.division, u.bucket])?;
        }
        Ok(())
    }

    fn buckets(&mut self) -> Result<Vec<i64>, Error> {
        let mut st = self.0.prepare_cached("SELECT DISTINCT bucket_id FROM units ORDER BY bucket_id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn campaigns(&mut self) -> Result<Vec<Campaign>, Error> {
        let mut out: Vec<Campaign> = {
            let mut st = self
                .0
                .prepare_cached("SELECT id, key, title, start_date, deadline, target, extra FROM campaigns ORDER BY key")?;
            let rows = st.query_map([], |r| {
                Ok(Campaign {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    title: r.get(2)?,
                    start: r.get(3)?,
                    deadline: r.get(4)?,
                    target: r.get(5)?,
                    extra: r.get(6)?,
                    topics: Vec::new(),
                    audiences: Vec::new(),
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        for c in &mut out {
            c.topics = entries(&self.0, "topics", c.id)?;
            c.audiences = entries(&self.0, "audiences", c.id)?;
        }
        Ok(out)
    }

    fn put_campaign(&mut self, c: &Campaign) -> Result<i64, Error> {
        let id: i64 = self.0.query_row(
            "INSERT INTO campaigns (key, title, start_date, deadline, target, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (key) DO UPDATE SET title = excluded.title, start_date = excluded.start_date,
                 deadline = excluded.deadline, target = excluded.target, extra = excluded.extra
             RETURNING id",
            params![c.key, c.title, c.start, c.deadline, c.target, c.extra],
            |r| r.get(0),
        )?;
        put_entries(&self.0, "topics", id, &c.topics)?;
        put_entries(&self.0, "audiences", id, &c.audiences)?;
        Ok(id)
    }

    fn slot_in_use(&mut self, campaign: i64, audience: bool, slot: usize) -> Result<bool, Error> {
        let col = if audience { "audiences" } else { "topics" };
        let mask = KeySet(1 << slot).stored();
        let sql = format!("SELECT EXISTS (SELECT 1 FROM sessions WHERE campaign_id = ?1 AND ({col} & ?2) != 0)");
        Ok(self.0.query_row(&sql, params![campaign, mask], |r| r.get(0))?)
    }

    fn lecturers(&mut self) -> Result<Vec<LecturerRow>, Error> {
        let mut st = self.0.prepare_cached(
            "SELECT l.id, l.key, l.name, g.division_id, l.topics FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(LecturerRow { id: r.get(0)?, key: r.get(1)?, name: r.get(2)?, group_division: r.get(3)?, topics: r.get(4)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_lecturers(&mut self, rows: &[LecturerRow]) -> Result<(), Error> {
        let mut group = self.0.prepare_cached(
            "INSERT INTO lecture_groups (division_id, name)
             SELECT id, name || '宣讲团' FROM divisions WHERE id = ?1
             ON CONFLICT (division_id) DO NOTHING",
        )?;
        let mut st = self.0.prepare_cached(
            "INSERT INTO lecturers (key, name, group_id, topics)
             VALUES (?1, ?2, (SELECT id FROM lecture_groups WHERE division_id = ?3), ?4)
             ON CONFLICT (key) DO UPDATE SET name = excluded.name, group_id = excluded.group_id, topics = excluded.topics",
        )?;
        for l in rows {
            group.execute([l.group_division])?;
            st.execute(params![l.key, l.name, l.group_division, l.topics])?;
        }
        Ok(())
    }

    fn sessions_by_ext(&mut self, campaign: i64, ext_ids: &[&str]) -> Result<Vec<ExistingSession>, Error> {
        let mut st = self.0.prepare_cached(
            "SELECT s.id, s.unit_id, u.bucket_id FROM sessions s JOIN units u ON u.id = s.unit_id
             WHERE s.campaign_id = ?1 AND s.ext_id = ?2",
        )?;
        let mut out = Vec::new();
        for ext in ext_ids {
            if let Some((id, unit, bucket)) = st.query_row(params![campaign, ext], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()? {
                out.push(ExistingSession { ext_id: (*ext).to_owned(), id, unit, bucket });
            }
        }
        Ok(out)
    }

    fn has_sessions(&mut self, campaign: i64) -> Result<bool, Error> {
        Ok(self.0.query_row("SELECT EXISTS (SELECT 1 FROM sessions WHERE campaign_id = ?1)", [campaign], |r| r.get(0))?)
    }

    fn has_ext_ids(&mut self, campaign: i64) -> Result<bool, Error> {
        let sql = "SELECT EXISTS (SELECT 1 FROM sessions WHERE campaign_id = ?1 AND ext_id IS NOT NULL)";
        Ok(self.0.query_row(sql, [campaign], |r| r.get(0))?)
    }

    fn max_session_id(&mut self) -> Result<i64, Error> {
        Ok(self.0.query_row("SELECT COALESCE(MAX(id), 0) FROM sessions", [], |r| r.get(0))?)
    }

    fn insert_sessions(&mut self, rows: &[SessionRow]) -> Result<(), Error> {
        let mut st = self.0.prepare_cached(
            "INSERT INTO sessions (campaign_id, ext_id, unit_id, held_on, headcount, topics, audiences, format, status, title)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for s in rows {
            st.execute(params![
                s.campaign,
                s.ext_id,
                s.unit,
                s.held_on,
                s.headcount,
                s.topics,
                s.audiences,
                s.format.as_str(),
                s.status.as_str(),
                s.title
            ])?;
            if !s.lecturers.is_empty() {
                insert_lecturers(&self.0, self.0.last_insert_rowid(), &s.lecturers)?;
            }
        }
        Ok(())
    }

    fn update_sessions(&mut self, rows: &[(i64, SessionRow)]) -> Result<(), Error> {
        let mut st = self.0.prepare_cached(
            "UPDATE sessions SET unit_id = ?2, held_on = ?3, headcount = ?4, topics = ?5, audiences = ?6,
                 format = ?7, status = ?8, title = ?9 WHERE id = ?1",
        )?;
        let mut clear = self.0.prepare_cached("DELETE FROM session_lecturers WHERE session_id = ?1")?;
        for (id, s) in rows {
            st.execute(params![
                id,
                s.unit,
                s.held_on,
                s.headcount,
                s.topics,
                s.audiences,
                s.format.as_str(),
                s.status.as_str(),
                s.title
            ])?;
            clear.execute([id])?;
            insert_lecturers(&self.0, *id, &s.lecturers)?;
        }
        Ok(())
    }

    fn bucket_facts(&mut self, campaign: i64, bucket: i64, from: NaiveDate, until: NaiveDate) -> Result<Vec<Fact>, Error> {
        let mut st = self.0.prepare_cached(
            // CROSS JOIN fixes the join order: a bucket's few units first, then their
            // sessions by index. Left to itself the planner may scan every session
            // of the campaign for each bucket.
            "SELECT s.unit_id, s.held_on, s.headcount, s.topics FROM units u
             CROSS JOIN sessions s ON s.campaign_id = ?1 AND s.unit_id = u.id AND s.held_on BETWEEN ?3 AND ?4
             WHERE u.bucket_id = ?2 AND s.status = 'held'",
        )?;
        let rows = st.query_map(params![campaign, bucket, from, until], |r| fact_of(r, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn campaign_facts(
        &mut self,
        campaign: i64,
        from: NaiveDate,
        until: NaiveDate,
        each: &mut dyn FnMut(i64, Fact),
    ) -> Result<(), Error> {
        // Sessions in table order (a sequential read), their units from the primary key.
        let mut st = self.0.prepare_cached(
            "SELECT u.bucket_id, s.unit_id, s.held_on, s.headcount, s.topics FROM sessions s
             CROSS JOIN units u ON u.id = s.unit_id
             WHERE s.campaign_id = ?1 AND s.status = 'held' AND s.held_on BETWEEN ?2 AND ?3",
        )?;
        let mut rows = st.query(params![campaign, from, until])?;
        while let Some(r) = rows.next()? {
            each(r.get(0)?, fact_of(r, 1)?);
        }
        Ok(())
    }

    fn township_facts(
        &mut self,
        campaign: i64,
        under: Option<(Level, i64)>,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<(i64, Fact)>, Error> {
        let filter = match under {
            Some((l, _)) => format!("d.{} = ?4", level_col(l)),
            None => "?4 IS NULL".to_owned(),
        };
        let mut st = self.0.prepare_cached(&format!(
            "SELECT d.township_id, s.unit_id, s.held_on, s.headcount, s.topics FROM divisions d
             CROSS JOIN units u ON u.division_id = d.id
             CROSS JOIN sessions s ON s.campaign_id = ?1 AND s.unit_id = u.id AND s.held_on BETWEEN ?2 AND ?3
             WHERE {filter} AND d.township_id IS NOT NULL AND s.status = 'held'"
        ))?;
        let rows = st.query_map(params![campaign, from, until, under.map(|u| u.1)], |r| Ok((r.get(0)?, fact_of(r, 1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn rollup_days(&mut self, table: Rollup, campaign: i64, divisions: &[i64], until: NaiveDate) -> Result<Vec<DayRow>, Error> {
        let (table, col) = rollup_table(table);
        let mut st = self.0.prepare_cached(&format!(
            "SELECT day, covered, sessions, audience, topics FROM {table}
             WHERE campaign_id = ?1 AND {col} = ?2 AND day <= ?3 ORDER BY day"
        ))?;
        let mut out = Vec::new();
        for &division in divisions {
            let rows = st.query_map(params![campaign, division, until], |r| {
                let topics: String = r.get(4)?;
                Ok(DayRow {
                    division,
                    day: r.get(0)?,
                    tally: Tally { covered: r.get(1)?, sessions: r.get(2)?, audience: r.get(3)?, topics: decode_topics(&topics) },
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    fn put_rollup_days(&mut self, table: Rollup, campaign: i64, rows: &[DayRow]) -> Result<(), Error> {
        let (table, col) = rollup_table(table);
        let mut put = self.0.prepare_cached(&format!(
            "INSERT OR REPLACE INTO {table} (campaign_id, {col}, day, covered, sessions, audience, topics)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))?;
        let mut delete = self.0.prepare_cached(&format!("DELETE FROM {table} WHERE campaign_id = ?1 AND {col} = ?2 AND day = ?3"))?;
        for r in rows {
            if r.tally.is_zero() {
                delete.execute(params![campaign, r.division, r.day])?;
            } else {
                let t = &r.tally;
                put.execute(params![campaign, r.division, r.day, t.covered, t.sessions, t.audience, encode_topics(&t.topics)])?;
            }
        }
        Ok(())
    }

    fn clear_rollups(&mut self, campaign: i64) -> Result<(), Error> {
        self.0.execute("DELETE FROM bucket_days WHERE campaign_id = ?1", [campaign])?;
        self.0.execute("DELETE FROM rollup_days WHERE campaign_id = ?1", [campaign])?;
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Record>, Error> {
        let mut st = self.0.prepare_cached(&numbered(sql))?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params.iter().map(Param)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                });
            }
            out.push(Record(values));
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Error> {
        let mut st = self.0.prepare_cached(&numbered(sql))?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter().map(Param)))? as u64)
    }
}

/// A portable statement's `$N` parameters in SQLite's exact form, `?N`: SQLite reads
/// `$1` as a *named* parameter numbered by first appearance, which is right only as
/// long as the statement happens to use them in order.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// A [`Value`] bound to an SQLite statement.
struct Param<'a>(&'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*v)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Date(d) => ToSqlOutput::Owned(rusqlite::types::Value::Text(d.to_string())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}
