//! Sign-in cookies signed by the server instead of stored by it.
//!
//! A cookie names its account, when it was issued and a random nonce, and carries an
//! HMAC-SHA-256 of those under a key the store keeps (made once, on first use).
//! Signing in therefore writes nothing: it works while a long import holds the
//! database's write lock. A cookie is good for [`COOKIE_LIFE`] from its issue, for as
//! long as its account exists, unless it was signed out (its nonce is then kept, until
//! it would have expired anyway). The form token of a cookie is derived from it under
//! the same key, so it needs no storage either.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How long a browser stays signed in.
pub(crate) const COOKIE_LIFE: Duration = Duration::from_secs(12 * 3600);

/// The version tag of the cookie format, signed with it.
const FORMAT: &str = "v1";

/// The key cookies are signed with.
#[derive(Clone)]
pub(crate) struct Key(Vec<u8>);

/// What a genuine, unexpired cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cookie {
    /// The account's id.
    pub account: i64,
    /// When it was issued (Unix seconds).
    pub issued: i64,
    /// Its nonce: what signing out revokes.
    pub nonce: String,
}

impl Cookie {
    /// When it stops being good (Unix seconds).
    pub(crate) fn expires(&self) -> i64 {
        self.issued + COOKIE_LIFE.as_secs() as i64
    }
}

impl Key {
    /// A key from its stored hex form.
    pub(crate) fn from_hex(hex_key: &str) -> Option<Key> {
        hex::decode(hex_key.trim()).ok().filter(|k| k.len() >= 32).map(Key)
    }

    fn mac(&self, text: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        mac
    }

    /// The cookie value for `account`, issued at `issued`, with `nonce`.
    pub(crate) fn sign(&self, account: i64, issued: i64, nonce: &str) -> String {
        let body = format!("{FORMAT}.{account}.{issued}.{nonce}");
        let tag = hex::encode(self.mac(&body).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// What `value` says, if this key signed it and it has not expired at `now`.
    pub(crate) fn open(&self, value: &str, now: i64) -> Option<Cookie> {
        let (body, tag) = value.rsplit_once('.')?;
        let tag = hex::decode(tag).ok()?;
        // Compared in constant time by the MAC itself.
        self.mac(body).verify_slice(&tag).ok()?;
        let mut parts = body.split('.');
        if parts.next()? != FORMAT {
            return None;
        }
        let cookie = Cookie { account: parts.next()?.parse().ok()?, issued: parts.next()?.parse().ok()?, nonce: parts.next()?.to_owned() };
        (parts.next().is_none() && cookie.issued <= now && now < cookie.expires()).then_some(cookie)
    }

    /// The form token of the cookie `value`.
    pub(crate) fn form_token(&self, value: &str) -> String {
        hex::encode(self.mac(&format!("form.{value}")).finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Key {
        Key::from_hex(&hex::encode([byte; 32])).unwrap()
    }

    #[test]
    fn a_signed_cookie_opens_until_it_expires_and_only_with_its_key() {
        let k = key(7);
        let v = k.sign(42, 1_000, "abc");
        assert_eq!(k.open(&v, 1_000), Some(Cookie { account: 42, issued: 1_000, nonce: "abc".into() }));
        assert_eq!(k.open(&v, 1_000 + COOKIE_LIFE.as_secs() as i64), None, "expired");
        assert_eq!(k.open(&v, 999), None, "issued in the future");
        assert_eq!(key(8).open(&v, 1_000), None, "another key");
    }

    #[test]
    fn a_changed_cookie_does_not_open() {
        let k = key(7);
        let v = k.sign(42, 1_000, "abc");
        for forged in [v.replace(".42.", ".43."), v.replace(".1000.", ".999999999."), v.replace("abc", "abd"), format!("{v}0"), v[..v.len() - 2].to_owned(), "v1.42.1000.abc".into(), "".into()] {
            assert_eq!(k.open(&forged, 1_000), None, "{forged}");
        }
    }

    #[test]
    fn form_tokens_are_per_cookie() {
        let k = key(7);
        let (a, b) = (k.sign(1, 1_000, "n1"), k.sign(1, 1_000, "n2"));
        assert_eq!(k.form_token(&a), k.form_token(&a));
        assert_ne!(k.form_token(&a), k.form_token(&b));
        assert_ne!(key(8).form_token(&a), k.form_token(&a));
        assert!(Key::from_hex("00ff").is_none(), "a key too short is refused");
    }
}
