//! The thin I/O shell around [`Core`]: one UDP socket and one thread. It feeds the core
//! the datagrams and the time, sends what the core transmits, and takes requests from
//! the web application (joins, commands, closes) over a channel. The thread ends when
//! the [`Media`] handle is dropped.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::{Core, Input, MeetingId, Output};
use crate::meeting::{Command, Meeting, VenueId};

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
    pub fn start(bind: SocketAddr, on_state: Box<dyn Fn(MeetingId, &Meeting) + Send>) -> std::io::Result<Media> {
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

fn run(socket: UdpSocket, local: SocketAddr, rx: Receiver<Request>, on_state: Box<dyn Fn(MeetingId, &Meeting) + Send>) {
    let mut core = Core::new(local);
    let mut buf = vec![0u8; 2000];
    loop {
        loop {
            match rx.try_recv() {
                Ok(r) => request(&mut core, r, &*on_state),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let deadline = loop {
            match core.poll_output(Instant::now()) {
                Output::Transmit { destination, bytes } => {
                    // A full socket buffer or an unreachable peer loses this datagram,
                    // as the network could; the peers' retransmissions take over.
                    let _ = socket.send_to(&bytes, destination);
                }
                Output::State(m, state) => on_state(m, &state),
                Output::Presence(..) => {}
                Output::Timeout(t) => break t,
            }
        };
        let wait = deadline.saturating_duration_since(Instant::now()).clamp(Duration::from_millis(1), TICK);
        let _ = socket.set_read_timeout(Some(wait));
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => core.handle_input(Input::Datagram { now: Instant::now(), source, bytes: &buf[..n] }),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => core.handle_input(Input::Timeout(Instant::now())),
            // ICMP errors from a gone peer surface as errors on the next receive.
            Err(_) => core.handle_input(Input::Timeout(Instant::now())),
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
