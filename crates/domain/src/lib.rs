//! The campaign's types and rules, free of I/O: every other crate builds on these.
//!
//! Grassroots follows a lecture campaign down the administrative tree of a province:
//! [`DivisionCode`]s place every region, [`Unit`](UnitKind)s are where lectures are
//! held, a [`CampaignSpec`] says what must be explained by when, and
//! [`coverage`] turns held sessions into the numbers supervisors watch.
//!
//! ```
//! use domain::{DivisionCode, Level};
//!
//! let village: DivisionCode = "230102001001".parse().unwrap();
//! assert_eq!(village.level(), Level::Village);
//! assert_eq!(village.parent_by_prefix().unwrap().to_string(), "230102001");
//! ```

pub mod access;
mod campaign;
pub mod coverage;
mod division;
mod error;
pub mod request;
mod session;
pub mod text;
mod unit;

pub use access::{Action, Kind, Party, Reach, Role, Scope, Verb};
pub use campaign::{CampaignSpec, Entry, MAX_ENTRIES, is_valid_key};
pub use division::{DivisionCode, Level};
pub use error::Error;
pub use request::{Refusal, RequestState, Standing, Step};
pub use session::{KeySet, SessionFormat, SessionStatus};
pub use unit::UnitKind;
