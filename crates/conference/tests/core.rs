//! The media core with simulated venues and no sockets: each venue is a str0m peer as a
//! browser would be, datagrams are handed over in memory, and time is simulated in 1 ms
//! steps. Checks what is forwarded to whom, and the keyframe requests on a switch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use conference::core::{Core, Input, MeetingId, Output};
use conference::meeting::{Command, Presence, VenueId};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::{Candidate, Event, Rtc};

const MEETING: MeetingId = MeetingId(7);
const MAIN: VenueId = VenueId(1);

/// A simulated browser venue.
struct Venue {
    id: VenueId,
    addr: SocketAddr,
    rtc: Rtc,
    audio: Mid,
    video: Mid,
    audio2: Mid,
    /// Media received: (line, the frame's sender tag).
    received: Vec<(Mid, u8)>,
    keyframe_requests: usize,
    /// Whether its next video frame is a keyframe (the first one, or one asked for).
    keyframe_due: bool,
    /// Its camera sends three simulcast layers (tags 10×id + 0, 1, 2; growing sizes).
    simulcast: bool,
    /// Video frames that came with a gap in the sequence numbers before them.
    gaps: usize,
}

/// The simulcast layers a camera may send, lowest first.
const LAYERS: [&str; 3] = ["q", "h", "f"];

struct World {
    now: Instant,
    core: Core,
    venues: Vec<Venue>,
    core_addr: SocketAddr,
    presence: Vec<(VenueId, Presence)>,
}

impl World {
    fn new(branches: i64) -> World {
        World::polled(branches, None)
    }

    /// A world whose core polls its peers on `threads` threads as soon as each has
    /// `per_thread` marked peers.
    fn polled(branches: i64, polling: Option<(usize, usize)>) -> World {
        let now = Instant::now();
        let core_addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut core = Core::new(core_addr);
        if let Some((threads, per_thread)) = polling {
            core.set_polling(threads, per_thread);
        }
        let ids: Vec<VenueId> = (2..2 + branches).map(VenueId).collect();
        core.open_meeting(MEETING, MAIN, &ids);
        let mut w = World { now, core, venues: Vec::new(), core_addr, presence: Vec::new() };
        w.join(MAIN, 4);
        for v in ids {
            w.join(v, 0);
        }
        w.run(Duration::from_secs(3));
        w
    }

    fn join(&mut self, id: VenueId, wall: usize) {
        self.join_with(id, wall, false);
    }

    fn join_with(&mut self, id: VenueId, wall: usize, simulcast: bool) {
        let addr: SocketAddr = format!("127.0.0.{}:{}", 2 + id.0 % 200, 6000 + id.0).parse().unwrap();
        let mut rtc = Rtc::builder().build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let layers = simulcast.then(|| {
            let mut s = Simulcast::new();
            for rid in LAYERS {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let video = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, layers);
        let audio2 = api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        for _ in 0..wall {
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = api.apply().unwrap();
        let answer = self.core.join(self.now, MEETING, id, &offer.to_sdp_string(), 10 * id.0).expect("joined");
        rtc.sdp_api().accept_answer(pending, str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap()).unwrap();
        self.venues.retain(|v| v.id != id);
        self.venues.push(Venue { id, addr, rtc, audio, video, audio2, received: Vec::new(), keyframe_requests: 0, keyframe_due: true, simulcast, gaps: 0 });
    }

    fn venue(&mut self, id: VenueId) -> &mut Venue {
        self.venues.iter_mut().find(|v| v.id == id).unwrap()
    }

    /// Runs the world for `d` in 1 ms steps; every venue sends a video frame every
    /// 33 ms (a keyframe when asked for one) and an audio frame every 20 ms, tagged
    /// with its id.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        let mut step = 0u64;
        while self.now < end {
            self.now += Duration::from_millis(1);
            step += 1;
            let now = self.now;
            let mut to_core: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
            for v in &mut self.venues {
                if v.rtc.is_alive() && step.is_multiple_of(33) {
                    // A VP8 frame's first bit tells a keyframe (0) from the others.
                    let key = std::mem::take(&mut v.keyframe_due);
                    if v.simulcast {
                        for (i, rid) in LAYERS.into_iter().enumerate() {
                            let f = frame(v.id.0 as u8 * 10 + i as u8, key, 60 << (2 * i));
                            send_layer(&mut v.rtc, v.video, Some(rid.into()), now, f, step, Frequency::NINETY_KHZ);
                        }
                    } else {
                        send(&mut v.rtc, v.video, now, frame(v.id.0 as u8, key, 60), step, Frequency::NINETY_KHZ);
                    }
                }
                if v.rtc.is_alive() && step.is_multiple_of(20) {
                    send(&mut v.rtc, v.audio, now, vec![v.id.0 as u8; 60], step, Frequency::FORTY_EIGHT_KHZ);
                }
                let _ = v.rtc.handle_input(str0m::Input::Timeout(now));
                while let Ok(out) = v.rtc.poll_output() {
                    match out {
                        str0m::Output::Timeout(_) => break,
                        str0m::Output::Transmit(t) => to_core.push((t.source, t.contents.into())),
                        str0m::Output::Event(Event::MediaData(d)) => {
                            if d.mid == v.video && !d.contiguous {
                                v.gaps += 1;
                            }
                            v.received.push((d.mid, d.data.get(3).copied().unwrap_or(0)));
                        }
                        str0m::Output::Event(Event::KeyframeRequest(_)) => {
                            v.keyframe_requests += 1;
                            v.keyframe_due = true;
                        }
                        str0m::Output::Event(_) => {}
                    }
                }
            }
            for (source, bytes) in to_core {
                self.core.handle_input(Input::Datagram { now, source, bytes: &bytes });
            }
            self.core.handle_input(Input::Timeout(now));
            self.drain_core();
        }
    }

    fn drain_core(&mut self) {
        let now = self.now;
        let by_addr: HashMap<SocketAddr, usize> = self.venues.iter().enumerate().map(|(i, v)| (v.addr, i)).collect();
        loop {
            match self.core.poll_output(now) {
                Output::Timeout(_) => break,
                Output::Transmit { destination, bytes } => {
                    if let Some(i) = by_addr.get(&destination) {
                        let v = &mut self.venues[*i];
                        let receive = str0m::net::Receive {
                            proto: str0m::net::Protocol::Udp,
                            source: self.core_addr,
                            destination,
                            contents: bytes.as_slice().try_into().unwrap(),
                        };
                        let _ = v.rtc.handle_input(str0m::Input::Receive(now, receive));
                    }
                }
                Output::Presence(_, v, p) => self.presence.push((v, p)),
                Output::State(..) => {}
            }
        }
    }

    /// Forgets what every venue received so far.
    fn forget(&mut self) {
        for v in &mut self.venues {
            v.received.clear();
        }
    }

    /// Which venues' video (by tag) `id` received on its picture line since the last call.
    fn pictures(&mut self, id: VenueId) -> Vec<u8> {
        let v = self.venue(id);
        let video = v.video;
        let mut tags: Vec<u8> = v.received.iter().filter(|(m, _)| *m == video).map(|(_, t)| *t).collect();
        tags.sort();
        tags.dedup();
        tags
    }

    fn sounds(&mut self, id: VenueId) -> Vec<u8> {
        let v = self.venue(id);
        let (a, b) = (v.audio, v.audio2);
        let mut tags: Vec<u8> = v.received.iter().filter(|(m, _)| *m == a || *m == b).map(|(_, t)| *t).collect();
        tags.sort();
        tags.dedup();
        tags
    }
}

/// A VP8-shaped frame tagged with its venue (and layer): a keyframe or not.
fn frame(tag: u8, key: bool, size: usize) -> Vec<u8> {
    let mut f = vec![tag; size];
    f[0] = if key { 0x00 } else { 0x01 };
    f
}

fn send(rtc: &mut Rtc, mid: Mid, now: Instant, data: Vec<u8>, step: u64, freq: Frequency) {
    send_layer(rtc, mid, None, now, data, step, freq);
}

fn send_layer(rtc: &mut Rtc, mid: Mid, rid: Option<Rid>, now: Instant, data: Vec<u8>, step: u64, freq: Frequency) {
    let Some(writer) = rtc.writer(mid) else { return };
    let writer = match rid {
        Some(r) => writer.rid(r),
        None => writer,
    };
    let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else { return };
    let time = MediaTime::new(step * freq.get() as u64 / 1000, freq);
    let _ = writer.write(pt, now, time, data);
}

#[test]
fn every_branch_sees_and_hears_the_main_venue_by_default() {
    let mut w = World::new(3);
    assert_eq!(w.core.peer_count(), 4);
    assert!(w.presence.iter().filter(|(_, p)| *p == Presence::Present).count() >= 4, "{:?}", w.presence);
    w.forget();
    w.run(Duration::from_millis(500));
    for b in 2..=4 {
        assert_eq!(w.pictures(VenueId(b)), [1], "branch {b} sees the main venue");
    }
    for b in 2..=4 {
        assert_eq!(w.sounds(VenueId(b)), [1], "branch {b} hears the main venue");
    }
    assert_eq!(w.core.fanout(MAIN, MediaKind::Video), [VenueId(2), VenueId(3), VenueId(4)]);
}

#[test]
fn a_roll_call_switches_every_screen_and_asks_the_called_venue_for_a_keyframe() {
    let mut w = World::new(3);
    w.run(Duration::from_millis(300));
    let before = w.venue(VenueId(2)).keyframe_requests;
    w.core.command(w.now, MEETING, Command::RollCall(VenueId(2))).unwrap();
    w.run(Duration::from_millis(200));
    assert!(w.venue(VenueId(2)).keyframe_requests > before, "the called venue is asked for a keyframe");
    w.forget();
    w.run(Duration::from_millis(500));
    assert_eq!(w.pictures(VenueId(3)), [2], "the others see branch 2");
    assert_eq!(w.pictures(VenueId(4)), [2]);
    assert_eq!(w.pictures(VenueId(2)), [1], "branch 2 sees the chair");
    assert_eq!(w.sounds(VenueId(3)), [1, 2], "and hears both");

    // Muting branch 2 stops its sound everywhere; its picture goes on.
    w.core.command(w.now, MEETING, Command::Mute(VenueId(2))).unwrap();
    w.run(Duration::from_millis(100));
    w.forget();
    w.run(Duration::from_millis(500));
    assert_eq!(w.sounds(VenueId(3)), [1]);
    assert_eq!(w.pictures(VenueId(3)), [2]);

    w.core.command(w.now, MEETING, Command::Release).unwrap();
    w.run(Duration::from_millis(200));
    w.forget();
    w.run(Duration::from_millis(500));
    assert_eq!(w.pictures(VenueId(3)), [1]);
}

#[test]
fn keyframe_requests_of_many_receivers_reach_a_source_at_most_once_a_second() {
    let mut w = World::new(12);
    w.run(Duration::from_millis(300));
    let before = w.venue(MAIN).keyframe_requests;
    // Every branch switches away and back, many times within two seconds.
    for _ in 0..10 {
        w.core.command(w.now, MEETING, Command::RollCall(VenueId(5))).unwrap();
        w.run(Duration::from_millis(100));
        w.core.command(w.now, MEETING, Command::Release).unwrap();
        w.run(Duration::from_millis(100));
    }
    let asked = w.venue(MAIN).keyframe_requests - before;
    assert!((1..=3).contains(&asked), "2 s of switching by 11 receivers made {asked} keyframe requests to the main venue");
}

#[test]
fn the_main_venue_wall_shows_the_branches_and_a_leaver_frees_its_place() {
    let mut w = World::new(3);
    w.run(Duration::from_millis(300));
    let main = w.venue(MAIN);
    let lines: Vec<Mid> = main.received.iter().map(|(m, _)| *m).collect();
    let tags: std::collections::BTreeSet<u8> = main.received.iter().filter(|(m, _)| *m != main.audio && *m != main.audio2 && *m != main.video).map(|(_, t)| *t).collect();
    assert!(!lines.is_empty());
    assert_eq!(tags.into_iter().collect::<Vec<_>>(), [2, 3, 4], "the wall shows every branch");

    w.core.leave(w.now, VenueId(3));
    w.run(Duration::from_millis(100));
    assert_eq!(w.core.peer_count(), 3);
    assert_eq!(w.core.meeting(MEETING).unwrap().venues()[&VenueId(3)].presence, Presence::Disconnected);
    assert_eq!(w.core.fanout(MAIN, MediaKind::Video), [VenueId(2), VenueId(4)]);
}

#[test]
fn an_unusable_offer_is_refused_in_our_words_without_the_parsers_internals() {
    let mut w = World::new(1);
    let now = w.now;
    for offer in ["", "v=0\r\nnonsense", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", &"x".repeat(100_000)] {
        let e = w.core.join(now, MEETING, VenueId(2), offer, 0).expect_err("refused").to_string();
        assert!(e.starts_with("unusable offer: "), "{e}");
        assert!(e.len() < 120 && !e.contains("0x") && !e.contains('{'), "no debug output: {e}");
    }
}

#[test]
fn junk_datagrams_are_dropped_without_harming_anyone() {
    let mut w = World::new(2);
    let now = w.now;
    let stranger: SocketAddr = "127.0.0.99:9999".parse().unwrap();
    for junk in [vec![], vec![0u8; 3], vec![0x80; 1200], vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 6, 0, 200]] {
        w.core.handle_input(Input::Datagram { now, source: stranger, bytes: &junk });
    }
    // Junk from a venue's own address reaches its peer, which drops it.
    let addr = w.venue(VenueId(2)).addr;
    w.core.handle_input(Input::Datagram { now, source: addr, bytes: &[0x80; 300] });
    w.forget();
    w.run(Duration::from_millis(500));
    assert_eq!(w.pictures(VenueId(2)), [1]);
    assert_eq!(w.pictures(VenueId(3)), [1]);
}

#[test]
fn a_venue_that_rejoined_is_not_dropped_when_its_old_connection_goes() {
    let mut w = World::new(2);
    let old = w.core.serial(VenueId(2)).unwrap();
    w.join(VenueId(2), 0);
    let new = w.core.serial(VenueId(2)).unwrap();
    assert_ne!(old, new);
    w.core.leave_connection(w.now, VenueId(2), old);
    assert_eq!(w.core.serial(VenueId(2)), Some(new), "the old connection's end leaves the new one alone");
    w.run(Duration::from_secs(2));
    w.forget();
    w.run(Duration::from_millis(500));
    assert_eq!(w.pictures(VenueId(2)), [1], "the rejoined venue sees the main venue again");
    w.core.leave_connection(w.now, VenueId(2), new);
    assert_eq!(w.core.peer_count(), 2);
}

#[test]
fn a_receiver_sees_one_unbroken_stream_across_switches() {
    let mut w = World::new(3);
    w.run(Duration::from_millis(500));
    for _ in 0..3 {
        w.core.command(w.now, MEETING, Command::RollCall(VenueId(2))).unwrap();
        w.run(Duration::from_millis(400));
        w.core.command(w.now, MEETING, Command::Release).unwrap();
        w.run(Duration::from_millis(400));
    }
    let v = w.venue(VenueId(3));
    let frames = v.received.iter().filter(|(m, _)| *m == v.video).count();
    assert!(frames > 50, "{frames} frames");
    // The first frame has nothing before it; every switch must continue the numbering.
    assert!(v.gaps <= 1, "{} of {frames} frames came after a gap in the sequence numbers", v.gaps);
}

#[test]
fn peers_polled_on_several_threads_get_the_same_media() {
    // Every poll of two marked peers or more is spread over three threads: joining,
    // connecting, forwarding and keyframe requests all go through it.
    let mut w = World::polled(12, Some((3, 1)));
    assert!(w.presence.iter().filter(|(_, p)| *p == Presence::Present).count() >= 13, "{:?}", w.presence);
    w.forget();
    w.run(Duration::from_millis(500));
    for b in 2..=13 {
        assert_eq!(w.pictures(VenueId(b)), [1], "branch {b} sees the main venue");
        assert_eq!(w.sounds(VenueId(b)), [1], "branch {b} hears the main venue");
    }
    for _ in 0..2 {
        w.core.command(w.now, MEETING, Command::RollCall(VenueId(2))).unwrap();
        w.run(Duration::from_millis(400));
        w.core.command(w.now, MEETING, Command::Release).unwrap();
        w.run(Duration::from_millis(400));
    }
    for b in 3..=13 {
        let v = w.venue(VenueId(b));
        let (video, gaps) = (v.video, v.gaps);
        let seen: Vec<u8> = v.received.iter().filter(|(m, _)| *m == video).map(|(_, t)| *t).collect();
        assert!(seen.len() > 30, "branch {b}: {} frames", seen.len());
        assert!(seen.contains(&2), "branch {b} saw the called venue");
        assert!(gaps <= 1, "branch {b}: {gaps} frames after a gap");
    }
}

#[test]
fn the_wall_gets_the_lowest_layer_and_a_screen_the_highest_its_estimate_carries() {
    let now = Instant::now();
    let core_addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut core = Core::new(core_addr);
    core.open_meeting(MEETING, MAIN, &[VenueId(2), VenueId(3), VenueId(4)]);
    let mut w = World { now, core, venues: Vec::new(), core_addr, presence: Vec::new() };
    w.join(MAIN, 4);
    w.join_with(VenueId(2), 0, true);
    w.join(VenueId(3), 0);
    w.join(VenueId(4), 0);
    w.run(Duration::from_secs(2));
    w.core.command(w.now, MEETING, Command::RollCall(VenueId(2))).unwrap();
    w.run(Duration::from_secs(2));
    w.forget();
    w.run(Duration::from_secs(1));
    // Branch 2's layers: 20 (lowest), 21, 22; all fit a fresh connection's estimate.
    assert_eq!(w.pictures(VenueId(3)), [22], "a branch on the program gets the top layer");
    assert_eq!(w.pictures(VenueId(4)), [22]);
    let main = w.venue(MAIN);
    let (a, v, a2) = (main.audio, main.video, main.audio2);
    let mut wall: Vec<u8> = main.received.iter().filter(|(m, _)| *m != a && *m != v && *m != a2).map(|(_, t)| *t).collect();
    wall.sort();
    wall.dedup();
    assert_eq!(wall, [3, 4, 20], "the wall shows every branch, branch 2 by its lowest layer");
}

/// What strangers send the media server, a bounded number of cases each run: any
/// datagrams from anyone, and any commands a chair's page could send. Nothing panics,
/// nothing breaks a meeting, and its state stays whole.
mod strangers {
    use conference::meeting::{Command, Meeting, VenueId};
    use proptest::prelude::*;

    use super::*;

    /// Cases per property: a bounded number on every test run (CI included), more when
    /// `PROPTEST_CASES` asks for a longer hunt.
    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// Bytes shaped like what arrives on the media port: STUN, RTP/RTCP, DTLS, anything.
    fn datagram() -> impl Strategy<Value = Vec<u8>> {
        let tail = proptest::collection::vec(any::<u8>(), 0..1400);
        prop_oneof![
            tail.clone().prop_map(|t| [vec![0x00, 0x01, 0x00, (t.len() % 256) as u8, 0x21, 0x12, 0xa4, 0x42], t].concat()),
            tail.clone().prop_map(|t| [vec![0x80, 0x60], t].concat()),
            tail.clone().prop_map(|t| [vec![0x80, 0xc8], t].concat()),
            tail.clone().prop_map(|t| [vec![0x16, 0xfe, 0xfd], t].concat()),
            tail,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: if std::env::var_os("PROPTEST_CASES").is_some() { cases(12) / 8 + 4 } else { 12 }, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn datagrams_from_anyone_never_break_a_meeting(junk in proptest::collection::vec((any::<bool>(), datagram()), 1..80)) {
            let mut w = World::new(2);
            let now = w.now;
            let stranger: SocketAddr = "127.0.0.99:9999".parse().unwrap();
            let venue = w.venue(VenueId(2)).addr;
            for (from_venue, bytes) in &junk {
                let source = if *from_venue { venue } else { stranger };
                w.core.handle_input(Input::Datagram { now, source, bytes });
            }
            w.forget();
            w.run(Duration::from_millis(500));
            prop_assert_eq!(w.pictures(VenueId(2)), vec![1]);
            prop_assert_eq!(w.pictures(VenueId(3)), vec![1]);
        }
    }

    fn command() -> impl Strategy<Value = Command> {
        let v = (0i64..8).prop_map(VenueId);
        prop_oneof![
            v.clone().prop_map(Command::Broadcast),
            v.clone().prop_map(Command::RollCall),
            Just(Command::Release),
            v.clone().prop_map(Command::GiveFloor),
            Just(Command::TakeFloor),
            v.clone().prop_map(Command::Mute),
            v.clone().prop_map(Command::Unmute),
            Just(Command::MuteBranches),
            Just(Command::UnmuteBranches),
            v.clone().prop_map(Command::RaiseHand),
            v.prop_map(Command::LowerHand),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(512), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_commands_keep_a_meeting_whole(
            steps in proptest::collection::vec((command(), any::<bool>(), 0i64..8), 0..60),
        ) {
            let main = VenueId(1);
            let mut m = Meeting::new(main);
            for b in 2..6 {
                m.add_branch(VenueId(b));
            }
            for (c, leave, v) in steps {
                let known = m.venues().contains_key(&VenueId(v));
                if leave { m.disconnect(VenueId(v)) } else { m.join(VenueId(v), v) }
                let _ = m.apply(c);
                // A venue that was unknown to the meeting joins as one (its link made it).
                prop_assert!(known || !leave || !m.venues().contains_key(&VenueId(v)));
                let venues: Vec<VenueId> = m.venues().keys().copied().collect();
                prop_assert!(venues.contains(&m.program()), "the program is one of the meeting's venues");
                prop_assert!(m.hands().all(|h| h != main && venues.contains(&h)), "hands are branches'");
                for v in &venues {
                    prop_assert!(m.picture_for(*v).is_none_or(|p| venues.contains(&p) && p != *v), "no venue is shown itself");
                    prop_assert!(!m.sounds_for(*v).contains(v), "no venue hears itself");
                }
            }
        }
    }
}
