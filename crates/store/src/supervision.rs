//! Supervision: waiting requests, overdue planned sessions, trailing regions, rankings, notifications.
//!
//! [`Store::supervision`] looks at one campaign from an account's scope (or a region in
//! it): requests waiting too long for a coordinator's assignment or a lecturer's
//! acceptance, planned sessions whose day has passed with no report, the regions one
//! level down whose coverage trails the straight line from the campaign's start (none
//! covered) to its deadline (the target), those regions ranked by coverage and by
//! audience, and the lecturers of the lecture groups there ranked by sessions held and by
//! average rating. Every list is confined to the scope in its query, like `scoped.rs`.
//!
//! [`Store::notify`] turns each coordinator's (and the office's) alerts into in-app
//! notifications. A notification's key names the alert (a request in one waiting spell,
//! a session on its planned day, a campaign's trailing regions on one day): the table
//! keeps a key once per account, so running it again adds nothing.

use std::cmp::Ordering;

use chrono::NaiveDate;
use domain::coverage::CoverageRow;
use domain::{Action, DivisionCode, Level, RequestState, Scope};
use serde::Serialize;

use crate::accounts::{self, Account};
use crate::conn::{Campaign, Conn};
use crate::coverage::{self, CoverageQuery, find_campaign};
use crate::query::{Page, Paging, Sql, in_scope, paged, under};
use crate::regions::{self, RegionView};
use crate::scoped::Scoped;
use crate::{Error, Store};

/// How long is too long, and how much the lists hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Limits {
    /// Hours a request may wait for a coordinator (requested, reviewed, open) before it is an alert.
    pub assignment_hours: i64,
    /// Hours an assigned request may wait for the lecturer's acceptance.
    pub acceptance_hours: i64,
    /// Rows of each lecturers' ranking.
    pub top: usize,
    /// Rows of each list of alerts (the totals count them all).
    pub items: usize,
    /// Work out the planned sessions past their day and the lecturers' ranking only
    /// where the regions looked at hold at most this many counting sessions (none: always).
    /// Both cost time in proportion to the region's sessions, which a page seen as
    /// often as the dashboard cannot spend on a whole country.
    pub detail_up_to: Option<i64>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { assignment_hours: 48, acceptance_hours: 24, top: 10, items: 50, detail_up_to: None }
    }
}

/// A request waiting longer than its limit.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WaitingRequest {
    /// The request's id.
    pub id: i64,
    /// Its unit's code.
    pub unit: String,
    /// Its unit's name.
    pub unit_name: String,
    /// Where it stands.
    pub state: RequestState,
    /// `assignment` (a coordinator must act) or `acceptance` (the lecturer must).
    pub waiting_for: String,
    /// Since when (Unix seconds: its last step).
    pub since: i64,
    /// Whole hours it has waited.
    pub hours: i64,
    /// The lecturer it waits for (acceptance).
    pub lecturer: Option<String>,
    /// That lecturer's name.
    pub lecturer_name: Option<String>,
}

/// A planned session whose day has passed with no report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OverdueSession {
    /// The session's id.
    pub id: i64,
    /// Its unit's code.
    pub unit: String,
    /// Its unit's name.
    pub unit_name: String,
    /// The day it was planned for.
    pub date: NaiveDate,
    /// Days since then.
    pub days: i64,
    /// Its lecturers' keys.
    pub lecturers: Vec<String>,
    /// Its title.
    pub title: String,
}

/// A region one level down, against the straight line and its peers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RegionStanding {
    /// Its division code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Units under it.
    pub units: i64,
    /// Units covered.
    pub covered: i64,
    /// `covered / units`.
    pub coverage: f64,
    /// Counting sessions.
    pub sessions: i64,
    /// Their summed headcount.
    pub audience: i64,
    /// Past the deadline and below the target.
    pub overdue: bool,
    /// The share the straight line from the start to the target at the deadline
    /// expects as of the date (the same for every region).
    pub expected: f64,
    /// Units it must still cover to be on the line (0 if it is).
    pub behind: i64,
    /// Below the line.
    pub trailing: bool,
    /// Its place by coverage (ties share a place).
    pub rank_coverage: i64,
    /// Its place by audience.
    pub rank_audience: i64,
}

/// A lecturer of a lecture group in the scope, with its record in the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LecturerStanding {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its lecture group's division.
    pub group: String,
    /// That division's name.
    pub group_name: String,
    /// Held sessions of the campaign up to the date.
    pub sessions: i64,
    /// Ratings its requests received.
    pub ratings: i64,
    /// Their average (1 to 5), if any.
    pub rating: Option<f64>,
    /// Its place by sessions held.
    pub rank_sessions: i64,
    /// Its place by average rating (0: not rated).
    pub rank_rating: i64,
}

/// What a supervisor of a region sees of a campaign on a date.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Supervision {
    /// The campaign's key.
    pub campaign: String,
    /// The date the figures are as of.
    pub as_of: NaiveDate,
    /// The region looked at (none: the whole tree).
    pub region: Option<String>,
    /// Its name ("" for the whole tree).
    pub region_name: String,
    /// The level of the regions ranked (none below a township: its units are listed on its page).
    pub level: Option<Level>,
    /// The campaign's start.
    pub start: NaiveDate,
    /// Its deadline.
    pub deadline: NaiveDate,
    /// Its target share.
    pub target: f64,
    /// The share the straight line expects as of the date.
    pub expected: f64,
    /// The limits applied.
    pub limits: Limits,
    /// Whether the planned sessions past their day and the lecturers' ranking were
    /// worked out (see [`Limits::detail_up_to`]); if not, their lists are empty.
    pub detailed: bool,
    /// How many requests wait too long.
    pub waiting_total: i64,
    /// The longest-waiting of them, oldest first.
    pub waiting: Vec<WaitingRequest>,
    /// How many planned sessions are past their day with no report.
    pub overdue_total: i64,
    /// The oldest of them.
    pub overdue_sessions: Vec<OverdueSession>,
    /// Regions below the line, furthest behind first.
    pub trailing: Vec<RegionStanding>,
    /// The regions one level down, best coverage first.
    pub regions_by_coverage: Vec<RegionStanding>,
    /// The same, largest audience first.
    pub regions_by_audience: Vec<RegionStanding>,
    /// How many lecturers the groups in the region have.
    pub lecturers_total: i64,
    /// The lecturers with most sessions held.
    pub lecturers_by_sessions: Vec<LecturerStanding>,
    /// The best rated lecturers (rated ones only).
    pub lecturers_by_rating: Vec<LecturerStanding>,
}

/// An in-app notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Notification {
    /// Its id.
    pub id: i64,
    /// When it was made (Unix seconds).
    pub created: i64,
    /// What it is about: `waiting_assignment`, `waiting_acceptance`, `session_overdue`
    /// or `regions_trailing`.
    pub kind: String,
    /// The alert it tells of; each is told once per account.
    pub key: String,
    /// Its subject (names and codes; the page gives the words for the kind).
    pub text: String,
    /// Where to act on it.
    pub link: String,
    /// Whether the account has read it.
    pub read: bool,
}

/// The share of units the straight line from the start (none) to the deadline (the
/// target) expects on `as_of`.
pub fn pace(start: NaiveDate, deadline: NaiveDate, target: f64, as_of: NaiveDate) -> f64 {
    if as_of >= deadline {
        return target;
    }
    if as_of <= start {
        return 0.0;
    }
    target * (as_of - start).num_days() as f64 / (deadline - start).num_days() as f64
}

/// Units a region must still cover to reach `expected`. The small allowance keeps a
/// product like 0.3 × 10 from asking for a fourth unit.
fn behind(expected: f64, units: i64, covered: i64) -> i64 {
    ((expected * units as f64 - 1e-9).ceil() as i64 - covered).max(0)
}

/// Places in a sorted list: equal neighbours share a place ("1, 2, 2, 4").
fn ranks<T>(sorted: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::with_capacity(sorted.len());
    for (i, item) in sorted.iter().enumerate() {
        let rank = match out.last() {
            Some(&r) if same(&sorted[i - 1], item) => r,
            _ => i as i64 + 1,
        };
        out.push(rank);
    }
    out
}

/// The region a supervision is about: `under` if given (which must be in scope),
/// else the account's own; the office's default is the tree's only province, if it
/// has one province (a provincial deployment), else the whole tree.
fn focus(conn: &mut dyn Conn, acc: &Account, campaign: &str, under: Option<DivisionCode>) -> Result<(Campaign, Option<RegionView>), Error> {
    let campaign = find_campaign(conn, campaign)?;
    let code = match (under, &acc.scope) {
        (Some(code), _) => Some(code),
        (None, Scope::Division { code }) => Some(*code),
        (None, Scope::All) => regions::only_province(conn)?,
        (None, Scope::Unit { .. }) => return Err(Error::Forbidden("a unit contact does not supervise".into())),
    };
    let region = code.map(|c| regions::region(conn, acc, c)).transpose()?;
    Ok((campaign, region))
}

fn region_code(region: Option<&RegionView>) -> Option<DivisionCode> {
    region.and_then(|r| r.code.parse().ok())
}

/// Requests of the campaign in the region waiting longer than their limit, oldest first.
fn waiting(conn: &mut dyn Conn, acc: &Account, campaign: &Campaign, region: Option<&RegionView>, now: i64, limits: &Limits) -> Result<Vec<WaitingRequest>, Error> {
    let mut sql = Sql::new(
        "SELECT r.id, u.code, u.name, r.state, r.updated, l.key, l.name
         FROM requests r JOIN units u ON u.id = r.unit_id JOIN divisions d ON d.id = u.division_id
         LEFT JOIN lecturers l ON l.id = r.lecturer_id WHERE 1 = 1",
    );
    let (c, a, b) = (sql.bind(campaign.id), sql.bind(now - limits.assignment_hours * 3600), sql.bind(now - limits.acceptance_hours * 3600));
    sql.push(&format!(
        " AND r.campaign_id = {c}
          AND ((r.state IN ('requested', 'reviewed', 'open') AND r.updated <= {a}) OR (r.state = 'assigned' AND r.updated <= {b}))"
    ));
    in_scope(&mut sql, &acc.scope, "d", Some("u"));
    under(&mut sql, region_code(region), "d");
    sql.push(" ORDER BY r.updated, r.id");
    sql.run(conn)?
        .iter()
        .map(|r| {
            let state: RequestState = r.text(3)?.parse().map_err(|e: domain::Error| Error::Corrupt(e.to_string()))?;
            let since = r.int(4)?;
            Ok(WaitingRequest {
                id: r.int(0)?,
                unit: r.text(1)?,
                unit_name: r.text(2)?,
                state,
                waiting_for: if state == RequestState::Assigned { "acceptance" } else { "assignment" }.to_owned(),
                since,
                hours: (now - since).max(0) / 3600,
                lecturer: r.opt_text(5)?,
                lecturer_name: r.opt_text(6)?,
            })
        })
        .collect()
}

/// Planned sessions of the campaign in the region dated before `as_of`, oldest first,
/// without their lecturers (see [`with_lecturers`]).
fn overdue(conn: &mut dyn Conn, acc: &Account, campaign: &Campaign, region: Option<&RegionView>, as_of: NaiveDate) -> Result<Vec<OverdueSession>, Error> {
    // No index finds planned sessions by status: under a region the sessions are
    // reached from its divisions and units (SQLite takes a CROSS JOIN's order as
    // given), so that the work is the region's sessions, not the campaign's.
    let from = match region {
        Some(_) => "divisions d CROSS JOIN units u CROSS JOIN sessions s WHERE u.division_id = d.id AND s.unit_id = u.id",
        None => "sessions s JOIN units u ON u.id = s.unit_id JOIN divisions d ON d.id = u.division_id WHERE 1 = 1",
    };
    let mut sql = Sql::new(&format!("SELECT s.id, u.code, u.name, s.held_on, s.title FROM {from}"));
    let (c, before) = (sql.bind(campaign.id), sql.bind(as_of));
    sql.push(&format!(" AND s.campaign_id = {c} AND s.status = 'planned' AND s.held_on < {before}"));
    in_scope(&mut sql, &acc.scope, "d", Some("u"));
    under(&mut sql, region_code(region), "d");
    sql.push(" ORDER BY s.held_on, s.id");
    sql.run(conn)?
        .iter()
        .map(|r| {
            let date = r.date(3)?;
            Ok(OverdueSession { id: r.int(0)?, unit: r.text(1)?, unit_name: r.text(2)?, date, days: (as_of - date).num_days(), lecturers: Vec::new(), title: r.text(4)? })
        })
        .collect()
}

fn with_lecturers(conn: &mut dyn Conn, sessions: &mut [OverdueSession]) -> Result<(), Error> {
    if sessions.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("SELECT sl.session_id, l.key FROM session_lecturers sl JOIN lecturers l ON l.id = sl.lecturer_id WHERE sl.session_id IN (");
    let ids: Vec<String> = sessions.iter().map(|s| sql.bind(s.id)).collect();
    sql.push(&ids.join(", "));
    sql.push(") ORDER BY l.key");
    for r in sql.run(conn)? {
        let id = r.int(0)?;
        if let Some(s) = sessions.iter_mut().find(|s| s.id == id) {
            s.lecturers.push(r.text(1)?);
        }
    }
    Ok(())
}

/// Coverage of the regions one level below the focus (none below a township).
fn region_rows(conn: &mut dyn Conn, campaign: &Campaign, region: Option<&RegionView>, as_of: NaiveDate) -> Result<(Option<Level>, Vec<CoverageRow>), Error> {
    let level = match region {
        None => Some(Level::Province),
        Some(r) => r.level.below().filter(|l| *l <= Level::Township),
    };
    let Some(level) = level else { return Ok((None, Vec::new())) };
    let q = CoverageQuery { campaign: campaign.key.clone(), level: Some(level), under: region_code(region), as_of };
    Ok((Some(level), coverage::report(conn, &q)?))
}

/// The rows against the line, with their places; in the rows' order.
fn standings(rows: &[CoverageRow], expected: f64) -> Vec<RegionStanding> {
    let mut out: Vec<RegionStanding> = rows
        .iter()
        .map(|r| {
            let behind = if r.units > 0 { behind(expected, r.units, r.covered) } else { 0 };
            RegionStanding {
                code: r.code.clone(),
                name: r.name.clone(),
                level: r.level,
                units: r.units,
                covered: r.covered,
                coverage: r.coverage,
                sessions: r.sessions,
                audience: r.audience,
                overdue: r.overdue,
                expected,
                behind,
                trailing: behind > 0,
                rank_coverage: 0,
                rank_audience: 0,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| by_coverage(&out[a], &out[b]));
    for (i, rank) in order.iter().zip(ranks(&order, |&a, &b| out[a].coverage == out[b].coverage)) {
        out[*i].rank_coverage = rank;
    }
    order.sort_by(|&a, &b| out[b].audience.cmp(&out[a].audience).then_with(|| out[a].code.cmp(&out[b].code)));
    for (i, rank) in order.iter().zip(ranks(&order, |&a, &b| out[a].audience == out[b].audience)) {
        out[*i].rank_audience = rank;
    }
    out
}

fn by_coverage(a: &RegionStanding, b: &RegionStanding) -> Ordering {
    b.coverage.partial_cmp(&a.coverage).unwrap_or(Ordering::Equal).then_with(|| b.covered.cmp(&a.covered)).then_with(|| a.code.cmp(&b.code))
}

/// The regions below the line, furthest behind first.
fn trailing_of(regions: &[RegionStanding]) -> Vec<RegionStanding> {
    let mut t: Vec<RegionStanding> = regions.iter().filter(|r| r.trailing).cloned().collect();
    t.sort_by(|a, b| b.behind.cmp(&a.behind).then_with(|| a.coverage.partial_cmp(&b.coverage).unwrap_or(Ordering::Equal)).then_with(|| a.code.cmp(&b.code)));
    t
}

/// Lecturers of the lecture groups in the region, with sessions held up to `as_of` and
/// the ratings their requests received.
fn lecturers(conn: &mut dyn Conn, acc: &Account, campaign: &Campaign, region: Option<&RegionView>, as_of: NaiveDate) -> Result<Vec<LecturerStanding>, Error> {
    // Each lecturer's sessions are reached from its own links (the CROSS JOIN keeps
    // SQLite from walking the campaign's sessions by date once per lecturer).
    let mut sql = Sql::new(
        "SELECT l.key, l.name, d.id, d.name,
          (SELECT COUNT(*) FROM session_lecturers sl CROSS JOIN sessions s WHERE sl.lecturer_id = l.id AND s.id = sl.session_id",
    );
    let (c, from, until) = (sql.bind(campaign.id), sql.bind(campaign.start), sql.bind(as_of));
    sql.push(&format!(
        " AND s.campaign_id = {c} AND s.status = 'held' AND s.held_on >= {from} AND s.held_on <= {until}),
          (SELECT COUNT(*) FROM requests q WHERE q.lecturer_id = l.id AND q.rating IS NOT NULL"
    ));
    let c2 = sql.bind(campaign.id);
    sql.push(&format!(" AND q.campaign_id = {c2}), (SELECT CAST(COALESCE(SUM(q.rating), 0) AS BIGINT) FROM requests q WHERE q.lecturer_id = l.id AND q.rating IS NOT NULL"));
    let c3 = sql.bind(campaign.id);
    sql.push(&format!(
        " AND q.campaign_id = {c3})
         FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id JOIN divisions d ON d.id = g.division_id WHERE 1 = 1"
    ));
    in_scope(&mut sql, &acc.scope, "d", None);
    under(&mut sql, region_code(region), "d");
    sql.push(" ORDER BY l.key");
    let mut out: Vec<(LecturerStanding, i64)> = sql
        .run(conn)?
        .iter()
        .map(|r| {
            let (ratings, sum) = (r.int(5)?, r.int(6)?);
            let standing = LecturerStanding {
                key: r.text(0)?,
                name: r.text(1)?,
                group: r.int(2)?.to_string(),
                group_name: r.text(3)?,
                sessions: r.int(4)?,
                ratings,
                rating: (ratings > 0).then(|| sum as f64 / ratings as f64),
                rank_sessions: 0,
                rank_rating: 0,
            };
            Ok((standing, sum))
        })
        .collect::<Result<_, Error>>()?;
    // Averages compared exactly: a/b against c/d as a·d against c·b.
    let by_rating = |(a, sa): &(LecturerStanding, i64), (b, sb): &(LecturerStanding, i64)| (sb * a.ratings).cmp(&(sa * b.ratings));
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[b].0.sessions.cmp(&out[a].0.sessions).then_with(|| out[a].0.key.cmp(&out[b].0.key)));
    for (i, rank) in order.iter().zip(ranks(&order, |&a, &b| out[a].0.sessions == out[b].0.sessions)) {
        out[*i].0.rank_sessions = rank;
    }
    let mut rated: Vec<usize> = (0..out.len()).filter(|&i| out[i].0.ratings > 0).collect();
    rated.sort_by(|&a, &b| by_rating(&out[a], &out[b]).then_with(|| out[b].0.ratings.cmp(&out[a].0.ratings)).then_with(|| out[a].0.key.cmp(&out[b].0.key)));
    for (i, rank) in rated.iter().zip(ranks(&rated, |&a, &b| by_rating(&out[a], &out[b]) == Ordering::Equal)) {
        out[*i].0.rank_rating = rank;
    }
    Ok(out.into_iter().map(|(s, _)| s).collect())
}

pub(crate) fn supervision(
    conn: &mut dyn Conn,
    acc: &Account,
    campaign: &str,
    under: Option<DivisionCode>,
    as_of: NaiveDate,
    now: i64,
    limits: &Limits,
) -> Result<Supervision, Error> {
    let (campaign, region) = focus(conn, acc, campaign, under)?;
    let region = region.as_ref();
    let expected = pace(campaign.start, campaign.deadline, campaign.target, as_of);

    let mut waiting = waiting(conn, acc, &campaign, region, now, limits)?;
    let waiting_total = waiting.len() as i64;
    waiting.truncate(limits.items);

    let (level, rows) = region_rows(conn, &campaign, region, as_of)?;
    let detailed = limits.detail_up_to.is_none_or(|most| rows.iter().map(|r| r.sessions).sum::<i64>() <= most);
    let mut overdue_sessions = if detailed { overdue(conn, acc, &campaign, region, as_of)? } else { Vec::new() };
    let overdue_total = overdue_sessions.len() as i64;
    overdue_sessions.truncate(limits.items);
    with_lecturers(conn, &mut overdue_sessions)?;
    let regions = standings(&rows, expected);
    let mut regions_by_coverage = regions.clone();
    regions_by_coverage.sort_by(by_coverage);
    let mut regions_by_audience = regions.clone();
    regions_by_audience.sort_by(|a, b| a.rank_audience.cmp(&b.rank_audience).then_with(|| a.code.cmp(&b.code)));

    let all = if detailed { lecturers(conn, acc, &campaign, region, as_of)? } else { Vec::new() };
    let mut lecturers_by_sessions = all.clone();
    lecturers_by_sessions.sort_by(|a, b| a.rank_sessions.cmp(&b.rank_sessions).then_with(|| a.key.cmp(&b.key)));
    lecturers_by_sessions.truncate(limits.top);
    let mut lecturers_by_rating: Vec<LecturerStanding> = all.iter().filter(|l| l.rank_rating > 0).cloned().collect();
    lecturers_by_rating.sort_by(|a, b| a.rank_rating.cmp(&b.rank_rating).then_with(|| b.ratings.cmp(&a.ratings)).then_with(|| a.key.cmp(&b.key)));
    lecturers_by_rating.truncate(limits.top);

    Ok(Supervision {
        campaign: campaign.key.clone(),
        as_of,
        region: region.map(|r| r.code.clone()),
        region_name: region.map(|r| r.name.clone()).unwrap_or_default(),
        level,
        start: campaign.start,
        deadline: campaign.deadline,
        target: campaign.target,
        expected,
        limits: limits.clone(),
        detailed,
        waiting_total,
        waiting,
        overdue_total,
        overdue_sessions,
        trailing: trailing_of(&regions),
        regions_by_coverage,
        regions_by_audience,
        lecturers_total: all.len() as i64,
        lecturers_by_sessions,
        lecturers_by_rating,
    })
}

// ---------------------------------------------------------------------------------
// Notifications

/// A notification to make, if its key is new to the account.
struct Alert {
    kind: &'static str,
    key: String,
    text: String,
    link: String,
}

/// Whether an account is told of alerts: those who act on them, who dispatch
/// requests in their scope (the responsible coordinators and the office).
pub fn is_notified(acc: &Account) -> bool {
    acc.may(Action::RequestAssign) && acc.may(Action::SupervisionRead)
}

/// How long after its deadline a campaign's trailing regions are still told each day.
const TRAILING_GRACE_DAYS: u64 = 30;

/// The account's alerts in every campaign as of `today`.
fn alerts(conn: &mut dyn Conn, acc: &Account, now: i64, today: NaiveDate, limits: &Limits) -> Result<Vec<Alert>, Error> {
    let mut out = Vec::new();
    for c in conn.campaigns()? {
        let (campaign, region) = focus(conn, acc, &c.key, None)?;
        let region = region.as_ref();
        let key = &campaign.key;
        for w in waiting(conn, acc, &campaign, region, now, limits)? {
            let kind = if w.state == RequestState::Assigned { "waiting_acceptance" } else { "waiting_assignment" };
            out.push(Alert {
                kind,
                // One alert per waiting spell: a request that moves on and waits again is told again.
                key: format!("request:{}:{}:{}", w.id, w.state.as_str(), w.since),
                text: format!("#{} {} ({})", w.id, w.unit_name, w.unit),
                link: format!("/requests/{}", w.id),
            });
        }
        for s in overdue(conn, acc, &campaign, region, today)? {
            out.push(Alert {
                kind: "session_overdue",
                key: format!("session:{}:{}", s.id, s.date),
                text: format!("{} ({}) · {}", s.unit_name, s.unit, s.date),
                link: format!("/campaigns/{key}/sessions/{}", s.id),
            });
        }
        let running = today >= campaign.start && today <= campaign.deadline + chrono::Days::new(TRAILING_GRACE_DAYS);
        if running {
            let (_, rows) = region_rows(conn, &campaign, region, today)?;
            let trailing = trailing_of(&standings(&rows, pace(campaign.start, campaign.deadline, campaign.target, today)));
            if !trailing.is_empty() {
                let names: Vec<String> = trailing.iter().map(|r| r.name.clone()).collect();
                out.push(Alert {
                    kind: "regions_trailing",
                    // Told once a day while regions trail: the day's digest names them.
                    key: format!("trailing:{key}:{today}"),
                    text: names.join("、"),
                    link: format!("/campaigns/{key}/digest"),
                });
            }
        }
    }
    Ok(out)
}

/// Computes one account's alerts and stores those it was not told of yet.
fn notify_account(store: &Store, acc: &Account, now: i64, today: NaiveDate, limits: &Limits) -> Result<usize, Error> {
    if !is_notified(acc) {
        return Ok(0);
    }
    // Worked out in a read transaction; the write lock is taken only when there is
    // something new, so a quiet run does not hold up the writers.
    let new = store.read(|c| {
        let told: std::collections::HashSet<String> =
            c.query("SELECT key FROM notifications WHERE user_id = $1", &[acc.id.into()])?.iter().map(|r| r.text(0)).collect::<Result<_, _>>()?;
        Ok(alerts(c, acc, now, today, limits)?.into_iter().filter(|a| !told.contains(&a.key)).collect::<Vec<_>>())
    })?;
    if new.is_empty() {
        return Ok(0);
    }
    store.write(|c| {
        let mut added = 0;
        for a in &new {
            // Another run may have told it since the read above: the key is unique per
            // account, and a second insert is ignored.
            added += c.execute(
                "INSERT INTO notifications (user_id, created, kind, key, text, link) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (user_id, key) DO NOTHING",
                &[acc.id.into(), now.into(), a.kind.into(), a.key.as_str().into(), a.text.as_str().into(), a.link.as_str().into()],
            )? as usize;
        }
        Ok(added)
    })
}

const NOTIFICATION_COLUMNS: &str = "n.id, n.created, n.kind, n.key, n.text, n.link, n.read";

fn notification_of(r: &crate::conn::Record) -> Result<Notification, Error> {
    Ok(Notification { id: r.int(0)?, created: r.int(1)?, kind: r.text(2)?, key: r.text(3)?, text: r.text(4)?, link: r.text(5)?, read: r.int(6)? != 0 })
}

impl Scoped<'_> {
    /// Supervision of a campaign from the account's scope (see the module's text).
    pub fn supervision(&self, campaign: &str, as_of: NaiveDate, now: i64, limits: &Limits) -> Result<Supervision, Error> {
        self.read(Action::SupervisionRead, |c, _| supervision(c, self.acc, campaign, None, as_of, now, limits))
    }

    /// [`Scoped::supervision`] of a region in the account's scope (its own by default).
    pub fn supervision_of(&self, campaign: &str, region: Option<DivisionCode>, as_of: NaiveDate, now: i64, limits: &Limits) -> Result<Supervision, Error> {
        self.read(Action::SupervisionRead, |c, _| supervision(c, self.acc, campaign, region, as_of, now, limits))
    }

    /// A page of the account's notifications, newest first.
    pub fn notifications(&self, paging: Paging) -> Result<Page<Notification>, Error> {
        let acc = self.acc;
        self.read(Action::NotificationList, |c, _| {
            let mut count = Sql::new("SELECT COUNT(*) FROM notifications n WHERE 1 = 1");
            let p = count.bind(acc.id);
            count.push(&format!(" AND n.user_id = {p}"));
            let mut list = Sql::new(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE 1 = 1"));
            let p = list.bind(acc.id);
            list.push(&format!(" AND n.user_id = {p}"));
            paged(c, list, count, "n.created DESC, n.id DESC", paging, notification_of)
        })
    }

    /// How many of the account's notifications are unread.
    pub fn unread_notifications(&self) -> Result<i64, Error> {
        self.read(Action::NotificationList, |c, _| {
            let rows = c.query("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read = 0", &[self.acc.id.into()])?;
            rows.first().map(|r| r.int(0)).transpose().map(Option::unwrap_or_default)
        })
    }

    /// Marks one of the account's notifications read; another account's is not found.
    pub fn mark_read(&self, id: i64) -> Result<Notification, Error> {
        self.write(Action::NotificationUpdate, |c, _| {
            let changed = c.execute("UPDATE notifications SET read = 1 WHERE id = $1 AND user_id = $2", &[id.into(), self.acc.id.into()])?;
            if changed == 0 {
                return Err(Error::NotFound { what: "notification", key: id.to_string() });
            }
            let rows = c.query(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = $1"), &[id.into()])?;
            rows.first().map(notification_of).transpose()?.ok_or_else(|| Error::NotFound { what: "notification", key: id.to_string() })
        })
    }

    /// Marks all the account's notifications read; gives how many were unread.
    pub fn mark_all_read(&self) -> Result<u64, Error> {
        self.write(Action::NotificationUpdate, |c, _| c.execute("UPDATE notifications SET read = 1 WHERE user_id = $1 AND read = 0", &[self.acc.id.into()]))
    }
}

impl Store {
    /// Tells every coordinator and the office of their new alerts as of `now` (Unix
    /// seconds; `today` is its date where the campaign runs): one notification per
    /// alert and account, ever. Returns how many were added.
    pub fn notify(&self, now: i64, today: NaiveDate, limits: &Limits) -> Result<usize, Error> {
        let accounts = self.read(accounts::list)?;
        let mut added = 0;
        for acc in accounts.iter().filter(|a| is_notified(a)) {
            added += notify_account(self, acc, now, today, limits)?;
        }
        Ok(added)
    }

    /// [`Store::notify`] for one account (nothing for roles that are not notified).
    pub fn notify_one(&self, acc: &Account, now: i64, today: NaiveDate, limits: &Limits) -> Result<usize, Error> {
        notify_account(self, acc, now, today, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_straight_line_runs_from_nothing_at_the_start_to_the_target_at_the_deadline() {
        let check = |as_of: &str, expected: f64| assert!((pace(d("2022-11-01"), d("2022-12-01"), 0.9, d(as_of)) - expected).abs() < 1e-12, "{as_of}");
        check("2022-10-01", 0.0);
        check("2022-11-01", 0.0);
        check("2022-11-11", 0.3);
        check("2022-11-16", 0.45);
        check("2022-12-01", 0.9);
        check("2023-01-01", 0.9);
    }

    #[test]
    fn behind_counts_whole_units_to_the_line() {
        assert_eq!(behind(0.3, 10, 3), 0);
        assert_eq!(behind(0.3, 10, 2), 1);
        assert_eq!(behind(0.25, 10, 2), 1);
        assert_eq!(behind(0.25, 10, 3), 0);
        assert_eq!(behind(1.0, 7, 0), 7);
        assert_eq!(behind(0.0, 7, 0), 0);
    }

    #[test]
    fn equal_neighbours_share_a_place() {
        assert_eq!(ranks(&[9, 7, 7, 5, 5, 5, 1], |a, b| a == b), vec![1, 2, 2, 4, 4, 4, 7]);
        assert_eq!(ranks::<i32>(&[], |a, b| a == b), Vec::<i64>::new());
    }
}
