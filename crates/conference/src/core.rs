//! The media core: every venue's WebRTC peer (a str0m `Rtc`) behind one UDP port, and the
//! forwarding between them that the meetings' state decides. Sans-IO, like str0m
//! itself: it owns no socket, no thread and no clock. The driver feeds it [`Input`]s
//! (a datagram, an offer, a chair's command, the time) and drains [`Output`]s
//! (datagrams to send, answers, state for the venues' screens, the next deadline).
//!
//! A datagram is routed to its venue by a lookup, not a scan: STUN by the ICE user name
//! (the core gives every venue its own ufrag), anything else by the source address a
//! venue's STUN came from. A datagram that matches no venue is dropped.
//!
//! Each venue's browser offers its m-lines in a fixed order: audio send-receive (its
//! microphone; the first sound it hears), video send-receive (its camera; the picture
//! it sees), audio receive-only (the second sound), and for the main venue some video
//! receive-only lines (the monitor wall).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Rtc};

use crate::meeting::{Command, Meeting, Presence, VenueId};

/// A meeting (the store's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeetingId(pub i64);

/// How often a source is asked for a keyframe at most, however many receivers ask:
/// hundreds of branch venues switching at once must not flood the main venue.
pub const KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);
/// How long each page of the monitor wall shows before the next.
pub const WALL_TURN: Duration = Duration::from_secs(8);
/// Pictures on the monitor wall at once.
pub const WALL_SIZE: usize = 4;

/// Something for the core to take in.
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram arrived on the socket.
    Datagram {
        /// When.
        now: Instant,
        /// From where.
        source: SocketAddr,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// The time is now this (a deadline passed).
    Timeout(Instant),
}

/// Something the core wants done.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes.
    Transmit {
        /// To where.
        destination: SocketAddr,
        /// The datagram.
        bytes: Vec<u8>,
    },
    /// A meeting's state changed: every venue's screen shows it.
    State(MeetingId, Meeting),
    /// A venue's connection came up or went away.
    Presence(MeetingId, VenueId, Presence),
    /// Nothing more until this time (or the next input).
    Timeout(Instant),
}

/// Why the core refused a request.
#[derive(Debug)]
pub enum Refused {
    /// The meeting is not open in the core.
    UnknownMeeting(MeetingId),
    /// The venue is not part of that meeting.
    UnknownVenue(VenueId),
    /// The offer could not be read or accepted.
    BadOffer(String),
    /// The command was refused by the meeting's rules.
    Command(crate::meeting::Refused),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::UnknownMeeting(m) => write!(f, "meeting {} is not open", m.0),
            Refused::UnknownVenue(v) => write!(f, "{v} is not in this meeting"),
            Refused::BadOffer(e) => write!(f, "unusable offer: {e}"),
            Refused::Command(e) => write!(f, "{e}"),
        }
    }
}

/// What a venue's m-lines carry, in the order the client offers them.
#[derive(Debug, Default)]
struct Lines {
    /// Its microphone in; the first sound out.
    audio: Option<Mid>,
    /// Its camera in; the picture out.
    video: Option<Mid>,
    /// The second sound out.
    audio2: Option<Mid>,
    /// The monitor wall's pictures out.
    wall: Vec<Mid>,
}

struct Peer {
    meeting: MeetingId,
    /// Which join made it: a page that reconnected has a newer one.
    serial: u64,
    rtc: Rtc,
    lines: Lines,
    connected: bool,
    /// When each of its incoming lines was last asked for a keyframe.
    last_keyframe_request: HashMap<Mid, Instant>,
}

/// Where media from one source line goes: (destination venue, its line).
type Fanout = Vec<(VenueId, Mid)>;

/// The media core of all open meetings.
pub struct Core {
    local: SocketAddr,
    meetings: HashMap<MeetingId, Meeting>,
    peers: HashMap<VenueId, Peer>,
    by_ufrag: HashMap<String, VenueId>,
    by_addr: HashMap<SocketAddr, VenueId>,
    /// (source venue, source line) → destinations; rebuilt when a meeting changes.
    routes: HashMap<(VenueId, Mid), Fanout>,
    wall_turn: usize,
    next_turn: Option<Instant>,
    outputs: VecDeque<Output>,
    serial: u64,
}

impl Core {
    /// A core whose socket is bound at `local` (the address given to browsers).
    pub fn new(local: SocketAddr) -> Core {
        // str0m's crypto (DTLS, SRTP) comes from the one provider built in; installing
        // it twice is harmless.
        str0m::crypto::from_feature_flags().install_process_default();
        Core {
            local,
            meetings: HashMap::new(),
            peers: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            routes: HashMap::new(),
            wall_turn: 0,
            next_turn: None,
            outputs: VecDeque::new(),
            serial: 0,
        }
    }

    /// Opens a meeting with its venues.
    pub fn open_meeting(&mut self, id: MeetingId, main: VenueId, branches: &[VenueId]) {
        let mut m = Meeting::new(main);
        for b in branches {
            m.add_branch(*b);
        }
        self.meetings.insert(id, m);
    }

    /// The current state of a meeting.
    pub fn meeting(&self, id: MeetingId) -> Option<&Meeting> {
        self.meetings.get(&id)
    }

    /// Closes a meeting: its venues' peers are dropped.
    pub fn close_meeting(&mut self, id: MeetingId) -> Option<Meeting> {
        let venues: Vec<VenueId> = self.peers.iter().filter(|(_, p)| p.meeting == id).map(|(v, _)| *v).collect();
        for v in venues {
            self.drop_peer(v);
        }
        self.meetings.remove(&id)
    }

    /// A venue joins (or rejoins, replacing its old connection) with a browser's offer
    /// and its headcount; gives the SDP answer.
    pub fn join(&mut self, now: Instant, meeting: MeetingId, venue: VenueId, offer: &str, headcount: i64) -> Result<String, Refused> {
        let m = self.meetings.get(&meeting).ok_or(Refused::UnknownMeeting(meeting))?;
        if !m.venues().contains_key(&venue) {
            return Err(Refused::UnknownVenue(venue));
        }
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| Refused::BadOffer(e.to_string()))?;
        self.serial += 1;
        // The ufrag names the venue, so that STUN finds its peer by one map lookup.
        let ufrag = format!("v{}x{}", venue.0, self.serial);
        let creds = IceCreds { ufrag: ufrag.clone(), pass: random_pass(self.serial, now) };
        let mut rtc = Rtc::builder().set_ice_lite(true).set_local_ice_credentials(creds).build(now);
        let candidate = Candidate::host(self.local, "udp").map_err(|e| Refused::BadOffer(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| Refused::BadOffer(e.to_string()))?;
        self.drop_peer(venue);
        self.by_ufrag.insert(ufrag, venue);
        self.peers.insert(venue, Peer { meeting, serial: self.serial, rtc, lines: Lines::default(), connected: false, last_keyframe_request: HashMap::new() });
        if let Some(m) = self.meetings.get_mut(&meeting) {
            m.join(venue, headcount);
        }
        self.changed(now, meeting);
        Ok(answer.to_sdp_string())
    }

    /// The serial of a venue's current connection (each join makes a new one).
    pub fn serial(&self, venue: VenueId) -> Option<u64> {
        self.peers.get(&venue).map(|p| p.serial)
    }

    /// A venue's connection `serial` went away; a newer connection of the same venue
    /// (its page rejoined first) is left alone.
    pub fn leave_connection(&mut self, now: Instant, venue: VenueId, serial: u64) {
        if self.serial(venue) == Some(serial) {
            self.leave(now, venue);
        }
    }

    /// A venue left: its resources are freed.
    pub fn leave(&mut self, now: Instant, venue: VenueId) {
        if let Some(meeting) = self.drop_peer(venue) {
            if let Some(m) = self.meetings.get_mut(&meeting) {
                m.disconnect(venue);
            }
            self.changed(now, meeting);
        }
    }

    /// A branch venue signs in with its headcount.
    pub fn sign_in(&mut self, now: Instant, meeting: MeetingId, venue: VenueId, headcount: i64) {
        if let Some(m) = self.meetings.get_mut(&meeting) {
            if m.venues().contains_key(&venue) {
                m.join(venue, headcount);
                self.changed(now, meeting);
            }
        }
    }

    /// A chair's (or a venue's own) command.
    pub fn command(&mut self, now: Instant, meeting: MeetingId, c: Command) -> Result<(), Refused> {
        let m = self.meetings.get_mut(&meeting).ok_or(Refused::UnknownMeeting(meeting))?;
        m.apply(c).map_err(Refused::Command)?;
        self.changed(now, meeting);
        Ok(())
    }

    fn drop_peer(&mut self, venue: VenueId) -> Option<MeetingId> {
        let mut peer = self.peers.remove(&venue)?;
        peer.rtc.disconnect();
        self.by_ufrag.retain(|_, v| *v != venue);
        self.by_addr.retain(|_, v| *v != venue);
        Some(peer.meeting)
    }

    /// Takes an input.
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Timeout(now) => {
                if self.next_turn.is_some_and(|t| now >= t) {
                    self.wall_turn += 1;
                    self.next_turn = Some(now + WALL_TURN);
                    let ids: Vec<MeetingId> = self.meetings.keys().copied().collect();
                    for id in ids {
                        self.rebuild_routes(now, id);
                    }
                }
                let venues: Vec<VenueId> = self.peers.keys().copied().collect();
                for v in venues {
                    if let Some(p) = self.peers.get_mut(&v) {
                        let _ = p.rtc.handle_input(str0m::Input::Timeout(now));
                    }
                    self.drain(now, v);
                }
            }
            Input::Datagram { now, source, bytes } => {
                let Some(venue) = self.route(source, bytes) else { return };
                let Ok(contents) = bytes.try_into() else { return };
                let receive = Receive { proto: Protocol::Udp, source, destination: self.local, contents };
                let Some(peer) = self.peers.get_mut(&venue) else { return };
                if peer.rtc.handle_input(str0m::Input::Receive(now, receive)).is_err() {
                    // A packet the peer cannot take is dropped; the peer goes on.
                    return;
                }
                self.drain(now, venue);
            }
        }
    }

    /// The venue a datagram belongs to: by ICE user name for STUN (and then its source
    /// address is learned), by source address otherwise.
    fn route(&mut self, source: SocketAddr, bytes: &[u8]) -> Option<VenueId> {
        if let Some(v) = self.by_addr.get(&source) {
            return Some(*v);
        }
        let ufrag = stun_local_ufrag(bytes)?;
        let venue = *self.by_ufrag.get(ufrag)?;
        self.by_addr.insert(source, venue);
        Some(venue)
    }

    /// Gives the next output, or the time to be woken at when there is none.
    pub fn poll_output(&mut self, now: Instant) -> Output {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        let venues: Vec<VenueId> = self.peers.keys().copied().collect();
        for v in venues {
            self.drain(now, v);
        }
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        let mut next = self.next_turn.unwrap_or(now + Duration::from_secs(1));
        for p in self.peers.values_mut() {
            if let Ok(str0m::Output::Timeout(t)) = p.rtc.poll_output() {
                next = next.min(t);
            }
        }
        Output::Timeout(next.max(now))
    }

    /// Polls a peer until it has nothing more but a timeout, acting on its events.
    fn drain(&mut self, now: Instant, venue: VenueId) {
        loop {
            let Some(peer) = self.peers.get_mut(&venue) else { return };
            let out = match peer.rtc.poll_output() {
                Ok(o) => o,
                Err(_) => {
                    self.leave(now, venue);
                    return;
                }
            };
            match out {
                str0m::Output::Timeout(_) => return,
                str0m::Output::Transmit(t) => self.outputs.push_back(Output::Transmit { destination: t.destination, bytes: t.contents.into() }),
                str0m::Output::Event(e) => self.event(now, venue, e),
            }
        }
    }

    fn event(&mut self, now: Instant, venue: VenueId, e: Event) {
        let Some(peer) = self.peers.get_mut(&venue) else { return };
        let meeting = peer.meeting;
        match e {
            Event::Connected => {
                peer.connected = true;
                self.outputs.push_back(Output::Presence(meeting, venue, Presence::Present));
                self.rebuild_routes(now, meeting);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.leave(now, venue);
                self.outputs.push_back(Output::Presence(meeting, venue, Presence::Disconnected));
            }
            Event::MediaAdded(added) => {
                let l = &mut peer.lines;
                match (added.kind, added.direction) {
                    (MediaKind::Audio, Direction::SendRecv) if l.audio.is_none() => l.audio = Some(added.mid),
                    (MediaKind::Video, Direction::SendRecv) if l.video.is_none() => l.video = Some(added.mid),
                    (MediaKind::Audio, _) if l.audio2.is_none() => l.audio2 = Some(added.mid),
                    (MediaKind::Video, _) => l.wall.push(added.mid),
                    _ => {}
                }
                self.rebuild_routes(now, meeting);
            }
            Event::MediaData(data) => self.forward(now, venue, data),
            Event::KeyframeRequest(req) => {
                // A receiver asks for a keyframe of what it is shown: ask that source.
                let source = self.routes.iter().find(|(_, to)| to.contains(&(venue, req.mid))).map(|(from, _)| *from);
                if let Some((src, mid)) = source {
                    self.request_keyframe(now, src, mid);
                }
            }
            _ => {}
        }
    }

    fn forward(&mut self, now: Instant, source: VenueId, data: MediaData) {
        if !data.contiguous {
            self.request_keyframe(now, source, data.mid);
        }
        let Some(fanout) = self.routes.get(&(source, data.mid)) else { return };
        let fanout = fanout.clone();
        for (dest, mid) in fanout {
            let Some(peer) = self.peers.get_mut(&dest) else { continue };
            let Some(writer) = peer.rtc.writer(mid) else { continue };
            let Some(pt) = writer.match_params(data.params) else { continue };
            if writer.write(pt, data.network_time, data.time, data.data.clone()).is_err() {
                continue;
            }
            self.drain(now, dest);
        }
    }

    /// Asks a source line for a keyframe, at most once per [`KEYFRAME_INTERVAL`].
    fn request_keyframe(&mut self, now: Instant, venue: VenueId, mid: Mid) {
        let Some(peer) = self.peers.get_mut(&venue) else { return };
        if peer.last_keyframe_request.get(&mid).is_some_and(|t| now.saturating_duration_since(*t) < KEYFRAME_INTERVAL) {
            return;
        }
        let Some(mut writer) = peer.rtc.writer(mid) else { return };
        if writer.request_keyframe(None, KeyframeRequestKind::Pli).is_ok() {
            peer.last_keyframe_request.insert(mid, now);
        }
    }

    /// A meeting changed: tell its venues, and route media anew.
    fn changed(&mut self, now: Instant, meeting: MeetingId) {
        if let Some(m) = self.meetings.get(&meeting) {
            self.outputs.push_back(Output::State(meeting, m.clone()));
        }
        self.rebuild_routes(now, meeting);
    }

    /// Recomputes where each source line of the meeting goes; every receiver that now
    /// shows a new picture makes its source send a keyframe.
    fn rebuild_routes(&mut self, now: Instant, meeting: MeetingId) {
        let Some(m) = self.meetings.get(&meeting) else { return };
        let venues: Vec<VenueId> = self.peers.iter().filter(|(_, p)| p.meeting == meeting && p.connected).map(|(v, _)| *v).collect();
        let mut fresh: HashMap<(VenueId, Mid), Fanout> = HashMap::new();
        let line = |v: VenueId, f: fn(&Lines) -> Option<Mid>| self.peers.get(&v).and_then(|p| f(&p.lines));
        if self.next_turn.is_none() {
            self.next_turn = Some(now + WALL_TURN);
        }
        for &dest in &venues {
            if let (Some(src), Some(out)) = (m.picture_for(dest), line(dest, |l| l.video)) {
                if let Some(inp) = line(src, |l| l.video) {
                    fresh.entry((src, inp)).or_default().push((dest, out));
                }
            }
            for (i, src) in m.sounds_for(dest).into_iter().take(2).enumerate() {
                let out = if i == 0 { line(dest, |l| l.audio) } else { line(dest, |l| l.audio2) };
                if let (Some(out), Some(inp)) = (out, line(src, |l| l.audio)) {
                    fresh.entry((src, inp)).or_default().push((dest, out));
                }
            }
            if dest == m.main() {
                let slots = self.peers.get(&dest).map(|p| p.lines.wall.clone()).unwrap_or_default();
                for (src, out) in m.wall(slots.len().min(WALL_SIZE), self.wall_turn).into_iter().zip(slots) {
                    if let Some(inp) = line(src, |l| l.video) {
                        fresh.entry((src, inp)).or_default().push((dest, out));
                    }
                }
            }
        }
        let mut new_sources = Vec::new();
        for (key, to) in &fresh {
            let old = self.routes.get(key);
            if to.iter().any(|d| old.is_none_or(|o| !o.contains(d))) {
                new_sources.push(*key);
            }
        }
        self.routes.retain(|(v, _), _| !venues.contains(v) && self.peers.get(v).is_some_and(|p| p.meeting != meeting));
        self.routes.extend(fresh);
        for (v, mid) in new_sources {
            let video = self.peers.get(&v).is_some_and(|p| p.lines.video == Some(mid));
            if video {
                self.request_keyframe(now, v, mid);
            }
        }
    }

    /// The destinations of a source line (for tests and the chair's diagnostics).
    pub fn fanout(&self, venue: VenueId, kind: MediaKind) -> Vec<VenueId> {
        let Some(p) = self.peers.get(&venue) else { return Vec::new() };
        let mid = if kind == MediaKind::Video { p.lines.video } else { p.lines.audio };
        let mut to: Vec<VenueId> = mid.and_then(|m| self.routes.get(&(venue, m))).map(|f| f.iter().map(|(v, _)| *v).collect()).unwrap_or_default();
        to.sort();
        to.dedup();
        to
    }

    /// How many venues have a live peer.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }
}

/// An ICE password nobody can guess from the ufrag: the OS random source would be best,
/// but the core takes no I/O; the driver's time and a counter hashed are enough for a
/// password that only protects STUN checks on a connection whose keys DTLS negotiates.
fn random_pass(serial: u64, now: Instant) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(serial);
    h.write_u128(now.elapsed().as_nanos());
    let a = h.finish();
    h.write_u64(a);
    format!("{a:016x}{:016x}", h.finish())
}

/// The local (our) part of a STUN binding request's USERNAME ("ours:theirs"), if the
/// datagram is one. Reads only what it needs and refuses anything malformed.
pub fn stun_local_ufrag(b: &[u8]) -> Option<&str> {
    // STUN: first two bits zero, magic cookie at 4..8.
    if b.len() < 20 || b[0] & 0xc0 != 0 || b[4..8] != [0x21, 0x12, 0xa4, 0x42] {
        return None;
    }
    let len = u16::from_be_bytes([b[2], b[3]]) as usize;
    let body = b.get(20..20 + len)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let size = u16::from_be_bytes([body[at + 2], body[at + 3]]) as usize;
        let value = body.get(at + 4..at + 4 + size)?;
        if kind == 0x0006 {
            let name = std::str::from_utf8(value).ok()?;
            return name.split(':').next();
        }
        at += 4 + size.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(username: &[u8]) -> Vec<u8> {
        let mut attr = vec![0x00, 0x06];
        attr.extend((username.len() as u16).to_be_bytes());
        attr.extend(username);
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut b = vec![0x00, 0x01];
        b.extend((attr.len() as u16).to_be_bytes());
        b.extend([0x21, 0x12, 0xa4, 0x42]);
        b.extend([7; 12]);
        b.extend(attr);
        b
    }

    #[test]
    fn stun_user_names_are_read_and_junk_is_refused() {
        assert_eq!(stun_local_ufrag(&stun(b"v3x1:abcd")), Some("v3x1"));
        assert_eq!(stun_local_ufrag(&stun(b"v3x1")), Some("v3x1"));
        let mut cut = stun(b"v3x1:abcd");
        cut.truncate(26);
        assert_eq!(stun_local_ufrag(&cut), None, "an attribute longer than the packet");
        let mut lying = stun(b"v3x1:abcd");
        lying[3] = 200;
        assert_eq!(stun_local_ufrag(&lying), None, "a length longer than the packet");
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None, "RTP");
        assert_eq!(stun_local_ufrag(&[]), None);
        assert_eq!(stun_local_ufrag(&stun(&[0xff, 0xfe])), None, "not UTF-8");
    }
}
