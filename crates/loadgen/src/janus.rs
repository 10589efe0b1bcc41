//! The Janus WebRTC gateway (1.1.x, VideoRoom plugin) as a second target, so that the
//! same meeting load runs against it beside our server: the process, its HTTP API, and
//! the venues' signaling.
//!
//! [`Janus::start`] writes a private configuration into a work folder (only the
//! VideoRoom plugin and the plain-HTTP transport are loaded, two event loops, no
//! trickle so that Janus's candidate is in its SDP), starts `janus` in its own process
//! group, waits for `GET /janus/info`, and kills the group when dropped. Its CPU and
//! memory come from /proc as our server's do ([`crate::server`]).
//!
//! A meeting is a room ([`Room`]): the main venue publishes (its offer, audio and video
//! send-only, simulcast rids listed low to high hence `rid_order: "lmh"`; Janus
//! answers), and each branch subscribes to the main venue's feed (Janus offers, the
//! venue answers with [`Venue::accept_offer`]) and receives only: in VideoRoom a
//! branch's own camera and microphone would be a publisher of its own, which this
//! comparison leaves out. Simulcast subscribers ask for substream 2 (the top layer):
//! Janus does not pick layers from a bandwidth estimate. Janus forwards no
//! abs-capture-time, so the main venue tags its payloads ([`crate::tag`]).
//!
//! Loopback only: Janus 1.1.2 skips every interface flagged `IFF_LOOPBACK` when it
//! gathers candidates (`janus_ice_setup_local`), so with `ice_enforce_list =
//! "127.0.0.1"` it would have none. A tiny C shim, compiled with `cc` into the work
//! folder at start and preloaded into Janus alone (`LD_PRELOAD`), clears that flag in
//! `getifaddrs()` results; nothing on the host changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer};
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Hold};
use crate::server::Measured;
use crate::venue::{Lines, Sending, Venue};

/// Where Janus and its plugins are.
#[derive(Debug, Clone)]
pub struct JanusOptions {
    /// The `janus` binary.
    pub binary: PathBuf,
    /// The folder holding `libjanus_videoroom.so`.
    pub plugins_dir: PathBuf,
    /// The folder holding `libjanus_http.so`.
    pub transports_dir: PathBuf,
    /// `event_loops` (threads serving every PeerConnection); 0 is Janus's default of
    /// one thread per handle, which costs far more CPU.
    pub event_loops: u32,
    /// Janus's `debug_level` (0 to 7): 3 keeps logging cheap.
    pub debug_level: u8,
}

impl Default for JanusOptions {
    fn default() -> JanusOptions {
        JanusOptions {
            binary: "/usr/bin/janus".into(),
            plugins_dir: "/usr/lib/x86_64-linux-gnu/janus/plugins".into(),
            transports_dir: "/usr/lib/x86_64-linux-gnu/janus/transports".into(),
            event_loops: 2,
            debug_level: 3,
        }
    }
}

impl JanusOptions {
    /// Why Janus cannot run here (the binary or a plugin is missing), if it cannot.
    pub fn missing(&self) -> Option<String> {
        let need = [self.binary.clone(), self.plugins_dir.join("libjanus_videoroom.so"), self.transports_dir.join("libjanus_http.so")];
        need.iter().find(|p| !p.exists()).map(|p| format!("{} not found (install Janus: apt-get install janus)", p.display()))
    }
}

/// A running Janus, killed (its whole process group) when dropped.
#[derive(Debug)]
pub struct Janus {
    child: Child,
    /// Its API's address, `http://127.0.0.1:PORT/janus`.
    pub base: String,
}

/// The shim that makes Janus gather 127.0.0.1 (see the module's documentation).
const SHIM_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
int getifaddrs(struct ifaddrs **ifap) {
    static int (*real)(struct ifaddrs **) = 0;
    if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int r = real(ifap);
    if (r == 0) {
        for (struct ifaddrs *i = *ifap; i; i = i->ifa_next) i->ifa_flags &= ~IFF_LOOPBACK;
    }
    return r;
}
"#;

fn io(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io(format!("{what}: {e}"))
}

/// Links a plugin that [`JanusOptions::missing`] has found.
fn link(from: &Path, name: &str, to: &Path) -> Result<(), Error> {
    std::os::unix::fs::symlink(from.join(name), to.join(name)).map_err(io("linking a Janus plugin"))
}

/// Compiles the loopback shim into `dir`; a missing compiler says how to get one.
fn build_shim(dir: &Path) -> Result<PathBuf, Error> {
    let c = dir.join("noloopflag.c");
    let so = dir.join("libnoloopflag.so");
    std::fs::write(&c, SHIM_C).map_err(io("writing the shim"))?;
    let out = Command::new("cc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&so).arg(&c).arg("-ldl").output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Io("no C compiler (`cc`) to build Janus's loopback shim: apt-get install gcc".into())
        } else {
            Error::Io(format!("running cc: {e}"))
        }
    })?;
    if !out.status.success() {
        return Err(Error::Io(format!("cc failed on {}: {}", c.display(), String::from_utf8_lossy(&out.stderr))));
    }
    Ok(so)
}

fn janus_jcfg(dir: &Path, opts: &JanusOptions) -> String {
    let d = |name: &str| dir.join(name).display().to_string();
    let event_loops = if opts.event_loops > 0 { format!("\tevent_loops = {}\n", opts.event_loops) } else { String::new() };
    format!(
        "general: {{\n\tconfigs_folder = \"{cfg}\"\n\tplugins_folder = \"{plugins}\"\n\ttransports_folder = \"{transports}\"\n\
         \tevents_folder = \"{empty}\"\n\tloggers_folder = \"{empty}\"\n\tdebug_level = {debug}\n\tdebug_colors = false\n\
         \tserver_name = \"janus-bench\"\n\tinterface = \"127.0.0.1\"\n\tsession_timeout = 60\n\tcandidates_timeout = 45\n\
         {event_loops}\thide_dependencies = true\n\texit_on_dl_error = false\n}}\n\
         certificates: {{\n}}\n\
         media: {{\n\tipv6 = false\n\trtp_port_range = \"20000-40000\"\n\tmin_nack_queue = 300\n\tnack_optimizations = true\n\
         \tno_media_timer = 2\n\tslowlink_threshold = 0\n\ttwcc_period = 100\n}}\n\
         nat: {{\n\tnice_debug = false\n\tfull_trickle = false\n\tice_lite = false\n\tice_tcp = false\n\tignore_mdns = true\n\
         \tice_enforce_list = \"127.0.0.1\"\n}}\n\
         plugins: {{\n}}\ntransports: {{\n}}\nloggers: {{\n}}\nevents: {{\n\tbroadcast = false\n}}\n",
        cfg = d("cfg"),
        plugins = d("plugins"),
        transports = d("transports"),
        empty = d("empty"),
        debug = opts.debug_level,
    )
}

fn http_jcfg(port: u16) -> String {
    format!(
        "general: {{\n\tjson = \"plain\"\n\tbase_path = \"/janus\"\n\thttp = true\n\tport = {port}\n\tip = \"127.0.0.1\"\n\thttps = false\n}}\n\
         admin: {{\n\tadmin_http = false\n\tadmin_https = false\n}}\ncors: {{\n}}\ncertificates: {{\n}}\n"
    )
}

impl Janus {
    /// Writes the configuration and the shim into `workdir` (an empty folder that
    /// outlives the process), starts Janus there (its output in `janus.log`) and waits
    /// up to 15 s for its API.
    pub async fn start(workdir: &Path, opts: &JanusOptions) -> Result<Janus, Error> {
        if let Some(why) = opts.missing() {
            return Err(Error::Io(why));
        }
        let dir = workdir.canonicalize().map_err(io("the Janus folder"))?;
        for d in ["cfg", "plugins", "transports", "empty"] {
            std::fs::create_dir_all(dir.join(d)).map_err(io("the Janus folder"))?;
        }
        // Private plugin folders: nothing but VideoRoom and HTTP is loaded.
        link(&opts.plugins_dir, "libjanus_videoroom.so", &dir.join("plugins"))?;
        link(&opts.transports_dir, "libjanus_http.so", &dir.join("transports"))?;
        let shim = build_shim(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(io("a free port"))?.port();
        let cfg = dir.join("cfg");
        let write = |name: &str, text: String| std::fs::write(cfg.join(name), text).map_err(io("writing Janus's configuration"));
        write("janus.jcfg", janus_jcfg(&dir, opts))?;
        write("janus.transport.http.jcfg", http_jcfg(port))?;
        // No static rooms: each run makes its own through the API.
        write("janus.plugin.videoroom.jcfg", "general: {\n\tstring_ids = false\n}\n".into())?;
        let log = std::fs::File::create(dir.join("janus.log")).map_err(io("janus.log"))?;
        let log2 = log.try_clone().map_err(io("janus.log"))?;
        // Its own process group, so that dropping the guard ends every thread and child.
        let child = std::os::unix::process::CommandExt::process_group(
            Command::new(&opts.binary)
                .arg("-C")
                .arg(cfg.join("janus.jcfg"))
                .arg("-F")
                .arg(&cfg)
                .arg("-o")
                .current_dir(&dir)
                .env("LD_PRELOAD", &shim)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2),
            0,
        )
        .spawn()
        .map_err(|e| Error::Io(format!("starting {}: {e}", opts.binary.display())))?;
        let mut janus = Janus { child, base: format!("http://127.0.0.1:{port}/janus") };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = janus.child.try_wait() {
                return Err(Error::Io(format!("janus exited at start ({status}); see {}", dir.join("janus.log").display())));
            }
            if let Ok(r) = http.get(format!("{}/info", janus.base)).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["janus"] == "server_info"
            {
                return Ok(janus);
            }
            if Instant::now() > deadline {
                return Err(Error::Io(format!("janus did not answer within 15 s; see {}", dir.join("janus.log").display())));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Measured for Janus {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let Ok(pgid) = i32::try_from(self.child.id()) else { return };
        let group = Pid::from_raw(pgid);
        let _ = killpg(group, Signal::SIGTERM);
        let end = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                // Anything else left in the group goes too.
                let _ = killpg(group, Signal::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;
type Queues = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Value>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps half-changed: each change is one call.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sig(what: &str) -> impl Fn(reqwest::Error) -> Error + '_ {
    move |e| Error::Signaling(format!("janus {what}: {e}"))
}

/// A Janus session: one long poll routes events to the request waiting for them (by
/// `transaction`) or to their handle's queue (by `sender`); a keepalive keeps it.
#[derive(Debug)]
pub struct Session {
    http: reqwest::Client,
    url: String,
    waiters: Waiters,
    queues: Queues,
    next: AtomicU64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Session {
    /// Creates a session on the Janus at `base`.
    pub async fn create(base: &str) -> Result<Arc<Session>, Error> {
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().map_err(sig("client"))?;
        let v: Value = http.post(base).json(&json!({"janus": "create", "transaction": "c0"})).send().await.map_err(sig("create"))?.json().await.map_err(sig("create"))?;
        let id = v["data"]["id"].as_u64().ok_or_else(|| Error::Signaling(format!("janus create: {v}")))?;
        let url = format!("{base}/{id}");
        let (waiters, queues): (Waiters, Queues) = Default::default();
        let poll = {
            let (http, url, waiters, queues) = (http.clone(), format!("{url}?maxev=50"), waiters.clone(), queues.clone());
            tokio::spawn(async move {
                loop {
                    let v: Option<Value> = match http.get(&url).timeout(Duration::from_secs(70)).send().await {
                        Ok(r) => r.json().await.ok(),
                        Err(_) => None,
                    };
                    let Some(v) = v else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    if v["janus"] == "error" {
                        // The session is gone (destroyed, or timed out): nothing more
                        // will come, and asking again would only spin.
                        break;
                    }
                    let events = if let Value::Array(a) = v { a } else { vec![v] };
                    for e in events {
                        route(e, &waiters, &queues);
                    }
                }
            })
        };
        let keepalive = {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                for n in 0u64.. {
                    tokio::time::sleep(Duration::from_secs(25)).await;
                    let _ = http.post(&url).json(&json!({"janus": "keepalive", "transaction": format!("ka{n}")})).send().await;
                }
            })
        };
        Ok(Arc::new(Session { http, url, waiters, queues, next: AtomicU64::new(1), tasks: vec![poll, keepalive] }))
    }

    /// A new transaction id.
    fn transaction(&self) -> String {
        format!("t{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    async fn post(&self, handle: Option<u64>, mut body: Value) -> Result<Value, Error> {
        let url = match handle {
            Some(h) => format!("{}/{h}", self.url),
            None => self.url.clone(),
        };
        if body.get("transaction").is_none() {
            body["transaction"] = json!(self.transaction());
        }
        let v: Value = self.http.post(url).json(&body).send().await.map_err(sig("request"))?.json().await.map_err(sig("reply"))?;
        if v["janus"] == "error" {
            return Err(Error::Signaling(format!("janus: {}", v["error"])));
        }
        Ok(v)
    }

    /// Attaches a VideoRoom handle.
    pub async fn attach(self: &Arc<Self>) -> Result<Handle, Error> {
        let v = self.post(None, json!({"janus": "attach", "plugin": "janus.plugin.videoroom"})).await?;
        let id = v["data"]["id"].as_u64().ok_or_else(|| Error::Signaling(format!("janus attach: {v}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.queues).insert(id, tx);
        Ok(Handle { session: self.clone(), id, events: rx })
    }

    /// A plugin message: a synchronous reply comes back as `success`, an asynchronous
    /// one as `ack` and then an `event` with the same transaction through the long
    /// poll. Returns the plugin's data and the JSEP, if any.
    async fn message(&self, handle: u64, body: Value, jsep: Option<Value>) -> Result<(Value, Option<Value>), Error> {
        let tx = self.transaction();
        let (otx, orx) = oneshot::channel();
        lock(&self.waiters).insert(tx.clone(), otx);
        let mut req = json!({"janus": "message", "transaction": tx, "body": body});
        if let Some(j) = jsep {
            req["jsep"] = j;
        }
        let reply = match self.post(Some(handle), req).await {
            Ok(r) => r,
            Err(e) => {
                lock(&self.waiters).remove(&tx);
                return Err(e);
            }
        };
        let event = if reply["janus"] == "success" {
            lock(&self.waiters).remove(&tx);
            reply
        } else {
            match tokio::time::timeout(Duration::from_secs(20), orx).await {
                Ok(Ok(e)) => e,
                _ => {
                    lock(&self.waiters).remove(&tx);
                    return Err(Error::Signaling(format!("janus: no event for {tx} within 20 s")));
                }
            }
        };
        let data = event["plugindata"]["data"].clone();
        if data.get("error").is_some() {
            return Err(Error::Signaling(format!("videoroom: {data}")));
        }
        Ok((data, event.get("jsep").cloned()))
    }

    /// Ends the session (and every handle and PeerConnection in it).
    pub async fn destroy(&self) {
        let _ = self.post(None, json!({"janus": "destroy"})).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn route(e: Value, waiters: &Waiters, queues: &Queues) {
    if e["janus"] == "event"
        && let Some(tx) = e["transaction"].as_str()
        && let Some(w) = lock(waiters).remove(tx)
    {
        let _ = w.send(e);
        return;
    }
    if let Some(sender) = e["sender"].as_u64()
        && let Some(q) = lock(queues).get(&sender)
    {
        let _ = q.send(e);
    }
}

/// A VideoRoom handle and its events (`webrtcup`, `media`, `hangup`, …).
#[derive(Debug)]
pub struct Handle {
    session: Arc<Session>,
    id: u64,
    events: mpsc::UnboundedReceiver<Value>,
}

impl Handle {
    async fn request(&self, body: Value, jsep: Option<Value>) -> Result<(Value, Option<Value>), Error> {
        self.session.message(self.id, body, jsep).await
    }

    /// Keeps the handle until `stop` fires; a `hangup` (Janus closed the
    /// PeerConnection) clears `alive`, as a closed WebSocket does for our server, and
    /// at `webrtcup` (its PeerConnection is up) the main venue's feed, if given, is
    /// opened to the room's branches.
    async fn hold(mut self, alive: Arc<AtomicBool>, mut stop: tokio::sync::watch::Receiver<bool>, up: Option<(Arc<Room>, Feed)>) {
        loop {
            tokio::select! {
                e = self.events.recv() => match e {
                    Some(e) if e["janus"] == "hangup" => break,
                    Some(e) if e["janus"] == "webrtcup" => {
                        if let Some((room, feed)) = &up {
                            room.feed.send_replace(Some(*feed));
                        }
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = stop.changed() => return,
            }
        }
        alive.store(false, Ordering::Relaxed);
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        lock(&self.session.queues).remove(&self.id);
    }
}

/// A meeting on Janus: a VideoRoom with one publisher (the main venue).
#[derive(Debug)]
pub struct Room {
    session: Arc<Session>,
    /// The room's number.
    pub id: u64,
    /// The main venue's feed, once its PeerConnection is up: VideoRoom refuses
    /// subscriptions to a feed before then ("No such feed").
    feed: tokio::sync::watch::Sender<Option<Feed>>,
}

/// The main venue's published feed, as branches subscribe to it.
#[derive(Debug, Clone, Copy)]
struct Feed {
    id: u64,
    /// Whether it sends simulcast (subscribers then ask for the top layer).
    simulcast: bool,
}


impl Room {
    /// Opens a session and makes room `id` (Opus and VP8, transport-wide CC).
    pub async fn create(janus: &Janus, id: u64) -> Result<Arc<Room>, Error> {
        let session = Session::create(&janus.base).await?;
        let admin = session.attach().await?;
        let body = json!({
            "request": "create", "room": id, "permanent": false, "description": "load test",
            "publishers": 1, "bitrate": 4_000_000, "bitrate_cap": true, "fir_freq": 0,
            "audiocodec": "opus", "videocodec": "vp8", "notify_joining": false,
            "transport_wide_cc_ext": true, "audiolevel_ext": false, "playoutdelay_ext": false, "videoorient_ext": false,
        });
        admin.request(body, None).await?;
        Ok(Arc::new(Room { session, id, feed: tokio::sync::watch::Sender::new(None) }))
    }

    /// Joins a venue: the main venue publishes, a branch subscribes to it (so the main
    /// venue must have joined first, and a branch waits up to 20 s for its media to be
    /// up). The venue is then ready for a worker; the returned future holds its handle.
    pub async fn join(self: Arc<Self>, mut venue: Venue, sending: Sending, stop: tokio::sync::watch::Receiver<bool>) -> Result<(Venue, Hold), Error> {
        let published = if venue.main {
            None
        } else {
            let mut feed = self.feed.subscribe();
            let up = match tokio::time::timeout(Duration::from_secs(20), feed.wait_for(Option::is_some)).await {
                Ok(Ok(f)) => *f,
                _ => None,
            };
            Some(up.ok_or_else(|| Error::Signaling("the main venue's media did not come up on Janus".into()))?)
        };
        let handle = self.session.attach().await?;
        let mut on_up = None;
        if let Some(feed) = published {
            let mut stream = json!({"feed": feed.id});
            if feed.simulcast {
                stream["substream"] = json!(2);
            }
            let (d, j) = handle.request(json!({"request": "join", "ptype": "subscriber", "room": self.id, "streams": [stream], "use_msid": false}), None).await?;
            let sdp = j.as_ref().and_then(|j| j["sdp"].as_str()).ok_or_else(|| Error::Signaling(format!("videoroom subscribe: no offer in {d}")))?;
            let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| Error::Media(format!("Janus's offer: {e}")))?;
            let answer = venue.accept_offer(offer)?;
            handle.request(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer.to_sdp_string(), "trickle": false}))).await?;
        } else {
            let (d, _) = handle.request(json!({"request": "join", "ptype": "publisher", "room": self.id, "display": "main venue"}), None).await?;
            let feed = d["id"].as_u64().ok_or_else(|| Error::Signaling(format!("videoroom join: {d}")))?;
            let simulcast = sending.video.len() > 1;
            // Janus drops abs-capture-time: the send time goes in the payload.
            let (offer, pending) = venue.offer(Lines::Publisher, Sending { tag: true, ..sending })?;
            let mut jsep = json!({"type": "offer", "sdp": offer.to_sdp_string(), "trickle": false});
            if simulcast {
                // str0m lists the rids low to high (q;h;f); Janus assumes high to low.
                jsep["rid_order"] = json!("lmh");
            }
            let (d, j) = handle.request(json!({"request": "publish", "audio": true, "video": true}), Some(jsep)).await?;
            let sdp = j.as_ref().and_then(|j| j["sdp"].as_str()).ok_or_else(|| Error::Signaling(format!("videoroom publish: no answer in {d}")))?;
            let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| Error::Media(format!("Janus's answer: {e}")))?;
            venue.accept_answer(pending, answer)?;
            on_up = Some((self.clone(), Feed { id: feed, simulcast }));
        }
        let alive = venue.signaling.clone();
        Ok((venue, Box::pin(handle.hold(alive, stop, on_up))))
    }

    /// Ends the room's session (every PeerConnection with it).
    pub async fn close(&self) {
        self.session.destroy().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_loopback_only_with_candidates_in_the_sdp() {
        let text = janus_jcfg(Path::new("/tmp/j"), &JanusOptions::default());
        assert!(text.contains("plugins_folder = \"/tmp/j/plugins\""));
        assert!(text.contains("event_loops = 2"));
        assert!(text.contains("full_trickle = false"));
        assert!(text.contains("ice_enforce_list = \"127.0.0.1\""));
        assert!(!janus_jcfg(Path::new("/tmp/j"), &JanusOptions { event_loops: 0, ..Default::default() }).contains("event_loops"));
        assert!(http_jcfg(8088).contains("port = 8088\n\tip = \"127.0.0.1\""));
    }

    #[test]
    fn missing_janus_names_the_package() {
        let opts = JanusOptions { binary: "/nonexistent/janus".into(), ..Default::default() };
        assert!(opts.missing().is_some_and(|m| m.contains("apt-get install janus")));
    }

    #[test]
    fn events_go_to_their_request_or_their_handle() {
        let (waiters, queues): (Waiters, Queues) = Default::default();
        let (otx, mut orx) = oneshot::channel();
        lock(&waiters).insert("t1".into(), otx);
        let (qtx, mut qrx) = mpsc::unbounded_channel();
        lock(&queues).insert(7, qtx);
        route(json!({"janus": "event", "transaction": "t1", "sender": 7}), &waiters, &queues);
        route(json!({"janus": "hangup", "sender": 7}), &waiters, &queues);
        assert_eq!(orx.try_recv().ok().map(|e| e["transaction"].clone()), Some(json!("t1")));
        assert_eq!(qrx.try_recv().ok().map(|e| e["janus"].clone()), Some(json!("hangup")));
        assert!(qrx.try_recv().is_err());
    }
}
