//! The one error type of the domain crate.

use thiserror::Error;

/// Why a value was refused. Messages are lower-case fragments meant to follow a
/// location such as "file.csv:12: field `code`: ".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A division code that is not 2, 4, 6, 9 or 12 digits.
    #[error("malformed division code {}: expected 2, 4, 6, 9 or 12 digits, not starting with 0", crate::text::quote(.0))]
    MalformedCode(String),
    /// A level name that is not one of the five.
    #[error("unknown level {}: expected province, city, county, township or village", crate::text::quote(.0))]
    UnknownLevel(String),
    /// A unit kind that is not one of the known kinds.
    #[error("unknown unit kind {}: expected enterprise, school, agency, hospital or other", crate::text::quote(.0))]
    UnknownKind(String),
    /// A session format that is not one of the three.
    #[error("unknown format {}: expected in_person, broadcast or online", crate::text::quote(.0))]
    UnknownFormat(String),
    /// A session status that is not one of the three.
    #[error("unknown status {}: expected held, planned or cancelled", crate::text::quote(.0))]
    UnknownStatus(String),
    /// A key (of a campaign, topic, audience, lecturer) with characters we do not allow.
    #[error("malformed key {}: use 1 to 64 lower-case letters, digits, '-' or '_'", crate::text::quote(.0))]
    MalformedKey(String),
    /// A role that is not one of the five.
    #[error("unknown role {}: expected office, coordinator, lecturer, unit-contact or supervisor", crate::text::quote(.0))]
    UnknownRole(String),
    /// A scope that does not fit the account's role.
    #[error("{0}")]
    Scope(String),
    /// A request state that is not one of the known ones.
    #[error("unknown request state {}", crate::text::quote(.0))]
    UnknownState(String),
    /// A request step that is not one of the known ones.
    #[error("unknown step {}: expected review, reject, assign, open, claim, accept, decline, report, rate or cancel", crate::text::quote(.0))]
    UnknownStep(String),
    /// A campaign definition that breaks a rule; the text says which.
    #[error("{0}")]
    Campaign(String),
}
