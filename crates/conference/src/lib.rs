//! Grassroots' live meetings: a main venue (the chair, the speakers) broadcast to branch
//! venues under the chair's control.
//!
//! [`meeting`] holds the chair's state and decides, for every venue, what it sees and
//! hears; it is pure and knows nothing of packets. [`core`] holds every venue's str0m
//! peer behind one UDP port, fed inputs and polled for outputs, never reading a clock or
//! touching a socket, and forwards media without decoding it as the meetings decide;
//! [`driver`] is the thin shell that owns the socket and the thread.
//!
//! ```
//! use conference::meeting::{Command, Meeting, VenueId};
//!
//! let main = VenueId(1);
//! let mut m = Meeting::new(main);
//! m.join(VenueId(2), 40);
//! m.apply(Command::RollCall(VenueId(2))).unwrap();
//! assert_eq!(m.program(), VenueId(2));
//! ```

pub mod core;
pub mod driver;
pub mod meeting;
