//! The load generator: N meeting venues over the same signaling and WebRTC as a
//! browser, to find how many venues a media server carries and at what cost.
//!
//! Each venue is a str0m [`Rtc`](str0m::Rtc) in RTP mode with its own UDP socket on
//! 127.0.0.1 (servers tell venues apart by source address), offering the lines a
//! browser venue offers and sending looped clips made once by ffmpeg: the main venue
//! real VP8 (simulcast `q`/`h`/`f`, or one layer) and real Opus, the branches a small
//! picture and Opus of their own. Every packet carries its send time in the
//! abs-capture-time extension (id 9), so a receiver's added delay is its receive time
//! minus that stamp on the same clock. Branches count, per venue, bitrate, loss after a
//! grace period for retransmissions, jitter, delay, the last keyframe's size and the
//! longest freeze ([`VenueStats`]); a per-venue network model ([`netem`]) adds loss,
//! delay and a bandwidth limit. All venues run on a few worker threads ([`worker`]).
//!
//! Signaling is per server: [`grassroots`] for ours, [`janus`] for the Janus gateway's
//! VideoRoom (run beside ours for comparison; Janus drops abs-capture-time, so there
//! the main venue appends its send time to each payload, [`tag`], and branches only
//! receive). [`Run`] does one measured run against either, on the same workers and
//! figures; [`ServerProcess`](server::ServerProcess) starts a server binary and
//! [`Janus`](janus::Janus) the gateway, and both read CPU and memory from /proc.
//!
//! ```no_run
//! # async fn example() -> Result<(), loadgen::Error> {
//! use std::time::Duration;
//! let config = loadgen::Config { clips: ".cache/clips".into(), ..Default::default() };
//! let media = loadgen::Media::load(&config)?;
//! let office = loadgen::grassroots::Office::new("http://127.0.0.1:8080", "TOKEN");
//! let units = office.units(20).await?;
//! let run = loadgen::Run::start(&office, &units, &config, &media).await?;
//! run.warm_up(Duration::from_secs(3)).await;
//! let stats = run.measure(Duration::from_secs(10)).await;
//! println!("{} venues connected", stats.iter().filter(|s| s.connected).count());
//! run.stop().await;
//! # Ok(()) }
//! ```

pub mod clips;
pub mod grassroots;
pub mod ivf;
pub mod janus;
pub mod media;
pub mod netem;
pub mod report;
pub mod server;
pub mod stats;
pub mod tag;
pub mod venue;
pub mod vp8;
pub mod worker;

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use netem::LinkModel;
pub use report::Summary;
pub use stats::VenueStats;

use crate::clips::VideoSpec;
use crate::venue::{Sending, Venue};
use crate::worker::Workers;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// ffmpeg is missing or failed.
    #[error("{0}")]
    Ffmpeg(String),
    /// A clip is unreadable.
    #[error("clip {0}")]
    Clip(String),
    /// A file, socket or thread.
    #[error("{0}")]
    Io(String),
    /// The server's API or a venue's WebSocket.
    #[error("signaling: {0}")]
    Signaling(String),
    /// str0m refused an offer, an answer or a candidate.
    #[error("media: {0}")]
    Media(String),
}

/// The network model of some branches (numbered from 1 in the meeting's order).
#[derive(Debug, Clone, PartialEq)]
pub struct NetRule {
    /// The branches it applies to.
    pub branches: RangeInclusive<usize>,
    /// What the path from the server to the venue does.
    pub inbound: LinkModel,
    /// What the path from the venue to the server does.
    pub outbound: LinkModel,
}

/// How a run loads the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main venue's simulcast layers: 1 (one layer at `bitrate_kbps`) or 3
    /// (`q` 320x180, `h` 640x360, `f` 1280x720 at `bitrate_kbps`).
    pub layers: usize,
    /// The main venue's top layer bitrate in kbit/s.
    pub bitrate_kbps: u32,
    /// The main venue's Opus bitrate in kbit/s.
    pub audio_kbps: u32,
    /// Each branch's own Opus bitrate.
    pub branch_audio_kbps: u32,
    /// Each branch's own 320x180 picture's bitrate.
    pub branch_video_kbps: u32,
    /// Worker threads driving the venues' media.
    pub threads: usize,
    /// Venues joining at once.
    pub concurrency: usize,
    /// How long a venue may take to join and connect.
    pub connect_timeout: Duration,
    /// Where the clips are made and kept.
    pub clips: PathBuf,
    /// Network models; a branch no rule names has a clear path.
    pub network: Vec<NetRule>,
    /// Whether branches send a picture and sound of their own (as browsers do); off,
    /// they only receive, which is the load a Janus VideoRoom subscriber makes.
    pub branches_send: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            layers: 1,
            bitrate_kbps: 1500,
            audio_kbps: 32,
            branch_audio_kbps: 20,
            branch_video_kbps: 100,
            threads: 2,
            concurrency: 32,
            connect_timeout: Duration::from_secs(30),
            clips: PathBuf::from(".cache/clips"),
            network: Vec::new(),
            branches_send: true,
        }
    }
}

/// The clips, loaded once and shared by every venue.
#[derive(Debug, Clone)]
pub struct Media {
    /// What the main venue sends.
    pub main: Sending,
    /// What each branch sends.
    pub branch: Sending,
}

impl Media {
    /// Makes (once, with ffmpeg) and loads the clips `config` needs.
    pub fn load(config: &Config) -> Result<Media, Error> {
        let dir = &config.clips;
        let clip = |width, height, kbps| clips::video(dir, VideoSpec { width, height, kbps }).map(Arc::new);
        let video = if config.layers > 1 {
            vec![(Some("q"), clip(320, 180, 150)?, 150), (Some("h"), clip(640, 360, 500)?, 500), (Some("f"), clip(1280, 720, config.bitrate_kbps)?, config.bitrate_kbps)]
        } else {
            vec![(None, clip(1280, 720, config.bitrate_kbps)?, config.bitrate_kbps)]
        };
        let main = Sending { silent: false, tag: false, audio: Arc::new(clips::audio(dir, config.audio_kbps)?), video };
        let branch = Sending {
            silent: !config.branches_send,
            tag: false,
            audio: Arc::new(clips::audio(dir, config.branch_audio_kbps)?),
            video: vec![(None, clip(320, 180, config.branch_video_kbps)?, config.branch_video_kbps)],
        };
        Ok(Media { main, branch })
    }
}

/// What a joined venue's signaling keeps running (its WebSocket, its Janus handle)
/// until the run stops.
pub type Hold = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// How a run's meeting is ended.
enum Closing {
    Grassroots(grassroots::Office, i64),
    Janus(Arc<janus::Room>),
}

/// One meeting under load: its venues joined and driven until [`Run::stop`].
pub struct Run {
    closing: Closing,
    workers: Workers,
    stop: tokio::sync::watch::Sender<bool>,
    holds: tokio::task::JoinSet<()>,
    /// Venues of the meeting.
    pub venues: usize,
    /// Venues whose signaling completed (offer answered).
    pub joined: usize,
    /// Why the others did not join (the first few).
    pub errors: Vec<String>,
    /// The venues' local UDP ports.
    pub ports: std::collections::HashSet<u16>,
}

impl Run {
    /// Creates a meeting of `units` (the first is the main venue) on our server and
    /// joins every venue, `config.concurrency` at a time, each within
    /// `config.connect_timeout`.
    pub async fn start(office: &grassroots::Office, units: &[String], config: &Config, media: &Media) -> Result<Run, Error> {
        let meeting = office.create_meeting(&format!("load test, {} venues", units.len()), units).await?;
        let seats = office.seats(&meeting);
        let list: Vec<(i64, bool)> = seats.iter().map(|s| (s.venue, s.main)).collect();
        let closing = Closing::Grassroots(office.clone(), meeting.id);
        Run::join_all(closing, &list, config, media, |i, venue, sending, stop| {
            let seat = seats[i].clone();
            async move {
                let (venue, ws) = grassroots::join(&seat, venue, sending).await?;
                let alive = venue.signaling.clone();
                Ok((venue, Box::pin(grassroots::hold(ws, alive, stop)) as Hold))
            }
        })
        .await
    }

    /// The same meeting of `venues` venues (the first is the main venue) as room `room`
    /// on Janus: the main venue publishes, tagging its payloads with their send time,
    /// and the branches subscribe and receive only ([`janus`]).
    pub async fn start_janus(janus: &janus::Janus, room: u64, venues: usize, config: &Config, media: &Media) -> Result<Run, Error> {
        let room = janus::Room::create(janus, room).await?;
        let list: Vec<(i64, bool)> = (0..venues).map(|i| (i as i64 + 1, i == 0)).collect();
        Run::join_all(Closing::Janus(room.clone()), &list, config, media, |_, venue, sending, stop| room.clone().join(venue, sending, stop)).await
    }

    /// Joins `seats` (id, main; the main venue first, alone, then the rest
    /// `config.concurrency` at a time) with `join`, handing each joined venue to a
    /// worker at once.
    async fn join_all<F, Fut>(closing: Closing, seats: &[(i64, bool)], config: &Config, media: &Media, join: F) -> Result<Run, Error>
    where
        F: Fn(usize, Venue, Sending, tokio::sync::watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = Result<(Venue, Hold), Error>> + Send + 'static,
    {
        let workers = Workers::start(config.threads)?;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut run = Run { closing, workers, stop, holds: tokio::task::JoinSet::new(), venues: seats.len(), joined: 0, errors: Vec::new(), ports: Default::default() };
        let mut joining = tokio::task::JoinSet::new();
        let gate = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
        let mut branch = 0;
        for (i, &(id, main)) in seats.iter().enumerate() {
            let (inbound, outbound) = if main {
                (LinkModel::default(), LinkModel::default())
            } else {
                branch += 1;
                config.network.iter().find(|r| r.branches.contains(&branch)).map_or_else(Default::default, |r| (r.inbound, r.outbound))
            };
            let venue = Venue::new(id, main, Instant::now(), inbound, outbound)?;
            run.ports.insert(venue.local_port());
            let sending = if main { media.main.clone() } else { media.branch.clone() };
            let (gate, timeout) = (gate.clone(), config.connect_timeout);
            let joined = join(i, venue, sending, stop_rx.clone());
            joining.spawn(async move {
                let _permit = gate.acquire_owned().await;
                match tokio::time::timeout(timeout, joined).await {
                    Ok(r) => r,
                    Err(_) => Err(Error::Signaling(format!("venue {id}: no answer within {timeout:?}"))),
                }
            });
            // The main venue first, alone: it opens the meeting (or publishes the feed).
            if i == 0 && let Some(r) = joining.join_next().await {
                run.joined(r);
                if run.joined == 0 {
                    // Every branch would wait for it in vain.
                    return Err(Error::Signaling(format!("the main venue did not join: {}", run.errors.join("; "))));
                }
            }
        }
        while let Some(r) = joining.join_next().await {
            run.joined(r);
        }
        Ok(run)
    }

    fn joined(&mut self, r: Result<Result<(Venue, Hold), Error>, tokio::task::JoinError>) {
        match r {
            Ok(Ok((venue, hold))) => {
                self.joined += 1;
                self.holds.spawn(hold);
                self.workers.add(venue);
            }
            Ok(Err(e)) if self.errors.len() < 10 => self.errors.push(e.to_string()),
            Err(e) if self.errors.len() < 10 => self.errors.push(e.to_string()),
            _ => {}
        }
    }

    /// Venues whose media are up now.
    pub fn connected(&self) -> usize {
        self.workers.connected()
    }

    /// Waits until every joined venue's media are up, or `timeout`; returns how many are.
    pub async fn wait_connected(&self, timeout: Duration) -> usize {
        let end = Instant::now() + timeout;
        loop {
            let n = self.connected();
            if n >= self.joined || Instant::now() >= end {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Lets the media run unmeasured for `time` (keyframes, estimators settling).
    pub async fn warm_up(&self, time: Duration) {
        tokio::time::sleep(time).await;
    }

    /// Measures for `time`: every venue's figures over that window.
    pub async fn measure(&self, time: Duration) -> Vec<VenueStats> {
        self.workers.reset();
        tokio::time::sleep(time).await;
        self.workers.stats()
    }

    /// Leaves: closes the sockets, stops the workers and closes the meeting (on
    /// Janus, ends the session).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.holds.join_next().await.is_some() {}
        drop(self.workers);
        match self.closing {
            Closing::Grassroots(office, id) => {
                let _ = office.close_meeting(id).await;
            }
            Closing::Janus(room) => room.close().await,
        }
    }
}
