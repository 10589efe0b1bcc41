//! Slowing down password guessing without letting a stranger lock anyone out.
//!
//! Failed sign-ins are counted per (source address, account name) and per source
//! address. After a few free failures each further attempt must wait, twice as long
//! each time, up to [`MAX_WAIT`]. Nothing is counted per name alone: whoever knows an
//! account's name, guessing from elsewhere, cannot keep its owner out.
//!
//! An attempt at a name is counted when it starts, before its password is checked, so
//! that many guesses at one name sent at once gain nothing: the fourth one in flight is
//! refused before any hashing. A source's count is of failures only, so that a crowd
//! behind one address (an office's router, a proxy) signing in at once goes through;
//! it is asked again just before each password is checked, so that guesses at many
//! names queued at once are refused as soon as the source has failed enough.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures of one source at one account name before attempts must wait.
pub(crate) const FREE_PER_NAME: u32 = 3;
/// Failures of one source, whatever the names, before its attempts must wait.
pub(crate) const FREE_PER_SOURCE: u32 = 20;
/// The longest wait between attempts.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(300);
/// Entries kept before old ones (idle longer than the longest wait) are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Failed (or pending) sign-ins of one key.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// How long the next attempt must still wait at `now`, with `free` failures free.
    fn wait(&self, free: u32, now: Instant) -> Duration {
        if self.count < free {
            return Duration::ZERO;
        }
        let wait = Duration::from_secs(1 << (self.count - free).min(16)).min(MAX_WAIT);
        (self.last + wait).saturating_duration_since(now)
    }
}

/// The failures of every (source, name) and every source.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    pairs: HashMap<(IpAddr, String), Failures>,
    sources: HashMap<IpAddr, Failures>,
}

impl Throttle {
    /// Starts an attempt of `source` at `name`: refused with the seconds to wait, or
    /// counted against the pair as a failure until [`Throttle::succeeded`] says
    /// otherwise.
    pub(crate) fn attempt(&mut self, source: IpAddr, name: &str, now: Instant) -> Result<(), u64> {
        let pair = self.pairs.get(&(source, name.to_owned())).map_or(Duration::ZERO, |f| f.wait(FREE_PER_NAME, now));
        let wait = pair.max(self.source_wait(source, now));
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1));
        }
        if self.pairs.len() + self.sources.len() > PRUNE_ABOVE {
            self.pairs.retain(|_, f| now.saturating_duration_since(f.last) < MAX_WAIT);
            self.sources.retain(|_, f| now.saturating_duration_since(f.last) < MAX_WAIT);
        }
        let f = self.pairs.entry((source, name.to_owned())).or_insert(Failures { count: 0, last: now });
        f.count += 1;
        f.last = now;
        Ok(())
    }

    fn source_wait(&self, source: IpAddr, now: Instant) -> Duration {
        self.sources.get(&source).map_or(Duration::ZERO, |f| f.wait(FREE_PER_SOURCE, now))
    }

    /// Asked just before a password is checked: refused with the seconds to wait if the
    /// source has failed too often meanwhile.
    pub(crate) fn may_check(&self, source: IpAddr, now: Instant) -> Result<(), u64> {
        match self.source_wait(source, now) {
            w if w.is_zero() => Ok(()),
            w => Err(w.as_secs().max(1)),
        }
    }

    /// The attempt of `source` had the wrong password (or name): the source's count
    /// grows (the pair's was counted when the attempt began).
    pub(crate) fn failed(&mut self, source: IpAddr, now: Instant) {
        let f = self.sources.entry(source).or_insert(Failures { count: 0, last: now });
        f.count += 1;
        f.last = now;
    }

    /// The attempt of `source` at `name` had the right password: its pair starts afresh.
    pub(crate) fn succeeded(&mut self, source: IpAddr, name: &str) {
        self.pairs.remove(&(source, name.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failed_sign_ins_wait_longer_and_longer() {
        let t = Instant::now();
        let f = |count| Failures { count, last: t };
        assert!(f(2).wait(3, t).is_zero());
        assert_eq!(f(3).wait(3, t), Duration::from_secs(1));
        assert_eq!(f(5).wait(3, t), Duration::from_secs(4));
        assert_eq!(f(40).wait(3, t), MAX_WAIT);
        assert!(f(3).wait(3, t + Duration::from_secs(2)).is_zero());
    }

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let (mut th, now, a) = (Throttle::default(), Instant::now(), ip("192.0.2.1"));
        // Ten guesses at once: three go ahead, the rest are refused unheard.
        let allowed = (0..10).filter(|_| th.attempt(a, "daoli", now).is_ok()).count();
        assert_eq!(allowed, FREE_PER_NAME as usize);
        assert_eq!(th.attempt(a, "daoli", now), Err(1));
    }

    #[test]
    fn a_stranger_guessing_a_name_does_not_lock_its_owner_out() {
        let (mut th, now) = (Throttle::default(), Instant::now());
        let (stranger, owner) = (ip("198.51.100.7"), ip("192.0.2.1"));
        for _ in 0..50 {
            let _ = th.attempt(stranger, "daoli", now);
        }
        assert!(th.attempt(stranger, "daoli", now).is_err());
        assert!(th.attempt(owner, "daoli", now).is_ok(), "the owner signs in from its own address");
        th.succeeded(owner, "daoli");
        assert!(th.attempt(owner, "daoli", now).is_ok());
    }

    #[test]
    fn one_source_guessing_many_names_is_slowed_down_too() {
        let (mut th, now, a) = (Throttle::default(), Instant::now(), ip("203.0.113.9"));
        // Forty guesses at forty names, all queued at once: each checked one only if
        // the source has not failed too often by its turn.
        let started = (0..40).filter(|i| th.attempt(a, &format!("name{i}"), now).is_ok()).count();
        assert_eq!(started, 40, "a name each: no pair is over its count yet");
        let mut checked = 0;
        for _ in 0..40 {
            if th.may_check(a, now).is_ok() {
                checked += 1;
                th.failed(a, now);
            }
        }
        assert_eq!(checked, FREE_PER_SOURCE as usize);
        assert!(th.attempt(a, "name99", now).is_err(), "the source waits");
        // Another source is not affected.
        assert!(th.attempt(ip("203.0.113.10"), "name0", now).is_ok());
        // Once the wait is over, the source may try again.
        assert!(th.attempt(a, "name99", now + MAX_WAIT).is_ok());
    }

    #[test]
    fn a_crowd_behind_one_address_signs_in() {
        let (mut th, now, office) = (Throttle::default(), Instant::now(), ip("192.0.2.50"));
        for i in 0..500 {
            let name = format!("clerk{i}");
            assert!(th.attempt(office, &name, now).is_ok() && th.may_check(office, now).is_ok(), "{name}");
            th.succeeded(office, &name);
        }
    }
}
