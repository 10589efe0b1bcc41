//! The store as one signed-in account sees it: [`Scoped`], the only way the web
//! application reaches the campaign's data on an account's behalf.
//!
//! Every method of the handle names its action in the permission table
//! (`domain::access`) and checks it once, before any query: a role the table refuses
//! gets `Error::Forbidden`. Inside, every query is confined to the account's scope
//! (or to its own objects, where that is all the table gives it), both where a write
//! goes and where the stored object it touches lies now. Something outside the scope
//! is reported exactly as something that does not exist. Each feature's module adds
//! its methods in its own `impl Scoped` block; writes that must happen whoever asks
//! (a closed meeting's attendance, a request's report) are internal functions that
//! take no account at all.

use std::collections::BTreeSet;
use std::path::Path;

use domain::{Action, Reach, Scope};

use crate::accounts::Account;
use crate::conn::{Campaign, CampaignEntry, Conn};
use crate::coverage::find_campaign;
use crate::import::{self, Confine, ImportSummary};
use crate::lecturers::groups_above;
use crate::query::{Sql, in_scope};
use crate::{Applied, Error, ImportKind, Quiet, Store};

/// The store seen by one account (see the module's text). Made by
/// [`Store::as_account`]; cheap, and meant to live for one request.
pub struct Scoped<'a> {
    pub(crate) store: &'a Store,
    pub(crate) acc: &'a Account,
}

impl Store {
    /// The store as `acc` sees it: everything an account does goes through here.
    pub fn as_account<'a>(&'a self, acc: &'a Account) -> Scoped<'a> {
        Scoped { store: self, acc }
    }
}

impl<'a> Scoped<'a> {
    /// The account this handle acts for.
    pub fn account(&self) -> &Account {
        self.acc
    }

    /// Checks `action` in the table, then runs `f` in one read transaction with the
    /// account's reach.
    pub(crate) fn read<T>(&self, action: Action, f: impl FnOnce(&mut dyn Conn, Reach) -> Result<T, Error>) -> Result<T, Error> {
        let reach = self.acc.allow(action)?;
        self.store.read(|c| f(c, reach))
    }

    /// Checks `action` in the table, then runs `f` in one write transaction.
    pub(crate) fn write<T>(&self, action: Action, f: impl FnOnce(&mut dyn Conn, Reach) -> Result<T, Error>) -> Result<T, Error> {
        let reach = self.acc.allow(action)?;
        self.store.write(|c| f(c, reach))
    }

    /// An import from the browser or the API: the command line's formats and checks,
    /// confined row by row to the account's scope, on both ends: where a row puts
    /// something, and where the stored object it matches lies now. A row matching an
    /// object outside the scope is refused with no word on what or where that is.
    pub fn import(&self, kind: ImportKind, campaign: Option<&str>, path: &Path) -> Result<ImportSummary, Error> {
        self.acc.allow(kind.action())?;
        let quiet = &Quiet;
        match kind {
            ImportKind::Divisions => self.store.import_divisions(path, quiet),
            ImportKind::Units => self.store.import(|c| {
                let confine = confine(c, &self.acc.scope)?;
                import::units::import(c, path, quiet, confine.as_ref())
            }),
            ImportKind::Lecturers => self.store.import(|c| {
                let confine = confine(c, &self.acc.scope)?;
                import::lecturers::import(c, path, quiet, confine.as_ref())
            }),
            ImportKind::Sessions => self.store.import(|c| {
                let confine = confine(c, &self.acc.scope)?;
                let key = campaign.ok_or_else(|| Error::field("campaign", "name the campaign the sessions belong to"))?;
                let campaign = find_campaign(c, key)?;
                import::sessions::import(c, &campaign, path, quiet, confine.as_ref())
            }),
        }
    }

    /// Every campaign.
    pub fn campaigns(&self) -> Result<Vec<Campaign>, Error> {
        self.read(Action::CampaignList, |c, _| c.campaigns())
    }

    /// One campaign.
    pub fn campaign(&self, key: &str) -> Result<Campaign, Error> {
        self.read(Action::CampaignRead, |c, _| find_campaign(c, key))
    }

    /// A campaign as a definition, to edit.
    pub fn campaign_spec(&self, key: &str) -> Result<domain::CampaignSpec, Error> {
        self.read(Action::CampaignRead, |c, _| spec_of(&find_campaign(c, key)?))
    }

    /// Changes a stored campaign's settings (the campaign office's).
    pub fn change_campaign(&self, spec: &domain::CampaignSpec) -> Result<(Campaign, Applied), Error> {
        self.write(Action::CampaignUpdate, |c, _| {
            find_campaign(c, &spec.key)?;
            crate::campaigns::apply(c, spec)
        })
    }
}

/// Where an account's import may reach: None for the whole tree.
fn confine(conn: &mut dyn Conn, scope: &Scope) -> Result<Option<Confine>, Error> {
    if *scope == Scope::All {
        return Ok(None);
    }
    let mut sql = Sql::new("SELECT d.id FROM divisions d WHERE 1 = 1");
    in_scope(&mut sql, scope, "d", None);
    let divisions: BTreeSet<i64> = sql.run(conn)?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
    let above = groups_above(conn, scope)?.unwrap_or_default();
    Ok(Some(Confine { divisions, above }))
}

/// The stored campaign as a campaign definition, for editing.
pub(crate) fn spec_of(c: &Campaign) -> Result<domain::CampaignSpec, Error> {
    let table = |s: &str| s.parse::<toml::Table>().map_err(|e| Error::Corrupt(e.to_string()));
    let entries = |list: &[CampaignEntry]| -> Result<Vec<domain::Entry>, Error> {
        list.iter().map(|e| Ok(domain::Entry { key: e.key.clone(), title: e.title.clone(), extra: table(&e.extra)? })).collect()
    };
    Ok(domain::CampaignSpec {
        key: c.key.clone(),
        title: c.title.clone(),
        start: c.start,
        deadline: c.deadline,
        target: c.target,
        topics: entries(&c.topics)?,
        audiences: entries(&c.audiences)?,
        extra: table(&c.extra)?,
    })
}
