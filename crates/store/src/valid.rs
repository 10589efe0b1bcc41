//! The checks every text field of a form, the API or an import goes through before
//! it is stored: trimmed, present where it must be, and no longer than its limit
//! (`domain::text`).

use domain::text::too_long;

use crate::Error;

/// `value` trimmed, refused as a bad `field` if it is longer than `max` characters.
pub(crate) fn text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Error> {
    let value = value.trim();
    match too_long(value, max) {
        Some(why) => Err(Error::field(field, why)),
        None => Ok(value),
    }
}

/// Like [`text`], and refused if empty.
pub(crate) fn required<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Error> {
    let value = text(field, value, max)?;
    if value.is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    Ok(value)
}
