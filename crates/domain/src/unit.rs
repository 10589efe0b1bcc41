//! Kinds of units: the places that host lectures.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// What a unit is. Every village-level division is a unit of kind `Village`; the other
/// kinds are organizations attached to a division of any level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// A village or residential community committee (a village-level division).
    Village,
    /// A company or factory.
    Enterprise,
    /// A school or university.
    School,
    /// A government agency or public institution.
    Agency,
    /// A hospital or clinic.
    Hospital,
    /// Any other organization.
    Other,
}

impl UnitKind {
    /// The kinds an organization unit may have (all but `Village`).
    pub const ORGANIZATIONS: [UnitKind; 5] =
        [UnitKind::Enterprise, UnitKind::School, UnitKind::Agency, UnitKind::Hospital, UnitKind::Other];

    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Village => "village",
            UnitKind::Enterprise => "enterprise",
            UnitKind::School => "school",
            UnitKind::Agency => "agency",
            UnitKind::Hospital => "hospital",
            UnitKind::Other => "other",
        }
    }

    /// Parses a stored kind, `village` included.
    pub fn from_stored(s: &str) -> Option<UnitKind> {
        match s {
            "village" => Some(UnitKind::Village),
            other => other.parse().ok(),
        }
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses an organization kind as written in a units file: `village` is refused,
/// because village units come from the division tree, not from files.
impl FromStr for UnitKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<UnitKind, Error> {
        UnitKind::ORGANIZATIONS
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| Error::UnknownKind(s.to_owned()))
    }
}
