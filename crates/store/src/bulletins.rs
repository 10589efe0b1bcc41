//! Bulletins: drafts, publication, the public list, page and Atom feed.
//!
//! The campaign office and coordinators write bulletins: a title, a text, photos and
//! linked sessions. A bulletin belongs to its author's scope (`scope_id`, NULL for the
//! whole tree): its drafts are seen and changed by the office and by coordinators
//! whose scope holds it, and by no one else. Once published it is public: anyone,
//! signed in or not, reads it; a draft asked for by anyone else is "not found", exactly
//! as a bulletin that does not exist.

use chrono::NaiveDate;
use domain::text::{BODY, TITLE, quote};
use domain::{Action, Reach, Scope, SessionStatus};
use serde::Serialize;

use crate::accounts::Account;
use crate::conn::{Conn, Record};
use crate::coverage::find_campaign;
use crate::public::Public;
use crate::query::{Page, Paging, Sql, count_and_list, in_scope, paged, search};
use crate::scoped::Scoped;
use crate::{Error, valid};

/// Where a bulletin stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulletinStatus {
    /// Being written: seen by its authors only.
    Draft,
    /// Public.
    Published,
}

impl BulletinStatus {
    /// The status as stored and as URLs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            BulletinStatus::Draft => "draft",
            BulletinStatus::Published => "published",
        }
    }

    /// Parses `draft` or `published`.
    pub fn parse(s: &str) -> Option<BulletinStatus> {
        [BulletinStatus::Draft, BulletinStatus::Published].into_iter().find(|b| b.as_str() == s.trim())
    }
}

/// A bulletin as pages, the feed and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulletinView {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its text: paragraphs separated by blank lines, shown as text (never as HTML).
    pub body: String,
    /// The campaign it reports on (its key).
    pub campaign: Option<String>,
    /// Where it stands.
    pub status: BulletinStatus,
    /// The account that wrote it (only for those who may edit it).
    pub author: Option<String>,
    /// The division whose coordinators may edit it (none: the office's).
    pub scope: Option<String>,
    /// When it was written (Unix seconds).
    pub created: i64,
    /// When it last changed (Unix seconds).
    pub updated: i64,
    /// When it was published (Unix seconds).
    pub published: Option<i64>,
    /// The sessions it reports.
    pub sessions: Vec<LinkedSession>,
    /// Its photos' ids (`/photos/{id}`), in upload order.
    pub photos: Vec<i64>,
    /// Whether the viewer may edit and publish it.
    pub editable: bool,
}

/// A session a bulletin reports, as the public sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkedSession {
    /// The session's id.
    pub id: i64,
    /// Its campaign's key.
    pub campaign: String,
    /// Its unit's code.
    pub unit: String,
    /// Its unit's name.
    pub unit_name: String,
    /// The day it was held.
    pub date: NaiveDate,
    /// How many came.
    pub headcount: i64,
}

/// A bulletin as written.
#[derive(Debug, Clone, Default)]
pub struct BulletinInput {
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// The campaign it reports on (a key); its sessions must then be of it.
    pub campaign: Option<String>,
    /// Ids of held sessions the author sees.
    pub sessions: Vec<i64>,
    /// Ids of photos the author may use (its own uploads, or photos it sees).
    pub photos: Vec<i64>,
}

/// Which bulletins a list shows.
#[derive(Debug, Clone, Default)]
pub struct BulletinFilter {
    /// Only those with this status.
    pub status: Option<BulletinStatus>,
    /// Words in the title or text.
    pub q: String,
}

/// Appends "the bulletin lies in the account's scope" for bulletins `b` left-joined to
/// their scope's division as `sd`: the office's (NULL scope) only for the whole tree.
pub(crate) fn in_draft_scope(sql: &mut Sql, acc: &Account) {
    in_scope(sql, &acc.scope, "sd", None);
}

/// Appends what the viewer may read: published bulletins, and the drafts of its scope
/// if its reach is its scope (it writes bulletins).
fn readable(sql: &mut Sql, viewer: Option<&Account>) {
    match viewer.filter(|a| a.reach(Action::BulletinRead) == Reach::Scope) {
        Some(acc) => {
            sql.push(" AND (b.status = 'published' OR (1 = 1");
            in_draft_scope(sql, acc);
            sql.push("))");
        }
        None => {
            sql.push(" AND b.status = 'published'");
        }
    }
}

const FROM: &str = "bulletins b LEFT JOIN divisions sd ON sd.id = b.scope_id LEFT JOIN campaigns c ON c.id = b.campaign_id";
const COLUMNS: &str = "b.id, b.title, b.body, c.key, b.status, b.author, b.scope_id, b.created, b.updated, b.published,
    sd.province_id, sd.city_id, sd.county_id, sd.township_id";

/// The views of `rows` (in order) as `viewer` sees them, with sessions and photos.
fn views_of(conn: &mut dyn Conn, viewer: Option<&Account>, rows: &[Record]) -> Result<Vec<BulletinView>, Error> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let status = BulletinStatus::parse(&r.text(4)?).ok_or_else(|| Error::Corrupt("bulletin status".into()))?;
        let scope = r.opt_int(6)?;
        let editable = viewer.is_some_and(|acc| {
            acc.may(Action::BulletinUpdate)
                && match scope {
                    None => acc.scope == Scope::All,
                    Some(_) => {
                        let chain: Vec<i64> = (10..14).filter_map(|i| r.opt_int(i).ok().flatten()).collect();
                        acc.scope.holds_division(&chain)
                    }
                }
        });
        out.push(BulletinView {
            id: r.int(0)?,
            title: r.text(1)?,
            body: r.text(2)?,
            campaign: r.opt_text(3)?,
            status,
            author: if editable { Some(r.text(5)?) } else { None },
            scope: scope.map(|s| s.to_string()),
            created: r.int(7)?,
            updated: r.int(8)?,
            published: r.opt_int(9)?,
            sessions: Vec::new(),
            photos: Vec::new(),
            editable,
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let ids = |sql: &mut Sql, out: &[BulletinView]| {
        let ids: Vec<String> = out.iter().map(|b| sql.bind(b.id)).collect();
        sql.push(&ids.join(", "));
    };
    let mut sql = Sql::new(
        "SELECT bs.bulletin_id, s.id, c.key, u.code, u.name, s.held_on, s.headcount
         FROM bulletin_sessions bs JOIN sessions s ON s.id = bs.session_id JOIN campaigns c ON c.id = s.campaign_id
         JOIN units u ON u.id = s.unit_id WHERE bs.bulletin_id IN (",
    );
    ids(&mut sql, &out);
    sql.push(") ORDER BY s.held_on, s.id");
    for r in sql.run(conn)? {
        let id = r.int(0)?;
        let session = LinkedSession { id: r.int(1)?, campaign: r.text(2)?, unit: r.text(3)?, unit_name: r.text(4)?, date: r.date(5)?, headcount: r.int(6)? };
        if let Some(b) = out.iter_mut().find(|b| b.id == id) {
            b.sessions.push(session);
        }
    }
    let mut sql = Sql::new("SELECT bulletin_id, photo_id FROM bulletin_photos WHERE bulletin_id IN (");
    ids(&mut sql, &out);
    sql.push(") ORDER BY photo_id");
    for r in sql.run(conn)? {
        let id = r.int(0)?;
        if let Some(b) = out.iter_mut().find(|b| b.id == id) {
            b.photos.push(r.int(1)?);
        }
    }
    Ok(out)
}

/// A bulletin the viewer may read; with `edit`, one it may edit.
fn find(conn: &mut dyn Conn, viewer: Option<&Account>, id: i64, edit: bool) -> Result<BulletinView, Error> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {FROM} WHERE b.id = "));
    let p = sql.bind(id);
    sql.push(&p);
    match viewer {
        Some(acc) if edit => in_draft_scope(&mut sql, acc),
        _ => readable(&mut sql, viewer),
    }
    let rows = sql.run(conn)?;
    views_of(conn, viewer, &rows)?.pop().ok_or_else(|| Error::NotFound { what: "bulletin", key: id.to_string() })
}

pub(crate) fn list(conn: &mut dyn Conn, viewer: Option<&Account>, f: &BulletinFilter, paging: Paging) -> Result<Page<BulletinView>, Error> {
    let build = |sql: &mut Sql| {
        readable(sql, viewer);
        if let Some(status) = f.status {
            let p = sql.bind(status.as_str());
            sql.push(&format!(" AND b.status = {p}"));
        }
        search(sql, &f.q, &["b.title", "b.body"]);
    };
    let (count, list) = count_and_list(FROM, COLUMNS, build);
    let page = paged(conn, list, count, "COALESCE(b.published, b.updated) DESC, b.id DESC", paging, |r| Ok(r.clone()))?;
    let items = views_of(conn, viewer, &page.items)?;
    Ok(Page { items, total: page.total, page: page.page, per_page: page.per_page })
}

/// A bulletin as written, checked: ids to store.
struct Checked {
    campaign: Option<i64>,
    sessions: Vec<i64>,
    photos: Vec<i64>,
}

/// Checks a bulletin as written: its fields, and that every session and photo it names
/// is one the author may use.
fn check(conn: &mut dyn Conn, acc: &Account, input: &BulletinInput) -> Result<Checked, Error> {
    valid::required("title", &input.title, TITLE)?;
    valid::text("body", &input.body, BODY)?;
    let campaign = match input.campaign.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(key) => Some(find_campaign(conn, key).map_err(|e| match e {
            Error::NotFound { .. } => Error::field("campaign", format!("unknown campaign {}", quote(key))),
            other => other,
        })?),
    };
    let mut sessions = Vec::new();
    for id in &input.sessions {
        if sessions.contains(id) {
            continue;
        }
        let mut sql = Sql::new(
            "SELECT s.campaign_id, s.status, c.key FROM sessions s JOIN campaigns c ON c.id = s.campaign_id
             JOIN units u ON u.id = s.unit_id JOIN divisions d ON d.id = u.division_id WHERE s.id = ",
        );
        let p = sql.bind(*id);
        sql.push(&p);
        in_scope(&mut sql, &acc.scope, "d", Some("u"));
        let rows = sql.run(conn)?;
        let r = rows.first().ok_or_else(|| Error::field("sessions", format!("unknown session {id} (or outside your scope)")))?;
        if let Some(c) = &campaign
            && r.int(0)? != c.id
        {
            return Err(Error::field("sessions", format!("session {id} belongs to campaign {}, not to {}", r.text(2)?, c.key)));
        }
        let status = r.text(1)?;
        if status != SessionStatus::Held.as_str() {
            return Err(Error::field("sessions", format!("session {id} is {status}, not held: a bulletin reports held sessions")));
        }
        sessions.push(*id);
    }
    let photos = crate::photos::usable(conn, acc, &input.photos)?;
    Ok(Checked { campaign: campaign.map(|c| c.id), sessions, photos })
}

pub(crate) fn save(conn: &mut dyn Conn, acc: &Account, input: &BulletinInput, id: Option<i64>, now: i64) -> Result<BulletinView, Error> {
    if let Some(id) = id {
        find(conn, Some(acc), id, true)?;
    }
    let Checked { campaign, sessions, photos } = check(conn, acc, input)?;
    let (title, body) = (input.title.trim(), input.body.trim_end());
    let id = match id {
        Some(id) => {
            conn.execute(
                "UPDATE bulletins SET title = $1, body = $2, campaign_id = $3, updated = $4 WHERE id = $5",
                &[title.into(), body.into(), campaign.into(), now.into(), id.into()],
            )?;
            conn.execute("DELETE FROM bulletin_sessions WHERE bulletin_id = $1", &[id.into()])?;
            conn.execute("DELETE FROM bulletin_photos WHERE bulletin_id = $1", &[id.into()])?;
            id
        }
        None => {
            let scope = acc.scope.root().map(|c| c.value());
            let rows = conn.query(
                "INSERT INTO bulletins (campaign_id, scope_id, title, body, status, author, created, updated)
                 VALUES ($1, $2, $3, $4, 'draft', $5, $6, $6) RETURNING id",
                &[campaign.into(), scope.into(), title.into(), body.into(), acc.name.as_str().into(), now.into()],
            )?;
            rows.first().ok_or_else(|| Error::Corrupt("no id for the new bulletin".into()))?.int(0)?
        }
    };
    for s in sessions {
        conn.execute("INSERT INTO bulletin_sessions (bulletin_id, session_id) VALUES ($1, $2)", &[id.into(), s.into()])?;
    }
    for p in photos {
        conn.execute("INSERT INTO bulletin_photos (bulletin_id, photo_id) VALUES ($1, $2)", &[id.into(), p.into()])?;
    }
    find(conn, Some(acc), id, true)
}

pub(crate) fn publish(conn: &mut dyn Conn, acc: &Account, id: i64, now: i64) -> Result<BulletinView, Error> {
    let b = find(conn, Some(acc), id, true)?;
    if b.status == BulletinStatus::Published {
        // Published twice (a button pressed again) is published once, at the first time.
        return Ok(b);
    }
    if b.body.trim().is_empty() {
        return Err(Error::field("body", "write the text before publishing"));
    }
    conn.execute("UPDATE bulletins SET status = 'published', published = $1, updated = $1 WHERE id = $2", &[now.into(), id.into()])?;
    find(conn, Some(acc), id, true)
}

impl Scoped<'_> {
    /// Writes a new draft in the account's scope.
    pub fn add_bulletin(&self, input: &BulletinInput, now: i64) -> Result<BulletinView, Error> {
        self.write(Action::BulletinCreate, |c, _| save(c, self.acc, input, None, now))
    }

    /// Changes bulletin `id`, which the account may edit; its sessions and photos are
    /// replaced by those given.
    pub fn change_bulletin(&self, id: i64, input: &BulletinInput, now: i64) -> Result<BulletinView, Error> {
        self.write(Action::BulletinUpdate, |c, _| save(c, self.acc, input, Some(id), now))
    }

    /// Publishes a bulletin the account may edit: from now on it is public.
    pub fn publish_bulletin(&self, id: i64, now: i64) -> Result<BulletinView, Error> {
        self.write(Action::BulletinPublish, |c, _| publish(c, self.acc, id, now))
    }

    /// Bulletins the account may read, newest first.
    pub fn bulletins(&self, f: &BulletinFilter, paging: Paging) -> Result<Page<BulletinView>, Error> {
        self.read(Action::BulletinList, |c, _| list(c, Some(self.acc), f, paging))
    }

    /// A bulletin the account may read; a draft is not found for anyone but its authors.
    pub fn bulletin(&self, id: i64) -> Result<BulletinView, Error> {
        self.read(Action::BulletinRead, |c, _| find(c, Some(self.acc), id, false))
    }

    /// A bulletin the account may edit.
    pub fn bulletin_to_edit(&self, id: i64) -> Result<BulletinView, Error> {
        self.read(Action::BulletinUpdate, |c, _| find(c, Some(self.acc), id, true))
    }
}

impl Public<'_> {
    /// Published bulletins, newest first.
    pub fn bulletins(&self, f: &BulletinFilter, paging: Paging) -> Result<Page<BulletinView>, Error> {
        self.read(Action::BulletinList, |c| list(c, None, f, paging))
    }

    /// A published bulletin.
    pub fn bulletin(&self, id: i64) -> Result<BulletinView, Error> {
        self.read(Action::BulletinRead, |c| find(c, None, id, false))
    }
}
