//! A session's status and format, and the sets of topics and audiences it names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Where a session stands. Only `Held` sessions count in coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// The lecture took place.
    #[default]
    Held,
    /// The lecture is scheduled.
    Planned,
    /// The lecture was called off.
    Cancelled,
}

impl SessionStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Held => "held",
            SessionStatus::Planned => "planned",
            SessionStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<SessionStatus, Error> {
        match s.trim() {
            "held" => Ok(SessionStatus::Held),
            "planned" => Ok(SessionStatus::Planned),
            "cancelled" => Ok(SessionStatus::Cancelled),
            _ => Err(Error::UnknownStatus(s.to_owned())),
        }
    }
}

/// How a session reached its audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionFormat {
    /// A lecturer in the room.
    #[default]
    InPerson,
    /// A venue of a live meeting.
    Broadcast,
    /// Online, each listener on their own device.
    Online,
}

impl SessionFormat {
    /// The format as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionFormat::InPerson => "in_person",
            SessionFormat::Broadcast => "broadcast",
            SessionFormat::Online => "online",
        }
    }
}

impl fmt::Display for SessionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<SessionFormat, Error> {
        match s.trim() {
            "in_person" => Ok(SessionFormat::InPerson),
            "broadcast" => Ok(SessionFormat::Broadcast),
            "online" => Ok(SessionFormat::Online),
            _ => Err(Error::UnknownFormat(s.to_owned())),
        }
    }
}

/// A set of a campaign's topics (or audiences), by their slot in the campaign.
///
/// A campaign has at most [`MAX_ENTRIES`](crate::MAX_ENTRIES) topics, so a set fits one
/// integer: sessions store it as a column and coverage tests it with a mask, which
/// keeps millions of sessions cheap to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct KeySet(pub u64);

impl KeySet {
    /// The empty set.
    pub const EMPTY: KeySet = KeySet(0);

    /// Adds the entry in `slot`.
    pub fn insert(&mut self, slot: usize) {
        debug_assert!(slot < crate::MAX_ENTRIES);
        self.0 |= 1 << slot;
    }

    /// Whether the entry in `slot` is in the set.
    pub fn contains(self, slot: usize) -> bool {
        slot < 64 && self.0 & (1 << slot) != 0
    }

    /// The slots in the set, smallest first.
    pub fn slots(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |&s| self.contains(s))
    }

    /// The set as stored in a signed 64-bit column.
    pub fn stored(self) -> i64 {
        self.0 as i64
    }

    /// The set of a stored column value.
    pub fn from_stored(v: i64) -> KeySet {
        KeySet(v as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_formats_parse() {
        assert_eq!("held".parse(), Ok(SessionStatus::Held));
        assert_eq!(" cancelled ".parse(), Ok(SessionStatus::Cancelled));
        assert!("done".parse::<SessionStatus>().is_err());
        assert_eq!("in_person".parse(), Ok(SessionFormat::InPerson));
        assert!("in person".parse::<SessionFormat>().is_err());
    }

    #[test]
    fn key_sets_hold_slots() {
        let mut s = KeySet::EMPTY;
        s.insert(0);
        s.insert(6);
        s.insert(62);
        assert_eq!(s.slots().collect::<Vec<_>>(), vec![0, 6, 62]);
        assert_eq!(KeySet::from_stored(s.stored()), s);
        assert!(!s.contains(5));
    }
}
