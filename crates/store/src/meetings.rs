//! Live meetings as the store keeps them: title, time, campaign, agenda, the main venue
//! and the branch venues (each with its own join token), sign-in headcounts, and the
//! held sessions a closed meeting's attendance becomes.
//!
//! A venue is a grassroots unit or a hall (an office's meeting room at province, city,
//! county or township level). A unit's sign-in becomes a held session there when the
//! meeting closes, as DESIGN.md says; a hall is not a unit, never enters any coverage
//! figure, and its attendance stays in the meeting's record. The office reaches
//! meetings through its account ([`Scoped`]); a venue reaches its own through its join
//! link ([`Link`]), a credential of its own with its own column in the permission table.

use chrono::NaiveDate;
use domain::text::{NAME, TITLE, quote};
use domain::{Action, DivisionCode, Level, Party, Reach, Scope, SessionFormat, SessionStatus};
use serde::{Deserialize, Serialize};

use crate::accounts::Account;
use crate::conn::{Conn, Record};
use crate::coverage::find_campaign;
use crate::scoped::Scoped;
use crate::sessions::{SessionInput, checked_row, write_session};
use crate::{Error, Store, valid};

/// The most items an agenda holds.
const MAX_AGENDA: usize = 100;

/// An item of a meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgendaItem {
    /// Who speaks.
    pub speaker: String,
    /// On what.
    pub title: String,
}

/// Where a venue is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A grassroots unit (its code): its sign-in counts as a held session there.
    Unit(String),
    /// The hall of a division (made if missing): its attendance counts nowhere.
    Hall(DivisionCode),
}

/// Which branch venues to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branches {
    /// These units.
    Units(Vec<String>),
    /// The hall of every city under the division.
    EveryCity(i64),
    /// The hall of every county under the division.
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
    /// The main venue.
    pub main: Place,
    /// The branch venues.
    pub branches: Branches,
}

/// A venue of a meeting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VenueView {
    /// Its id.
    pub id: i64,
    /// Its unit's code, for a unit's venue.
    pub unit: Option<String>,
    /// Its hall's division, for a hall.
    pub hall: Option<String>,
    /// The unit's or the hall's name.
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

impl Pass {
    /// Who the link's holder is to the permission table.
    pub fn party(&self) -> Party {
        if self.chair { Party::Chair } else { Party::Venue }
    }

    /// Whether the table lets the link's holder take `action` (on its own venue or
    /// meeting: the only ones a link opens).
    pub fn may(&self, action: Action) -> bool {
        action.allows(self.party())
    }
}

fn meeting_of(conn: &mut dyn Conn, r: &Record) -> Result<MeetingView, Error> {
    let id = r.int(0)?;
    let agenda: Vec<AgendaItem> = serde_json::from_str(&r.text(4)?).map_err(|e| Error::Corrupt(e.to_string()))?;
    let venues = conn
        .query(
            "SELECT v.id, u.code, h.division_id, COALESCE(u.name, h.name), v.main, v.token, v.headcount, v.signed_in
             FROM venues v LEFT JOIN units u ON u.id = v.unit_id LEFT JOIN halls h ON h.id = v.hall_id
             WHERE v.meeting_id = $1 ORDER BY v.main DESC, h.division_id, u.code",
            &[id.into()],
        )?
        .iter()
        .map(|v| {
            Ok(VenueView {
                id: v.int(0)?,
                unit: v.opt_text(1)?,
                hall: v.opt_int(2)?.map(|d| d.to_string()),
                name: v.text(3)?,
                main: v.int(4)? != 0,
                token: v.text(5)?,
                headcount: v.int(6)?,
                signed_in: v.opt_int(7)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(MeetingView { id, title: r.text(1)?, starts_at: r.text(2)?, campaign: r.opt_text(3)?, agenda, state: r.text(5)?, chair_token: r.text(6)?, venues })
}

const SELECT: &str = "SELECT m.id, m.title, m.starts_at, c.key, m.agenda, m.state, m.chair_token FROM meetings m LEFT JOIN campaigns c ON c.id = m.campaign_id";

/// A venue's place as stored: a unit's id or a hall's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum At {
    Unit(i64),
    Hall(i64),
}

/// The unit id of `code`, which must exist.
fn unit_id(conn: &mut dyn Conn, code: &str, field: &str) -> Result<i64, Error> {
    let rows = conn.query("SELECT id FROM units WHERE code = $1", &[code.into()])?;
    rows.first().map(|r| r.int(0)).transpose()?.ok_or_else(|| Error::field(field, format!("unknown unit {}", quote(code))))
}

/// The hall of a division, made if missing: "<division>会场", as offices name them.
fn hall(conn: &mut dyn Conn, division: i64, field: &str) -> Result<i64, Error> {
    if let Some(r) = conn.query("SELECT id FROM halls WHERE division_id = $1", &[division.into()])?.first() {
        return r.int(0);
    }
    let d = conn.division(division)?.ok_or_else(|| Error::field(field, format!("unknown division {division}")))?;
    if d.level == Level::Village {
        return Err(Error::field(field, format!("{} is a village: its venue is the unit itself, not a hall", d.name)));
    }
    let rows = conn.query("INSERT INTO halls (division_id, name) VALUES ($1, $2) RETURNING id", &[division.into(), format!("{}会场", d.name).into()])?;
    rows.first().ok_or_else(|| Error::Corrupt("no id for the new hall".into()))?.int(0)
}

fn place(conn: &mut dyn Conn, p: &Place, field: &str) -> Result<At, Error> {
    match p {
        Place::Unit(code) => unit_id(conn, code.trim(), field).map(At::Unit),
        Place::Hall(code) => hall(conn, code.value(), field).map(At::Hall),
    }
}

pub(crate) fn create(conn: &mut dyn Conn, acc: &Account, input: &MeetingInput, token: &mut dyn FnMut() -> String, now: i64) -> Result<MeetingView, Error> {
    let title = valid::required("title", &input.title, TITLE)?;
    let starts_at = valid::text("starts_at", &input.starts_at, NAME)?;
    if input.agenda.len() > MAX_AGENDA {
        return Err(Error::field("agenda", format!("at most {MAX_AGENDA} items")));
    }
    for item in &input.agenda {
        valid::text("agenda", &item.speaker, NAME)?;
        valid::text("agenda", &item.title, TITLE)?;
    }
    let campaign = match input.campaign.as_deref().filter(|c| !c.is_empty()) {
        Some(key) => Some(find_campaign(conn, key)?.id),
        None => None,
    };
    let main = place(conn, &input.main, "main")?;
    let mut branches = match &input.branches {
        Branches::Units(codes) => codes.iter().map(|c| unit_id(conn, c.trim(), "branches").map(At::Unit)).collect::<Result<Vec<_>, _>>()?,
        Branches::EveryCity(under) | Branches::EveryCounty(under) => {
            let level = if matches!(input.branches, Branches::EveryCity(_)) { Level::City } else { Level::County };
            let parent = conn.division(*under)?.ok_or_else(|| Error::field("branches", format!("unknown division {under}")))?;
            if parent.level >= level {
                return Err(Error::field("branches", format!("{} is not above {level} level", parent.name)));
            }
            let divisions = conn.divisions_at(level, Some((parent.level, parent.id)))?;
            divisions.iter().map(|d| hall(conn, d.id, "branches").map(At::Hall)).collect::<Result<Vec<_>, _>>()?
        }
    };
    branches.retain(|b| *b != main);
    branches.sort_unstable();
    branches.dedup();
    if branches.is_empty() {
        return Err(Error::field("branches", "a meeting needs at least one branch venue"));
    }
    let agenda = serde_json::to_string(&input.agenda).map_err(|e| Error::Corrupt(e.to_string()))?;
    let rows = conn.query(
        "INSERT INTO meetings (title, starts_at, campaign_id, agenda, chair_token, state, created_by, created)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7) RETURNING id",
        &[title.into(), starts_at.into(), campaign.into(), agenda.into(), token().into(), acc.name.as_str().into(), now.into()],
    )?;
    let id = rows.first().ok_or_else(|| Error::Corrupt("no id for the new meeting".into()))?.int(0)?;
    for (at, is_main) in std::iter::once((main, 1)).chain(branches.into_iter().map(|b| (b, 0))) {
        let (unit, hall) = match at {
            At::Unit(u) => (Some(u), None),
            At::Hall(h) => (None, Some(h)),
        };
        conn.execute(
            "INSERT INTO venues (meeting_id, unit_id, hall_id, main, token) VALUES ($1, $2, $3, $4, $5)",
            &[id.into(), unit.into(), hall.into(), is_main.into(), token().into()],
        )?;
    }
    get(conn, acc, id)
}

/// Meetings are the campaign office's: they lie in the scope of the whole tree only.
fn holds_meetings(acc: &Account) -> bool {
    acc.scope == Scope::All
}

pub(crate) fn get(conn: &mut dyn Conn, acc: &Account, id: i64) -> Result<MeetingView, Error> {
    let not_found = || Error::NotFound { what: "meeting", key: id.to_string() };
    if !holds_meetings(acc) {
        return Err(not_found());
    }
    let rows = conn.query(&format!("{SELECT} WHERE m.id = $1"), &[id.into()])?;
    let r = rows.first().ok_or_else(not_found)?;
    meeting_of(conn, r)
}

pub(crate) fn list(conn: &mut dyn Conn, acc: &Account) -> Result<Vec<MeetingView>, Error> {
    if !holds_meetings(acc) {
        return Ok(Vec::new());
    }
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

/// Closes the meeting: every unit's venue that signed in becomes a held session (format
/// broadcast) at its unit, for the meeting's campaign, dated `day`; a hall's attendance
/// stays in the meeting's record. Takes no account: the office's account or the chair's
/// link has been checked by the caller.
pub(crate) fn close(conn: &mut dyn Conn, id: i64, day: NaiveDate, now: i64) -> Result<usize, Error> {
    let rows = conn.query(&format!("{SELECT} WHERE m.id = $1 AND m.state = 'open'"), &[id.into()])?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "open meeting", key: id.to_string() })?;
    let m = meeting_of(conn, r)?;
    let mut made = 0;
    if let Some(key) = &m.campaign {
        let campaign = find_campaign(conn, key)?;
        let topics: Vec<String> = campaign.topics.iter().map(|t| t.key.clone()).collect();
        for v in m.venues.iter().filter(|v| v.signed_in.is_some()) {
            let Some(unit) = &v.unit else { continue };
            let report = SessionInput {
                ext_id: Some(format!("meeting-{id}-venue-{}", v.id)),
                unit: unit.clone(),
                date: day,
                headcount: v.headcount,
                topics: topics.clone(),
                audiences: Vec::new(),
                lecturers: Vec::new(),
                format: SessionFormat::Broadcast,
                status: SessionStatus::Held,
                title: m.title.clone(),
            };
            let place = conn.query("SELECT id, bucket_id FROM units WHERE code = $1", &[unit.as_str().into()])?;
            let p = place.first().ok_or_else(|| Error::Corrupt(format!("unit {unit}")))?;
            let (unit_id, bucket) = (p.int(0)?, p.int(1)?);
            let row = checked_row(&campaign, unit_id, &report, Vec::new())?;
            let earlier = conn.sessions_by_ext(campaign.id, &[report.ext_id.as_deref().unwrap_or_default()])?.first().map(|s| (s.id, s.bucket));
            let session = write_session(conn, &campaign, row, bucket, earlier)?;
            conn.execute("UPDATE venues SET session_id = $1 WHERE id = $2", &[session.into(), v.id.into()])?;
            made += 1;
        }
    }
    conn.execute("UPDATE meetings SET state = 'closed', closed = $1 WHERE id = $2", &[now.into(), id.into()])?;
    Ok(made)
}

impl Scoped<'_> {
    /// The campaign office creates a meeting; `token` makes each join token.
    pub fn create_meeting(&self, input: &MeetingInput, token: &mut dyn FnMut() -> String, now: i64) -> Result<MeetingView, Error> {
        self.write(Action::MeetingCreate, |c, _| create(c, self.acc, input, token, now))
    }

    /// One meeting, with its venues and links (the campaign office's).
    pub fn meeting(&self, id: i64) -> Result<MeetingView, Error> {
        self.read(Action::MeetingRead, |c, _| get(c, self.acc, id))
    }

    /// Every meeting, newest first.
    pub fn meetings(&self) -> Result<Vec<MeetingView>, Error> {
        self.read(Action::MeetingList, |c, _| list(c, self.acc))
    }

    /// Closes a meeting the account sees; gives how many held sessions its units'
    /// attendance became.
    pub fn close_meeting(&self, id: i64, day: NaiveDate, now: i64) -> Result<usize, Error> {
        self.write(Action::MeetingClose, |c, _| {
            get(c, self.acc, id)?;
            close(c, id, day, now)
        })
    }
}

/// The store as a meeting's join link opens it: one venue of one open meeting (the
/// chair's link: the main venue and the meeting itself). Made by [`Store::meeting_link`].
pub struct Link<'a> {
    store: &'a Store,
    pass: Pass,
}

impl Link<'_> {
    /// What the link opens.
    pub fn pass(&self) -> &Pass {
        &self.pass
    }

    fn allow(&self, action: Action) -> Result<(), Error> {
        match action.reach(self.pass.party()) {
            Reach::No | Reach::Public => Err(Error::Forbidden(format!("a {} may not {}", self.pass.party(), action.what()))),
            Reach::Own | Reach::Scope => Ok(()),
        }
    }

    /// Signs the link's own venue in with its headcount.
    pub fn sign_in(&self, headcount: i64, now: i64) -> Result<(), Error> {
        self.allow(Action::VenueSignIn)?;
        let venue = self.pass.venue;
        self.store.write(|c| sign_in(c, venue, headcount, now))
    }

    /// Closes the link's own meeting (the chair's link only); gives how many held
    /// sessions its units' attendance became.
    pub fn close(&self, day: NaiveDate, now: i64) -> Result<usize, Error> {
        self.allow(Action::MeetingClose)?;
        let id = self.pass.meeting.id;
        self.store.write(|c| close(c, id, day, now))
    }
}

impl Store {
    /// What a join token opens, if it opens anything: only an open meeting's venue.
    pub fn meeting_link(&self, token: &str) -> Result<Option<Link<'_>>, Error> {
        Ok(self.read(|c| pass(c, token))?.map(|pass| Link { store: self, pass }))
    }
}

#[cfg(test)]
mod tests {
    //! The migration that turned meeting halls stored as units into halls, run on a
    //! database made at the version before it, on both backends.

    use std::io::Write;

    use crate::conn::Conn;
    use crate::{CoverageQuery, Quiet, Store, campaigns, coverage, import};

    const DIVISIONS: &str = "code,name,parent
23,黑龙江省,
2301,哈尔滨市,23
230102,道里区,2301
230102001,兆麟街道,230102
230102001001,兆麟社区,230102001
230102001002,安升社区,230102001
2302,齐齐哈尔市,23
230202,龙沙区,2302
230202001,五龙街道,230202
230202001001,五龙社区,230202001
";

    const CAMPAIGN: &str = "key = \"c1\"\ntitle = \"t\"\nstart = 2022-11-01\ndeadline = 2022-12-31\ntarget = 1.0\n[[topics]]\nkey = \"theme\"\ntitle = \"主题\"\n";

    /// The world as earlier versions left it: a meeting whose city venues were agency
    /// units `M<city>`, one of which signed in (its session counted), a village that
    /// joined too, and a lecture at another village.
    fn old_world(c: &mut dyn Conn, dir: &std::path::Path) {
        let file = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::File::create(&p).and_then(|mut f| f.write_all(text.as_bytes())).expect("temp dir is writable");
            p
        };
        c.begin(true).unwrap();
        import::divisions::import(c, &file("d.csv", DIVISIONS), &Quiet).unwrap();
        campaigns::apply(c, &domain::CampaignSpec::from_toml(CAMPAIGN).unwrap()).unwrap();
        import::units::import(c, &file("u.csv", "code,name,kind,division\nM2301,哈尔滨市会场,agency,2301\nM2302,齐齐哈尔市会场,agency,2302\n"), &Quiet, None).unwrap();
        let campaign = coverage::find_campaign(c, "c1").unwrap();
        let sessions = "id,unit,date,topics,headcount\nmeeting-1-venue-2,M2301,2022-11-04,theme,40\nmeeting-1-venue-4,230102001002,2022-11-04,theme,25\ns1,230202001001,2022-11-10,theme,30\n";
        import::sessions::import(c, &campaign, &file("s.csv", sessions), &Quiet, None).unwrap();
        c.execute("INSERT INTO meetings (id, title, starts_at, campaign_id, chair_token, state, created_by, created, closed) VALUES (1, '动员会', '', $1, 'chair-token-0000000', 'closed', 'office', 0, 1)", &[campaign.id.into()]).unwrap();
        let unit = |c: &mut dyn Conn, code: &str| c.query("SELECT id FROM units WHERE code = $1", &[code.into()]).unwrap()[0].int(0).unwrap();
        let session = |c: &mut dyn Conn, ext: &str| c.query("SELECT id FROM sessions WHERE ext_id = $1", &[ext.into()]).unwrap()[0].int(0).unwrap();
        let (m2301, m2302, village) = (unit(c, "M2301"), unit(c, "M2302"), unit(c, "230102001002"));
        let (s_hall, s_village) = (session(c, "meeting-1-venue-2"), session(c, "meeting-1-venue-4"));
        for (id, unit, main, token, headcount, signed, session) in [
            (1, m2301, 1, "venue-token-1", 0, None, None),
            (2, m2301, 0, "venue-token-2", 40, Some(100), Some(s_hall)),
            (3, m2302, 0, "venue-token-3", 0, None, None),
            (4, village, 0, "venue-token-4", 25, Some(100), Some(s_village)),
        ] {
            c.execute(
                "INSERT INTO venues (id, meeting_id, unit_id, main, token, headcount, signed_in, session_id) VALUES ($1, 1, $2, $3, $4, $5, $6, $7)",
                &[(id as i64).into(), unit.into(), (main as i64).into(), token.into(), (headcount as i64).into(), signed.map(|s: i64| s).into(), session.into()],
            )
            .unwrap();
        }
        c.commit().unwrap();
    }

    fn check(store: &Store) {
        store
            .read(|c| {
                let halls = c.query("SELECT h.division_id, h.name FROM halls h ORDER BY h.division_id", &[])?;
                assert_eq!(halls.len(), 2, "both city halls became halls");
                assert_eq!(halls[0].text(1)?, "哈尔滨市会场");
                let venues = c.query("SELECT v.id, v.unit_id, h.division_id, v.headcount, v.signed_in, v.session_id FROM venues v LEFT JOIN halls h ON h.id = v.hall_id ORDER BY v.id", &[])?;
                // (a unit's venue, its hall's division, headcount, sign-in, a session)
                type Row = (bool, Option<i64>, i64, Option<i64>, bool);
                let row = |i: usize| -> Result<Row, crate::Error> {
                    let r = &venues[i];
                    Ok((r.opt_int(1)?.is_some(), r.opt_int(2)?, r.int(3)?, r.opt_int(4)?, r.opt_int(5)?.is_some()))
                };
                // The hall's attendance is kept in the meeting's record; its session is gone.
                assert_eq!(row(1)?, (false, Some(2301), 40, Some(100), false));
                assert_eq!(row(2)?, (false, Some(2302), 0, None, false));
                // A village that joined stays a unit's venue, its session kept.
                assert_eq!(row(3)?, (true, None, 25, Some(100), true));
                assert!(c.query("SELECT id FROM units WHERE code LIKE 'M%'", &[])?.is_empty(), "no hall is a unit any more");
                assert!(c.query("SELECT id FROM upkeep", &[]).map(|r| r.is_empty()).unwrap_or(true));
                Ok(())
            })
            .unwrap();
        let q = CoverageQuery { campaign: "c1".into(), level: Some(domain::Level::City), under: None, as_of: "2022-12-31".parse().unwrap() };
        let rows = store.coverage(&q).unwrap();
        let harbin = rows.iter().find(|r| r.code == "2301").unwrap();
        let qiqihar = rows.iter().find(|r| r.code == "2302").unwrap();
        // Harbin: two villages, one covered by joining the meeting; no hall counted.
        assert_eq!((harbin.units, harbin.covered, harbin.sessions, harbin.audience), (2, 1, 1, 25));
        assert_eq!((qiqihar.units, qiqihar.covered, qiqihar.sessions, qiqihar.audience), (1, 1, 1, 30));
    }

    #[test]
    fn halls_stored_as_units_become_halls_and_leave_coverage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut c = crate::sqlite::at_version(&path, 6).unwrap();
            old_world(&mut *c, dir.path());
        }
        check(&Store::open(&format!("sqlite://{}", path.display())).unwrap());

        match std::env::var("GRASSROOTS_TEST_POSTGRES") {
            Err(_) if std::env::var_os("CI").is_some() => panic!("GRASSROOTS_TEST_POSTGRES must be set in CI: nothing is skipped there"),
            Err(_) => eprintln!("skipping the PostgreSQL run: GRASSROOTS_TEST_POSTGRES is not set"),
            Ok(admin) => {
                let db = format!("grassroots_halls_{}_{}", std::process::id(), fastrand::u32(..));
                let mut a = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
                a.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
                let base = admin.split('?').next().unwrap_or(&admin);
                let url = format!("{}/{db}", base.rsplit_once('/').map_or(base, |(b, _)| b));
                let result = std::panic::catch_unwind(|| {
                    {
                        let mut c = crate::postgres::at_version(&url, 8).unwrap();
                        old_world(&mut *c, dir.path());
                    }
                    check(&Store::open(&url).unwrap());
                });
                let _ = a.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
                if let Err(e) = result {
                    std::panic::resume_unwind(e);
                }
            }
        }
    }
}
