//! The chair's controls and what they mean for every venue: which venue is on the
//! program (seen and heard by all), who is muted, who asked to speak, who is present.
//! Pure state: the media core asks [`Meeting::source_for`] where each venue's picture
//! and sound come from, and re-asks after every change.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

/// A venue of a meeting (the store's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VenueId(pub i64);

impl fmt::Display for VenueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "venue {}", self.0)
    }
}

/// A chair's command (or, for [`Command::RaiseHand`] and [`Command::LowerHand`], a
/// branch venue's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command", content = "venue")]
pub enum Command {
    /// Broadcast this venue to all (the main venue by default).
    Broadcast(VenueId),
    /// Call a branch venue: seen and heard by all until released.
    RollCall(VenueId),
    /// End the roll call.
    Release,
    /// Give a venue the floor: heard by all, shown while it speaks.
    GiveFloor(VenueId),
    /// Take the floor back.
    TakeFloor,
    /// Mute a venue.
    Mute(VenueId),
    /// Unmute a venue.
    Unmute(VenueId),
    /// Mute every branch venue.
    MuteBranches,
    /// Unmute every branch venue.
    UnmuteBranches,
    /// A branch venue asks to speak.
    RaiseHand(VenueId),
    /// It no longer does (or the chair dismisses the request).
    LowerHand(VenueId),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The venue is not part of this meeting.
    UnknownVenue(VenueId),
    /// Only branch venues can be called, given the floor or raise a hand.
    NotABranch(VenueId),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::UnknownVenue(v) => write!(f, "{v} is not in this meeting"),
            Refused::NotABranch(v) => write!(f, "{v} is the main venue, not a branch venue"),
        }
    }
}

/// Where a venue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Never joined.
    Absent,
    /// Connected.
    Present,
    /// Joined, then lost its connection.
    Disconnected,
}

/// A venue's part in the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueState {
    /// Where it stands.
    pub presence: Presence,
    /// The headcount it signed in with (0 before).
    pub headcount: i64,
    /// Muted by the chair.
    pub muted: bool,
}

/// A meeting's state: what every venue's screen shows and what the chair sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    main: VenueId,
    venues: BTreeMap<VenueId, VenueState>,
    broadcast: VenueId,
    roll_call: Option<VenueId>,
    floor: Option<VenueId>,
    hands: VecDeque<VenueId>,
}

impl Meeting {
    /// A meeting whose main venue is `main`, broadcast to all.
    pub fn new(main: VenueId) -> Meeting {
        let mut venues = BTreeMap::new();
        venues.insert(main, VenueState { presence: Presence::Absent, headcount: 0, muted: false });
        Meeting { main, venues, broadcast: main, roll_call: None, floor: None, hands: VecDeque::new() }
    }

    /// Adds a branch venue (absent until it connects).
    pub fn add_branch(&mut self, v: VenueId) {
        self.venues.entry(v).or_insert(VenueState { presence: Presence::Absent, headcount: 0, muted: false });
    }

    /// A venue connected (again); a branch signs in with its headcount.
    pub fn join(&mut self, v: VenueId, headcount: i64) {
        let s = self.venues.entry(v).or_insert(VenueState { presence: Presence::Absent, headcount: 0, muted: false });
        s.presence = Presence::Present;
        if headcount > 0 {
            s.headcount = headcount;
        }
    }

    /// A venue lost its connection: what it had (on the program, a raised hand) is
    /// given back, so the meeting does not show a frozen picture.
    pub fn disconnect(&mut self, v: VenueId) {
        if let Some(s) = self.venues.get_mut(&v) {
            if s.presence == Presence::Present {
                s.presence = Presence::Disconnected;
            }
        }
        if self.roll_call == Some(v) {
            self.roll_call = None;
        }
        if self.floor == Some(v) {
            self.floor = None;
        }
        if self.broadcast == v && v != self.main {
            self.broadcast = self.main;
        }
        self.hands.retain(|h| *h != v);
    }

    /// The main venue.
    pub fn main(&self) -> VenueId {
        self.main
    }

    /// Every venue and its state.
    pub fn venues(&self) -> &BTreeMap<VenueId, VenueState> {
        &self.venues
    }

    /// Branch venues that asked to speak, first first.
    pub fn hands(&self) -> impl Iterator<Item = VenueId> + '_ {
        self.hands.iter().copied()
    }

    /// The venue everyone sees: the roll-called venue, else the one with the floor, else
    /// the broadcast venue.
    pub fn program(&self) -> VenueId {
        self.roll_call.or(self.floor).unwrap_or(self.broadcast)
    }

    /// Whether a venue's sound is forwarded at all.
    pub fn audible(&self, v: VenueId) -> bool {
        self.venues.get(&v).is_some_and(|s| !s.muted)
    }

    /// Where `v`'s picture comes from: the program, except for the program venue
    /// itself, which sees the main venue (a called branch faces the chair) — and the
    /// main venue on the program sees nothing from the program (it is the program).
    pub fn picture_for(&self, v: VenueId) -> Option<VenueId> {
        let program = self.program();
        if v != program {
            Some(program)
        } else if v != self.main {
            Some(self.main)
        } else {
            None
        }
    }

    /// The sounds `v` hears: the program's and, while a branch venue is on it or has
    /// the floor, the main venue's as well (the chair answers); never its own; never a
    /// muted venue's.
    pub fn sounds_for(&self, v: VenueId) -> Vec<VenueId> {
        let mut out = BTreeSet::new();
        out.insert(self.program());
        if self.program() != self.main {
            out.insert(self.main);
        }
        out.into_iter().filter(|s| *s != v && self.audible(*s)).collect()
    }

    /// Applies a command.
    pub fn apply(&mut self, c: Command) -> Result<(), Refused> {
        let known = |m: &Meeting, v: VenueId| if m.venues.contains_key(&v) { Ok(v) } else { Err(Refused::UnknownVenue(v)) };
        let branch = |m: &Meeting, v: VenueId| {
            known(m, v)?;
            if v == m.main { Err(Refused::NotABranch(v)) } else { Ok(v) }
        };
        match c {
            Command::Broadcast(v) => self.broadcast = known(self, v)?,
            Command::RollCall(v) => {
                self.roll_call = Some(branch(self, v)?);
                self.hands.retain(|h| *h != v);
            }
            Command::Release => self.roll_call = None,
            Command::GiveFloor(v) => {
                self.floor = Some(branch(self, v)?);
                self.hands.retain(|h| *h != v);
                if let Some(s) = self.venues.get_mut(&v) {
                    s.muted = false;
                }
            }
            Command::TakeFloor => self.floor = None,
            Command::Mute(v) => self.venue_mut(v)?.muted = true,
            Command::Unmute(v) => self.venue_mut(v)?.muted = false,
            Command::MuteBranches | Command::UnmuteBranches => {
                let muted = c == Command::MuteBranches;
                let main = self.main;
                for (id, s) in &mut self.venues {
                    if *id != main {
                        s.muted = muted;
                    }
                }
            }
            Command::RaiseHand(v) => {
                branch(self, v)?;
                if !self.hands.contains(&v) {
                    self.hands.push_back(v);
                }
            }
            Command::LowerHand(v) => {
                known(self, v)?;
                self.hands.retain(|h| *h != v);
            }
        }
        Ok(())
    }

    fn venue_mut(&mut self, v: VenueId) -> Result<&mut VenueState, Refused> {
        self.venues.get_mut(&v).ok_or(Refused::UnknownVenue(v))
    }

    /// The branch venues for the chair's monitor wall, `size` at a time: page `turn`
    /// of the present branches, cycling when there are more than fit.
    pub fn wall(&self, size: usize, turn: usize) -> Vec<VenueId> {
        let present: Vec<VenueId> = self.venues.iter().filter(|(id, s)| **id != self.main && s.presence == Presence::Present).map(|(id, _)| *id).collect();
        if present.len() <= size || size == 0 {
            return present;
        }
        let pages = present.len().div_ceil(size);
        let start = (turn % pages) * size;
        present[start..(start + size).min(present.len())].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: VenueId = VenueId(1);
    const B2: VenueId = VenueId(2);
    const B3: VenueId = VenueId(3);
    const B4: VenueId = VenueId(4);

    fn meeting() -> Meeting {
        let mut m = Meeting::new(MAIN);
        for v in [MAIN, B2, B3, B4] {
            m.add_branch(v);
            m.join(v, 10 * v.0);
        }
        m
    }

    #[test]
    fn by_default_every_branch_sees_and_hears_the_main_venue() {
        let m = meeting();
        assert_eq!(m.program(), MAIN);
        for b in [B2, B3, B4] {
            assert_eq!(m.picture_for(b), Some(MAIN));
            assert_eq!(m.sounds_for(b), [MAIN]);
        }
        assert_eq!(m.picture_for(MAIN), None);
        assert!(m.sounds_for(MAIN).is_empty());
    }

    #[test]
    fn a_roll_call_puts_a_branch_before_all_until_released() {
        let mut m = meeting();
        m.apply(Command::RollCall(B2)).unwrap();
        assert_eq!(m.program(), B2);
        assert_eq!(m.picture_for(B3), Some(B2));
        assert_eq!(m.sounds_for(B3), [MAIN, B2], "the chair answers the called branch");
        assert_eq!(m.picture_for(B2), Some(MAIN), "the called branch faces the chair");
        assert_eq!(m.sounds_for(B2), [MAIN]);
        assert_eq!(m.picture_for(MAIN), Some(B2));
        m.apply(Command::Release).unwrap();
        assert_eq!(m.program(), MAIN);
        assert_eq!(m.apply(Command::RollCall(MAIN)), Err(Refused::NotABranch(MAIN)));
        assert_eq!(m.apply(Command::RollCall(VenueId(9))), Err(Refused::UnknownVenue(VenueId(9))));
    }

    #[test]
    fn the_floor_unmutes_and_the_roll_call_wins_over_it() {
        let mut m = meeting();
        m.apply(Command::MuteBranches).unwrap();
        assert!(!m.audible(B3));
        m.apply(Command::GiveFloor(B3)).unwrap();
        assert!(m.audible(B3), "given the floor, heard");
        assert_eq!(m.program(), B3);
        m.apply(Command::RollCall(B4)).unwrap();
        assert_eq!(m.program(), B4);
        m.apply(Command::Release).unwrap();
        assert_eq!(m.program(), B3);
        m.apply(Command::TakeFloor).unwrap();
        assert_eq!(m.program(), MAIN);
    }

    #[test]
    fn a_muted_venue_is_heard_by_no_one() {
        let mut m = meeting();
        m.apply(Command::Mute(MAIN)).unwrap();
        assert!(m.sounds_for(B2).is_empty());
        m.apply(Command::Unmute(MAIN)).unwrap();
        m.apply(Command::RollCall(B2)).unwrap();
        m.apply(Command::Mute(B2)).unwrap();
        assert_eq!(m.sounds_for(B3), [MAIN], "the called branch's sound is stopped, its picture is not");
        assert_eq!(m.picture_for(B3), Some(B2));
        m.apply(Command::UnmuteBranches).unwrap();
        assert_eq!(m.sounds_for(B3), [MAIN, B2]);
    }

    #[test]
    fn hands_queue_in_order_once_each_and_leave_when_called() {
        let mut m = meeting();
        for v in [B3, B2, B3] {
            m.apply(Command::RaiseHand(v)).unwrap();
        }
        assert_eq!(m.hands().collect::<Vec<_>>(), [B3, B2]);
        m.apply(Command::GiveFloor(B3)).unwrap();
        assert_eq!(m.hands().collect::<Vec<_>>(), [B2]);
        m.apply(Command::LowerHand(B2)).unwrap();
        assert_eq!(m.hands().count(), 0);
        assert_eq!(m.apply(Command::RaiseHand(MAIN)), Err(Refused::NotABranch(MAIN)));
    }

    #[test]
    fn a_venue_that_drops_gives_back_what_it_had() {
        let mut m = meeting();
        m.apply(Command::RaiseHand(B4)).unwrap();
        m.apply(Command::RollCall(B2)).unwrap();
        m.apply(Command::Broadcast(B3)).unwrap();
        m.disconnect(B2);
        m.disconnect(B4);
        assert_eq!(m.program(), B3, "the roll call ends; the broadcast stays");
        assert_eq!(m.hands().count(), 0);
        assert_eq!(m.venues()[&B2].presence, Presence::Disconnected);
        m.join(B2, 0);
        assert_eq!(m.venues()[&B2], VenueState { presence: Presence::Present, headcount: 20, muted: false }, "the headcount is kept");
        m.disconnect(B3);
        assert_eq!(m.program(), MAIN);
    }

    #[test]
    fn the_wall_cycles_through_the_present_branches() {
        let mut m = meeting();
        for v in 5..=8 {
            m.add_branch(VenueId(v));
            m.join(VenueId(v), 1);
        }
        m.add_branch(VenueId(9)); // absent: not on the wall
        let ids = |w: Vec<VenueId>| w.into_iter().map(|v| v.0).collect::<Vec<_>>();
        assert_eq!(ids(m.wall(4, 0)), [2, 3, 4, 5]);
        assert_eq!(ids(m.wall(4, 1)), [6, 7, 8]);
        assert_eq!(ids(m.wall(4, 2)), [2, 3, 4, 5]);
        assert_eq!(ids(m.wall(10, 7)), [2, 3, 4, 5, 6, 7, 8]);
    }
}
