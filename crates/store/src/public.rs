//! What anyone may read, signed in or not: [`Public`], the store as a visitor sees it
//! (published bulletins and their photos). Like the account-bound handle, each method
//! names its action in the permission table and gets the visitor's reach there.

use domain::{Action, Party, Reach};

use crate::conn::{Campaign, Conn};
use crate::{Error, Store};

/// The store as the public sees it. Made by [`Store::public`].
pub struct Public<'a> {
    store: &'a Store,
}

impl Store {
    /// The store as a visitor (no account) sees it.
    pub fn public(&self) -> Public<'_> {
        Public { store: self }
    }
}

impl Public<'_> {
    /// Checks that the table lets the public take `action`, then runs `f` in one read
    /// transaction.
    pub(crate) fn read<T>(&self, action: Action, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        if action.reach(Party::Public) == Reach::No {
            return Err(Error::Forbidden(format!("sign in to {}", action.what())));
        }
        self.store.read(f)
    }
}

impl Public<'_> {
    /// Every campaign (what published bulletins report on).
    pub fn campaigns(&self) -> Result<Vec<Campaign>, Error> {
        self.read(Action::CampaignList, |c| c.campaigns())
    }

    /// A campaign as its definition (its topics, deadline and target are public).
    pub fn campaign_spec(&self, key: &str) -> Result<domain::CampaignSpec, Error> {
        self.read(Action::CampaignRead, |c| crate::scoped::spec_of(&crate::coverage::find_campaign(c, key)?))
    }
}
