//! The thin I/O shell around [`Core`]: one UDP socket, a thread that forwards and a
//! thread that sends. It feeds the core
//! the datagrams and the time, sends what the core transmits, and takes requests from
//! the web application (joins, commands, closes) over a channel. The thread ends when
//! the [`Media`] handle is dropped.
//!
//! Under load it works in rounds: read what has arrived (up to [`READ_BATCH`]), let
//! the core forward it all, then hand the round to a second thread that sends it (with
//! the rounds that waited for it, up to [`JOIN_ROUNDS`]), sorted by venue, so that the
//! packets for one venue leave in one segmented send.
//! Due timers are served before more reading.

use std::io::{ErrorKind, IoSlice};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmsg, setsockopt, sockopt};
use nix::sys::time::TimeSpec;

use crate::core::{Core, Input, MeetingId, Output};
use crate::meeting::{Command, Meeting, VenueId};

/// Told every change of a meeting's state, on the media thread.
pub type OnState = Box<dyn Fn(MeetingId, &Meeting) + Send>;

/// A reply to a request, called on the media thread.
pub type Reply<T> = Box<dyn FnOnce(T) + Send>;

/// What the web application asks of the media thread.
pub enum Request {
    /// Opens a meeting if it is not open yet.
    Open {
        /// The meeting.
        meeting: MeetingId,
        /// Its main venue.
        main: VenueId,
        /// Its branch venues.
        branches: Vec<VenueId>,
    },
    /// A venue joins with an SDP offer; the reply is the answer.
    Join {
        /// The meeting.
        meeting: MeetingId,
        /// The venue.
        venue: VenueId,
        /// The browser's offer.
        offer: String,
        /// The headcount it signed in with, if it has.
        headcount: i64,
        /// Gets the answer and the connection's serial, or why not.
        reply: Reply<Result<(String, u64), String>>,
    },
    /// A branch venue signs in with its headcount.
    SignIn {
        /// The meeting.
        meeting: MeetingId,
        /// The venue.
        venue: VenueId,
        /// How many are there.
        headcount: i64,
    },
    /// A chair's or venue's command.
    Command {
        /// The meeting.
        meeting: MeetingId,
        /// The command.
        command: Command,
        /// Gets whether it was taken.
        reply: Reply<Result<(), String>>,
    },
    /// A venue's page went away.
    Leave {
        /// The venue.
        venue: VenueId,
        /// Its connection, as the join's reply gave it.
        serial: u64,
    },
    /// Tells the meeting's current state again (to a venue that just connected).
    Snapshot {
        /// The meeting.
        meeting: MeetingId,
    },
    /// Closes a meeting; the reply is its last state.
    Close {
        /// The meeting.
        meeting: MeetingId,
        /// Gets the last state.
        reply: Reply<Option<Meeting>>,
    },
}

/// The running media server: its address and the way to reach its thread.
pub struct Media {
    address: SocketAddr,
    tx: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Media {
    /// Binds `bind` and starts the media thread; `on_state` is told every change of a
    /// meeting's state (on the media thread: it must not block).
    pub fn start(bind: SocketAddr, on_state: OnState) -> std::io::Result<Media> {
        let socket = UdpSocket::bind(bind)?;
        let address = socket.local_addr()?;
        let (tx, rx) = sync_channel(1024);
        let thread = std::thread::Builder::new().name("media".into()).spawn(move || run(socket, address, rx, on_state))?;
        Ok(Media { address, tx: Some(tx), thread: Some(thread) })
    }

    /// The address browsers send media to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Sends a request to the media thread; false if it has stopped.
    pub fn send(&self, r: Request) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(r).is_ok())
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The longest the thread sleeps on the socket before it looks at requests again.
const TICK: Duration = Duration::from_millis(5);
/// Datagrams read at most before the core's output goes to the sending thread. Small:
/// one packet of the main venue is hundreds of packets out, and a round is sent only
/// when it is whole, so a large round would hold the first venues' packets back while
/// the last are made. The sending thread joins rounds that wait for it instead.
const READ_BATCH: usize = 8;
/// Rounds the sending thread joins into one when it is behind.
const JOIN_ROUNDS: usize = 16;
/// A datagram of ours is never larger (str0m keeps to a 1150-byte MTU; STUN and DTLS
/// too), so this buffer never truncates one.
const MAX_DATAGRAM: usize = 2000;

fn run(socket: UdpSocket, local: SocketAddr, rx: Receiver<Request>, on_state: OnState) {
    // Reads never block: the wait is a poll with the core's deadline.
    let _ = socket.set_nonblocking(true);
    // Bursts (a keyframe to hundreds of venues, a round of reads held up by one) must
    // not overflow the buffers.
    let _ = setsockopt(&socket, sockopt::SndBuf, &(4 << 20));
    let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
    let Ok(out) = socket.try_clone() else { return };
    // The system calls that send (a third of the work, most of it the kernel's) run on
    // a thread of their own, fed one round at a time, so the core's thread does the
    // forwarding alone and another core sends.
    let (rounds, sent) = sync_channel::<Vec<(SocketAddr, Vec<u8>)>>(SEND_ROUNDS);
    std::thread::scope(|scope| {
        let sending = std::thread::Builder::new().name("media-send".into()).spawn_scoped(scope, move || {
            let mut sender = Sender { gso: true };
            while let Ok(mut round) = sent.recv() {
                // Behind: what waited goes out together, sorted by venue, so that each
                // venue's packets leave in one call.
                for _ in 1..JOIN_ROUNDS {
                    match sent.try_recv() {
                        Ok(more) => round.extend(more),
                        Err(_) => break,
                    }
                }
                sender.send(&out, round);
            }
        });
        if sending.is_err() {
            return;
        }
        forward_rounds(&socket, local, &rx, &*on_state, &rounds);
        drop(rounds);
    });
}

/// Rounds a sending thread may be behind before the core's thread waits for it.
const SEND_ROUNDS: usize = 256;

fn forward_rounds(socket: &UdpSocket, local: SocketAddr, rx: &Receiver<Request>, on_state: &dyn Fn(MeetingId, &Meeting), rounds: &SyncSender<Vec<(SocketAddr, Vec<u8>)>>) {
    let mut core = Core::new(local);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut round = Vec::new();
    loop {
        loop {
            match rx.try_recv() {
                Ok(r) => request(&mut core, r, on_state),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let deadline = loop {
            match core.poll_output(Instant::now()) {
                Output::Transmit { destination, bytes } => round.push((destination, bytes)),
                Output::State(m, state) => on_state(m, &state),
                Output::Presence(..) => {}
                Output::Timeout(t) => break t,
            }
        };
        if !round.is_empty() && rounds.send(std::mem::take(&mut round)).is_err() {
            return;
        }
        let now = Instant::now();
        if deadline <= now {
            // Due timers go first, however busy the socket: they pace and retransmit.
            core.handle_input(Input::Timeout(now));
            continue;
        }
        let wait = (deadline - now).min(TICK);
        let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        let ready = ppoll(&mut fds, Some(TimeSpec::from_duration(wait)), None).unwrap_or(0) > 0;
        if !ready {
            core.handle_input(Input::Timeout(Instant::now()));
            continue;
        }
        for _ in 0..READ_BATCH {
            match socket.recv_from(&mut buf) {
                Ok((n, source)) => core.handle_input(Input::Datagram { now: Instant::now(), source, bytes: &buf[..n] }),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // ICMP errors from a gone peer surface as errors on a receive; the
                // next read goes on.
                Err(_) => continue,
            }
        }
    }
}

/// The core's datagrams of one round, sent with as few system calls as they allow:
/// the datagrams to one venue go in one call when they can (UDP segmentation offload
/// takes a run of equal-sized datagrams, the last one possibly shorter).
struct Sender {
    /// Whether the kernel took segmentation offload; off after its first refusal.
    gso: bool,
}

/// Datagrams in one segmented send at most (the kernel's limit is 64).
const GSO_SEGMENTS: usize = 32;

impl Sender {
    fn send(&mut self, socket: &UdpSocket, mut queue: Vec<(SocketAddr, Vec<u8>)>) {
        if queue.len() > 1 {
            // Stable: each venue's datagrams keep their order.
            queue.sort_by_key(|(d, _)| *d);
        }
        let mut i = 0;
        while i < queue.len() {
            let (dest, first) = &queue[i];
            let size = first.len();
            // A run: same venue, same size, the last one possibly shorter.
            let mut end = i + 1;
            while self.gso && end < queue.len() && end - i < GSO_SEGMENTS && queue[end].0 == *dest && queue[end].1.len() <= size {
                let last = queue[end].1.len() < size;
                end += 1;
                if last {
                    break;
                }
            }
            if end - i > 1 && self.send_segmented(socket, *dest, size, &queue[i..end]) {
                i = end;
                continue;
            }
            // A full buffer or an unreachable venue loses this datagram, as the
            // network could; retransmissions take over.
            let _ = socket.send_to(first, dest);
            i += 1;
        }
    }

    fn send_segmented(&mut self, socket: &UdpSocket, dest: SocketAddr, size: usize, run: &[(SocketAddr, Vec<u8>)]) -> bool {
        let Ok(segment) = u16::try_from(size) else { return false };
        // The kernel joins the pieces and cuts the segments; nothing is copied here.
        let mut iov = [IoSlice::new(&[]); GSO_SEGMENTS];
        for (slot, (_, b)) in iov.iter_mut().zip(run) {
            *slot = IoSlice::new(b);
        }
        let iov = &iov[..run.len().min(GSO_SEGMENTS)];
        let cmsg = [ControlMessage::UdpGsoSegments(&segment)];
        let addr = SockaddrStorage::from(dest);
        match sendmsg(socket.as_raw_fd(), iov, &cmsg, MsgFlags::empty(), Some(&addr)) {
            Ok(_) => true,
            Err(Errno::EAGAIN | Errno::ENOBUFS | Errno::ECONNREFUSED) => true,
            Err(_) => {
                // No offload here (an old kernel, another socket type): plain sends.
                self.gso = false;
                false
            }
        }
    }
}

fn request(core: &mut Core, r: Request, on_state: &dyn Fn(MeetingId, &Meeting)) {
    let now = Instant::now();
    match r {
        Request::Open { meeting, main, branches } => {
            if core.meeting(meeting).is_none() {
                core.open_meeting(meeting, main, &branches);
            }
        }
        Request::Join { meeting, venue, offer, headcount, reply } => {
            let r = core.join(now, meeting, venue, &offer, headcount).map_err(|e| e.to_string());
            reply(r.map(|answer| (answer, core.serial(venue).unwrap_or(0))));
        }
        Request::SignIn { meeting, venue, headcount } => core.sign_in(now, meeting, venue, headcount),
        Request::Command { meeting, command, reply } => reply(core.command(now, meeting, command).map_err(|e| e.to_string())),
        Request::Leave { venue, serial } => core.leave_connection(now, venue, serial),
        Request::Snapshot { meeting } => {
            if let Some(m) = core.meeting(meeting) {
                on_state(meeting, m);
            }
        }
        Request::Close { meeting, reply } => reply(core.close_meeting(meeting)),
    }
}
