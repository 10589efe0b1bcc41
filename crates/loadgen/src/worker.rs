//! The threads that drive the venues: a small fixed number, each with one mio `Poll`
//! over its venues' nonblocking sockets, reading until `WouldBlock` and driving each
//! venue when a datagram comes or its next deadline passes. No thread per venue, so
//! that the generator's own CPU stays small next to the server's.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};

use crate::Error;
use crate::stats::VenueStats;
use crate::venue::Venue;

const WAKER: Token = Token(usize::MAX);

enum Cmd {
    Add(Box<Venue>),
    Reset,
    Stats(Sender<Vec<VenueStats>>),
    /// How many venues are connected (ICE and DTLS up, not failed).
    Connected(Sender<usize>),
    Stop,
}

struct Handle {
    tx: Sender<Cmd>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

/// The worker threads and the venues they drive.
pub struct Workers {
    workers: Vec<Handle>,
    next: usize,
}

impl Workers {
    /// Starts `threads` workers (at least one).
    pub fn start(threads: usize) -> Result<Workers, Error> {
        let mut workers = Vec::new();
        for i in 0..threads.max(1) {
            let poll = Poll::new().map_err(|e| Error::Io(format!("mio: {e}")))?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| Error::Io(format!("mio: {e}")))?);
            let (tx, rx) = channel();
            let thread = std::thread::Builder::new()
                .name(format!("loadgen-{i}"))
                .spawn(move || run(poll, rx))
                .map_err(|e| Error::Io(format!("a worker thread: {e}")))?;
            workers.push(Handle { tx, waker, thread: Some(thread) });
        }
        Ok(Workers { workers, next: 0 })
    }

    fn send(&self, i: usize, cmd: Cmd) {
        let w = &self.workers[i];
        if w.tx.send(cmd).is_ok() {
            let _ = w.waker.wake();
        }
    }

    /// Hands a venue (its offer answered) to the next worker in turn.
    pub fn add(&mut self, venue: Venue) {
        let i = self.next % self.workers.len();
        self.next += 1;
        self.send(i, Cmd::Add(Box::new(venue)));
    }

    /// Starts the measured window on every venue.
    pub fn reset(&self) {
        for i in 0..self.workers.len() {
            self.send(i, Cmd::Reset);
        }
    }

    /// Every venue's figures since the last [`Workers::reset`].
    pub fn stats(&self) -> Vec<VenueStats> {
        let mut out = Vec::new();
        let rxs: Vec<_> = (0..self.workers.len())
            .map(|i| {
                let (tx, rx) = channel();
                self.send(i, Cmd::Stats(tx));
                rx
            })
            .collect();
        for rx in rxs {
            out.extend(rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default());
        }
        out.sort_by_key(|s| s.venue);
        out
    }

    /// How many venues have their media up.
    pub fn connected(&self) -> usize {
        let rxs: Vec<_> = (0..self.workers.len())
            .map(|i| {
                let (tx, rx) = channel();
                self.send(i, Cmd::Connected(tx));
                rx
            })
            .collect();
        rxs.into_iter().map(|rx| rx.recv_timeout(Duration::from_secs(10)).unwrap_or(0)).sum()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for i in 0..self.workers.len() {
            self.send(i, Cmd::Stop);
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn run(mut poll: Poll, rx: Receiver<Cmd>) {
    let mut venues: Vec<Box<Venue>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    loop {
        let now = Instant::now();
        let due = venues.iter().map(|v| v.next_due()).min();
        // epoll counts in milliseconds: round up so as not to spin before a deadline.
        let timeout = due.map(|d| d.saturating_duration_since(now)).map(|d| if d.is_zero() { d } else { d.max(Duration::from_millis(1)) }).unwrap_or(Duration::from_millis(100));
        if poll.poll(&mut events, Some(timeout)).is_err() {
            continue;
        }
        let now = Instant::now();
        for e in events.iter() {
            if e.token() == WAKER {
                continue;
            }
            if let Some(v) = venues.get_mut(e.token().0) {
                v.read(now);
            }
        }
        loop {
            match rx.try_recv() {
                Ok(Cmd::Add(mut v)) => {
                    let token = Token(venues.len());
                    if poll.registry().register(&mut v.socket, token, Interest::READABLE).is_ok() {
                        v.drive(now);
                        venues.push(v);
                    }
                }
                Ok(Cmd::Reset) => venues.iter_mut().for_each(|v| v.reset_stats(now)),
                Ok(Cmd::Stats(tx)) => {
                    let _ = tx.send(venues.iter_mut().map(|v| v.stats(now)).collect());
                }
                Ok(Cmd::Connected(tx)) => {
                    let _ = tx.send(venues.iter().filter(|v| v.connected() && !v.failed()).count());
                }
                Ok(Cmd::Stop) | Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
            }
        }
        for v in &mut venues {
            if v.next_due() <= now {
                v.drive(now);
            }
        }
    }
}
