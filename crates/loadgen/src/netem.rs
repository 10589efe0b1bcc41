//! The network model of one direction of one venue's path, since the kernel here has
//! no netem: random loss, a fixed extra one-way delay, and a bandwidth limit as a
//! token bucket in front of a bounded queue (an over-rate stream first queues, then
//! drops, which the receiver's transport-wide feedback reports to the sender's
//! estimator). Pure: time is an argument, and the random source is seeded.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What one direction of a path does to datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkModel {
    /// Probability that a datagram is lost (0 to 1).
    pub loss: f64,
    /// Extra one-way delay.
    pub delay: Duration,
    /// Bandwidth limit in kbit/s (`None`: unlimited).
    pub limit_kbps: Option<u32>,
    /// Longest time a datagram may wait for the limit before it is dropped
    /// (`Duration::ZERO` means the default, 200 ms).
    pub queue: Duration,
}

impl LinkModel {
    /// Whether the link passes everything at once, untouched.
    pub fn is_clear(&self) -> bool {
        self.loss <= 0.0 && self.delay.is_zero() && self.limit_kbps.is_none()
    }
}

/// A datagram's fate, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Dropped by random loss.
    pub lost: u64,
    /// Dropped because the queue in front of the limit was full.
    pub overflow: u64,
}

/// One direction of a path: datagrams go in with [`Link::push`] and come out, when
/// due, from [`Link::pop`].
#[derive(Debug)]
pub struct Link {
    model: LinkModel,
    rng: fastrand::Rng,
    /// The bucket's theoretical arrival time (GCRA): when the limit has sent all it
    /// has accepted; a burst of `BURST` bytes may go ahead of it.
    tat: Option<Instant>,
    queue: VecDeque<(Instant, Vec<u8>)>,
    /// What happened so far.
    pub counts: LinkCounts,
}

/// Bytes that may pass the limit at once after a quiet spell (a few packets, as a
/// shaper's bucket allows).
const BURST: u32 = 10_000;

impl Link {
    /// A link with the model's behaviour and its own random sequence.
    pub fn new(model: LinkModel, seed: u64) -> Link {
        Link { model, rng: fastrand::Rng::with_seed(seed), tat: None, queue: VecDeque::new(), counts: LinkCounts::default() }
    }

    /// The model in force.
    pub fn model(&self) -> &LinkModel {
        &self.model
    }

    /// Offers a datagram at `now`; `Some` gives it straight back when the link has
    /// nothing to do (the common case, with no copy and no queue).
    pub fn push(&mut self, now: Instant, data: Vec<u8>) -> Option<Vec<u8>> {
        if self.model.loss > 0.0 && self.rng.f64() < self.model.loss {
            self.counts.lost += 1;
            return None;
        }
        let mut depart = now;
        if let Some(kbps) = self.model.limit_kbps {
            let rate = f64::from(kbps.max(1)) * 1000.0 / 8.0; // bytes per second
            let cost = Duration::from_secs_f64(data.len() as f64 / rate);
            let tau = Duration::from_secs_f64(f64::from(BURST) / rate);
            let tat = self.tat.unwrap_or(now).max(now);
            depart = tat.checked_sub(tau).map_or(now, |t| t.max(now));
            let limit = if self.model.queue.is_zero() { Duration::from_millis(200) } else { self.model.queue };
            if depart - now > limit {
                self.counts.overflow += 1;
                return None;
            }
            self.tat = Some(tat + cost);
        }
        if depart == now && self.model.delay.is_zero() && self.queue.is_empty() {
            return Some(data);
        }
        // Departures never go backwards and the delay is fixed: the queue stays sorted.
        self.queue.push_back((depart + self.model.delay, data));
        None
    }

    /// The next datagram due by `now`.
    pub fn pop(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.queue.front().is_some_and(|(t, _)| *t <= now) { self.queue.pop_front().map(|(_, d)| d) } else { None }
    }

    /// When the next queued datagram is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(link: &mut Link, until: Instant) -> usize {
        let mut n = 0;
        while link.pop(until).is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn clear_link_passes_at_once() {
        let now = Instant::now();
        let mut l = Link::new(LinkModel::default(), 1);
        assert_eq!(l.push(now, vec![1]), Some(vec![1]));
        assert_eq!(l.next_due(), None);
    }

    #[test]
    fn loss_is_near_its_probability() {
        let now = Instant::now();
        let mut l = Link::new(LinkModel { loss: 0.05, ..Default::default() }, 7);
        let passed = (0..100_000).filter(|_| l.push(now, vec![0]).is_some()).count();
        assert!((94_000..96_000).contains(&passed), "{passed}");
        assert_eq!(l.counts.lost as usize, 100_000 - passed);
    }

    #[test]
    fn delay_holds_datagrams() {
        let t0 = Instant::now();
        let mut l = Link::new(LinkModel { delay: Duration::from_millis(30), ..Default::default() }, 1);
        assert_eq!(l.push(t0, vec![1]), None);
        assert_eq!(l.pop(t0 + Duration::from_millis(29)), None);
        assert_eq!(l.pop(t0 + Duration::from_millis(30)), Some(vec![1]));
    }

    #[test]
    fn limit_queues_then_drops() {
        // 400 kbit/s is 50 kB/s; offer 1000-byte datagrams at 100 kB/s for 2 s.
        let t0 = Instant::now();
        let mut l = Link::new(LinkModel { limit_kbps: Some(400), queue: Duration::from_millis(100), ..Default::default() }, 1);
        let mut out = 0;
        for i in 0..200u64 {
            let now = t0 + Duration::from_millis(i * 10);
            out += usize::from(l.push(now, vec![0; 1000]).is_some());
            out += drain(&mut l, now);
        }
        out += drain(&mut l, t0 + Duration::from_secs(3));
        // About 2 s × 50 kB/s, plus the burst and the queue's worth.
        assert!((95..=120).contains(&out), "{out}");
        assert_eq!(out as u64 + l.counts.overflow, 200);
    }
}
