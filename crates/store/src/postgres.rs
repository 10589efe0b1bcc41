//! The PostgreSQL backend, for large deployments: a pool of connections to one server
//! database.
//!
//! Row movements are batched with array parameters (`UNNEST`), a chunk of [`CHUNK`]
//! rows per statement: a national import writes millions of rows, and a round trip per
//! row would take hours over a network.
//!
//! Lookups that run inside an import's transaction are written so that their plan
//! does not depend on statistics (each key probed from an index through a `LATERAL`
//! subquery): the rows that import wrote are not in any statistics yet, and a plan
//! that takes a table of millions for empty turns an import quadratic.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::Duration;

use chrono::NaiveDate;
use domain::coverage::{Fact, Tally};
use domain::{KeySet, Level, UnitKind};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use bytes::BytesMut;
use postgres::{NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;

use crate::Error;
use crate::conn::{
    Campaign, CampaignEntry, Conn, DayRow, DivisionRow, ExistingSession, LecturerRow, Record, Rollup, SessionRow, UnitRow, Value,
    decode_topics, encode_topics,
};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// A pool of connections to one PostgreSQL database.
pub(crate) type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// Rows per statement of a batched write or lookup: large enough that round trips do
/// not matter, small enough that one statement's arrays stay a few megabytes.
const CHUNK: usize = 10_000;

/// The advisory lock every write transaction takes first ("grassrts" in ASCII). Roll-ups
/// are read, changed and written back by the logic, so two writers interleaving under
/// READ COMMITTED would lose each other's changes; holding this lock makes writers
/// queue, as SQLite's `BEGIN IMMEDIATE` does, while readers go on from their snapshots.
const WRITE_LOCK: i64 = 0x6772_6173_7372_7473;

/// Connects to the database at `url` (a `postgres://` URL) and brings its schema up to
/// date. A write waits at most `lock_wait` for the write lock (the server's
/// `lock_timeout`, which advisory locks obey too).
pub(crate) fn open(url: &str, lock_wait: Duration) -> Result<Pool, Error> {
    let mut config = url.parse::<postgres::Config>().map_err(|_| Error::Url(url.to_owned()))?;
    let options = format!("{} -c lock_timeout={}", config.get_options().unwrap_or(""), lock_wait.as_millis());
    config.options(options.trim());
    // A connection of our own first, for the migrations: a wrong password or a missing
    // database is reported at once and in the server's words, where the pool would
    // retry for half a minute and keep only "db error".
    let mut first = config.connect(NoTls)?;
    embedded::migrations::runner().run(&mut first)?;
    drop(first);
    Ok(r2d2::Pool::builder().max_size(8).build(PostgresConnectionManager::new(config, NoTls))?)
}

/// A connection to the database at `url` whose schema is brought to `version` only,
/// for tests of a later migration (which start from the state before it).
#[cfg(test)]
pub(crate) fn at_version(url: &str, version: i32) -> Result<Box<dyn Conn>, Error> {
    let config = url.parse::<postgres::Config>().map_err(|_| Error::Url(url.to_owned()))?;
    let pool = r2d2::Pool::builder().max_size(1).build(PostgresConnectionManager::new(config, NoTls))?;
    let mut c = pool.get()?;
    embedded::migrations::runner().set_target(refinery::Target::Version(version)).run(&mut *c)?;
    Ok(Box::new(PgConn(c)))
}

/// One pooled PostgreSQL connection.
pub(crate) struct PgConn(pub(crate) r2d2::PooledConnection<PostgresConnectionManager<NoTls>>);

impl Drop for PgConn {
    /// A connection dropped by a panic may still be inside a transaction; the pool
    /// would hand it out as it is, and the next user's `BEGIN` would carry on (and
    /// commit) the half-done work. Roll it back first.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.batch_execute("ROLLBACK");
        }
    }
}

fn level_col(level: Level) -> &'static str {
    match level {
        Level::Province => "province_id",
        Level::City => "city_id",
        Level::County => "county_id",
        Level::Township | Level::Village => "township_id",
    }
}

fn rollup_table(t: Rollup) -> (&'static str, &'static str) {
    match t {
        Rollup::Bucket => ("bucket_days", "bucket_id"),
        Rollup::Region => ("rollup_days", "division_id"),
    }
}

/// Reads every row with `f`.
fn read_rows<T>(rows: &[Row], f: impl Fn(&Row) -> Result<T, postgres::Error>) -> Result<Vec<T>, Error> {
    Ok(rows.iter().map(f).collect::<Result<_, _>>()?)
}

/// The rows of a batch, without those whose key comes again later in it. SQLite writes
/// a batch row by row, so the last row of a key wins; one PostgreSQL statement may not
/// touch a row twice (`ON CONFLICT DO UPDATE` fails), so the earlier ones are dropped.
fn last_of<'a, T, K: Hash + Eq>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut out: Vec<&T> = rows.iter().rev().filter(|r| seen.insert(key(r))).collect();
    out.reverse();
    out
}

const DIVISION_COLUMNS: &str = "id, name, level, parent_id, province_id, city_id, county_id, township_id, units";

fn division_of(r: &Row) -> Result<DivisionRow, postgres::Error> {
    let level: i16 = r.try_get(2)?;
    Ok(DivisionRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        level: Level::from_rank(i64::from(level)).unwrap_or(Level::Village),
        parent: r.try_get(3)?,
        ancestors: [r.try_get(4)?, r.try_get(5)?, r.try_get(6)?, r.try_get(7)?],
        units: r.try_get(8)?,
    })
}

fn fact_of(r: &Row, offset: usize) -> Result<Fact, postgres::Error> {
    Ok(Fact {
        unit: r.try_get(offset)?,
        day: r.try_get(offset + 1)?,
        headcount: r.try_get(offset + 2)?,
        topics: KeySet::from_stored(r.try_get(offset + 3)?),
    })
}

fn entry_of(r: &Row) -> Result<(i64, CampaignEntry), postgres::Error> {
    let slot: i32 = r.try_get(1)?;
    let entry = CampaignEntry {
        slot: usize::try_from(slot).unwrap_or_default(),
        key: r.try_get(2)?,
        title: r.try_get(3)?,
        extra: r.try_get(4)?,
    };
    Ok((r.try_get(0)?, entry))
}

/// A slot or position as stored; campaigns have at most `MAX_ENTRIES` entries.
fn small(n: usize) -> Result<i32, Error> {
    i32::try_from(n).map_err(|_| Error::Rejected(format!("slot or position {n} is out of range")))
}

/// Every topic (or audience) of every campaign, by campaign, in the campaign's order.
fn entries(c: &mut postgres::Client, table: &str) -> Result<HashMap<i64, Vec<CampaignEntry>>, Error> {
    let rows = c.query(&format!("SELECT campaign_id, slot, key, title, extra FROM {table} ORDER BY campaign_id, position"), &[])?;
    let mut out: HashMap<i64, Vec<CampaignEntry>> = HashMap::new();
    for (campaign, entry) in read_rows(&rows, entry_of)? {
        out.entry(campaign).or_default().push(entry);
    }
    Ok(out)
}

fn put_entries(c: &mut postgres::Client, table: &str, campaign: i64, rows: &[CampaignEntry]) -> Result<(), Error> {
    c.execute(&format!("DELETE FROM {table} WHERE campaign_id = $1"), &[&campaign])?;
    if rows.is_empty() {
        return Ok(());
    }
    let slots = rows.iter().map(|e| small(e.slot)).collect::<Result<Vec<i32>, Error>>()?;
    let positions = (0..rows.len()).map(small).collect::<Result<Vec<i32>, Error>>()?;
    let keys: Vec<&str> = rows.iter().map(|e| e.key.as_str()).collect();
    let titles: Vec<&str> = rows.iter().map(|e| e.title.as_str()).collect();
    let extras: Vec<&str> = rows.iter().map(|e| e.extra.as_str()).collect();
    c.execute(
        &format!(
            "INSERT INTO {table} (campaign_id, slot, position, key, title, extra)
             SELECT $1::bigint, * FROM UNNEST($2::integer[], $3::integer[], $4::text[], $5::text[], $6::text[])"
        ),
        &[&campaign, &slots, &positions, &keys, &titles, &extras],
    )?;
    Ok(())
}

/// Links sessions to lecturers, ignoring links already there.
fn insert_lecturers(c: &mut postgres::Client, sessions: &[i64], lecturers: &[i64]) -> Result<(), Error> {
    for (s, l) in sessions.chunks(CHUNK).zip(lecturers.chunks(CHUNK)) {
        c.execute(
            "INSERT INTO session_lecturers (session_id, lecturer_id)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[])
             ON CONFLICT DO NOTHING",
            &[&s, &l],
        )?;
    }
    Ok(())
}

/// The lecturer links of sessions as two parallel columns, for [`insert_lecturers`].
fn lecturer_links<'a>(rows: impl Iterator<Item = (i64, &'a SessionRow)>) -> (Vec<i64>, Vec<i64>) {
    let mut sessions = Vec::new();
    let mut lecturers = Vec::new();
    for (id, s) in rows {
        for &l in &s.lecturers {
            sessions.push(id);
            lecturers.push(l);
        }
    }
    (sessions, lecturers)
}

impl Conn for PgConn {
    fn begin(&mut self, write: bool) -> Result<(), Error> {
        let sql = if write {
            format!("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        } else {
            // A report reads many tables; one snapshot keeps them consistent with each
            // other while an import commits in between.
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_owned()
        };
        if let Err(e) = self.0.batch_execute(&sql) {
            // The caller rolls back only what it began: a lock wait cut short would
            // otherwise leave an aborted transaction on a pooled connection.
            let _ = self.0.batch_execute("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Error> {
        self.0.batch_execute("COMMIT")?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), Error> {
        // Outside a transaction PostgreSQL only warns, so this is harmless then.
        self.0.batch_execute("ROLLBACK")?;
        Ok(())
    }

    fn analyze(&mut self) -> Result<(), Error> {
        // Autovacuum would get there within minutes; until then a freshly imported
        // table has no statistics and a county drill-down may scan every unit.
        self.0.batch_execute("ANALYZE divisions, units, sessions, bucket_days, rollup_days")?;
        Ok(())
    }

    fn divisions(&mut self) -> Result<Vec<DivisionRow>, Error> {
        let rows = self.0.query(&format!("SELECT {DIVISION_COLUMNS} FROM divisions ORDER BY id"), &[])?;
        read_rows(&rows, division_of)
    }

    fn division(&mut self, id: i64) -> Result<Option<DivisionRow>, Error> {
        let row = self.0.query_opt(&format!("SELECT {DIVISION_COLUMNS} FROM divisions WHERE id = $1"), &[&id])?;
        Ok(row.as_ref().map(division_of).transpose()?)
    }

    fn divisions_at(&mut self, level: Level, under: Option<(Level, i64)>) -> Result<Vec<DivisionRow>, Error> {
        let rows = match under {
            None => self
                .0
                .query(&format!("SELECT {DIVISION_COLUMNS} FROM divisions WHERE level = $1 ORDER BY id"), &[&level.rank()])?,
            Some((l, id)) => self.0.query(
                &format!("SELECT {DIVISION_COLUMNS} FROM divisions WHERE {} = $1 AND level = $2 ORDER BY id", level_col(l)),
                &[&id, &level.rank()],
            )?,
        };
        read_rows(&rows, division_of)
    }

    fn put_divisions(&mut self, rows: &[DivisionRow]) -> Result<(), Error> {
        // In the given order, chunk by chunk, so that parents listed first exist
        // before their children's rows are checked against them.
        for chunk in last_of(rows, |d| d.id).chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|d| d.id).collect();
            let names: Vec<&str> = chunk.iter().map(|d| d.name.as_str()).collect();
            let levels: Vec<i16> = chunk.iter().map(|d| d.level.rank()).collect();
            let parents: Vec<Option<i64>> = chunk.iter().map(|d| d.parent).collect();
            let ancestor = |i: usize| -> Vec<Option<i64>> { chunk.iter().map(|d| d.ancestors[i]).collect() };
            let (provinces, cities, counties, townships) = (ancestor(0), ancestor(1), ancestor(2), ancestor(3));
            let units: Vec<i64> = chunk.iter().map(|d| d.units).collect();
            self.0.execute(
                "INSERT INTO divisions (id, name, level, parent_id, province_id, city_id, county_id, township_id, units)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::smallint[], $4::bigint[], $5::bigint[],
                                      $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, level = excluded.level,
                     parent_id = excluded.parent_id, province_id = excluded.province_id, city_id = excluded.city_id,
                     county_id = excluded.county_id, township_id = excluded.township_id, units = excluded.units",
                &[&ids, &names, &levels, &parents, &provinces, &cities, &counties, &townships, &units],
            )?;
        }
        Ok(())
    }

    fn set_unit_counts(&mut self, counts: &[(i64, i64)]) -> Result<(), Error> {
        for chunk in last_of(counts, |c| c.0).chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|c| c.0).collect();
            let units: Vec<i64> = chunk.iter().map(|c| c.1).collect();
            self.0.execute(
                "UPDATE divisions d SET units = v.units
                 FROM UNNEST($1::bigint[], $2::bigint[]) AS v (id, units) WHERE d.id = v.id",
                &[&ids, &units],
            )?;
        }
        Ok(())
    }

    fn units(&mut self) -> Result<Vec<UnitRow>, Error> {
        let rows = self.0.query("SELECT id, code, name, kind, division_id, bucket_id FROM units ORDER BY id", &[])?;
        read_rows(&rows, |r| {
            let kind: &str = r.try_get(3)?;
            Ok(UnitRow {
                id: r.try_get(0)?,
                code: r.try_get(1)?,
                name: r.try_get(2)?,
                kind: UnitKind::from_stored(kind).unwrap_or(UnitKind::Other),
                division: r.try_get(4)?,
                bucket: r.try_get(5)?,
            })
        })
    }

    fn put_units(&mut self, rows: &[UnitRow]) -> Result<(), Error> {
        for chunk in last_of(rows, |u| u.code.as_str()).chunks(CHUNK) {
            let codes: Vec<&str> = chunk.iter().map(|u| u.code.as_str()).collect();
            let names: Vec<&str> = chunk.iter().map(|u| u.name.as_str()).collect();
            let kinds: Vec<&str> = chunk.iter().map(|u| u.kind.as_str()).collect();
            let divisions: Vec<i64> = chunk.iter().map(|u| u.division).collect();
            let buckets: Vec<i64> = chunk.iter().map(|u| u.bucket).collect();
            self.0.execute(
                "INSERT INTO units (code, name, kind, division_id, bucket_id)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                     division_id = excluded.division_id, bucket_id = excluded.bucket_id",
                &[&codes, &names, &kinds, &divisions, &buckets],
            )?;
        }
        Ok(())
    }

    fn buckets(&mut self) -> Result<Vec<i64>, Error> {
        let rows = self.0.query("SELECT DISTINCT bucket_id FROM units ORDER BY bucket_id", &[])?;
        read_rows(&rows, |r| r.try_get(0))
    }

    fn campaigns(&mut self) -> Result<Vec<Campaign>, Error> {
        // Keys compare byte by byte (collation "C"), as in SQLite, whatever the
        // database's locale.
        let rows = self.0.query(
            "SELECT id, key, title, start_date, deadline, target, extra FROM campaigns ORDER BY key COLLATE \"C\"",
            &[],
        )?;
        let mut out = read_rows(&rows, |r| {
            Ok(Campaign {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                title: r.try_get(2)?,
                start: r.try_get(3)?,
                deadline: r.try_get(4)?,
                target: r.try_get(5)?,
                extra: r.try_get(6)?,
                topics: Vec::new(),
                audiences: Vec::new(),
            })
        })?;
        if out.is_empty() {
            return Ok(out);
        }
        let mut topics = entries(&mut self.0, "topics")?;
        let mut audiences = entries(&mut self.0, "audiences")?;
        for c in &mut out {
            c.topics = topics.remove(&c.id).unwrap_or_default();
            c.audiences = audiences.remove(&c.id).unwrap_or_default();
        }
        Ok(out)
    }

    fn put_campaign(&mut self, c: &Campaign) -> Result<i64, Error> {
        let row = self.0.query_one(
            "INSERT INTO campaigns (key, title, start_date, deadline, target, extra) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key) DO UPDATE SET title = excluded.title, start_date = excluded.start_date,
                 deadline = excluded.deadline, target = excluded.target, extra = excluded.extra
             RETURNING id",
            &[&c.key, &c.title, &c.start, &c.deadline, &c.target, &c.extra],
        )?;
        let id: i64 = row.try_get(0)?;
        put_entries(&mut self.0, "topics", id, &c.topics)?;
        put_entries(&mut self.0, "audiences", id, &c.audiences)?;
        Ok(id)
    }

    fn slot_in_use(&mut self, campaign: i64, audience: bool, slot: usize) -> Result<bool, Error> {
        let col = if audience { "audiences" } else { "topics" };
        // A slot past the 64 bits of a set cannot be in any session's set.
        let Some(bit) = u32::try_from(slot).ok().and_then(|s| 1u64.checked_shl(s)) else {
            return Ok(false);
        };
        let mask = KeySet(bit).stored();
        let row = self.0.query_one(
            &format!("SELECT EXISTS (SELECT 1 FROM sessions WHERE campaign_id = $1 AND ({col} & $2::bigint) <> 0)"),
            &[&campaign, &mask],
        )?;
        Ok(row.try_get(0)?)
    }

    fn lecturers(&mut self) -> Result<Vec<LecturerRow>, Error> {
        let rows = self.0.query(
            "SELECT l.id, l.key, l.name, g.division_id, l.topics FROM lecturers l
             JOIN lecture_groups g ON g.id = l.group_id ORDER BY l.id",
            &[],
        )?;
        read_rows(&rows, |r| {
            Ok(LecturerRow {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                name: r.try_get(2)?,
                group_division: r.try_get(3)?,
                topics: r.try_get(4)?,
            })
        })
    }

    fn put_lecturers(&mut self, rows: &[LecturerRow]) -> Result<(), Error> {
        for chunk in last_of(rows, |l| l.key.as_str()).chunks(CHUNK) {
            // The groups first, in the order lecturers first name them.
            let mut named = HashSet::new();
            let groups: Vec<i64> = chunk.iter().map(|l| l.group_division).filter(|g| named.insert(*g)).collect();
            self.0.execute(
                "INSERT INTO lecture_groups (division_id, name)
                 SELECT d.id, d.name || '宣讲团'
                 FROM UNNEST($1::bigint[]) WITH ORDINALITY AS g (division_id, n)
                 JOIN divisions d ON d.id = g.division_id
                 ORDER BY g.n
                 ON CONFLICT (division_id) DO NOTHING",
                &[&groups],
            )?;
            let keys: Vec<&str> = chunk.iter().map(|l| l.key.as_str()).collect();
            let names: Vec<&str> = chunk.iter().map(|l| l.name.as_str()).collect();
            let divisions: Vec<i64> = chunk.iter().map(|l| l.group_division).collect();
            let topics: Vec<&str> = chunk.iter().map(|l| l.topics.as_str()).collect();
            // A division without a group (not a stored division) leaves group_id NULL,
            // which the NOT NULL constraint rejects, as in SQLite.
            self.0.execute(
                "INSERT INTO lecturers (key, name, group_id, topics)
                 SELECT v.key, v.name, g.id, v.topics
                 FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY
                     AS v (key, name, division_id, topics, n)
                 LEFT JOIN lecture_groups g ON g.division_id = v.division_id
                 ORDER BY v.n
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name, group_id = excluded.group_id,
                     topics = excluded.topics",
                &[&keys, &names, &divisions, &topics],
            )?;
        }
        Ok(())
    }

    fn sessions_by_ext(&mut self, campaign: i64, ext_ids: &[&str]) -> Result<Vec<ExistingSession>, Error> {
        let mut found: HashMap<String, (i64, i64, i64)> = HashMap::new();
        for chunk in ext_ids.chunks(CHUNK) {
            // One index probe per id, whatever the statistics say (see bucket_facts):
            // an import looks up each batch while the sessions it inserted before have
            // no statistics yet, and a scan of them all per batch would make a
            // national import quadratic.
            let rows = self.0.query(
                "SELECT e.ext_id, f.id, f.unit_id, f.bucket_id FROM UNNEST($2::text[]) AS e (ext_id)
                 CROSS JOIN LATERAL (
                     SELECT s.id, s.unit_id, u.bucket_id FROM sessions s JOIN units u ON u.id = s.unit_id
                     WHERE s.campaign_id = $1 AND s.ext_id = e.ext_id
                     OFFSET 0
                 ) f",
                &[&campaign, &chunk],
            )?;
            for r in &rows {
                found.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
            }
        }
        // In the order asked, as SQLite answers them one by one.
        Ok(ext_ids
            .iter()
            .filter_map(|ext| {
                found.get(*ext).map(|&(id, unit, bucket)| ExistingSession { ext_id: (*ext).to_owned(), id, unit, bucket })
            })
            .collect())
    }

    fn has_sessions(&mut self, campaign: i64) -> Result<bool, Error> {
        let row = self.0.query_one("SELECT EXISTS (SELECT 1 FROM sessions WHERE campaign_id = $1)", &[&campaign])?;
        Ok(row.try_get(0)?)
    }

    fn has_ext_ids(&mut self, campaign: i64) -> Result<bool, Error> {
        let row = self
            .0
            .query_one("SELECT EXISTS (SELECT 1 FROM sessions WHERE campaign_id = $1 AND ext_id IS NOT NULL)", &[&campaign])?;
        Ok(row.try_get(0)?)
    }

    fn max_session_id(&mut self) -> Result<i64, Error> {
        let row = self.0.query_one("SELECT COALESCE(MAX(id), 0) FROM sessions", &[])?;
        Ok(row.try_get(0)?)
    }

    fn insert_sessions(&mut self, rows: &[SessionRow]) -> Result<(), Error> {
        for chunk in rows.chunks(CHUNK) {
            // Ids first, from the identity's own sequence, so that the lecturer links
            // can name them without reading the new rows back.
            let n = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            let got = self.0.query(
                // The identity's sequence by name, resolved once when the statement is
                // parsed: looking it up per row cost a quarter of a national import.
                "SELECT nextval('sessions_id_seq'::regclass) FROM generate_series(1, $1::bigint)",
                &[&n],
            )?;
            let mut ids = read_rows(&got, |r| r.try_get::<_, i64>(0))?;
            if ids.len() != chunk.len() {
                return Err(Error::Rejected(format!("asked for {} session ids, got {}", chunk.len(), ids.len())));
            }
            // Ascending in the given order, as SQLite numbers rows.
            ids.sort_unstable();
            // COPY, in binary: several times faster than an INSERT of arrays, which
            // matters for millions of sessions.
            let sink = self.0.copy_in(
                "COPY sessions (id, campaign_id, ext_id, unit_id, held_on, headcount, topics, audiences, format, status, title)
                 FROM STDIN BINARY",
            )?;
            let types = [
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::DATE,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ];
            let mut w = BinaryCopyInWriter::new(sink, &types);
            for (id, s) in ids.iter().zip(chunk) {
                w.write(&[
                    id,
                    &s.campaign,
                    &s.ext_id.as_deref(),
                    &s.unit,
                    &s.held_on,
                    &s.headcount,
                    &s.topics,
                    &s.audiences,
                    &s.format.as_str(),
                    &s.status.as_str(),
                    &s.title.as_str(),
                ])?;
            }
            w.finish()?;
            let (sessions, lecturers) = lecturer_links(ids.iter().copied().zip(chunk));
            insert_lecturers(&mut self.0, &sessions, &lecturers)?;
        }
        Ok(())
    }

    fn update_sessions(&mut self, rows: &[(i64, SessionRow)]) -> Result<(), Error> {
        for chunk in last_of(rows, |r| r.0).chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|r| r.0).collect();
            let units: Vec<i64> = chunk.iter().map(|r| r.1.unit).collect();
            let days: Vec<NaiveDate> = chunk.iter().map(|r| r.1.held_on).collect();
            let headcounts: Vec<i64> = chunk.iter().map(|r| r.1.headcount).collect();
            let topics: Vec<i64> = chunk.iter().map(|r| r.1.topics).collect();
            let audiences: Vec<i64> = chunk.iter().map(|r| r.1.audiences).collect();
            let formats: Vec<&str> = chunk.iter().map(|r| r.1.format.as_str()).collect();
            let statuses: Vec<&str> = chunk.iter().map(|r| r.1.status.as_str()).collect();
            let titles: Vec<&str> = chunk.iter().map(|r| r.1.title.as_str()).collect();
            self.0.execute(
                "UPDATE sessions s SET unit_id = v.unit_id, held_on = v.held_on, headcount = v.headcount,
                     topics = v.topics, audiences = v.audiences, format = v.format, status = v.status, title = v.title
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[],
                             $7::text[], $8::text[], $9::text[])
                     AS v (id, unit_id, held_on, headcount, topics, audiences, format, status, title)
                 WHERE s.id = v.id",
                &[&ids, &units, &days, &headcounts, &topics, &audiences, &formats, &statuses, &titles],
            )?;
            // The old links found session by session from the primary key, then deleted
            // by their row addresses: planned on statistics that may not know of this
            // import's sessions yet, a plain `session_id = ANY` would scan every link.
            self.0.execute(
                "DELETE FROM session_lecturers WHERE ctid = ANY (ARRAY (
                     SELECT l.ctid FROM UNNEST($1::bigint[]) AS v (id)
                     CROSS JOIN LATERAL (SELECT ctid FROM session_lecturers WHERE session_id = v.id OFFSET 0) l
                 ))",
                &[&ids],
            )?;
            let (sessions, lecturers) = lecturer_links(chunk.iter().map(|r| (r.0, &r.1)));
            insert_lecturers(&mut self.0, &sessions, &lecturers)?;
        }
        Ok(())
    }

    fn bucket_facts(&mut self, campaign: i64, bucket: i64, from: NaiveDate, until: NaiveDate) -> Result<Vec<Fact>, Error> {
        // Unit by unit, each unit's sessions from the index (the LATERAL subquery with
        // OFFSET 0 is planned on its own, so the plan cannot turn around): an import
        // refreshes every bucket in the transaction that wrote the sessions, before
        // any statistics know of them, and the planner, taking the table for tiny,
        // would otherwise scan all of the campaign's sessions once per bucket.
        let rows = self.0.query(
            "SELECT s.unit_id, s.held_on, s.headcount, s.topics FROM units u
             CROSS JOIN LATERAL (
                 SELECT s.unit_id, s.held_on, s.headcount, s.topics FROM sessions s
                 WHERE s.campaign_id = $1 AND s.unit_id = u.id AND s.held_on BETWEEN $3 AND $4 AND s.status = 'held'
                 OFFSET 0
             ) s
             WHERE u.bucket_id = $2",
            &[&campaign, &bucket, &from, &until],
        )?;
        read_rows(&rows, |r| fact_of(r, 0))
    }

    fn campaign_facts(
        &mut self,
        campaign: i64,
        from: NaiveDate,
        until: NaiveDate,
        each: &mut dyn FnMut(i64, Fact),
    ) -> Result<(), Error> {
        // Streamed row by row: a national campaign has millions of sessions.
        let params: [&(dyn postgres::types::ToSql + Sync); 3] = [&campaign, &from, &until];
        let mut rows = self.0.query_raw(
            "SELECT u.bucket_id, s.unit_id, s.held_on, s.headcount, s.topics FROM sessions s
             JOIN units u ON u.id = s.unit_id
             WHERE s.campaign_id = $1 AND s.status = 'held' AND s.held_on BETWEEN $2 AND $3",
            params,
        )?;
        while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            each(r.try_get(0)?, fact_of(&r, 1)?);
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
        let rows = match under {
            // Under a region, unit by unit from the indexes, whatever the statistics
            // say (see bucket_facts): a region is a small part of the country.
            Some((l, id)) => self.0.query(
                &format!(
                    "SELECT d.township_id, s.unit_id, s.held_on, s.headcount, s.topics FROM divisions d
                     JOIN units u ON u.division_id = d.id
                     CROSS JOIN LATERAL (
                         SELECT s.unit_id, s.held_on, s.headcount, s.topics FROM sessions s
                         WHERE s.campaign_id = $1 AND s.unit_id = u.id AND s.held_on BETWEEN $2 AND $3
                             AND s.status = 'held'
                         OFFSET 0
                     ) s
                     WHERE d.{} = $4 AND d.township_id IS NOT NULL",
                    level_col(l)
                ),
                &[&campaign, &from, &until, &id],
            )?,
            // The whole country: the planner's joins over whole tables.
            None => self.0.query(
                "SELECT d.township_id, s.unit_id, s.held_on, s.headcount, s.topics FROM divisions d
                 JOIN units u ON u.division_id = d.id
                 JOIN sessions s ON s.campaign_id = $1 AND s.unit_id = u.id AND s.held_on BETWEEN $2 AND $3
                 WHERE d.township_id IS NOT NULL AND s.status = 'held'",
                &[&campaign, &from, &until],
            )?,
        };
        read_rows(&rows, |r| Ok((r.try_get(0)?, fact_of(r, 1)?)))
    }

    fn rollup_days(&mut self, table: Rollup, campaign: i64, divisions: &[i64], until: NaiveDate) -> Result<Vec<DayRow>, Error> {
        let (table, col) = rollup_table(table);
        let mut out = Vec::new();
        for chunk in divisions.chunks(CHUNK) {
            // Division by division in the order asked, each by day, as SQLite answers
            // them one by one (a division asked twice is answered twice); each from
            // the primary key, whatever the statistics say (see bucket_facts).
            let rows = self.0.query(
                &format!(
                    "SELECT v.division, r.day, r.covered, r.sessions, r.audience, r.topics
                     FROM UNNEST($2::bigint[]) WITH ORDINALITY AS v (division, n)
                     CROSS JOIN LATERAL (
                         SELECT day, covered, sessions, audience, topics FROM {table}
                         WHERE campaign_id = $1 AND {col} = v.division AND day <= $3
                         OFFSET 0
                     ) r
                     ORDER BY v.n, r.day"
                ),
                &[&campaign, &chunk, &until],
            )?;
            for r in &rows {
                let topics: &str = r.try_get(5)?;
                out.push(DayRow {
                    division: r.try_get(0)?,
                    day: r.try_get(1)?,
                    tally: Tally {
                        covered: r.try_get(2)?,
                        sessions: r.try_get(3)?,
                        audience: r.try_get(4)?,
                        topics: decode_topics(topics),
                    },
                });
            }
        }
        Ok(out)
    }

    fn put_rollup_days(&mut self, table: Rollup, campaign: i64, rows: &[DayRow]) -> Result<(), Error> {
        let (table, col) = rollup_table(table);
        let rows = last_of(rows, |r| (r.division, r.day));
        let (zero, put): (Vec<&DayRow>, Vec<&DayRow>) = rows.into_iter().partition(|r| r.tally.is_zero());
        for chunk in put.chunks(CHUNK) {
            let divisions: Vec<i64> = chunk.iter().map(|r| r.division).collect();
            let days: Vec<NaiveDate> = chunk.iter().map(|r| r.day).collect();
            let covered: Vec<i64> = chunk.iter().map(|r| r.tally.covered).collect();
            let sessions: Vec<i64> = chunk.iter().map(|r| r.tally.sessions).collect();
            let audience: Vec<i64> = chunk.iter().map(|r| r.tally.audience).collect();
            let topics: Vec<String> = chunk.iter().map(|r| encode_topics(&r.tally.topics)).collect();
            self.0.execute(
                &format!(
                    "INSERT INTO {table} (campaign_id, {col}, day, covered, sessions, audience, topics)
                     SELECT $1::bigint, * FROM UNNEST($2::bigint[], $3::date[], $4::bigint[], $5::bigint[],
                                                      $6::bigint[], $7::text[])
                     ON CONFLICT (campaign_id, {col}, day) DO UPDATE SET covered = excluded.covered,
                         sessions = excluded.sessions, audience = excluded.audience, topics = excluded.topics"
                ),
                &[&campaign, &divisions, &days, &covered, &sessions, &audience, &topics],
            )?;
        }
        for chunk in zero.chunks(CHUNK) {
            let divisions: Vec<i64> = chunk.iter().map(|r| r.division).collect();
            let days: Vec<NaiveDate> = chunk.iter().map(|r| r.day).collect();
            self.0.execute(
                &format!(
                    "DELETE FROM {table} t USING UNNEST($2::bigint[], $3::date[]) AS v (division, day)
                     WHERE t.campaign_id = $1 AND t.{col} = v.division AND t.day = v.day"
                ),
                &[&campaign, &divisions, &days],
            )?;
        }
        Ok(())
    }

    fn clear_rollups(&mut self, campaign: i64) -> Result<(), Error> {
        self.0.execute("DELETE FROM bucket_days WHERE campaign_id = $1", &[&campaign])?;
        self.0.execute("DELETE FROM rollup_days WHERE campaign_id = $1", &[&campaign])?;
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Record>, Error> {
        let st = self.0.prepare(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.0.query(&st, &params)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut values = Vec::with_capacity(r.len());
            for (i, col) in r.columns().iter().enumerate() {
                let ty = col.type_();
                let v = if *ty == Type::INT8 {
                    r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
                } else if *ty == Type::INT4 {
                    r.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into()))
                } else if *ty == Type::INT2 {
                    r.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into()))
                } else if *ty == Type::BOOL {
                    r.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into()))
                } else if *ty == Type::FLOAT8 {
                    r.try_get::<_, Option<f64>>(i)?.map(Value::Real)
                } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
                    r.try_get::<_, Option<String>>(i)?.map(Value::Text)
                } else if *ty == Type::BYTEA {
                    r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Bytes)
                } else if *ty == Type::DATE {
                    r.try_get::<_, Option<NaiveDate>>(i)?.map(Value::Date)
                } else {
                    return Err(Error::Corrupt(format!("column {} has type {ty}, which portable statements do not read", col.name())));
                };
                values.push(v.unwrap_or(Value::Null));
            }
            out.push(Record(values));
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Error> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        Ok(self.0.execute(sql, &params)?)
    }
}

/// Values bind to whatever type the server inferred for the parameter, so that one
/// portable statement fits INTEGER and BIGINT columns alike.
impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::FLOAT8 => (*v as f64).to_sql(ty, out),
            Value::Int(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Real(v) => v.to_sql(ty, out),
            Value::Text(t) => t.to_sql(ty, out),
            Value::Date(d) => d.to_sql(ty, out),
            Value::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
