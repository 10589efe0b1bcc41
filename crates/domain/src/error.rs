//! The one error type of the domain crate.

use thiserror::Error;

/// Why a value was refused. Messages are lower-case fragments meant to follow a
/// location such as "file.csv:12: field `code`: ".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A division code that is not 2, 4, 6, 9 or 12 digits.
    #[error("malformed division code {0:?}: expected 2, 4, 6, 9 or 12 digits, not starting with 0")]
    MalformedCode(String),
    /// A level name that is not one of the five.
    #[error("unknown level {0:?}: expected province, city, county, township or village")]
    UnknownLevel(String),
    /// A unit kind that is not one of the known kinds.
    #[error("unknown unit kind {0:?}: expected enterprise, school, agency, hospital or other")]
    UnknownKind(String),
    /// A session format that is not one of the three.
    #[error("unknown format {0:?}: expected in_person, broadcast or online")]
    UnknownFormat(String),
    /// A session status that is not one of the three.
    #[error("unknown status {0:?}: expected held, planned or cancelled")]
    UnknownStatus(String),
    /// A key (of a campaign, topic, audience, lecturer) with characters we do not allow.
    #[error("malformed key {0:?}: use 1 to 64 lower-case letters, digits, '-' or '_'")]
    MalformedKey(String),
    /// A role that is not one of the five.
    #[error("unknown role {0:?}: expected office, coordinator, lecturer, unit-contact or supervisor")]
    UnknownRole(String),
    /// A scope that does not fit the account's role.
    #[error("{0}")]
    Scope(String),
    /// A request state that is not one of the known ones.
    #[error("unknown request state {0:?}")]
    UnknownState(String),
    /// A request step that is not one of the known ones.
    #[error("unknown step {0:?}: expected review, reject, assign, open, claim, accept, decline, report, rate or cancel")]
    UnknownStep(String),
    /// A campaign definition that breaks a rule; the text says which.
    #[error("{0}")]
    Campaign(String),
}
