//! Photos: checked by content, kept in the database, attached to sessions and bulletins.
//!
//! A photo is checked by what its bytes are (JPEG, PNG or WebP, by their signatures and
//! first header), never by the name or type an upload claims, and refused over
//! [`MAX_PHOTO_BYTES`]. It is kept in the database, so that a backup of the database is
//! a backup of everything. Who may see one follows from where it is attached: to a
//! published bulletin, everyone; to a session, whoever sees the session; to a draft,
//! the draft's authors; and its uploader always (an unattached photo is only theirs).
//! Each of these follows the permission table: sessions are seen by those whose
//! `SessionRead` reaches their scope, drafts by those whose `BulletinRead` does.

use domain::{Action, Reach};

use crate::accounts::Account;
use crate::conn::Conn;
use crate::public::Public;
use crate::query::{Sql, in_scope};
use crate::scoped::Scoped;
use crate::{Error, sessions};

/// The largest photo accepted, in bytes (5 MiB).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// A stored photo, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
    /// Whether anyone may see it (it belongs to a published bulletin), so that it may
    /// be cached publicly.
    pub public: bool,
}

/// A size in megabytes, rounded up: a file just over the limit must not read as at it.
fn megabytes(n: usize) -> String {
    format!("{:.1} MB", (n as f64 / (1024.0 * 1024.0) * 10.0).ceil() / 10.0)
}

/// The content type of a photo, found from its bytes; a field error naming what the
/// bytes are (where that can be told) for anything but a JPEG, PNG or WebP image of at
/// most [`MAX_PHOTO_BYTES`].
pub fn photo_type(bytes: &[u8]) -> Result<&'static str, Error> {
    let refuse = |what: String| Error::field("photo", format!("{what}, not a photo: upload a JPEG, PNG or WebP image of at most {}", megabytes(MAX_PHOTO_BYTES)));
    if bytes.is_empty() {
        return Err(refuse("the file is empty".into()));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(Error::field("photo", format!("the file is {}: a photo may be at most {}", megabytes(bytes.len()), megabytes(MAX_PHOTO_BYTES))));
    }
    // The signature and the first header must both be there: a file cut short after
    // its first bytes is not a picture.
    let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR");
    let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.len() > 3;
    let webp = bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") && matches!(bytes.get(12..16), Some(b"VP8 " | b"VP8L" | b"VP8X"));
    match () {
        _ if png => Ok("image/png"),
        _ if jpeg => Ok("image/jpeg"),
        _ if webp => Ok("image/webp"),
        _ => Err(refuse(match infer::get(bytes) {
            Some(t) => format!("the file is {} ({})", t.mime_type(), t.extension()),
            None if std::str::from_utf8(bytes).is_ok() => "the file is text".to_owned(),
            None => "the file is of a kind not recognized".to_owned(),
        })),
    }
}

/// Appends "the account may see photo `p`" (a column or placeholder) for a signed-in
/// account, or "anyone may" without one.
pub(crate) fn visible(sql: &mut Sql, acc: Option<&Account>, p: &str) {
    sql.push(&format!(
        " AND (EXISTS (SELECT 1 FROM bulletin_photos bp JOIN bulletins b ON b.id = bp.bulletin_id
                       WHERE bp.photo_id = {p} AND b.status = 'published')"
    ));
    if let Some(acc) = acc {
        let me = sql.bind(acc.name.as_str());
        sql.push(&format!(" OR {p} IN (SELECT id FROM photos WHERE uploaded_by = {me})"));
        sql.push(&format!(
            " OR EXISTS (SELECT 1 FROM session_photos sp JOIN sessions s ON s.id = sp.session_id JOIN units u ON u.id = s.unit_id
                         JOIN divisions d ON d.id = u.division_id WHERE sp.photo_id = {p}"
        ));
        if acc.reach(Action::SessionRead) < Reach::Scope {
            sql.push(" AND 1 = 0");
        }
        in_scope(sql, &acc.scope, "d", Some("u"));
        sql.push(")");
        if acc.reach(Action::BulletinRead) == Reach::Scope {
            sql.push(&format!(
                " OR EXISTS (SELECT 1 FROM bulletin_photos bp JOIN bulletins b ON b.id = bp.bulletin_id
                             LEFT JOIN divisions sd ON sd.id = b.scope_id WHERE bp.photo_id = {p}"
            ));
            crate::bulletins::in_draft_scope(sql, acc);
            sql.push(")");
        }
    }
    sql.push(")");
}

pub(crate) fn add(conn: &mut dyn Conn, acc: &Account, bytes: &[u8], now: i64) -> Result<i64, Error> {
    let content_type = photo_type(bytes)?;
    let rows = conn.query(
        "INSERT INTO photos (content_type, size, data, uploaded_by, created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[content_type.into(), (bytes.len() as i64).into(), crate::conn::Value::Bytes(bytes.to_vec()), acc.name.as_str().into(), now.into()],
    )?;
    rows.first().ok_or_else(|| Error::Corrupt("no id for the new photo".into()))?.int(0)
}

pub(crate) fn get(conn: &mut dyn Conn, acc: Option<&Account>, id: i64) -> Result<Photo, Error> {
    let mut sql = Sql::new("SELECT p.content_type, p.data, EXISTS (SELECT 1 FROM bulletin_photos bp JOIN bulletins b ON b.id = bp.bulletin_id WHERE bp.photo_id = p.id AND b.status = 'published') FROM photos p WHERE p.id = ");
    let p = sql.bind(id);
    sql.push(&p);
    visible(&mut sql, acc, "p.id");
    let rows = sql.run(conn)?;
    let r = rows.first().ok_or_else(|| Error::NotFound { what: "photo", key: id.to_string() })?;
    Ok(Photo { content_type: r.text(0)?, bytes: r.bytes(1)?, public: r.int(2)? != 0 })
}

/// Checks that the account may use each photo (it may see it), and gives them once
/// each, in the order given.
pub(crate) fn usable(conn: &mut dyn Conn, acc: &Account, ids: &[i64]) -> Result<Vec<i64>, Error> {
    let mut out: Vec<i64> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.contains(id) {
            continue;
        }
        let mut sql = Sql::new("SELECT p.id FROM photos p WHERE p.id = ");
        let p = sql.bind(*id);
        sql.push(&p);
        visible(&mut sql, Some(acc), "p.id");
        if sql.run(conn)?.is_empty() {
            return Err(Error::field("photos", format!("unknown photo {id} (or not yours to use)")));
        }
        out.push(*id);
    }
    Ok(out)
}

pub(crate) fn attach(conn: &mut dyn Conn, acc: &Account, campaign: &str, session: i64, photos: &[i64]) -> Result<(), Error> {
    sessions::session(conn, acc, campaign, session)?;
    for photo in usable(conn, acc, photos)? {
        conn.execute(
            "INSERT INTO session_photos (session_id, photo_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[session.into(), photo.into()],
        )?;
    }
    Ok(())
}

pub(crate) fn of_session(conn: &mut dyn Conn, acc: &Account, campaign: &str, session: i64) -> Result<Vec<i64>, Error> {
    sessions::session(conn, acc, campaign, session)?;
    conn.query("SELECT photo_id FROM session_photos WHERE session_id = $1 ORDER BY photo_id", &[session.into()])?.iter().map(|r| r.int(0)).collect()
}

impl Scoped<'_> {
    /// Stores an uploaded photo after checking its content; gives its id. Until it is
    /// attached somewhere, only its uploader sees it.
    pub fn add_photo(&self, bytes: &[u8], now: i64) -> Result<i64, Error> {
        // Checked before the transaction too: a refused upload costs no database work.
        self.acc.allow(Action::PhotoCreate)?;
        photo_type(bytes)?;
        self.write(Action::PhotoCreate, |c, _| add(c, self.acc, bytes, now))
    }

    /// A photo the account may see.
    pub fn photo(&self, id: i64) -> Result<Photo, Error> {
        self.read(Action::PhotoRead, |c, _| get(c, Some(self.acc), id))
    }

    /// Attaches photos (already uploaded, each one the account may see) to a session
    /// it sees.
    pub fn attach_photos(&self, campaign: &str, session: i64, photos: &[i64]) -> Result<(), Error> {
        self.write(Action::SessionAttachPhotos, |c, _| attach(c, self.acc, campaign, session, photos))
    }

    /// The photos of a session the account sees.
    pub fn session_photos(&self, campaign: &str, session: i64) -> Result<Vec<i64>, Error> {
        self.read(Action::SessionRead, |c, _| of_session(c, self.acc, campaign, session))
    }
}

impl Public<'_> {
    /// A photo anyone may see: one of a published bulletin.
    pub fn photo(&self, id: i64) -> Result<Photo, Error> {
        self.read(Action::PhotoRead, |c| get(c, None, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], expected: Result<&str, &str>) {
        match (photo_type(bytes), expected) {
            (Ok(t), Ok(e)) => assert_eq!(t, e),
            (Err(Error::Field { field, message }), Err(e)) => {
                assert_eq!(field, "photo");
                assert!(message.contains(e), "{message:?} should say {e:?}");
            }
            (got, e) => panic!("{got:?}, expected {e:?}"),
        }
    }

    #[test]
    fn photos_are_known_by_their_content() {
        check(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01", Ok("image/png"));
        check(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'], Ok("image/jpeg"));
        check(b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0", Ok("image/webp"));
        check(b"", Err("the file is empty"));
        check(b"hello, world\n", Err("the file is text, not a photo: upload a JPEG, PNG or WebP image of at most 5.0 MB"));
        check(b"%PDF-1.7\n\xff\xfe", Err("application/pdf (pdf)"));
        check(b"GIF89a\x01\0\x01\0", Err("image/gif (gif)"));
        check(b"\x89PNG\r\n\x1a\n", Err("not a photo"));
        check(b"RIFF\x1a\0\0\0WAVEfmt ", Err("audio/x-wav"));
        check(&[0, 159, 146, 150], Err("not recognized"));
        let big = [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &vec![0; MAX_PHOTO_BYTES]].concat();
        check(&big, Err("the file is 5.1 MB: a photo may be at most 5.0 MB"));
        check(&big[..MAX_PHOTO_BYTES], Ok("image/png"));
    }
}
