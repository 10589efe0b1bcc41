//! Accounts of the web application, their API tokens and what sign-in cookies need. Passwords arrive here
//! already hashed (the web crate owns argon2): the store keeps what it is given.

use domain::access::check_scope;
use domain::{Action, DivisionCode, Party, Reach, Role, Scope, is_valid_key};

use crate::conn::{Conn, Record};
use crate::Error;

/// An account as the rest of the system sees it: who, in what role, confined to what.
/// Only the store makes one, from what it keeps: no other code can make up an
/// account (a "warrant" with a wider scope) to get past a check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// The name it signs in with.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// What it sees.
    pub scope: Scope,
    /// The lecturer it is, for a lecturer account linked with `user add --lecturer`.
    pub lecturer: Option<String>,
}

impl Account {
    /// Who the account is to the permission table.
    pub fn party(&self) -> Party {
        Party::Role(self.role)
    }

    /// How far the account reaches with `action`, by the permission table.
    pub fn reach(&self, action: Action) -> Reach {
        action.reach(self.party())
    }

    /// Whether the table lets the account take `action` at all: what pages ask before
    /// they offer a button.
    pub fn may(&self, action: Action) -> bool {
        action.allows(self.party())
    }

    /// The account's reach with `action`, or [`Error::Forbidden`] if the table gives
    /// it none.
    pub fn allow(&self, action: Action) -> Result<Reach, Error> {
        match self.reach(action) {
            Reach::No => Err(Error::Forbidden(format!("a {} may not {}", self.role, action.what()))),
            reach => Ok(reach),
        }
    }
}

/// A new account, before it is stored.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The name it signs in with.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The division it is confined to (coordinators, lecturers, supervisors).
    pub scope: Option<DivisionCode>,
    /// The unit of a unit contact.
    pub unit: Option<String>,
    /// The password, as an argon2 PHC string.
    pub password_hash: String,
}

const ACCOUNT_COLUMNS: &str = "u.id, u.name, u.role, u.scope_id, u.unit_code, u.lecturer_key";

fn account_of(r: &Record, first: usize) -> Result<Account, Error> {
    let role: Role = r.text(first + 2)?.parse().map_err(|e: domain::Error| Error::Corrupt(e.to_string()))?;
    let code = |v: i64| DivisionCode::from_value(v).map_err(|e| Error::Corrupt(e.to_string()));
    let scope = match (r.opt_int(first + 3)?, r.opt_text(first + 4)?) {
        (_, Some(unit)) => Scope::Unit { division: code(r.int(first + 3)?)?, unit },
        (Some(d), None) => Scope::Division { code: code(d)? },
        (None, None) => Scope::All,
    };
    Ok(Account { id: r.int(first)?, name: r.text(first + 1)?, role, scope, lecturer: r.opt_text(first + 5)? })
}

pub(crate) fn add(conn: &mut dyn Conn, new: &NewAccount, now: i64) -> Result<Account, Error> {
    if !is_valid_key(&new.name) {
        return Err(Error::field("name", domain::Error::MalformedKey(new.name.clone()).to_string()));
    }
    let scope = match (&new.scope, &new.unit) {
        (_, Some(unit)) => {
            let rows = conn.query("SELECT division_id FROM units WHERE code = $1", &[unit.as_str().into()])?;
            let row = rows.first().ok_or_else(|| Error::NotFound { what: "unit", key: unit.clone() })?;
            let division = DivisionCode::from_value(row.int(0)?).map_err(|e| Error::Corrupt(e.to_string()))?;
            Scope::Unit { division, unit: unit.clone() }
        }
        (Some(code), None) => {
            if conn.division(code.value())?.is_none() {
                return Err(Error::NotFound { what: "division", key: code.to_string() });
            }
            Scope::Division { code: *code }
        }
        (None, None) => Scope::All,
    };
    check_scope(new.role, &scope).map_err(|e| Error::field("scope", e.to_string()))?;
    if !conn.query("SELECT id FROM users WHERE name = $1", &[new.name.as_str().into()])?.is_empty() {
        return Err(Error::Conflict(format!("an account named {} exists already", domain::text::quote(&new.name))));
    }
    let scope_id = scope.root().map(|c| c.value());
    let unit = match &scope {
        Scope::Unit { unit, .. } => Some(unit.clone()),
        _ => None,
    };
    conn.execute(
        "INSERT INTO users (name, role, scope_id, unit_code, password, created) VALUES ($1, $2, $3, $4, $5, $6)",
        &[new.name.as_str().into(), new.role.as_str().into(), scope_id.into(), unit.into(), new.password_hash.as_str().into(), now.into()],
    )?;
    find(conn, &new.name).map(|(a, _)| a)
}

/// The account named `name` and its password hash.
pub(crate) fn find(conn: &mut dyn Conn, name: &str) -> Result<(Account, String), Error> {
    let rows = conn.query(&format!("SELECT {ACCOUNT_COLUMNS}, u.password FROM users u WHERE u.name = $1"), &[name.into()])?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "account", key: name.to_owned() })?;
    Ok((account_of(r, 0)?, r.text(6)?))
}

/// Links a lecturer account to the lecturer it is.
pub(crate) fn link_lecturer(conn: &mut dyn Conn, name: &str, key: &str) -> Result<Account, Error> {
    let (account, _) = find(conn, name)?;
    if account.role != Role::Lecturer {
        return Err(Error::field("lecturer", format!("{name} is a {}, not a lecturer", account.role)));
    }
    let rows = conn.query(
        "SELECT d.id, d.province_id, d.city_id, d.county_id FROM lecturers l JOIN lecture_groups g ON g.id = l.group_id
         JOIN divisions d ON d.id = g.division_id WHERE l.key = $1",
        &[key.into()],
    )?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "lecturer", key: key.to_owned() })?;
    let chain: Vec<i64> = (0..4).map(|i| r.opt_int(i)).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    if !account.scope.holds_division(&chain) {
        return Err(Error::field("lecturer", format!("lecturer {key}'s group lies outside {name}'s scope {}", account.scope)));
    }
    conn.execute("UPDATE users SET lecturer_key = $1 WHERE id = $2", &[key.into(), account.id.into()])?;
    find(conn, name).map(|(a, _)| a)
}

pub(crate) fn list(conn: &mut dyn Conn) -> Result<Vec<Account>, Error> {
    conn.query(&format!("SELECT {ACCOUNT_COLUMNS} FROM users u ORDER BY u.name"), &[])?.iter().map(|r| account_of(r, 0)).collect()
}

pub(crate) fn remove(conn: &mut dyn Conn, name: &str) -> Result<(), Error> {
    let (account, _) = find(conn, name)?;
    conn.execute("DELETE FROM auth_tokens WHERE user_id = $1", &[account.id.into()])?;
    conn.execute("DELETE FROM users WHERE id = $1", &[account.id.into()])?;
    Ok(())
}

/// Keeps an API token (by its hash); expired ones go whenever a new one is made.
pub(crate) fn put_api_token(conn: &mut dyn Conn, account: i64, hash: &str, now: i64, expires: Option<i64>) -> Result<(), Error> {
    conn.execute("DELETE FROM auth_tokens WHERE expires IS NOT NULL AND expires < $1", &[now.into()])?;
    conn.execute(
        "INSERT INTO auth_tokens (hash, user_id, kind, created, expires) VALUES ($1, $2, 'bearer', $3, $4)",
        &[hash.into(), account.into(), now.into(), expires.into()],
    )?;
    Ok(())
}

/// The account an unexpired API token (by its hash) stands for.
pub(crate) fn by_api_token(conn: &mut dyn Conn, hash: &str, now: i64) -> Result<Option<Account>, Error> {
    let rows = conn.query(
        &format!(
            "SELECT {ACCOUNT_COLUMNS} FROM auth_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.hash = $1 AND t.kind = 'bearer' AND (t.expires IS NULL OR t.expires >= $2)"
        ),
        &[hash.into(), now.into()],
    )?;
    rows.first().map(|r| account_of(r, 0)).transpose()
}

/// The secret named `name`, made from `fresh` the first time it is asked for.
pub(crate) fn secret(conn: &mut dyn Conn, name: &str, fresh: &str) -> Result<String, Error> {
    conn.execute("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", &[name.into(), fresh.into()])?;
    let rows = conn.query("SELECT value FROM secrets WHERE name = $1", &[name.into()])?;
    rows.first().ok_or_else(|| Error::Corrupt(format!("secret {name}")))?.text(0)
}

/// The account a signed cookie names, unless that cookie was signed out.
pub(crate) fn by_cookie(conn: &mut dyn Conn, id: i64, nonce: &str) -> Result<Option<Account>, Error> {
    let rows = conn.query(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1 AND NOT EXISTS (SELECT 1 FROM revoked_cookies r WHERE r.nonce = $2)"),
        &[id.into(), nonce.into()],
    )?;
    rows.first().map(|r| account_of(r, 0)).transpose()
}

/// Remembers a signed-out cookie until it would have expired anyway.
pub(crate) fn revoke_cookie(conn: &mut dyn Conn, nonce: &str, expires: i64, now: i64) -> Result<(), Error> {
    conn.execute("DELETE FROM revoked_cookies WHERE expires < $1", &[now.into()])?;
    conn.execute("INSERT INTO revoked_cookies (nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING", &[nonce.into(), expires.into()])?;
    Ok(())
}
