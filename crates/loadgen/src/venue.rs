//! One venue's media: a str0m `Rtc` in RTP mode with its own UDP socket, its senders,
//! its network model and its receive statistics. The signaling modules build it, make
//! or answer the offer with it, then hand it to a worker ([`crate::worker`]) that
//! drives it with [`Venue::drive`].

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionMap};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::Error;
use crate::media::{AudioSender, Layer, VideoSender};
use crate::netem::{Link, LinkModel};
use crate::stats::{Receiver, StreamRx, StreamStats, VenueStats};

/// The abs-capture-time extension's id, as the server is configured to accept it.
pub const ABS_CAPTURE_TIME_ID: u8 = 9;

/// What a venue sends: its own microphone and camera.
#[derive(Debug, Clone)]
pub struct Sending {
    /// Camera and microphone off: the same lines are offered, nothing is sent (a
    /// branch that only watches, like a Janus subscriber).
    pub silent: bool,
    /// Append the send time to every payload ([`crate::tag`]), for a server that does
    /// not forward abs-capture-time; receivers read it when a packet has none.
    pub tag: bool,
    /// The Opus clip.
    pub audio: Arc<crate::clips::Audio>,
    /// The video layers: (rid, clip, kbps); one layer has no rid, several are simulcast.
    pub video: Vec<(Option<&'static str>, Arc<crate::ivf::Clip>, u32)>,
}

/// Which lines the venue's offer has, as `meeting.js` makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Audio and video send-receive, a second audio receive-only line, and the monitor
    /// wall's four video receive-only lines.
    Main,
    /// The same without the wall.
    Branch,
    /// Audio and video send-only, as a Janus VideoRoom publisher offers them (it
    /// receives through subscriptions of its own, which the load generator leaves out).
    Publisher,
}

/// The media side of one venue.
#[derive(Debug)]
pub struct Venue {
    /// The venue's id in the meeting.
    pub id: i64,
    /// Whether it is the main venue.
    pub main: bool,
    rtc: Rtc,
    pub(crate) socket: mio::net::UdpSocket,
    local: SocketAddr,
    inbound: Link,
    outbound: Link,
    audio: Option<AudioSender>,
    video: Option<VideoSender>,
    sending: Option<Sending>,
    audio_mid: Option<Mid>,
    picture_mid: Option<Mid>,
    opus: Option<Pt>,
    vp8: Option<Pt>,
    /// Per received SSRC: (clock rate, whether it is the main picture).
    ssrcs: std::collections::HashMap<u32, (u32, bool)>,
    recv: Receiver,
    since: Instant,
    connected: bool,
    failed: bool,
    /// Whether its signaling WebSocket is still open (set by the signaling task).
    pub signaling: Arc<AtomicBool>,
    rtc_due: Instant,
    due: Instant,
    /// The server's media address (where str0m last sent), for delayed datagrams.
    server: Option<SocketAddr>,
    buf: Vec<u8>,
    /// Packets written to str0m by the senders.
    pub sent: u64,
}

impl Venue {
    /// A venue bound to its own socket on 127.0.0.1, with no lines yet.
    pub fn new(id: i64, main: bool, now: Instant, model_in: LinkModel, model_out: LinkModel) -> Result<Venue, Error> {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| Error::Io(format!("binding a venue's socket: {e}")))?;
        std_socket.set_nonblocking(true).map_err(|e| Error::Io(e.to_string()))?;
        let local = std_socket.local_addr().map_err(|e| Error::Io(e.to_string()))?;
        let mut exts = ExtensionMap::standard();
        exts.set(ABS_CAPTURE_TIME_ID, Extension::AbsoluteCaptureTime);
        let mut cfg = Rtc::builder().set_rtp_mode(true).clear_codecs().enable_opus(true, false).enable_vp8(true).set_stats_interval(None);
        *cfg.extension_map() = exts;
        let mut rtc = cfg.build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| Error::Media(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let seed = fastrand::u64(..);
        Ok(Venue {
            id,
            main,
            rtc,
            socket: mio::net::UdpSocket::from_std(std_socket),
            local,
            inbound: Link::new(model_in, seed),
            outbound: Link::new(model_out, seed ^ 0x5555),
            audio: None,
            video: None,
            sending: None,
            audio_mid: None,
            picture_mid: None,
            opus: None,
            vp8: None,
            ssrcs: Default::default(),
            recv: Receiver::default(),
            since: now,
            connected: false,
            failed: false,
            signaling: Arc::new(AtomicBool::new(true)),
            rtc_due: now,
            due: now,
            server: None,
            buf: vec![0; 2000],
            sent: 0,
        })
    }

    /// Makes the offer a browser venue makes (`lines`), sending `sending`.
    pub fn offer(&mut self, lines: Lines, sending: Sending) -> Result<(SdpOffer, SdpPendingOffer), Error> {
        let mut api = self.rtc.sdp_api();
        let dir = if lines == Lines::Publisher { Direction::SendOnly } else { Direction::SendRecv };
        let audio = api.add_media(MediaKind::Audio, dir, None, None, None);
        let simulcast = (sending.video.len() > 1).then(|| Simulcast {
            send: sending.video.iter().map(|(rid, _, _)| SimulcastLayer::new(rid.unwrap_or("f"))).collect(),
            recv: vec![],
        });
        let video = api.add_media(MediaKind::Video, dir, None, None, simulcast);
        if lines != Lines::Publisher {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        if lines == Lines::Main {
            for _ in 0..4 {
                api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            }
        }
        let (offer, pending) = api.apply().ok_or_else(|| Error::Media("no offer made".into()))?;
        self.audio_mid = Some(audio);
        self.picture_mid = Some(video);
        self.sending = Some(sending);
        Ok((offer, pending))
    }

    /// Takes the server's answer to [`Venue::offer`].
    pub fn accept_answer(&mut self, pending: SdpPendingOffer, answer: SdpAnswer) -> Result<(), Error> {
        self.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| Error::Media(format!("the answer: {e}")))
    }

    /// Answers an offer made by the server (as a selective forwarder that offers its
    /// subscribers what they may receive does); the venue then receives only, and its
    /// first video line counts as its main picture.
    pub fn accept_offer(&mut self, offer: SdpOffer) -> Result<SdpAnswer, Error> {
        self.rtc.sdp_api().accept_offer(offer).map_err(|e| Error::Media(format!("the offer: {e}")))
    }

    /// The port of its socket on 127.0.0.1.
    pub fn local_port(&self) -> u16 {
        self.local.port()
    }

    /// Whether ICE and DTLS are up.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Whether the venue has given up (ICE disconnected or str0m failed).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Starts a new measured window at `now`, forgetting what came before.
    pub fn reset_stats(&mut self, now: Instant) {
        self.recv = Receiver::default();
        self.inbound.counts = Default::default();
        self.since = now;
    }

    /// The figures of the window since the last reset.
    pub fn stats(&mut self, now: Instant) -> VenueStats {
        let mut s = self.recv.summary(now, now.duration_since(self.since));
        s.streams = self
            .recv
            .streams
            .iter()
            .map(|(ssrc, st)| {
                let (clock, picture) = self.ssrcs.get(ssrc).copied().unwrap_or((90_000, false));
                StreamStats { ssrc: *ssrc, audio: clock == 48_000, picture, packets: st.packets, lost: st.lost, repaired: st.repaired }
            })
            .collect();
        s.streams.sort_by_key(|t| (!t.picture, t.audio, t.ssrc));
        s.venue = self.id;
        s.main = self.main;
        s.connected = self.connected && !self.failed && self.signaling.load(Ordering::Relaxed);
        s.model_dropped = self.inbound.counts.lost + self.inbound.counts.overflow;
        s
    }

    /// When the venue next needs [`Venue::drive`] without a datagram (kept up to date
    /// by `read` and `drive`, so that a worker's scan of its venues stays cheap).
    pub fn next_due(&self) -> Instant {
        self.due
    }

    fn update_due(&mut self) {
        if self.failed {
            // Nothing more to do for it: only its datagrams are still read (and dropped).
            self.due = Instant::now() + std::time::Duration::from_secs(3600);
            return;
        }
        let mut due = self.rtc_due;
        for t in [self.inbound.next_due(), self.outbound.next_due()].into_iter().flatten() {
            due = due.min(t);
        }
        if self.connected {
            for t in [self.audio.as_ref().and_then(|a| a.next_due()), self.video.as_ref().and_then(|v| v.next_due())].into_iter().flatten() {
                due = due.min(t);
            }
        }
        self.due = due;
    }

    /// Reads every datagram waiting on the socket into the network model.
    pub fn read(&mut self, now: Instant) {
        loop {
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, source)) => {
                    if let Some(d) = self.inbound.push(now, self.buf[..n].to_vec()) {
                        self.input(now, source, d);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ICMP port unreachable and the like: the server went away.
                Err(_) => break,
            }
        }
        self.update_due();
    }

    fn input(&mut self, now: Instant, source: SocketAddr, data: Vec<u8>) {
        if self.failed {
            return;
        }
        let Ok(contents) = data.as_slice().try_into() else { return };
        let r = Receive { proto: Protocol::Udp, source, destination: self.local, contents };
        if self.rtc.handle_input(Input::Receive(now, r)).is_err() {
            self.failed = true;
        }
        self.poll(now);
    }

    /// Does all that is due by `now`: delayed datagrams in and out, the senders, str0m's
    /// timers.
    pub fn drive(&mut self, now: Instant) {
        while let Some(d) = self.inbound.pop(now) {
            // Queued datagrams only ever come from the server's one address.
            if let Some(s) = self.server {
                self.input(now, s, d);
            }
        }
        if self.failed {
            self.update_due();
            return;
        }
        if self.connected {
            if let (Some(a), Some(pt)) = (&mut self.audio, self.opus) {
                self.sent += a.poll(&mut self.rtc, pt, now);
            }
            if let (Some(v), Some(pt)) = (&mut self.video, self.vp8) {
                self.sent += v.poll(&mut self.rtc, pt, now);
            }
        }
        if now >= self.rtc_due && self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.failed = true;
            self.update_due();
            return;
        }
        self.poll(now);
        while let Some(d) = self.outbound.pop(now) {
            if let Some(s) = self.server {
                let _ = self.socket.send_to(&d, s);
            }
        }
        self.update_due();
    }

    fn poll(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.rtc_due = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    self.server = Some(t.destination);
                    let data: Vec<u8> = t.contents.to_vec();
                    if let Some(d) = self.outbound.push(now, data) {
                        // A full socket buffer drops the datagram, as a congested link would.
                        let _ = self.socket.send_to(&d, t.destination);
                    }
                }
                Ok(Output::Event(e)) => self.event(now, e),
                Err(_) => {
                    self.failed = true;
                    return;
                }
            }
        }
    }

    fn event(&mut self, now: Instant, e: Event) {
        match e {
            Event::Connected => {
                self.connected = true;
                self.start_senders();
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => self.failed = true,
            // A venue that answered the server's offer receives its main picture on the
            // first video line the server added.
            Event::MediaAdded(m) if self.sending.is_none() && self.picture_mid.is_none() && m.kind == MediaKind::Video => self.picture_mid = Some(m.mid),
            Event::KeyframeRequest(k) => {
                if let Some(v) = &mut self.video {
                    v.keyframe_request(k.rid);
                }
            }
            Event::RtpPacket(p) => {
                let ssrc = *p.header.ssrc;
                let (clock, picture) = match self.ssrcs.get(&ssrc) {
                    Some(&v) => v,
                    None => {
                        let mid = self.rtc.direct_api().stream_rx(&p.header.ssrc).map(|s| s.mid());
                        let audio = self.rtc.codec_config().params().iter().any(|pp| pp.pt() == p.header.payload_type && pp.spec().codec == Codec::Opus);
                        let v = (if audio { 48_000 } else { 90_000 }, mid.is_some() && mid == self.picture_mid);
                        self.ssrcs.insert(ssrc, v);
                        v
                    }
                };
                let wall = SystemTime::now();
                let arrival = wall.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
                let stream = self.recv.streams.entry(ssrc).or_insert_with(|| StreamRx::new(clock));
                if !stream.packet(now, *p.seq_no, p.header.timestamp, arrival) {
                    return;
                }
                let mut len = p.payload.len();
                let sent = match p.header.ext_vals.abs_capture_time {
                    Some(act) => Some(act.capture_time),
                    None => crate::tag::decode(&p.payload).inspect(|_| len -= crate::tag::LEN),
                };
                // The tag is not media: the bitrate is the payload's without it.
                self.recv.bytes += len as u64;
                match sent {
                    Some(at) => {
                        let d = wall.duration_since(at).unwrap_or_default();
                        self.recv.delays.push(d.as_micros().min(u128::from(u32::MAX)) as u32);
                    }
                    None => self.recv.untimed += 1,
                }
                if picture {
                    if let Some(size) = crate::vp8::payload_keyframe_size(&p.payload) {
                        self.recv.keyframe = Some(size);
                        self.recv.keyframes += 1;
                    }
                    if p.header.marker {
                        self.recv.frame_done(now);
                    }
                }
            }
            _ => {}
        }
    }

    fn start_senders(&mut self) {
        let Some(sending) = self.sending.clone().filter(|s| !s.silent) else { return };
        let params = self.rtc.codec_config().params();
        self.opus = params.iter().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt());
        self.vp8 = params.iter().find(|p| p.spec().codec == Codec::Vp8).map(|p| p.pt());
        if let Some(mid) = self.audio_mid {
            self.audio = Some(AudioSender::new(mid, sending.audio.clone()).tagged(sending.tag));
        }
        if let Some(mid) = self.picture_mid {
            let layers = sending.video.iter().map(|(rid, clip, kbps)| Layer::new(*rid, clip.clone(), *kbps)).collect();
            self.video = Some(VideoSender::new(mid, layers).tagged(sending.tag));
        }
    }
}
