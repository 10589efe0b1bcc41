//! Live meetings as the store keeps them: title, time, campaign, agenda, the main venue
//! and the branch venues (each tied to a unit, each with its own join token), sign-in
//! headcounts, and the held sessions a closed meeting's attendance becomes.

use chrono::NaiveDate;
use domain::{Action, Level, Role, Scope, SessionFormat, SessionStatus, UnitKind};
use serde::{Deserialize, Serialize};

use crate::accounts::Account;
use crate::conn::{Conn, Record, UnitRow};
use crate::coverage::{self, find_campaign};
use crate::scoped::{self, SessionInput};
use crate::{Error, Store};

/// An item of a meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgendaItem {
    /// Who speaks.
    pub speaker: String,
    /// On what.
    pub title: String,
}

/// Which branch venues to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branches {
    /// These units.
    Units(Vec<String>),
    /// A meeting hall (an agency unit, made if missing) for every city under the division.
    EveryCity(i64),
    /// One for every county under the division.
    EveryCounty(i64),
}

/// A new meeting.
#[derive(Debug, Clone)]
pub struct MeetingInput {
    /// Its title.
    pub title: String,
    /// When it starts (as the campaign office writes it, e.g. `2022-11-04 09:00`).
    pub starts_at: String,
    /// The campaign whose coverage its attendance counts in.
    pub campaign: Option<String>,
    /// The agenda.
    pub agenda: Vec<AgendaItem>,
    /// The main venue's unit.
    pub main: String,
    /// The branch venues.
    pub branches: Branches,
}

/// A venue of a meeting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VenueView {
    /// Its id.
    pub id: i64,
    /// Its unit's code.
    pub unit: String,
    /// Its unit's name.
    pub name: String,
    /// Whether it is the main venue.
    pub main: bool,
    /// Its join token (shown to the campaign office only).
    pub token: String,
    /// The headcount it signed in with.
    pub headcount: i64,
    /// When it signed in (Unix seconds).
    pub signed_in: Option<i64>,
}

/// A meeting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// When it starts.
    pub starts_at: String,
    /// The campaign.
    pub campaign: Option<String>,
    /// The agenda.
    pub agenda: Vec<AgendaItem>,
    /// `open` or `closed`.
    pub state: String,
    /// The chair's token (shown to the campaign office only).
    pub chair_token: String,
    /// The venues, the main one first.
    pub venues: Vec<VenueView>,
}

/// What a join token opens.
#[derive(Debug, Clone)]
pub struct Pass {
    /// The meeting.
    pub meeting: MeetingView,
    /// The venue.
    pub venue: i64,
    /// Whether the token is the chair's.
    pub chair: bool,
}

fn meeting_of(conn: &mut dyn Conn, r: &Record) -> Result<MeetingView, Error> {
    let id = r.int(0)?;
    let agenda: Vec<AgendaItem> = serde_json::from_str(&r.text(4)?).map_err(|e| Error::Corrupt(e.to_string()))?;
    let venues = conn
        .query(
            "SELECT v.id, u.code, u.name, v.main, v.token, v.headcount, v.signed_in FROM venues v JOIN units u ON u.id = v.unit_id
             WHERE v.meeting_id = $1 ORDER BY v.main DESC, u.code",
            &[id.into()],
        )?
        .iter()
        .map(|v| {
            Ok(VenueView { id: v.int(0)?, unit: v.text(1)?, name: v.text(2)?, main: v.int(3)? != 0, token: v.text(4)?, headcount: v.int(5)?, signed_in: v.opt_int(6)? })
        })
        .collect::<Result<_, Error>>()?;
    Ok(MeetingView { id, title: r.text(1)?, starts_at: r.text(2)?, campaign: r.opt_text(3)?, agenda, state: r.text(5)?, chair_token: r.text(6)?, venues })
}

const SELECT: &str = "SELECT m.id, m.title, m.starts_at, c.key, m.agenda, m.state, m.chair_token FROM meetings m LEFT JOIN campaigns c ON c.id = m.campaign_id";

/// The unit id of `code`, which must exist.
fn unit_id(conn: &mut dyn Conn, code: &str, field: &str) -> Result<i64, Error> {
    let rows = conn.query("SELECT id FROM units WHERE code = $1", &[code.into()])?;
    rows.first().map(|r| r.int(0)).transpose()?.ok_or_else(|| Error::field(field, format!("unknown unit {code:?}")))
}

/// The meeting hall of a division: an agency unit `M{code}`, made if missing.
fn hall(conn: &mut dyn Conn, division: i64) -> Result<i64, Error> {
    let code = format!("M{division}");
    if let Some(r) = conn.query("SELECT id FROM units WHERE code = $1", &[code.as_str().into()])?.first() {
        return r.int(0);
    }
    let d = conn.division(division)?.ok_or_else(|| Error::Corrupt(format!("division {division}")))?;
    conn.put_units(&[UnitRow { id: 0, code: code.clone(), name: format!("{}会场", d.name), kind: UnitKind::Agency, division: d.id, bucket: d.bucket() }])?;
    unit_id(conn, &code, "main")
}

pub(crate) fn create(conn: &mut dyn Conn, acc: &Account, input: &MeetingInput, token: &mut dyn FnMut() -> String, now: i64) -> Result<MeetingView, Error> {
    acc.check(Action::EditCampaign)?;
    if input.title.trim().is_empty() {
        return Err(Error::field("title", "must not be empty"));
    }
    let campaign = match input.campaign.as_deref().filter(|c| !c.is_empty()) {
        Some(key) => Some(find_campaign(conn, key)?.id),
        None => None,
    };
    let main = unit_id(conn, input.main.trim(), "main")?;
    let mut branches = match &input.branches {
        Branches::Units(codes) => codes.iter().map(|c| unit_id(conn, c.trim(), "branches")).collect::<Result<Vec<_>, _>>()?,
        Branches::EveryCity(under) | Branches::EveryCounty(under) => {
            let level = if matches!(input.branches, Branches::EveryCity(_)) { Level::City } else { Level::County };
            let parent = conn.division(*under)?.ok_or_else(|| Error::field("branches", format!("unknown division {under}")))?;
            if parent.level >= level {
                return Err(Error::field("branches", format!("{} is not above {level} level", parent.name)));
            }
            let divisions = conn.divisions_at(level, Some((parent.level, parent.id)))?;
            let halls = divisions.iter().map(|d| hall(conn, d.id)).collect::<Result<Vec<_>, _>>()?;
            coverage::recount_units(conn)?;
            halls
        }
    };
    branches.retain(|b| *b != main);
    branches.sort_unstable();
    branches.dedup();
    if branches.is_empty() {
        return Err(Error::field("branches", "a meeting needs at least one branch venue"));
    }
    let agenda = serde_json::to_string(&input.agenda).map_err(|e| Error::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO meetings (title, starts_at, campaign_id, agenda, chair_token, state, created_by, created) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7)",
        &[input.title.trim().into(), input.starts_at.trim().into(), campaign.into(), agenda.into(), token().into(), acc.name.as_str().into(), now.into()],
    )?;
    let id = conn.query("SELECT MAX(id) FROM meetings", &[])?.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    for (unit, is_main) in std::iter::once((main, 1)).chain(branches.into_iter().map(|b| (b, 0))) {
        conn.execute("INSERT INTO venues (meeting_id, unit_id, main, token) VALUES ($1, $2, $3, $4)", &[id.into(), unit.into(), is_main.into(), token().into()])?;
    }
    get(conn, acc, id)
}

pub(crate) fn get(conn: &mut dyn Conn, acc: &Account, id: i64) -> Result<MeetingView, Error> {
    if !matches!(acc.role, Role::Office) && !matches!(acc.scope, Scope::All) {
        // Meetings are the campaign office's; venues reach theirs by their links.
        return Err(Error::NotFound { what: "meeting", key: id.to_string() });
    }
    let rows = conn.query(&format!("{SELECT} WHERE m.id = $1"), &[id.into()])?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "meeting", key: id.to_string() })?;
    meeting_of(conn, r)
}

pub(crate) fn list(conn: &mut dyn Conn, acc: &Account) -> Result<Vec<MeetingView>, Error> {
    acc.check(Action::EditCampaign)?;
    let rows = conn.query(&format!("{SELECT} ORDER BY m.id DESC"), &[])?;
    rows.iter().map(|r| meeting_of(conn, r)).collect()
}

pub(crate) fn pass(conn: &mut dyn Conn, token: &str) -> Result<Option<Pass>, Error> {
    let not = || Ok(None);
    if token.len() < 16 {
        return not();
    }
    let (meeting, venue, chair) = if let Some(r) = conn.query("SELECT id FROM meetings WHERE chair_token = $1 AND state = 'open'", &[token.into()])?.first() {
        let id = r.int(0)?;
        let main = conn.query("SELECT id FROM venues WHERE meeting_id = $1 AND main = 1", &[id.into()])?;
        (id, main.first().map(|m| m.int(0)).transpose()?.unwrap_or(0), true)
    } else if let Some(r) = conn
        .query("SELECT v.meeting_id, v.id FROM venues v JOIN meetings m ON m.id = v.meeting_id WHERE v.token = $1 AND m.state = 'open'", &[token.into()])?
        .first()
    {
        (r.int(0)?, r.int(1)?, false)
    } else {
        return not();
    };
    let rows = conn.query(&format!("{SELECT} WHERE m.id = $1"), &[meeting.into()])?;
    let Some(r) = rows.first() else { return not() };
    Ok(Some(Pass { meeting: meeting_of(conn, r)?, venue, chair }))
}

pub(crate) fn sign_in(conn: &mut dyn Conn, venue: i64, headcount: i64, now: i64) -> Result<(), Error> {
    if !(0..=100_000).contains(&headcount) {
        return Err(Error::field("headcount", format!("{headcount} is not a headcount")));
    }
    conn.execute("UPDATE venues SET headcount = $1, signed_in = $2 WHERE id = $3", &[headcount.into(), now.into(), venue.into()])?;
    Ok(())
}

/// Closes the meeting: every venue that signed in becomes a held session (format
/// broadcast) at its unit, for the meeting's campaign, dated `day`.
pub(crate) fn close(conn: &mut dyn Conn, id: i64, day: NaiveDate, now: i64) -> Result<usize, Error> {
    let rows = conn.query(&format!("{SELECT} WHERE m.id = $1 AND m.state = 'open'"), &[id.into()])?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "open meeting", key: id.to_string() })?;
    let m = meeting_of(conn, r)?;
    let mut made = 0;
    if let Some(key) = &m.campaign {
        let campaign = find_campaign(conn, key)?;
        let topics: Vec<String> = campaign.topics.iter().map(|t| t.key.clone()).collect();
        // The close is the chair's act on the office's meeting: it reports for every
        // venue, wherever it is.
        let warrant = Account { id: 0, name: "meeting".into(), role: Role::Office, scope: Scope::All, lecturer: None };
        for v in m.venues.iter().filter(|v| v.signed_in.is_some()) {
            let report = SessionInput {
                ext_id: Some(format!("meeting-{id}-venue-{}", v.id)),
                unit: v.unit.clone(),
                date: day,
                headcount: v.headcount,
                topics: topics.clone(),
                audiences: Vec::new(),
                lecturers: Vec::new(),
                format: SessionFormat::Broadcast,
                status: SessionStatus::Held,
                title: m.title.clone(),
            };
            let session = scoped::save_session(conn, &warrant, key, &report, None)?;
            conn.execute("UPDATE venues SET session_id = $1 WHERE id = $2", &[session.into(), v.id.into()])?;
            made += 1;
        }
    }
    conn.execute("UPDATE meetings SET state = 'closed', closed = $1 WHERE id = $2", &[now.into(), id.into()])?;
    Ok(made)
}

impl Store {
    /// The campaign office creates a meeting; `token` makes each join token.
    pub fn create_meeting(&self, acc: &Account, input: &MeetingInput, token: &mut dyn FnMut() -> String, now: i64) -> Result<MeetingView, Error> {
        self.write(|c| create(c, acc, input, token, now))
    }

    /// One meeting, with its venues and links (the campaign office's).
    pub fn meeting(&self, acc: &Account, id: i64) -> Result<MeetingView, Error> {
        self.read(|c| get(c, acc, id))
    }

    /// Every meeting, newest first.
    pub fn meetings(&self, acc: &Account) -> Result<Vec<MeetingView>, Error> {
        self.read(|c| list(c, acc))
    }

    /// What a join token opens, if it opens anything: only an open meeting's.
    pub fn meeting_pass(&self, token: &str) -> Result<Option<Pass>, Error> {
        self.read(|c| pass(c, token))
    }

    /// A branch venue signs in with its headcount.
    pub fn sign_in_venue(&self, venue: i64, headcount: i64, now: i64) -> Result<(), Error> {
        self.write(|c| sign_in(c, venue, headcount, now))
    }

    /// Closes a meeting; gives how many held sessions its attendance became.
    pub fn close_meeting(&self, id: i64, day: NaiveDate, now: i64) -> Result<usize, Error> {
        self.write(|c| close(c, id, day, now))
    }
}
