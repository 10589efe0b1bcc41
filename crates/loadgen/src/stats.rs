//! What a venue measures of what it receives: per stream, sequence gaps (loss, counted
//! only after a grace period so that NACK and RTX can repair them first), repairs,
//! interarrival jitter (RFC 3550), and per venue the added delay (receive time minus
//! the sender's abs-capture-time), the last keyframe's size and the longest freeze.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long a missing packet may take to arrive (late or retransmitted) before it
/// counts as lost.
pub const GRACE: Duration = Duration::from_millis(500);

/// One received RTP stream (an SSRC).
#[derive(Debug)]
pub struct StreamRx {
    clock_rate: u32,
    highest: Option<u64>,
    /// Missing sequence numbers and when they were found missing.
    missing: BTreeMap<u64, Instant>,
    /// Packets received (repairs included, duplicates not).
    pub packets: u64,
    /// Missing packets that arrived later (retransmitted or reordered).
    pub repaired: u64,
    /// Packets given up on.
    pub lost: u64,
    last_transit: Option<f64>,
    /// RFC 3550 interarrival jitter in seconds.
    pub jitter: f64,
}

impl StreamRx {
    /// A stream whose RTP clock runs at `clock_rate` Hz.
    pub fn new(clock_rate: u32) -> StreamRx {
        StreamRx { clock_rate: clock_rate.max(1), highest: None, missing: BTreeMap::new(), packets: 0, repaired: 0, lost: 0, last_transit: None, jitter: 0.0 }
    }

    /// Records a packet: its extended sequence number, RTP timestamp and arrival
    /// (`arrival` in seconds on any fixed clock). Returns false for a duplicate.
    pub fn packet(&mut self, now: Instant, seq: u64, rtp_time: u32, arrival: f64) -> bool {
        match self.highest {
            Some(h) if seq <= h => {
                if self.missing.remove(&seq).is_none() {
                    return false;
                }
                self.repaired += 1;
            }
            Some(h) => {
                // A jump of more than a few seconds' packets is a restart, not loss.
                if seq - h <= 3000 {
                    for s in h + 1..seq {
                        self.missing.insert(s, now);
                    }
                }
                self.highest = Some(seq);
            }
            None => self.highest = Some(seq),
        }
        self.packets += 1;
        let transit = arrival - f64::from(rtp_time) / f64::from(self.clock_rate);
        if let Some(last) = self.last_transit {
            // The RTP clock wraps every 13 hours at 90 kHz: a wrap shows as a jump, ignored.
            let d = (transit - last).abs();
            if d < 10.0 {
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.last_transit = Some(transit);
        true
    }

    /// Counts as lost what has been missing longer than [`GRACE`].
    pub fn expire(&mut self, now: Instant) {
        while let Some((&seq, &since)) = self.missing.first_key_value() {
            if now.duration_since(since) < GRACE {
                break;
            }
            self.missing.remove(&seq);
            self.lost += 1;
        }
    }
}

/// The receive side of one venue while it is measured.
#[derive(Debug, Default)]
pub struct Receiver {
    /// Streams by SSRC.
    pub streams: HashMap<u32, StreamRx>,
    /// Bytes of RTP payload received.
    pub bytes: u64,
    /// Packets that carried no abs-capture-time (counted, not in the delay figures).
    pub untimed: u64,
    /// Added delays in microseconds.
    pub delays: Vec<u32>,
    /// Size of the last VP8 keyframe seen on the venue's main picture.
    pub keyframe: Option<(u16, u16)>,
    /// Keyframes seen.
    pub keyframes: u64,
    last_frame: Option<Instant>,
    /// Longest time between two completed frames of the main picture.
    pub longest_gap: Duration,
    /// Frame gaps longer than [`FREEZE`].
    pub freezes: u64,
}

/// A gap between frames this long is a freeze (a viewer notices it).
pub const FREEZE: Duration = Duration::from_millis(500);

impl Receiver {
    /// A frame of the main picture completed at `now` (its last packet came).
    pub fn frame_done(&mut self, now: Instant) {
        if let Some(last) = self.last_frame {
            let gap = now.duration_since(last);
            self.longest_gap = self.longest_gap.max(gap);
            if gap > FREEZE {
                self.freezes += 1;
            }
        }
        self.last_frame = Some(now);
    }

    /// Sums the venue's figures over `elapsed`.
    pub fn summary(&mut self, now: Instant, elapsed: Duration) -> VenueStats {
        let mut s = VenueStats::default();
        for st in self.streams.values_mut() {
            st.expire(now);
            s.packets += st.packets;
            s.lost += st.lost;
            s.repaired += st.repaired;
            s.jitter_ms = s.jitter_ms.max(st.jitter * 1000.0);
        }
        s.bytes = self.bytes;
        s.kbps = self.bytes as f64 * 8.0 / elapsed.as_secs_f64().max(1e-9) / 1000.0;
        s.loss = if s.packets + s.lost == 0 { 0.0 } else { s.lost as f64 / (s.packets + s.lost) as f64 };
        s.untimed = self.untimed;
        s.timed = self.delays.len() as u64;
        if !self.delays.is_empty() {
            self.delays.sort_unstable();
            s.delay_mean_ms = Some(self.delays.iter().map(|&d| f64::from(d)).sum::<f64>() / self.delays.len() as f64 / 1000.0);
            s.delay_p99_ms = Some(f64::from(percentile(&self.delays, 0.99)) / 1000.0);
        }
        s.keyframe = self.keyframe;
        s.keyframes = self.keyframes;
        s.longest_gap_ms = self.longest_gap.as_secs_f64() * 1000.0;
        s.freezes = self.freezes;
        s
    }
}

/// The value below which `q` of a sorted list lies.
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// One venue's figures over the measured window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VenueStats {
    /// The venue's id in the meeting.
    pub venue: i64,
    /// Whether it is the main venue.
    pub main: bool,
    /// Whether its media connected (ICE and DTLS) and its WebSocket stayed open.
    pub connected: bool,
    /// RTP packets received (retransmissions that filled a gap included).
    pub packets: u64,
    /// RTP payload bytes received.
    pub bytes: u64,
    /// Received bitrate in kbit/s.
    pub kbps: f64,
    /// Packets never received (after the grace period).
    pub lost: u64,
    /// Packets that came after being found missing (mostly retransmissions).
    pub repaired: u64,
    /// lost / (received + lost).
    pub loss: f64,
    /// The largest RFC 3550 jitter of its streams, in ms.
    pub jitter_ms: f64,
    /// Packets with an abs-capture-time, in the delay figures.
    pub timed: u64,
    /// Packets without one.
    pub untimed: u64,
    /// Mean added delay (receive time − capture time), in ms: the server's forwarding
    /// and pacing, the generator's own scheduling, and any delay its network model adds
    /// on either side, since the receive time is taken when str0m hands the packet over.
    pub delay_mean_ms: Option<f64>,
    /// 99th percentile of the added delay, in ms.
    pub delay_p99_ms: Option<f64>,
    /// Width and height of the last keyframe of its main picture.
    pub keyframe: Option<(u16, u16)>,
    /// Keyframes of its main picture.
    pub keyframes: u64,
    /// The longest time between two completed frames of its main picture, in ms.
    pub longest_gap_ms: f64,
    /// Frame gaps longer than 500 ms.
    pub freezes: u64,
    /// Datagrams the network model dropped on the way in (loss and overflow).
    pub model_dropped: u64,
    /// Each received stream's counts (where the loss is).
    pub streams: Vec<StreamStats>,
}

/// One received stream's counts over the window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamStats {
    /// Its SSRC.
    pub ssrc: u32,
    /// Whether it is sound (else a picture).
    pub audio: bool,
    /// Whether it is the venue's main picture (its send-receive video line).
    pub picture: bool,
    /// Packets received.
    pub packets: u64,
    /// Packets lost (after the grace period).
    pub lost: u64,
    /// Packets that filled a gap.
    pub repaired: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_after_grace_and_repairs_fill_them() {
        let t0 = Instant::now();
        let mut s = StreamRx::new(90_000);
        for seq in [10u64, 11, 14, 15] {
            assert!(s.packet(t0, seq, 0, 0.0));
        }
        s.expire(t0 + GRACE / 2);
        assert_eq!(s.lost, 0);
        assert!(s.packet(t0, 12, 0, 0.0));
        assert!(!s.packet(t0, 12, 0, 0.0), "a duplicate");
        s.expire(t0 + GRACE);
        assert_eq!((s.packets, s.repaired, s.lost), (5, 1, 1));
    }

    #[test]
    fn jitter_follows_rfc3550() {
        let t0 = Instant::now();
        let mut s = StreamRx::new(1000);
        // Sent every 10 ms, arriving alternately 0 and 4 ms late: |D| = 4 ms each time.
        for i in 0..200u64 {
            let late = if i % 2 == 0 { 0.0 } else { 0.004 };
            s.packet(t0, i, (i * 10) as u32, i as f64 * 0.010 + late);
        }
        assert!((s.jitter - 0.004).abs() < 0.0002, "{}", s.jitter);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&[], 0.99), 0);
    }
}
