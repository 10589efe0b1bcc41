//! Administrative division codes and the five levels they encode.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The five levels of the division tree, from the top.
///
/// The order is meaningful: a parent's level is always smaller than its child's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A province, autonomous region or municipality: 2 digits.
    Province = 1,
    /// A prefecture-level city or region: 4 digits.
    City = 2,
    /// A county, district or county-level city: 6 digits.
    County = 3,
    /// A township, town or street: 9 digits.
    Township = 4,
    /// A village or residential community committee: 12 digits.
    Village = 5,
}

impl Level {
    /// All levels, top first.
    pub const ALL: [Level; 5] = [Level::Province, Level::City, Level::County, Level::Township, Level::Village];

    /// The number of digits of a code at this level.
    pub fn digits(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }

    /// The level whose codes have `digits` digits.
    pub fn from_digits(digits: usize) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.digits() == digits)
    }

    /// The level as stored and shown: `province`, `city`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    /// The level's number, 1 (province) to 5 (village), as stored in databases.
    pub fn rank(self) -> i16 {
        self as i16
    }

    /// The level of a stored rank.
    pub fn from_rank(rank: i64) -> Option<Level> {
        Level::ALL.into_iter().find(|l| i64::from(l.rank()) == rank)
    }

    /// The level one below this one, if any.
    pub fn below(self) -> Option<Level> {
        Level::from_rank(i64::from(self.rank()) + 1)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = Error;

    fn from_str(s: &str) -> Result<Level, Error> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| Error::UnknownLevel(s.to_owned()))
    }
}

/// An official division code such as `23` (Heilongjiang) or `230102001001`.
///
/// Codes are kept as numbers: with no leading zero, the number of digits (and so the
/// level) is recoverable, and two codes of different levels never share a value. That
/// makes the number usable as the division's primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct DivisionCode(u64);

impl DivisionCode {
    /// The code as a number, the form databases store.
    pub fn value(self) -> i64 {
        // At most 12 digits: always fits.
        self.0 as i64
    }

    /// The code of a stored number, checked like a parsed one.
    pub fn from_value(value: i64) -> Result<DivisionCode, Error> {
        value.to_string().parse()
    }

    /// The level the code's length says.
    pub fn level(self) -> Level {
        let digits = self.0.checked_ilog10().unwrap_or(0) as usize + 1;
        Level::from_digits(digits).expect("a parsed code always has a valid length")
    }

    /// The parent the code's prefix implies: `230102001001` → `230102001`. None for a
    /// province. The parent given in a file wins over this where both exist.
    pub fn parent_by_prefix(self) -> Option<DivisionCode> {
        let level = self.level();
        let up = Level::from_rank(i64::from(level.rank()) - 1)?;
        let drop = level.digits() - up.digits();
        Some(DivisionCode(self.0 / 10u64.pow(drop as u32)))
    }

    /// Whether `self` lies under `ancestor` by code prefix (or is it).
    pub fn has_prefix(self, ancestor: DivisionCode) -> bool {
        let (mine, theirs) = (self.level().digits(), ancestor.level().digits());
        mine >= theirs && self.0 / 10u64.pow((mine - theirs) as u32) == ancestor.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for DivisionCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<DivisionCode, Error> {
        let t = s.trim();
        let ok = Level::from_digits(t.len()).is_some()
            && t.bytes().all(|b| b.is_ascii_digit())
            && !t.starts_with('0');
        if !ok {
            return Err(Error::MalformedCode(s.to_owned()));
        }
        Ok(DivisionCode(t.parse().map_err(|_| Error::MalformedCode(s.to_owned()))?))
    }
}

impl From<DivisionCode> for String {
    fn from(c: DivisionCode) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = Error;

    fn try_from(s: String) -> Result<DivisionCode, Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<(Level, Option<&str>), ()>) {
        let got = input.parse::<DivisionCode>().map(|c| (c.level(), c.parent_by_prefix().map(|p| p.to_string())));
        let got = got.map_err(|_| ());
        let expected = expected.map(|(l, p)| (l, p.map(str::to_owned)));
        assert_eq!(got, expected, "input {input:?}");
    }

    #[test]
    fn codes_parse_to_levels_and_prefix_parents() {
        check("23", Ok((Level::Province, None)));
        check("2301", Ok((Level::City, Some("23"))));
        check("230102", Ok((Level::County, Some("2301"))));
        check("230102001", Ok((Level::Township, Some("230102"))));
        check("230102001001", Ok((Level::Village, Some("230102001"))));
        check(" 2301 ", Ok((Level::City, Some("23"))));
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in ["", "2", "230", "23010", "2301020011", "0301", "23a1", "-2301", "2301020010011", "+230"] {
            check(bad, Err(()));
        }
    }

    #[test]
    fn prefix_test_follows_code_digits() {
        let c = |s: &str| s.parse::<DivisionCode>().unwrap();
        assert!(c("230102001001").has_prefix(c("23")));
        assert!(c("230102001001").has_prefix(c("230102")));
        assert!(c("2301").has_prefix(c("2301")));
        assert!(!c("230202001001").has_prefix(c("2301")));
        assert!(!c("23").has_prefix(c("2301")));
    }

    #[test]
    fn values_round_trip() {
        let c: DivisionCode = "230102001001".parse().unwrap();
        assert_eq!(DivisionCode::from_value(c.value()), Ok(c));
        assert!(DivisionCode::from_value(0).is_err());
        assert!(DivisionCode::from_value(123).is_err());
    }

    #[test]
    fn levels_name_and_order() {
        assert_eq!("township".parse::<Level>(), Ok(Level::Township));
        assert!("street".parse::<Level>().is_err());
        assert_eq!(Level::County.below(), Some(Level::Township));
        assert_eq!(Level::Village.below(), None);
        assert!(Level::Province < Level::Village);
    }
}
