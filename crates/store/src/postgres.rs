//! The PostgreSQL backend, for large deployments. (Being written.)

use chrono::NaiveDate;
use domain::Level;
use domain::coverage::Fact;

use crate::Error;
use crate::conn::*;

pub(crate) type Pool = r2d2::Pool<r2d2_postgres::PostgresConnectionManager<postgres::NoTls>>;

pub(crate) fn open(url: &str) -> Result<Pool, Error> {
    Err(Error::Url(url.to_owned()))
}

pub(crate) struct PgConn(pub(crate) r2d2::PooledConnection<r2d2_postgres::PostgresConnectionManager<postgres::NoTls>>);

impl Conn for PgConn {
    fn begin(&mut self, write: bool) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn commit(&mut self) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn rollback(&mut self) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn divisions(&mut self) -> Result<Vec<DivisionRow>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn division(&mut self, id: i64) -> Result<Option<DivisionRow>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn divisions_at(&mut self, level: Level, under: Option<(Level, i64)>) -> Result<Vec<DivisionRow>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn put_divisions(&mut self, rows: &[DivisionRow]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn set_unit_counts(&mut self, counts: &[(i64, i64)]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn units(&mut self) -> Result<Vec<UnitRow>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn put_units(&mut self, rows: &[UnitRow]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn buckets(&mut self) -> Result<Vec<i64>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn campaigns(&mut self) -> Result<Vec<Campaign>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn put_campaign(&mut self, c: &Campaign) -> Result<i64, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn slot_in_use(&mut self, campaign: i64, audience: bool, slot: usize) -> Result<bool, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn lecturers(&mut self) -> Result<Vec<LecturerRow>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn put_lecturers(&mut self, rows: &[LecturerRow]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn sessions_by_ext(&mut self, campaign: i64, ext_ids: &[&str]) -> Result<Vec<ExistingSession>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn max_session_id(&mut self) -> Result<i64, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn insert_sessions(&mut self, rows: &[SessionRow]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn update_sessions(&mut self, rows: &[(i64, SessionRow)]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn bucket_facts(&mut self, campaign: i64, bucket: i64, from: NaiveDate, until: NaiveDate) -> Result<Vec<Fact>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn township_facts(
        &mut self,
        campaign: i64,
        under: Option<(Level, i64)>,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<(i64, Fact)>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn rollup_days(&mut self, table: Rollup, campaign: i64, divisions: &[i64], until: NaiveDate) -> Result<Vec<DayRow>, Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn put_rollup_days(&mut self, table: Rollup, campaign: i64, rows: &[DayRow]) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

    fn clear_rollups(&mut self, campaign: i64) -> Result<(), Error> {
        Err(Error::Rejected("the PostgreSQL backend is not finished".into()))
    }

}
