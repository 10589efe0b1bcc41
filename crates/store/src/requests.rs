//! Lecture requests: a unit's order, its dispatch to a lecturer, the lecturer's report
//! and the unit's rating; and sessions planned in bulk without a request. The rules of
//! the life cycle are `domain::request`'s; this module works out who the account is to
//! each request (its unit's coordinator, its requester, its lecturer, an eligible
//! claimant), keeps the history, and turns a report into a session.

use chrono::NaiveDate;
use domain::text::{NOTE, quote};
use domain::{Action, KeySet, Reach, RequestState, SessionFormat, SessionStatus, Standing, Step};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Conn, Record};
use crate::coverage::find_campaign;
use crate::lecturers::nameable;
use crate::query::{Page, Paging, Sql, count_and_list, in_scope, paged};
use crate::scoped::Scoped;
use crate::sessions::{self, SessionInput, checked_row, key_set, keys, write_session};
use crate::units::{find_unit, unavailable};
use crate::{Error, valid};

/// A request as pages and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    /// Its id.
    pub id: i64,
    /// The campaign's key.
    pub campaign: String,
    /// The unit's code.
    pub unit: String,
    /// The unit's name.
    pub unit_name: String,
    /// The division the unit is attached to.
    pub division: String,
    /// Topic keys.
    pub topics: Vec<String>,
    /// Audience keys.
    pub audiences: Vec<String>,
    /// The preferred window's first day.
    pub window_from: NaiveDate,
    /// Its last day.
    pub window_to: NaiveDate,
    /// The expected headcount.
    pub headcount: i64,
    /// The requester's note.
    pub note: String,
    /// Where it stands.
    pub state: RequestState,
    /// The lecturer's key, once assigned or claimed.
    pub lecturer: Option<String>,
    /// The lecturer's name.
    pub lecturer_name: Option<String>,
    /// The session its report became.
    pub session: Option<i64>,
    /// The unit's rating, 1 to 5.
    pub rating: Option<i64>,
    /// The unit's comment on it.
    pub rating_comment: String,
    /// The reason of the last rejection, decline or cancellation.
    pub reason: String,
    /// The account that made it.
    pub requested_by: String,
    /// When it was made (Unix seconds).
    pub created: i64,
    /// When it last changed (Unix seconds).
    pub updated: i64,
    /// Every step it took (on a request's own page; empty in lists).
    pub history: Vec<HistoryEntry>,
}

/// One step of a request's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// When (Unix seconds).
    pub at: i64,
    /// Who (the account's name).
    pub actor: String,
    /// The step.
    pub step: String,
    /// The state before.
    pub from: String,
    /// The state after.
    pub to: String,
    /// The reason, lecturer or rating given with it.
    pub note: String,
}

/// A new request.
#[derive(Debug, Clone)]
pub struct RequestInput {
    /// The unit's code.
    pub unit: String,
    /// Topic keys of the campaign's menu.
    pub topics: Vec<String>,
    /// Audience keys.
    pub audiences: Vec<String>,
    /// The preferred window's first day.
    pub window_from: NaiveDate,
    /// Its last day.
    pub window_to: NaiveDate,
    /// The expected headcount.
    pub headcount: i64,
    /// A note for the coordinator.
    pub note: String,
}

/// A step asked for, with what it needs.
#[derive(Debug, Clone)]
pub struct StepInput {
    /// The step.
    pub step: Step,
    /// The reason (reject, decline, cancel) or a comment (rate).
    pub text: String,
    /// The lecturer to assign (assign).
    pub lecturer: Option<String>,
    /// The report (report): becomes the session.
    pub report: Option<SessionInput>,
    /// Photos already uploaded to attach to the report's session.
    pub photos: Vec<i64>,
    /// The rating, 1 to 5 (rate).
    pub rating: Option<i64>,
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only the signed-in lecturer's assignments.
    pub mine: bool,
    /// Only open requests the signed-in lecturer may claim.
    pub claimable: bool,
}

/// A lecturer suggested for a request, best first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// The lecturer's key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its lecture group's division and name.
    pub group: String,
    /// That division's name.
    pub group_name: String,
    /// How many of the request's topics it covers.
    pub topic_match: i64,
    /// Requests it holds (assigned or accepted) and planned sessions still to give.
    pub load: i64,
    /// Levels between its group and the unit's county (0: the county's own group).
    pub distance: i64,
}

/// Sessions to plan in bulk.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// The units (codes).
    pub units: Vec<String>,
    /// The lecturer (key).
    pub lecturer: String,
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
    /// Topic keys.
    pub topics: Vec<String>,
}

/// A lecturer's own work.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyWork {
    /// Requests assigned to the lecturer or accepted by it.
    pub assignments: Vec<RequestView>,
    /// Open requests it may claim.
    pub claimable: Vec<RequestView>,
    /// Sessions planned with it, by date.
    pub planned: Vec<sessions::SessionView>,
}

const FROM: &str = "requests r JOIN units u ON u.id = r.unit_id JOIN divisions d ON d.id = u.division_id
    JOIN campaigns c ON c.id = r.campaign_id LEFT JOIN lecturers l ON l.id = r.lecturer_id";
const COLUMNS: &str = "r.id, c.key, u.code, u.name, u.division_id, r.topics, r.audiences, r.window_from, r.window_to, r.headcount,
    r.note, r.state, l.key, l.name, r.session_id, r.rating, r.rating_comment, r.reason, r.requested_by, r.created, r.updated,
    d.province_id, d.city_id, d.county_id, r.open_scope";

/// A stored request with the facts needed to judge steps on it.
struct Found {
    view: RequestView,
    /// The unit's province, city and county (its possible lecture groups).
    groups: Vec<i64>,
    open_scope: Option<i64>,
}

fn found_of(conn: &mut dyn Conn, r: &Record) -> Result<Found, Error> {
    let campaign = find_campaign(conn, &r.text(1)?)?;
    let state: RequestState = r.text(11)?.parse().map_err(|e: domain::Error| Error::Corrupt(e.to_string()))?;
    let view = RequestView {
        id: r.int(0)?,
        campaign: campaign.key.clone(),
        unit: r.text(2)?,
        unit_name: r.text(3)?,
        division: r.int(4)?.to_string(),
        topics: keys(&campaign.topics, r.int(5)?),
        audiences: keys(&campaign.audiences, r.int(6)?),
        window_from: r.date(7)?,
        window_to: r.date(8)?,
        headcount: r.int(9)?,
        note: r.text(10)?,
        state,
        lecturer: r.opt_text(12)?,
        lecturer_name: r.opt_text(13)?,
        session: r.opt_int(14)?,
        rating: r.opt_int(15)?,
        rating_comment: r.text(16)?,
        reason: r.text(17)?,
        requested_by: r.text(18)?,
        created: r.int(19)?,
        updated: r.int(20)?,
        history: Vec::new(),
    };
    let groups = (21..24).map(|i| r.opt_int(i)).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    Ok(Found { view, groups, open_scope: r.opt_int(24)? })
}

/// The lecturer an account is (its key's id and group division).
fn own_lecturer(conn: &mut dyn Conn, acc: &Account) -> Result<Option<(i64, String, i64)>, Error> {
    let Some(key) = &acc.lecturer else { return Ok(None) };
    let rows = conn.query(
        "SELECT l.id, l.key, g.division_id FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id WHERE l.key = $1",
        &[key.as_str().into()],
    )?;
    rows.first().map(|r| Ok((r.int(0)?, r.text(1)?, r.int(2)?))).transpose()
}

/// The chain of a division: itself and its ancestors.
fn chain(conn: &mut dyn Conn, division: i64) -> Result<Vec<i64>, Error> {
    let d = conn.division(division)?.ok_or_else(|| Error::Corrupt(format!("division {division}")))?;
    let mut c: Vec<i64> = d.ancestors.iter().flatten().copied().collect();
    c.push(d.id);
    Ok(c)
}

/// How the account stands to a request.
fn standing(conn: &mut dyn Conn, acc: &Account, f: &Found) -> Result<Standing, Error> {
    let unit_chain = chain(conn, f.view.division.parse().unwrap_or(0))?;
    let lecturer = own_lecturer(conn, acc)?;
    let may_serve = match &lecturer {
        Some((_, _, group)) => {
            let opened_to = match f.open_scope {
                None => true,
                Some(scope) => chain(conn, *group)?.contains(&scope),
            };
            f.groups.contains(group) && opened_to
        }
        None => false,
    };
    Ok(Standing {
        in_scope: acc.scope.holds_unit(&f.view.unit, &unit_chain),
        is_assigned: lecturer.as_ref().is_some_and(|(_, key, _)| f.view.lecturer.as_ref() == Some(key)),
        may_serve,
    })
}

/// Whether an account reaching requests as far as `reach` sees this one: in its
/// scope, or (its own) assigned to it or open to its lecture group.
fn visible(conn: &mut dyn Conn, acc: &Account, reach: Reach, f: &Found) -> Result<bool, Error> {
    let s = standing(conn, acc, f)?;
    Ok(match reach {
        Reach::Scope => s.in_scope,
        Reach::Own => s.is_assigned || (f.view.state == RequestState::Open && s.may_serve),
        Reach::Public | Reach::No => false,
    })
}

fn find(conn: &mut dyn Conn, acc: &Account, reach: Reach, id: i64) -> Result<Found, Error> {
    let f = load(conn, id)?;
    if !visible(conn, acc, reach, &f)? {
        return Err(Error::NotFound { what: "request", key: id.to_string() });
    }
    Ok(f)
}

/// A request with its history, whoever asks: for the answer to a step just taken (a
/// lecturer who declined no longer sees the request, but is told how it now stands).
fn load(conn: &mut dyn Conn, id: i64) -> Result<Found, Error> {
    let rows = conn.query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = $1"), &[id.into()])?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "request", key: id.to_string() })?;
    let mut f = found_of(conn, r)?;
    f.view.history = conn
        .query("SELECT at, actor, step, from_state, to_state, note FROM request_history WHERE request_id = $1 ORDER BY id", &[id.into()])?
        .iter()
        .map(|h| Ok(HistoryEntry { at: h.int(0)?, actor: h.text(1)?, step: h.text(2)?, from: h.text(3)?, to: h.text(4)?, note: h.text(5)? }))
        .collect::<Result<_, Error>>()?;
    Ok(f)
}

fn record(conn: &mut dyn Conn, id: i64, acc: &Account, step: &str, from: &str, to: &str, note: &str, now: i64) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO request_history (request_id, at, actor, step, from_state, to_state, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[id.into(), now.into(), acc.name.as_str().into(), step.into(), from.into(), to.into(), note.into()],
    )?;
    Ok(())
}

pub(crate) fn create(conn: &mut dyn Conn, acc: &Account, campaign: &str, input: &RequestInput, now: i64) -> Result<RequestView, Error> {
    let campaign = find_campaign(conn, campaign)?;
    let (unit, _, _) = find_unit(conn, acc, input.unit.trim()).map_err(|e| match e {
        Error::NotFound { .. } => Error::field("unit", format!("unknown unit {} (or outside your scope)", quote(&input.unit))),
        other => other,
    })?;
    let note = valid::text("note", &input.note, NOTE)?;
    let topics = key_set(&campaign.topics, &input.topics, "topics")?;
    if topics == 0 {
        return Err(Error::field("topics", "choose at least one topic"));
    }
    let audiences = key_set(&campaign.audiences, &input.audiences, "audiences")?;
    if input.window_to < input.window_from {
        return Err(Error::field("window_to", format!("{} is before {}", input.window_to, input.window_from)));
    }
    if input.headcount < 0 {
        return Err(Error::field("headcount", format!("{} is negative", input.headcount)));
    }
    conn.execute(
        "INSERT INTO requests (campaign_id, unit_id, topics, audiences, window_from, window_to, headcount, note, state, requested_by, created, updated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            campaign.id.into(),
            unit.into(),
            topics.into(),
            audiences.into(),
            input.window_from.into(),
            input.window_to.into(),
            input.headcount.into(),
            note.into(),
            RequestState::Requested.as_str().into(),
            acc.name.as_str().into(),
            now.into(),
            now.into(),
        ],
    )?;
    let id = conn.query("SELECT MAX(id) FROM requests", &[])?.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    record(conn, id, acc, "request", "", RequestState::Requested.as_str(), note, now)?;
    Ok(load(conn, id)?.view)
}

pub(crate) fn list(conn: &mut dyn Conn, acc: &Account, reach: Reach, f: &RequestFilter, paging: Paging) -> Result<Page<RequestView>, Error> {
    let lecturer = own_lecturer(conn, acc)?;
    let build = |sql: &mut Sql| {
        if let Some(s) = f.state {
            let p = sql.bind(s.as_str());
            sql.push(&format!(" AND r.state = {p}"));
        }
        match (&lecturer, reach) {
            (Some((id, _, group)), Reach::Own) => {
                if f.claimable {
                    // Open requests of units that this lecturer's group may serve: the
                    // group is the unit's province, city or county.
                    let (g1, g2, g3) = (sql.bind(*group), sql.bind(*group), sql.bind(*group));
                    sql.push(&format!(" AND r.state = 'open' AND (d.province_id = {g1} OR d.city_id = {g2} OR d.county_id = {g3})"));
                } else {
                    let p = sql.bind(*id);
                    sql.push(&format!(" AND r.lecturer_id = {p}"));
                }
            }
            (_, Reach::Scope) => in_scope(sql, &acc.scope, "d", Some("u")),
            _ => {
                sql.push(" AND 1 = 0");
            }
        }
    };
    let (count, list) = count_and_list(FROM, COLUMNS, build);
    let page = paged(conn, list, count, "r.updated DESC, r.id DESC", paging, |r| Ok(r.clone()))?;
    let mut items = Vec::new();
    for r in &page.items {
        let found = found_of(conn, r)?;
        // Claimable lists are checked request by request against the scope each was
        // opened to, which SQL above does not know.
        if f.claimable && !standing(conn, acc, &found)?.may_serve {
            continue;
        }
        items.push(found.view);
    }
    Ok(Page { items, total: page.total, page: page.page, per_page: page.per_page })
}

pub(crate) fn step(conn: &mut dyn Conn, acc: &Account, reach: Reach, id: i64, input: &StepInput, now: i64) -> Result<RequestView, Error> {
    let f = find(conn, acc, reach, id)?;
    let from = f.view.state;
    // A report sent again (the phone did not hear the answer) is the same report.
    if input.step == Step::Report && from == RequestState::Held {
        if let (Some(session), Some(report)) = (f.view.session, &input.report) {
            let stored = sessions::by_id(conn, &f.view.campaign, session)?;
            if report.ext_id.is_some() && stored.ext_id == report.ext_id && standing(conn, acc, &f)?.is_assigned {
                return Ok(f.view);
            }
        }
    }
    let to = from.apply(input.step, acc.party(), standing(conn, acc, &f)?).map_err(|r| match r {
        domain::Refusal::WrongState { .. } => Error::Conflict(r.to_string()),
        _ => Error::Forbidden(r.to_string()),
    })?;
    let text = valid::text("reason", &input.text, NOTE)?;
    if input.step.needs_reason() && text.is_empty() {
        return Err(Error::field("reason", "give a reason"));
    }
    let mut note = text.to_owned();
    match input.step {
        Step::Assign => {
            let key = input.lecturer.as_deref().map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| Error::field("lecturer", "choose a lecturer"))?;
            let (lecturer, group) = lecturer_group(conn, acc, key)?;
            if !f.groups.contains(&group) {
                return Err(Error::field("lecturer", format!("{}'s lecture group does not serve this unit: choose one at or above its county", quote(key))));
            }
            conn.execute("UPDATE requests SET lecturer_id = $1 WHERE id = $2", &[lecturer.into(), id.into()])?;
            note = key.to_owned();
        }
        Step::OpenToClaim => {
            let scope = acc.scope.root().map(|c| c.value());
            conn.execute("UPDATE requests SET open_scope = $1, lecturer_id = NULL WHERE id = $2", &[scope.into(), id.into()])?;
        }
        Step::Claim => {
            let (lecturer, key, _) = own_lecturer(conn, acc)?.ok_or_else(|| Error::Forbidden("this account is not linked to a lecturer".into()))?;
            conn.execute("UPDATE requests SET lecturer_id = $1 WHERE id = $2", &[lecturer.into(), id.into()])?;
            note = key;
        }
        Step::Decline => {
            conn.execute("UPDATE requests SET lecturer_id = NULL, reason = $1 WHERE id = $2", &[text.into(), id.into()])?;
        }
        Step::Reject | Step::Cancel => {
            conn.execute("UPDATE requests SET reason = $1 WHERE id = $2", &[text.into(), id.into()])?;
        }
        Step::Report => {
            let mut report = input.report.clone().ok_or_else(|| Error::field("report", "the report of the session is missing"))?;
            report.unit = f.view.unit.clone();
            report.status = SessionStatus::Held;
            if report.lecturers.is_empty() {
                report.lecturers = f.view.lecturer.iter().cloned().collect();
            }
            // Photos first: another account's photo cannot be slipped into a report.
            let photos = crate::photos::usable(conn, acc, &input.photos)?;
            // The request is where the report goes, whatever the lecturer's own scope:
            // the state machine has checked that it is the assigned lecturer.
            let campaign = find_campaign(conn, &f.view.campaign)?;
            let (unit, bucket) = unit_place(conn, &f.view.unit)?;
            let row = checked_row(&campaign, unit, &report, nameable(conn, acc, &report.lecturers, "lecturers")?)?;
            if let Some(ext) = &row.ext_id
                && !conn.sessions_by_ext(campaign.id, &[ext.as_str()])?.is_empty()
            {
                return Err(unavailable("ext_id", ext));
            }
            let session = write_session(conn, &campaign, row, bucket, None)?;
            for photo in &photos {
                conn.execute("INSERT INTO session_photos (session_id, photo_id) VALUES ($1, $2)", &[session.into(), (*photo).into()])?;
            }
            conn.execute("UPDATE requests SET session_id = $1 WHERE id = $2", &[session.into(), id.into()])?;
            note = format!("session {session}");
        }
        Step::Rate => {
            let rating = input.rating.ok_or_else(|| Error::field("rating", "give 1 to 5"))?;
            if !(1..=5).contains(&rating) {
                return Err(Error::field("rating", format!("{rating} is not from 1 to 5")));
            }
            conn.execute("UPDATE requests SET rating = $1, rating_comment = $2 WHERE id = $3", &[rating.into(), text.into(), id.into()])?;
            note = format!("{rating}/5 {text}").trim().to_owned();
        }
        Step::Review | Step::Accept => {}
    }
    conn.execute("UPDATE requests SET state = $1, updated = $2 WHERE id = $3", &[to.as_str().into(), now.into(), id.into()])?;
    record(conn, id, acc, input.step.as_str(), from.as_str(), to.as_str(), &note, now)?;
    Ok(load(conn, id)?.view)
}

pub(crate) fn suggest(conn: &mut dyn Conn, acc: &Account, reach: Reach, id: i64, today: NaiveDate) -> Result<Vec<Suggestion>, Error> {
    let f = find(conn, acc, reach, id)?;
    let campaign = find_campaign(conn, &f.view.campaign)?;
    let wanted = KeySet::from_stored(key_set(&campaign.topics, &f.view.topics, "topics")?);
    let mut sql = Sql::new(
        "SELECT l.key, l.name, d.id, d.name, l.topics, d.level,
                (SELECT COUNT(*) FROM requests q WHERE q.lecturer_id = l.id AND q.state IN ('assigned', 'accepted')),
                (SELECT COUNT(*) FROM session_lecturers sl JOIN sessions s ON s.id = sl.session_id
                  WHERE sl.lecturer_id = l.id AND s.status = 'planned' AND s.held_on >= ",
    );
    let t = sql.bind(today);
    sql.push(&format!("{t}) FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id JOIN divisions d ON d.id = g.division_id WHERE d.id IN ("));
    let ids: Vec<String> = f.groups.iter().map(|g| sql.bind(*g)).collect();
    sql.push(&ids.join(", "));
    sql.push(")");
    let mut out = Vec::new();
    let deepest = f.groups.len() as i64;
    for r in sql.run(conn)? {
        let topics: Vec<String> = r.text(4)?.split(';').filter(|t| !t.is_empty()).map(str::to_owned).collect();
        let topic_match = campaign.topics.iter().filter(|t| wanted.contains(t.slot) && topics.contains(&t.key)).count() as i64;
        out.push(Suggestion {
            key: r.text(0)?,
            name: r.text(1)?,
            group: r.int(2)?.to_string(),
            group_name: r.text(3)?,
            topic_match,
            load: r.int(6)? + r.int(7)?,
            distance: deepest - r.int(5)?.min(deepest),
        });
    }
    out.sort_by(|a, b| b.topic_match.cmp(&a.topic_match).then(a.load.cmp(&b.load)).then(a.distance.cmp(&b.distance)).then(a.key.cmp(&b.key)));
    Ok(out)
}

pub(crate) fn plan(conn: &mut dyn Conn, acc: &Account, campaign: &str, input: &PlanInput) -> Result<usize, Error> {
    if input.units.is_empty() {
        return Err(Error::field("units", "choose at least one unit"));
    }
    if input.to < input.from {
        return Err(Error::field("to", format!("{} is before {}", input.to, input.from)));
    }
    let campaign = find_campaign(conn, campaign)?;
    let (lecturer, group) = lecturer_group(conn, acc, &input.lecturer)?;
    let days = (input.to - input.from).num_days() + 1;
    for (i, code) in input.units.iter().enumerate() {
        let (unit, bucket, view) = find_unit(conn, acc, code).map_err(|e| match e {
            Error::NotFound { .. } => Error::field("units", format!("unknown unit {} (or outside your scope)", quote(code))),
            other => other,
        })?;
        if !chain(conn, view.division.parse().unwrap_or(0))?.contains(&group) {
            return Err(Error::field("lecturer", format!("{}'s lecture group does not serve {}", quote(&input.lecturer), quote(code))));
        }
        // Spread over the range, one unit a day in turn.
        let date = input.from + chrono::Days::new((i as i64 % days) as u64);
        let report = SessionInput {
            ext_id: None,
            unit: code.clone(),
            date,
            headcount: 0,
            topics: input.topics.clone(),
            audiences: Vec::new(),
            lecturers: vec![input.lecturer.clone()],
            format: SessionFormat::InPerson,
            status: SessionStatus::Planned,
            title: String::new(),
        };
        write_session(conn, &campaign, checked_row(&campaign, unit, &report, vec![lecturer])?, bucket, None)?;
    }
    Ok(input.units.len())
}

/// A lecturer the account may name (see `lecturers::nameable`), and its group's division.
fn lecturer_group(conn: &mut dyn Conn, acc: &Account, key: &str) -> Result<(i64, i64), Error> {
    let id = nameable(conn, acc, &[key.to_owned()], "lecturer")?[0];
    let rows = conn.query("SELECT g.division_id FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id WHERE l.id = $1", &[id.into()])?;
    let group = rows.first().ok_or_else(|| Error::Corrupt(format!("lecturer {id}")))?.int(0)?;
    Ok((id, group))
}

/// A unit's id and bucket, wherever it lies: for writes whose place the caller has
/// established (a request's own unit).
fn unit_place(conn: &mut dyn Conn, code: &str) -> Result<(i64, i64), Error> {
    let rows = conn.query("SELECT id, bucket_id FROM units WHERE code = $1", &[code.into()])?;
    let r = rows.first().ok_or_else(|| Error::Corrupt(format!("unit {code}")))?;
    Ok((r.int(0)?, r.int(1)?))
}

pub(crate) fn my_work(conn: &mut dyn Conn, acc: &Account, campaign: &str, today: NaiveDate) -> Result<MyWork, Error> {
    let Some((lecturer, _, _)) = own_lecturer(conn, acc)? else {
        return Err(Error::Forbidden("this account is not linked to a lecturer (grassroots user add --lecturer KEY)".into()));
    };
    let all = Paging { page: 1, per_page: 500 };
    let assignments = list(conn, acc, Reach::Own, &RequestFilter::default(), all)?
        .items
        .into_iter()
        .filter(|r| matches!(r.state, RequestState::Assigned | RequestState::Accepted))
        .collect();
    let claimable = list(conn, acc, Reach::Own, &RequestFilter { claimable: true, ..Default::default() }, all)?.items;
    let c = find_campaign(conn, campaign)?;
    let mut sql = Sql::new("SELECT s.id FROM sessions s JOIN session_lecturers sl ON sl.session_id = s.id WHERE s.status = 'planned'");
    let (l, cid, t) = (sql.bind(lecturer), sql.bind(c.id), sql.bind(today - chrono::Days::new(30)));
    sql.push(&format!(" AND sl.lecturer_id = {l} AND s.campaign_id = {cid} AND s.held_on >= {t} ORDER BY s.held_on, s.id"));
    // The lecturer's own planned sessions, wherever they are.
    let mut planned = Vec::new();
    for r in sql.run(conn)? {
        planned.push(sessions::by_id(conn, campaign, r.int(0)?)?);
    }
    Ok(MyWork { assignments, claimable, planned })
}

impl Scoped<'_> {
    /// A unit (its contact, or a coordinator for it) orders a lecture.
    pub fn request_lecture(&self, campaign: &str, input: &RequestInput, now: i64) -> Result<RequestView, Error> {
        self.write(Action::RequestCreate, |c, _| create(c, self.acc, campaign, input, now))
    }

    /// One request the account may see, with its history.
    pub fn request(&self, id: i64) -> Result<RequestView, Error> {
        self.read(Action::RequestRead, |c, reach| Ok(find(c, self.acc, reach, id)?.view))
    }

    /// Requests the account may see, newest change first.
    pub fn requests(&self, f: &RequestFilter, paging: Paging) -> Result<Page<RequestView>, Error> {
        self.read(Action::RequestList, |c, reach| list(c, self.acc, reach, f, paging))
    }

    /// Takes a step in a request the account sees, checked by `domain::request`.
    pub fn step_request(&self, id: i64, input: &StepInput, now: i64) -> Result<RequestView, Error> {
        let seen = self.acc.reach(Action::RequestRead);
        self.write(Action::step(input.step), |c, _| step(c, self.acc, seen, id, input, now))
    }

    /// Lecturers for a request, best first: by topic match, then load, then distance.
    pub fn suggest_lecturers(&self, id: i64, today: NaiveDate) -> Result<Vec<Suggestion>, Error> {
        let seen = self.acc.reach(Action::RequestRead);
        self.read(Action::RequestSuggest, |c, _| suggest(c, self.acc, seen, id, today))
    }

    /// Plans sessions for units in the account's scope without a request, spread over
    /// a date range.
    pub fn plan_sessions(&self, campaign: &str, input: &PlanInput) -> Result<usize, Error> {
        self.write(Action::SessionPlan, |c, _| plan(c, self.acc, campaign, input))
    }

    /// A lecturer's assignments, claimable requests and planned sessions.
    pub fn my_work(&self, campaign: &str, today: NaiveDate) -> Result<MyWork, Error> {
        self.read(Action::RequestWork, |c, _| my_work(c, self.acc, campaign, today))
    }
}
