//! Limits on the text people type, and how their input is quoted back in messages.
//!
//! Every text field the store keeps has a longest length, checked where the store
//! validates the field (forms, the API and imports alike), so that a name of a
//! megabyte is refused with the field named rather than stored. A value quoted back
//! in an error is cut to [`QUOTED`] characters: an error message must not carry a
//! whole hostile file back.

/// The longest code or key (units' codes, lecturers' keys, session ids).
pub const CODE: usize = 64;
/// The longest name (units, lecturers, accounts, divisions, halls).
pub const NAME: usize = 200;
/// The longest title (sessions, bulletins, meetings, campaigns, topics, agenda items).
pub const TITLE: usize = 200;
/// The longest note, reason or comment (requests, ratings).
pub const NOTE: usize = 2_000;
/// The longest bulletin text.
pub const BODY: usize = 100_000;
/// The most characters of an input value quoted back in a message.
pub const QUOTED: usize = 100;

/// `value` quoted as in a message (`"…"`, escaped), cut to [`QUOTED`] characters.
///
/// ```
/// assert_eq!(domain::text::quote("M2302"), "\"M2302\"");
/// assert_eq!(domain::text::quote(&"x".repeat(500)).chars().count(), 100 + 3);
/// ```
pub fn quote(value: &str) -> String {
    if value.chars().count() <= QUOTED {
        return format!("{value:?}");
    }
    let cut: String = value.chars().take(QUOTED).collect();
    format!("{:?}…", cut)
}

/// `value` cut to [`QUOTED`] characters (with "…" if it was longer), unquoted: for
/// names such as a file's column that a message shows as they are.
pub fn cut(value: &str) -> String {
    if value.chars().count() <= QUOTED {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(QUOTED).collect();
    cut.push('…');
    cut
}

/// Why a text is refused: `None` if it fits in `max` characters.
pub fn too_long(value: &str, max: usize) -> Option<String> {
    let n = value.chars().count();
    (n > max).then(|| format!("at most {max} characters (this one has {n})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_when_quoted() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let long = "长".repeat(300);
        let q = quote(&long);
        assert_eq!(q.chars().filter(|c| *c == '长').count(), QUOTED);
        assert!(q.ends_with('…'));
        assert_eq!(cut("abc"), "abc");
        assert_eq!(cut(&"a".repeat(101)), format!("{}…", "a".repeat(100)));
    }

    #[test]
    fn texts_fit_or_say_by_how_much_not() {
        assert_eq!(too_long("abc", 3), None);
        assert_eq!(too_long("道里区", 3), None);
        assert_eq!(too_long("abcd", 3).as_deref(), Some("at most 3 characters (this one has 4)"));
    }
}
