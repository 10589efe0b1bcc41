//! The senders: looped clips written as RTP straight into str0m (RTP mode), every
//! packet stamped with its send time in abs-capture-time. Video frames are split by
//! [`crate::vp8::packetize`] and their packets spread out at 2.5 times the layer's
//! bitrate, as a browser's pacer does, rather than sent in one burst. For servers that
//! drop abs-capture-time (Janus), a sender can also append the send time to every
//! payload ([`crate::tag`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use str0m::Rtc;
use str0m::media::{Mid, Pt, Rid};
use str0m::rtp::{AbsCaptureTime, ExtensionValues, RtpWrite};

use crate::clips::{Audio, FPS};
use crate::ivf::Clip;

/// The extension values of a packet sent at `at`.
fn stamped(at: SystemTime) -> ExtensionValues {
    ExtensionValues { abs_capture_time: Some(AbsCaptureTime { capture_time: at, clock_offset: None }), ..Default::default() }
}

/// One simulcast layer (or the only one) of a video line.
#[derive(Debug)]
pub struct Layer {
    rid: Option<Rid>,
    clip: Arc<Clip>,
    kbps: u32,
    index: usize,
    picture_id: u16,
    seq: u64,
    /// Packets waiting for their paced time: (when, payload, marker, RTP time).
    pending: VecDeque<(Instant, Vec<u8>, bool, u32)>,
}

impl Layer {
    /// A layer sending `clip` at about `kbps` (which sets the pacing only: the clip's
    /// bitrate is what it was encoded at).
    pub fn new(rid: Option<&str>, clip: Arc<Clip>, kbps: u32) -> Layer {
        Layer { rid: rid.map(Rid::from), clip, kbps, index: 0, picture_id: fastrand::u16(..0x7fff), seq: u64::from(fastrand::u16(..10_000)), pending: VecDeque::new() }
    }
}

/// A video line's sender: every layer shares one RTP timestamp base and frame clock.
#[derive(Debug)]
pub struct VideoSender {
    mid: Mid,
    layers: Vec<Layer>,
    ts_base: u32,
    frames: u64,
    start: Option<Instant>,
    tag: bool,
}

impl VideoSender {
    /// A sender of `layers` on the line `mid`.
    pub fn new(mid: Mid, layers: Vec<Layer>) -> VideoSender {
        VideoSender { mid, layers, ts_base: fastrand::u32(..), frames: 0, start: None, tag: false }
    }

    /// Also appends the send-time tag ([`crate::tag`]) to every payload.
    pub fn tagged(mut self, on: bool) -> VideoSender {
        self.tag = on;
        self
    }

    fn next_frame(&self) -> Option<Instant> {
        self.start.map(|s| s + Duration::from_secs(self.frames) / FPS)
    }

    /// When the sender next has something to do.
    pub fn next_due(&self) -> Option<Instant> {
        let paced = self.layers.iter().filter_map(|l| l.pending.front().map(|p| p.0)).min();
        match (self.next_frame(), paced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts the next frame on every layer that asked for a keyframe from the start
    /// of its clip (the clip's one keyframe), as an encoder asked for one would.
    pub fn keyframe_request(&mut self, rid: Option<Rid>) {
        for l in &mut self.layers {
            if rid.is_none() || l.rid == rid {
                l.index = 0;
            }
        }
    }

    /// Writes what is due by `now`; returns packets written.
    pub fn poll(&mut self, rtc: &mut Rtc, pt: Pt, now: Instant) -> u64 {
        self.start.get_or_insert(now);
        // At most a few frames at once: a worker that fell behind skips, not bursts.
        let mut made = 0;
        while let Some(at) = self.next_frame().filter(|t| *t <= now) {
            let ts = self.ts_base.wrapping_add((self.frames * 90_000 / u64::from(FPS)) as u32);
            self.frames += 1;
            made += 1;
            if made > 3 {
                continue;
            }
            for l in &mut self.layers {
                let frame = &l.clip.frames[l.index];
                l.index = (l.index + 1) % l.clip.frames.len();
                let packets = crate::vp8::packetize(frame, l.picture_id);
                l.picture_id = (l.picture_id + 1) & 0x7fff;
                // 2.5 × the layer's bitrate, in bytes per second.
                let rate = f64::from(l.kbps.max(10)) * 2.5 * 125.0;
                let mut t = l.pending.back().map_or(at, |p| p.0.max(at));
                let n = packets.len();
                for (i, p) in packets.into_iter().enumerate() {
                    let gap = Duration::from_secs_f64(p.len() as f64 / rate);
                    l.pending.push_back((t, p, i + 1 == n, ts));
                    t += gap;
                }
            }
        }
        let mut sent = 0;
        let mut direct = rtc.direct_api();
        for l in &mut self.layers {
            while l.pending.front().is_some_and(|p| p.0 <= now) {
                let Some((_, mut payload, marker, ts)) = l.pending.pop_front() else { break };
                let Some(stream) = direct.stream_tx_by_mid(self.mid, l.rid) else { continue };
                let at = SystemTime::now();
                if self.tag {
                    payload.extend_from_slice(&crate::tag::encode(at));
                }
                stream.write_rtp(RtpWrite::new(pt, l.seq.into(), ts, now, payload).marker(marker).ext_vals(stamped(at)).nackable(true));
                l.seq += 1;
                sent += 1;
            }
        }
        sent
    }
}

/// An audio line's sender: one Opus packet every 20 ms.
#[derive(Debug)]
pub struct AudioSender {
    mid: Mid,
    clip: Arc<Audio>,
    index: usize,
    seq: u64,
    ts: u32,
    start: Option<Instant>,
    sent: u64,
    tag: bool,
}

const PTIME: Duration = Duration::from_millis(20);

impl AudioSender {
    /// A sender of `clip` on the line `mid`.
    pub fn new(mid: Mid, clip: Arc<Audio>) -> AudioSender {
        AudioSender { mid, clip, index: 0, seq: u64::from(fastrand::u16(..10_000)), ts: fastrand::u32(..), start: None, sent: 0, tag: false }
    }

    /// Also appends the send-time tag ([`crate::tag`]) to every payload.
    pub fn tagged(mut self, on: bool) -> AudioSender {
        self.tag = on;
        self
    }

    /// When the next packet is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.start.map(|s| s + PTIME * self.sent as u32)
    }

    /// Writes what is due by `now`; returns packets written.
    pub fn poll(&mut self, rtc: &mut Rtc, pt: Pt, now: Instant) -> u64 {
        self.start.get_or_insert(now);
        let mut n = 0;
        while self.next_due().is_some_and(|t| t <= now) {
            let packet = &self.clip.packets[self.index];
            self.index = (self.index + 1) % self.clip.packets.len();
            let ts = self.ts;
            self.ts = self.ts.wrapping_add(960);
            self.sent += 1;
            // A worker that fell behind skips packets rather than bursting them.
            if n >= 3 {
                continue;
            }
            let at = SystemTime::now();
            let mut payload = Vec::with_capacity(packet.len() + crate::tag::LEN);
            payload.extend_from_slice(packet);
            if self.tag {
                payload.extend_from_slice(&crate::tag::encode(at));
            }
            let mut direct = rtc.direct_api();
            if let Some(stream) = direct.stream_tx_by_mid(self.mid, None) {
                stream.write_rtp(RtpWrite::new(pt, self.seq.into(), ts, now, payload).ext_vals(stamped(at)));
            }
            self.seq += 1;
            n += 1;
        }
        n
    }
}
