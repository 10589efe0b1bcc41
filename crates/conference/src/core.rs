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
//! Media are forwarded packet by packet (str0m's RTP mode), never decoded nor
//! reassembled into frames: a packet goes out to every receiver as soon as it arrives,
//! its payload shared, not copied. Each receiver's line has its own sequence numbers,
//! timestamps and VP8 picture ids, continued across switches (another venue on the
//! program, another simulcast layer), so its decoder sees one unbroken stream; a
//! video switch waits for a keyframe of the new source, asked for at once.
//!
//! A camera may send simulcast (several layers of one picture). Each receiver gets the
//! highest layer its bandwidth estimate (from transport-wide congestion control
//! feedback) carries; the chair's monitor wall always gets the lowest.
//!
//! Each venue's browser offers its m-lines in a fixed order: audio send-receive (its
//! microphone; the first sound it hears), video send-receive (its camera; the picture
//! it sees), audio receive-only (the second sound), and for the main venue some video
//! receive-only lines (the monitor wall).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionValues, RtpPacket, RtpWrite, SeqNo, Ssrc, Vp8Descriptor};
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
/// The bandwidth a new connection is assumed to have until its estimate says more:
/// enough for a middle layer, so that a picture shows at once, and probing finds out
/// whether the top layer fits.
pub const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(1_000);
/// What a receiver's sound takes of its estimate before its picture is chosen.
const AUDIO_SHARE: u64 = 50_000;
/// The RTP header extension id offered for the absolute capture time, which the core
/// forwards unchanged (receivers measure end-to-end delay with it).
pub const ABS_CAPTURE_TIME_ID: u8 = 9;

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
    /// The offer could not be read or accepted; the reason is ours, in words, never
    /// the SDP library's own report (which carries its parser's internals).
    BadOffer(&'static str),
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

/// One received stream of a source line: its only stream, or one simulcast layer.
#[derive(Debug, Clone, Copy)]
struct Layer {
    rid: Option<Rid>,
    /// Bytes since `since`, for the rate.
    bytes: u64,
    since: Instant,
    /// Bits per second over the last measured half second (0 until measured).
    rate: u64,
    /// When its last packet came.
    last: Instant,
}

/// How long a layer may be silent before receivers are moved off it.
const LAYER_STALE: Duration = Duration::from_millis(600);

/// The layers of a source line as receivers choose among them: the live ones by rate,
/// lowest first. At most three simulcast layers plus slack; no allocation.
#[derive(Debug, Clone, Copy, Default)]
struct Ranking {
    layers: [(Option<Rid>, u64); 4],
    len: usize,
}

impl Ranking {
    fn of(layers: &[Layer], now: Instant) -> Ranking {
        let mut r = Ranking::default();
        for l in layers.iter().filter(|l| now.saturating_duration_since(l.last) < LAYER_STALE).take(4) {
            r.layers[r.len] = (l.rid, l.rate);
            r.len += 1;
        }
        r.layers[..r.len].sort_by_key(|(_, rate)| *rate);
        r
    }

    fn live(&self) -> &[(Option<Rid>, u64)] {
        &self.layers[..self.len]
    }
}

/// The layer a receiver should get: the lowest for the monitor wall; otherwise the
/// highest whose rate fits the estimate (less the sound's share). Moving up needs 15%
/// headroom, so that a receiver near a layer's rate does not switch back and forth.
fn choose_layer(ranking: &Ranking, estimate: Option<Bitrate>, current: Option<Option<Rid>>, lowest: bool) -> Option<Option<Rid>> {
    let live = ranking.live();
    let first = live.first()?.0;
    if lowest || live.len() == 1 {
        return Some(first);
    }
    let budget = estimate.map_or(INITIAL_ESTIMATE.as_u64(), |e| e.as_u64()).saturating_sub(AUDIO_SHARE);
    let current_rate = current.and_then(|c| live.iter().find(|(r, _)| *r == c)).map(|(_, rate)| *rate);
    let mut best = first;
    for &(rid, rate) in live {
        let fits = if Some(rate) == current_rate || current_rate.is_some_and(|c| rate <= c) { rate <= budget } else { rate * 115 / 100 <= budget };
        if fits && rate > 0 {
            best = rid;
        }
    }
    Some(best)
}

/// Whether a receiver moves to the layer its estimate now allows, and since when it has
/// been waiting to move up. Down (or to the first layer) at once; up only once the
/// estimate has carried the higher layer for [`UPGRADE_HOLD`], so that a probe's short
/// overshoot does not push a receiver onto a layer its link cannot carry. A receiver
/// whose layer was chosen before any rate was measured (not `settled`) moves up at once.
fn hold_upgrade(up: bool, settled: bool, up_since: Option<Instant>, now: Instant) -> (bool, Option<Instant>) {
    if !(up && settled) {
        return (true, None);
    }
    let since = up_since.unwrap_or(now);
    if now.saturating_duration_since(since) < UPGRADE_HOLD { (false, Some(since)) } else { (true, None) }
}

/// A receiver's outgoing line: what it forwards now and how it rewrites packets so
/// that the receiver sees one continuous stream across switches.
#[derive(Debug)]
struct Out {
    /// The source line it forwards.
    source: Option<(VenueId, Mid)>,
    /// The layer forwarded now (`None`: nothing yet, waiting for a keyframe).
    layer: Option<Option<Rid>>,
    /// The layer it should forward; a switch happens at that layer's next keyframe.
    want: Option<Option<Rid>>,
    /// The monitor wall: always the lowest layer.
    lowest: bool,
    /// Outgoing sequence number = incoming + offset; nothing below `floor` (packets
    /// of the stream before the switch) goes out.
    seq_offset: i64,
    floor: u64,
    next_seq: u64,
    /// Outgoing timestamp = incoming + offset (wrapping).
    ts_offset: u32,
    last_ts: Option<u32>,
    /// VP8 picture ids go on counting across switches.
    pid_offset: u16,
    next_pid: Option<u16>,
    /// Payload types: the source's to this receiver's.
    pts: Vec<(Pt, Pt)>,
    /// Since when its estimate has carried a higher layer than the one it gets.
    up_since: Option<Instant>,
    /// Whether its layer has been chosen knowing every layer's rate.
    settled: bool,
}

impl Out {
    fn new() -> Out {
        Out { source: None, layer: None, want: None, lowest: false, seq_offset: 0, floor: 0, next_seq: 1, ts_offset: 0, last_ts: None, pid_offset: 0, next_pid: None, pts: Vec::new(), up_since: None, settled: false }
    }
}

/// The length of one frame at 90 kHz (video) or one 20 ms packet at 48 kHz (audio):
/// the gap left between the last timestamp of one source and the first of the next.
fn frame_ticks(video: bool) -> u32 {
    if video { 3_000 } else { 960 }
}

struct Peer {
    meeting: MeetingId,
    /// Which join made it: a page that reconnected has a newer one.
    serial: u64,
    rtc: Rtc,
    lines: Lines,
    connected: bool,
    /// Incoming streams' lines and layers, learned once per SSRC.
    streams: HashMap<Ssrc, (Mid, Option<Rid>)>,
    /// Incoming lines' layers.
    layers: HashMap<Mid, Vec<Layer>>,
    /// Outgoing lines.
    outs: HashMap<Mid, Out>,
    /// Its egress bandwidth estimate.
    estimate: Option<Bitrate>,
    /// When each of its incoming streams was last asked for a keyframe.
    last_keyframe_request: HashMap<(Mid, Option<Rid>), Instant>,
    /// When its `Rtc` wants to be woken.
    deadline: Instant,
    /// Whether it is in the core's list of peers to poll.
    dirty: bool,
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
    /// Peers that may have output: polled before anything else is looked at, so that
    /// a datagram costs work for the peers it touched, not for every peer. A peer's
    /// own `dirty` flag is what counts: an entry whose peer was polled since is skipped.
    dirty: Vec<VenueId>,
    /// Keyframe requests held back by [`KEYFRAME_INTERVAL`], sent when it has passed.
    held_keyframe_requests: Vec<(VenueId, Mid, Option<Rid>)>,
    /// Reused for the keyframe requests one forwarded packet gives rise to.
    asks: Vec<(VenueId, Mid, Option<Rid>)>,
    /// When every receiver's layers are next looked at again (layer rates change even
    /// when estimates do not).
    next_review: Option<Instant>,
    /// Threads that poll marked peers at once (the core's own among them).
    threads: usize,
    /// Marked peers each of them must have.
    peers_per_thread: usize,
    /// What polling gave, reused from one poll to the next.
    polled: Polled,
}

/// What polling peers gave: kept apart from the core while the peers are polled,
/// possibly on several threads, and acted on afterwards on the core's.
#[derive(Default)]
struct Polled {
    transmits: Vec<Output>,
    events: Vec<(VenueId, Event)>,
    failed: Vec<VenueId>,
}

impl Polled {
    fn append(&mut self, other: &mut Polled) {
        self.transmits.append(&mut other.transmits);
        self.events.append(&mut other.events);
        self.failed.append(&mut other.failed);
    }
}

/// How long a receiver's estimate must carry a higher layer before it moves up.
const UPGRADE_HOLD: Duration = Duration::from_secs(3);

/// How often every receiver's layers are chosen again.
const LAYER_REVIEW: Duration = Duration::from_millis(500);

/// The due timeouts one drain of a peer serves before the rest wait for the driver's
/// next round: enough for a frame's packets, and a bound should a peer keep asking.
const DUE_IN_DRAIN: u32 = 64;

/// Marked peers each polling thread must have, or polling stays on fewer threads.
/// Starting a thread takes tens of microseconds, about what polling a few peers does;
/// at 48 peers a thread it is a small share of the thread's work.
pub const PEERS_PER_THREAD: usize = 48;

/// Threads polling peers at most.
const MAX_THREADS: usize = 8;

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
            dirty: Vec::new(),
            held_keyframe_requests: Vec::new(),
            asks: Vec::new(),
            next_review: None,
            threads: default_threads(),
            peers_per_thread: PEERS_PER_THREAD,
            polled: Polled::default(),
        }
    }

    /// Sets how many threads poll peers at once (1 to 8; by default, the machine's
    /// cores but one) and how many marked peers each must have (by default
    /// [`PEERS_PER_THREAD`]).
    pub fn set_polling(&mut self, threads: usize, peers_per_thread: usize) {
        self.threads = threads.clamp(1, MAX_THREADS);
        self.peers_per_thread = peers_per_thread.max(1);
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
        let offer = SdpOffer::from_sdp_string(offer).map_err(|_| Refused::BadOffer("it is not SDP as a browser writes it"))?;
        self.serial += 1;
        // The ufrag names the venue, so that STUN finds its peer by one map lookup.
        let ufrag = format!("v{}x{}", venue.0, self.serial);
        let creds = IceCreds { ufrag: ufrag.clone(), pass: random_pass(self.serial, now) };
        // Packets are forwarded as they come (RTP mode); VP8 alone, since a switch
        // waits for a keyframe and the core knows VP8's.
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_local_ice_credentials(creds)
            .set_rtp_mode(true)
            .enable_bwe(Some(INITIAL_ESTIMATE))
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_extension(ABS_CAPTURE_TIME_ID, Extension::AbsoluteCaptureTime)
            .build(now);
        let candidate = Candidate::host(self.local, "udp").map_err(|_| Refused::BadOffer("the media server's address cannot be offered"))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|_| Refused::BadOffer("its media lines cannot be answered (it is not a venue page's offer)"))?;
        let answer = declare_missing_send_streams(&mut rtc, answer.to_sdp_string());
        self.drop_peer(venue);
        self.by_ufrag.insert(ufrag, venue);
        let peer = Peer {
            meeting,
            serial: self.serial,
            rtc,
            lines: Lines::default(),
            connected: false,
            streams: HashMap::new(),
            layers: HashMap::new(),
            outs: HashMap::new(),
            estimate: None,
            last_keyframe_request: HashMap::new(),
            deadline: now,
            dirty: false,
        };
        self.peers.insert(venue, peer);
        self.mark(venue);
        if let Some(m) = self.meetings.get_mut(&meeting) {
            m.join(venue, headcount);
        }
        self.changed(now, meeting);
        Ok(answer)
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
        self.held_keyframe_requests.retain(|(v, ..)| *v != venue);
        Some(peer.meeting)
    }

    /// Puts a peer on the list of those to poll.
    fn mark(&mut self, venue: VenueId) {
        if let Some(p) = self.peers.get_mut(&venue) {
            if !p.dirty {
                p.dirty = true;
                self.dirty.push(venue);
            }
        }
    }

    /// Polls a marked peer before it takes another input: str0m holds only one
    /// received packet for its next poll.
    fn settle(&mut self, now: Instant, venue: VenueId) {
        let Some(p) = self.peers.get_mut(&venue).filter(|p| p.dirty) else { return };
        // Its entry in the list stays; `flush` skips a peer whose flag is off.
        p.dirty = false;
        self.drain(now, venue);
    }

    /// Polls every marked peer (and those its events mark in turn). Many at once (a
    /// packet of the main venue forwarded to every branch) are polled on several
    /// threads: each peer is its own `Rtc`, and their sending (pacing, SRTP,
    /// retransmission cache) is most of the core's work.
    fn flush(&mut self, now: Instant) {
        loop {
            let threads = self.threads.min(self.dirty.len() / self.peers_per_thread);
            if threads >= 2 {
                self.drain_many(now, threads);
            } else if let Some(v) = self.dirty.pop() {
                if let Some(p) = self.peers.get_mut(&v).filter(|p| p.dirty) {
                    p.dirty = false;
                    self.drain(now, v);
                }
            } else {
                return;
            }
        }
    }

    /// Polls all marked peers on `threads` threads, then acts on what they gave.
    fn drain_many(&mut self, now: Instant, threads: usize) {
        self.dirty.clear();
        let mut work: Vec<(VenueId, &mut Peer)> = self
            .peers
            .iter_mut()
            .filter(|(_, p)| p.dirty)
            .map(|(v, p)| {
                p.dirty = false;
                (*v, p)
            })
            .collect();
        let mut polled = std::mem::take(&mut self.polled);
        let per_thread = work.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut chunks = work.chunks_mut(per_thread);
            let own = chunks.next();
            let others: Vec<_> = chunks
                .map(|chunk| {
                    scope.spawn(move || {
                        let mut polled = Polled::default();
                        for (v, p) in chunk {
                            poll_peer(now, *v, p, &mut polled);
                        }
                        polled
                    })
                })
                .collect();
            for (v, p) in own.into_iter().flatten() {
                poll_peer(now, *v, p, &mut polled);
            }
            for other in others {
                // A panic in str0m on another thread is one on this thread.
                let mut theirs = other.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                polled.append(&mut theirs);
            }
        });
        self.absorb(now, &mut polled);
        self.polled = polled;
    }

    /// Acts on what polling gave: datagrams out, events, peers that failed.
    fn absorb(&mut self, now: Instant, polled: &mut Polled) {
        self.outputs.extend(polled.transmits.drain(..));
        for (v, e) in polled.events.drain(..) {
            self.event(now, v, e);
        }
        for v in polled.failed.drain(..) {
            self.leave(now, v);
        }
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
                if self.next_review.is_none_or(|t| now >= t) {
                    self.next_review = Some(now + LAYER_REVIEW);
                    let venues: Vec<VenueId> = self.peers.keys().copied().collect();
                    for v in venues {
                        self.reconsider_layers(now, v);
                    }
                }
                let held = std::mem::take(&mut self.held_keyframe_requests);
                for (v, mid, rid) in held {
                    self.request_keyframe(now, v, mid, rid);
                }
                let due: Vec<VenueId> = self.peers.iter().filter(|(_, p)| p.deadline <= now).map(|(v, _)| *v).collect();
                for v in due {
                    self.settle(now, v);
                    if let Some(p) = self.peers.get_mut(&v) {
                        let _ = p.rtc.handle_input(str0m::Input::Timeout(now));
                    }
                    self.mark(v);
                }
                self.flush(now);
            }
            Input::Datagram { now, source, bytes } => {
                let Some(venue) = self.route(source, bytes) else { return };
                let Ok(contents) = bytes.try_into() else { return };
                self.settle(now, venue);
                let receive = Receive { proto: Protocol::Udp, source, destination: self.local, contents };
                let Some(peer) = self.peers.get_mut(&venue) else { return };
                if peer.rtc.handle_input(str0m::Input::Receive(now, receive)).is_err() {
                    // A packet the peer cannot take is dropped; the peer goes on.
                    return;
                }
                // Polled at the next `poll_output`: a batch of datagrams is forwarded
                // before anything is sent, and a venue's packets leave together.
                self.mark(venue);
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
        self.flush(now);
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        let mut next = self.next_turn.unwrap_or(now + Duration::from_secs(1));
        if !self.held_keyframe_requests.is_empty() {
            next = next.min(now + KEYFRAME_INTERVAL / 10);
        }
        if let Some(t) = self.next_review.filter(|_| !self.peers.is_empty()) {
            next = next.min(t);
        }
        for p in self.peers.values() {
            next = next.min(p.deadline);
        }
        Output::Timeout(next.max(now))
    }

    /// Polls a peer until it has nothing more but a timeout, acting on its events.
    fn drain(&mut self, now: Instant, venue: VenueId) {
        let Some(peer) = self.peers.get_mut(&venue) else { return };
        let mut polled = std::mem::take(&mut self.polled);
        poll_peer(now, venue, peer, &mut polled);
        self.absorb(now, &mut polled);
        self.polled = polled;
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
            Event::RtpPacket(p) => self.forward(now, venue, p),
            Event::KeyframeRequest(req) => {
                // A receiver asks for a keyframe of what it is shown: ask that source,
                // for the layer the receiver is getting or about to get.
                let ask = peer.outs.get(&req.mid).and_then(|o| Some((o.source?, o.want.or(o.layer)?)));
                if let Some(((src, mid), rid)) = ask {
                    self.request_keyframe(now, src, mid, rid);
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                peer.estimate = Some(estimate);
                self.reconsider_layers(now, venue);
            }
            _ => {}
        }
    }

    /// A receiver's estimate changed: each of its pictures may move to another layer,
    /// and its estimator is told how much more to probe for.
    fn reconsider_layers(&mut self, now: Instant, venue: VenueId) {
        let Some(peer) = self.peers.get(&venue) else { return };
        let estimate = peer.estimate;
        let mut changes = Vec::new();
        let mut ups = Vec::new();
        let mut settled = Vec::new();
        let mut top = 0;
        for (mid, out) in &peer.outs {
            let Some((src, smid)) = out.source else { continue };
            let Some(layers) = self.peers.get(&src).and_then(|p| p.layers.get(&smid)) else { continue };
            let ranking = Ranking::of(layers, now);
            let wanted = if out.lowest { ranking.live().first() } else { ranking.live().last() };
            top += wanted.map_or(0, |(_, rate)| *rate);
            let want = choose_layer(&ranking, estimate, out.layer, out.lowest);
            if !out.settled && ranking.live().iter().all(|(_, rate)| *rate > 0) {
                settled.push(*mid);
            }
            if want.is_none() || want == out.want {
                ups.push((*mid, None));
                continue;
            }
            let rate = |l: Option<Option<Rid>>| l.and_then(|l| ranking.live().iter().find(|(r, _)| *r == l)).map_or(0, |(_, rate)| *rate);
            let up = out.layer.is_some() && rate(want) > rate(out.layer);
            let (go, since) = hold_upgrade(up, out.settled, out.up_since, now);
            ups.push((*mid, since));
            if !go {
                continue;
            }
            changes.push((*mid, want, src, smid));
        }
        let Some(peer) = self.peers.get_mut(&venue) else { return };
        if top > 0 {
            // Probe well above what the top layers take: str0m paces at 1.1 times its
            // estimate, and a keyframe sent faster than that waits in its queue.
            let desired = Bitrate::from(top as f64 * 2.5 + AUDIO_SHARE as f64);
            peer.rtc.bwe().set_bitrate(Bitrate::ZERO, desired);
        }
        for (mid, since) in ups {
            if let Some(o) = peer.outs.get_mut(&mid) {
                o.up_since = since;
            }
        }
        for mid in settled {
            if let Some(o) = peer.outs.get_mut(&mid) {
                o.settled = true;
            }
        }
        for (mid, want, ..) in &changes {
            if let Some(o) = peer.outs.get_mut(mid) {
                o.want = *want;
            }
        }
        for (_, want, src, smid) in changes {
            if let Some(rid) = want {
                self.request_keyframe(now, src, smid, rid);
            }
        }
        self.mark(venue);
    }

    /// Sends a source's packet on to every receiver its line is routed to.
    fn forward(&mut self, now: Instant, source: VenueId, p: RtpPacket) {
        let Core { peers, routes, asks, dirty, .. } = self;
        let Some(src) = peers.get_mut(&source) else { return };
        let ssrc = p.header.ssrc;
        let (mid, rid) = match src.streams.get(&ssrc) {
            Some(s) => *s,
            None => {
                let Some(s) = src.rtc.direct_api().stream_rx(&ssrc).map(|s| (s.mid(), s.rid())) else { return };
                src.streams.insert(ssrc, s);
                s
            }
        };
        if p.payload.is_empty() {
            return;
        }
        let video = src.lines.video == Some(mid);
        let layers = src.layers.entry(mid).or_default();
        let at = match layers.iter().position(|l| l.rid == rid) {
            Some(i) => i,
            None => {
                layers.push(Layer { rid, bytes: 0, since: now, rate: 0, last: now });
                layers.len() - 1
            }
        };
        let l = &mut layers[at];
        l.bytes += p.payload.len() as u64;
        l.last = now;
        let elapsed = now.saturating_duration_since(l.since);
        if elapsed >= Duration::from_millis(500) {
            l.rate = (l.bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
            l.bytes = 0;
            l.since = now;
        }
        // The layer's rate is kept above even when no one receives it (a branch's
        // camera, say): it is what the first receiver's choice will go by.
        let Some(fanout) = routes.get(&(source, mid)) else { return };
        let ranking = Ranking::of(layers, now);
        let descriptor = if video { Vp8Descriptor::parse(&p.payload).ok() } else { None };
        let keyframe = descriptor.as_ref().is_some_and(|d| d.starts_keyframe(&p.payload));
        let Some(params) = src.rtc.codec_config().find(|c| c.pt() == p.header.payload_type).copied() else { return };

        // What the receiver needs of the sender's header extensions; its own line's
        // mid goes on each (a browser finds a stream its answer did not name by it).
        let v = &p.header.ext_vals;
        let ext = ExtensionValues { audio_level: v.audio_level, voice_activity: v.voice_activity, video_orientation: v.video_orientation, abs_capture_time: v.abs_capture_time, ..Default::default() };
        let seq = *p.seq_no;

        for &(dest, dmid) in fanout {
            let Some(dp) = peers.get_mut(&dest) else { continue };
            let estimate = dp.estimate;
            let out = dp.outs.entry(dmid).or_insert_with(Out::new);
            if out.source != Some((source, mid)) {
                // A new source on this line: choose its layer, wait for its keyframe.
                out.source = Some((source, mid));
                out.layer = None;
                out.want = choose_layer(&ranking, estimate, None, out.lowest);
                out.pts.clear();
                out.settled = false;
                out.up_since = None;
                if let Some(want) = out.want.filter(|_| video) {
                    asks.push((source, mid, want));
                }
            } else if out.layer.is_some_and(|cur| !ranking.live().iter().any(|(r, _)| *r == cur)) && out.want == out.layer {
                // Its layer stopped (the camera dropped it): move to another.
                out.want = choose_layer(&ranking, estimate, None, out.lowest);
                if let Some(want) = out.want {
                    asks.push((source, mid, want));
                }
            }
            if out.layer != Some(rid) {
                if out.want != Some(rid) || (video && !keyframe) {
                    continue;
                }
                // Switch: continue the receiver's numbering from where it stopped.
                out.layer = Some(rid);
                out.seq_offset = out.next_seq as i64 - seq as i64;
                out.floor = out.next_seq;
                let continued = p.header.timestamp.wrapping_add(out.ts_offset);
                if let Some(last) = out.last_ts {
                    // A layer of the same camera usually shares its clock; anything
                    // else starts one frame after the last timestamp sent.
                    if continued.wrapping_sub(last) as i32 <= 0 || continued.wrapping_sub(last) > 90_000 {
                        out.ts_offset = last.wrapping_add(frame_ticks(video)).wrapping_sub(p.header.timestamp);
                    }
                }
                if let (Some(d), Some(next)) = (descriptor.as_ref(), out.next_pid) {
                    if let Some(pid) = d.picture_id() {
                        out.pid_offset = next.wrapping_sub(pid);
                    }
                }
            }
            let out_seq = seq as i64 + out.seq_offset;
            if out_seq < out.floor as i64 {
                continue;
            }
            let out_seq = out_seq as u64;
            let pt = match out.pts.iter().find(|(s, _)| *s == params.pt()) {
                Some((_, d)) => *d,
                None => {
                    let Some(d) = dp.rtc.codec_config().match_params(params).map(|d| d.pt()) else { continue };
                    out.pts.push((params.pt(), d));
                    d
                }
            };
            let ts = p.header.timestamp.wrapping_add(out.ts_offset);
            out.next_seq = out.next_seq.max(out_seq + 1);
            if out.last_ts.is_none_or(|last| (ts.wrapping_sub(last) as i32) > 0) {
                out.last_ts = Some(ts);
            }
            let mut write = RtpWrite::new(pt, SeqNo::from(out_seq), ts, p.timestamp, p.payload.clone()).marker(p.header.marker).ext_vals(ExtensionValues { mid: Some(dmid), ..ext.clone() }).nackable(video);
            if let Some(d) = descriptor.as_ref() {
                if let Some(pid) = d.picture_id() {
                    // The M bit of the id's first byte: 15 bits or 7.
                    let long = p.payload.len() > 2 && p.payload[0] & 0x80 != 0 && p.payload[1] & 0x80 != 0 && p.payload[2] & 0x80 != 0;
                    let mask = if long { 0x7fff } else { 0x7f };
                    let new = pid.wrapping_add(out.pid_offset) & mask;
                    if out.next_pid.is_none_or(|n| (new.wrapping_sub(n) & mask) < mask / 2) {
                        out.next_pid = Some(new.wrapping_add(1) & mask);
                    }
                    if out.pid_offset != 0 {
                        if let Ok(patch) = d.patch().picture_id(new).build() {
                            write = write.vp8_patch(patch);
                        }
                    }
                }
            }
            let mut api = dp.rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(dmid, None) else { continue };
            tx.write_rtp(write);
            if !dp.dirty {
                dp.dirty = true;
                dirty.push(dest);
            }
        }
        let asks = std::mem::take(&mut self.asks);
        for &(v, m, r) in &asks {
            self.request_keyframe(now, v, m, r);
        }
        self.asks = asks;
        self.asks.clear();
    }

    /// Asks a source stream for a keyframe, at most once per [`KEYFRAME_INTERVAL`]; a
    /// request within it is held and sent when the interval has passed.
    fn request_keyframe(&mut self, now: Instant, venue: VenueId, mid: Mid, rid: Option<Rid>) {
        let Some(peer) = self.peers.get_mut(&venue) else { return };
        if peer.last_keyframe_request.get(&(mid, rid)).is_some_and(|t| now.saturating_duration_since(*t) < KEYFRAME_INTERVAL) {
            if !self.held_keyframe_requests.contains(&(venue, mid, rid)) {
                self.held_keyframe_requests.push((venue, mid, rid));
            }
            return;
        }
        let mut api = peer.rtc.direct_api();
        let Some(stream) = api.stream_rx_by_mid(mid, rid) else { return };
        stream.request_keyframe(KeyframeRequestKind::Pli);
        peer.last_keyframe_request.insert((mid, rid), now);
        self.mark(venue);
    }

    /// A meeting changed: tell its venues, and route media anew.
    fn changed(&mut self, now: Instant, meeting: MeetingId) {
        if let Some(m) = self.meetings.get(&meeting) {
            self.outputs.push_back(Output::State(meeting, m.clone()));
        }
        self.rebuild_routes(now, meeting);
    }

    /// Recomputes where each source line of the meeting goes. A receiver whose line
    /// gets a new source switches at that source's first keyframe (see `forward`).
    fn rebuild_routes(&mut self, now: Instant, meeting: MeetingId) {
        let Some(m) = self.meetings.get(&meeting) else { return };
        let venues: Vec<VenueId> = self.peers.iter().filter(|(_, p)| p.meeting == meeting && p.connected).map(|(v, _)| *v).collect();
        let mut fresh: HashMap<(VenueId, Mid), Fanout> = HashMap::new();
        let line = |v: VenueId, f: fn(&Lines) -> Option<Mid>| self.peers.get(&v).and_then(|p| f(&p.lines));
        if self.next_turn.is_none() {
            self.next_turn = Some(now + WALL_TURN);
        }
        let mut wall_lines = Vec::new();
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
                        wall_lines.push((dest, out));
                    }
                }
            }
        }
        for (dest, mid) in wall_lines {
            if let Some(p) = self.peers.get_mut(&dest) {
                p.outs.entry(mid).or_insert_with(Out::new).lowest = true;
            }
        }
        self.routes.retain(|(v, _), _| !venues.contains(v) && self.peers.get(v).is_some_and(|p| p.meeting != meeting));
        self.routes.extend(fresh);
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

/// Threads polling peers by default: the machine's cores but one, which the driver's
/// sending thread keeps busy. On two cores that is one: a second polling thread there
/// waits for a core behind the sender and the load, the core's thread waits for it,
/// and the socket overflows meanwhile (docs/BENCHMARKS.md).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).clamp(1, MAX_THREADS)
}

/// Polls a peer until it has nothing more but a timeout, keeping what it gives.
///
/// A timeout that is already due is served here and the peer polled again: str0m's
/// pacer asks for one after every packet it lets out, and going back to the driver for
/// each cost a timer round over all peers per packet, which under load left the server
/// further behind (see docs/BENCHMARKS.md).
fn poll_peer(now: Instant, venue: VenueId, peer: &mut Peer, into: &mut Polled) {
    let mut served = 0;
    loop {
        match peer.rtc.poll_output() {
            Err(_) => {
                into.failed.push(venue);
                return;
            }
            Ok(str0m::Output::Timeout(t)) if t <= now && served < DUE_IN_DRAIN => {
                served += 1;
                let _ = peer.rtc.handle_input(str0m::Input::Timeout(now));
            }
            Ok(str0m::Output::Timeout(t)) => {
                peer.deadline = t;
                return;
            }
            Ok(str0m::Output::Transmit(t)) => into.transmits.push(Output::Transmit { destination: t.destination, bytes: t.contents.into() }),
            Ok(str0m::Output::Event(e)) => into.events.push((venue, e)),
        }
    }
}

/// Gives every line the core sends on a send stream, and names it in the answer.
///
/// str0m 0.25 makes no send stream for a line whose offer sends simulcast (a camera's
/// line, on which the venue also receives its picture): it takes the offer's layers as
/// the ones it would send. The stream is declared here, with its retransmission
/// stream, and its SSRCs are added to that line of the answer, as str0m writes them
/// for every other line, so that the browser knows the stream before it arrives.
fn declare_missing_send_streams(rtc: &mut Rtc, answer: String) -> String {
    let mids: Vec<Mid> = answer.lines().filter_map(|l| l.strip_prefix("a=mid:")).map(|m| Mid::from(m.trim())).collect();
    let mut extra: Vec<(Mid, String)> = Vec::new();
    for mid in mids {
        let Some(media) = rtc.media(mid) else { continue };
        if !media.direction().is_sending() {
            continue;
        }
        let cname = media.cname().to_owned();
        let mut api = rtc.direct_api();
        if api.stream_tx_by_mid(mid, None).is_some() {
            continue;
        }
        let (ssrc, rtx) = (api.new_ssrc(), api.new_ssrc());
        api.declare_stream_tx(ssrc, Some(rtx), mid, None);
        extra.push((mid, format!("a=ssrc-group:FID {ssrc} {rtx}\r\na=ssrc:{ssrc} cname:{cname}\r\na=ssrc:{rtx} cname:{cname}\r\n")));
    }
    if extra.is_empty() {
        return answer;
    }
    // Each line's section ends where the next `m=` starts (or at the end).
    let mut out = String::with_capacity(answer.len() + 256);
    let mut pending: Option<&str> = None;
    for line in answer.split_inclusive('\n') {
        if line.starts_with("m=") {
            if let Some(add) = pending.take() {
                out.push_str(add);
            }
        }
        if let Some(mid) = line.strip_prefix("a=mid:") {
            let mid = Mid::from(mid.trim());
            pending = extra.iter().find(|(m, _)| *m == mid).map(|(_, a)| a.as_str());
        }
        out.push_str(line);
    }
    if let Some(add) = pending {
        out.push_str(add);
    }
    out
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

    fn ranking(rates: &[(&str, u64)]) -> Ranking {
        let now = Instant::now();
        let layers: Vec<Layer> = rates.iter().map(|(rid, rate)| Layer { rid: Some((*rid).into()), bytes: 0, since: now, rate: *rate, last: now }).collect();
        Ranking::of(&layers, now)
    }

    #[test]
    fn a_receiver_gets_the_highest_layer_its_estimate_carries_and_the_wall_the_lowest() {
        let r = ranking(&[("f", 1_500_000), ("q", 150_000), ("h", 500_000)]);
        let pick = |estimate: u64, current: Option<&str>, lowest: bool| {
            choose_layer(&r, Some(Bitrate::bps(estimate)), current.map(|c| Some(c.into())), lowest).flatten().map(|r| r.to_string())
        };
        assert_eq!(pick(3_000_000, None, false).as_deref(), Some("f"));
        assert_eq!(pick(3_000_000, None, true).as_deref(), Some("q"), "the wall");
        assert_eq!(pick(800_000, None, false).as_deref(), Some("h"));
        assert_eq!(pick(100_000, None, false).as_deref(), Some("q"), "the lowest when nothing fits");
        // Moving up needs headroom; staying does not.
        assert_eq!(pick(1_650_000, Some("h"), false).as_deref(), Some("h"));
        assert_eq!(pick(1_650_000, Some("f"), false).as_deref(), Some("f"));
        assert_eq!(pick(1_900_000, Some("h"), false).as_deref(), Some("f"));
        let single = ranking(&[("x", 2_000_000)]);
        assert!(choose_layer(&single, Some(Bitrate::bps(100_000)), None, false).is_some(), "a single stream is always forwarded");
    }

    #[test]
    fn a_receiver_moves_down_at_once_and_up_only_after_the_estimate_held() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(hold_upgrade(true, true, None, t0), (false, Some(t0)), "the first sign of room starts the wait");
        assert_eq!(hold_upgrade(true, true, Some(t0), t0 + 2 * s), (false, Some(t0)));
        assert_eq!(hold_upgrade(true, true, Some(t0), t0 + UPGRADE_HOLD), (true, None), "held long enough");
        assert_eq!(hold_upgrade(false, true, Some(t0), t0 + s), (true, None), "down at once, and the wait is over");
        assert_eq!(hold_upgrade(true, false, None, t0), (true, None), "a first choice made blind is corrected at once");
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
