//! A crowd signing in at once: N clients each `POST /api/v1/signin` with the right
//! password of an account of their own, all released together, against the release
//! `grassroots serve`. It measures how the server copes with that many password checks
//! (argon2, slow and memory-hungry on purpose) arriving together: how many succeed,
//! their latencies, the wall time of the whole burst, whether answers come back spread
//! out as they are computed or all together at the end, and what the burst costs the
//! server in memory (peak and resident) and CPU.
//!
//! ```text
//! cargo bench -p grassroots --bench signins -- [--clients 200] [--rounds 3]
//! ```
//!
//! Preparation, untimed: the demo's database (`grassroots demo --no-serve`) in a
//! temporary directory, with N coordinator accounts of Daoli district (230102),
//! `signins-bench-0000` and on, that all share one argon2 hash made once (hashing is
//! slow on purpose; making N would only slow the preparation).
//!
//! Each round starts a fresh server, the real binary in its own process
//! (`grassroots serve --listen 127.0.0.1:0 --media 127.0.0.1:0`), so that its memory
//! and CPU time can be read apart from the load generator's (/proc/PID/status and
//! /proc/PID/stat), and waits [`SETTLE`] after its start so that its first look for
//! alerts (10 s after the start) is over. Every client then has its own reqwest
//! client and connection, opened beforehand with an unsigned `GET /api/v1/me` (a 401),
//! so that only the sign-in itself is timed. The clients wait at a barrier and are
//! released together; each sign-in's latency is from its release to its whole answer,
//! and the wall time from the first release to the last answer. The spread (latency
//! percentiles, and answers per tenth of the wall time) tells whether answers come
//! back one by one as they are ready or all together at the end.
//! The server is stopped with SIGINT at the end of the round, as Ctrl-C would, and
//! killed if the benchmark ends early. Every round signs the same accounts in again.
//!
//! A sign-in succeeds if it answers 200 with the account's name; every other status
//! and every failed request is counted and reported, and the benchmark fails at the
//! end if any sign-in failed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use domain::Role;
use store::{NewAccount, Store};

const PASSWORD: &str = "signins-bench-password";
/// The division the accounts coordinate: Daoli district, in the demo's data.
const SCOPE: &str = "230102";
/// How long after the server's start the burst begins: its first look for alerts is
/// 10 s after the start.
const SETTLE: Duration = Duration::from_secs(12);
/// The longest any one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest the server may take to say where it listens, and then to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest the demo's database may take to build.
const DEMO_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest a whole burst may take (every request is bounded already; this bounds
/// the round even if something hangs outside a request).
const BURST_TIMEOUT: Duration = Duration::from_secs(300);

struct Args {
    clients: usize,
    rounds: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { clients: 200, rounds: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--clients" => args.clients = value()?.parse()?,
            "--rounds" => args.rounds = value()?.parse()?,
            "--bench" => {} // cargo bench passes this
            other => bail!("unknown argument {other}; see the file's header for usage"),
        }
    }
    ensure!(args.clients > 0 && args.rounds > 0, "--clients and --rounds must be positive");
    Ok(args)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    println!(
        "machine: {} cores, {:.1} GiB of memory; load average before: {}",
        cores(),
        proc_field("/proc/meminfo", "MemTotal")? as f64 / (1024.0 * 1024.0),
        std::fs::read_to_string("/proc/loadavg")?.trim()
    );

    // Preparation, untimed.
    let dir = tempfile::Builder::new().prefix("signins-").tempdir()?;
    let db = dir.path().join("demo.db");
    let t0 = Instant::now();
    build_demo(&db, dir.path())?;
    let url = format!("sqlite://{}", db.display());
    let store = Store::open(&url).context("opening the demo's database")?;
    let names = add_accounts(&store, args.clients)?;
    drop(store);
    println!("demo database and {} accounts made in {:.1} s ({})", args.clients, t0.elapsed().as_secs_f64(), db.display());

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let names: Arc<[String]> = names.into();
    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        println!("\nround {round} of {}", args.rounds);
        let server = Server::start(&url)?;
        println!("serving on {} (pid {})", server.base, server.child.id());
        let result = rt.block_on(burst(&server, names.clone()));
        let stopped = server.stop();
        let r = result?;
        stopped?;
        r.print();
        rounds.push(r);
    }
    summary(&rounds);
    let failed: usize = rounds.iter().map(|r| r.samples.len() - r.ok()).sum();
    ensure!(failed == 0, "{failed} sign-ins failed over {} rounds (see above)", rounds.len());
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `grassroots demo --no-serve --file DB`, bounded by [`DEMO_TIMEOUT`]; its output goes
/// to a log beside it, shown if it fails.
fn build_demo(db: &Path, dir: &Path) -> Result<()> {
    let log_path = dir.join("demo.log");
    let log = std::fs::File::create(&log_path)?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_grassroots"))
        .current_dir(dir)
        .args(["demo", "--no-serve", "--file"])
        .arg(db)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting grassroots demo")?;
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("grassroots demo took more than {} s", DEMO_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        let out = std::fs::read_to_string(&log_path).unwrap_or_default();
        bail!("grassroots demo ended with {status}:\n{out}");
    }
    Ok(())
}

/// `n` coordinators of [`SCOPE`], all with one hash of [`PASSWORD`]; gives their names.
fn add_accounts(store: &Store, n: usize) -> Result<Vec<String>> {
    let hash = web::hash_password(PASSWORD)?;
    let now = chrono::Utc::now().timestamp();
    let scope = SCOPE.parse()?;
    let names: Vec<String> = (0..n).map(|i| format!("signins-bench-{i:04}")).collect();
    for name in &names {
        let new = NewAccount { name: name.clone(), role: Role::Coordinator, scope: Some(scope), unit: None, password_hash: hash.clone() };
        store.add_account(&new, now).with_context(|| format!("adding {name}"))?;
    }
    Ok(names)
}

/// The served binary; killed if the benchmark ends early, so none is left behind.
struct Server {
    child: Child,
    base: String,
    started: Instant,
}

impl Server {
    fn start(url: &str) -> Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grassroots"))
            .args(["--db", url, "serve", "--listen", "127.0.0.1:0", "--media", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting grassroots serve")?;
        let stdout = child.stdout.take().context("the server's standard output")?;
        // From here on the guard stops the server whatever happens.
        let mut server = Server { child, base: String::new(), started: Instant::now() };
        // The banner names the address once the server listens; the rest of the
        // output is drained so that the server never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for line in lines.map_while(Result::ok) {
                println!("server: {line}");
            }
        });
        let banner = rx.recv_timeout(START_TIMEOUT).context("the server did not say where it listens")?;
        server.base = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .with_context(|| format!("no address in the server's banner {banner:?}"))?
            .to_owned();
        Ok(server)
    }

    /// Waits until an unsigned `GET /api/v1/me` gets its 401.
    async fn wait_until_answering(&self) -> Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
        let url = format!("{}/api/v1/me", self.base);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match http.get(&url).send().await {
                Ok(resp) if resp.status() == 401 => return Ok(()),
                Ok(resp) => bail!("GET /api/v1/me unsigned: {} instead of 401", resp.status()),
                Err(e) if Instant::now() > deadline => return Err(e).context("the server does not answer"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn proc(&self, file: &str) -> String {
        format!("/proc/{}/{file}", self.child.id())
    }

    /// The server's memory and CPU time so far.
    fn usage(&self) -> Result<Usage> {
        let status = self.proc("status");
        Ok(Usage {
            rss_kib: proc_field(&status, "VmRSS")?,
            hwm_kib: proc_field(&status, "VmHWM")?,
            threads: proc_field(&status, "Threads")?,
            cpu: process_cpu(&self.proc("stat"))?,
        })
    }

    /// Stops the server as Ctrl-C would and checks that it ended cleanly.
    fn stop(mut self) -> Result<()> {
        Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().context("running kill")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                ensure!(status.success(), "the server ended with {status}");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the server did not stop within 30 s of SIGINT")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A process's memory and CPU at one moment.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss_kib: u64,
    /// The peak resident set since the process started.
    hwm_kib: u64,
    threads: u64,
    cpu: Duration,
}

/// A number field of a /proc file of `Name: value [kB]` lines (memory is in KiB).
fn proc_field(path: &str, name: &str) -> Result<u64> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let line = s
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .with_context(|| format!("no {name} in {path}"))?;
    let value = line.split_whitespace().next().with_context(|| format!("{name} in {path} is empty"))?;
    value.parse().with_context(|| format!("{name} in {path}: {value:?}"))
}

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux everywhere).
const TICKS: f64 = 100.0;

/// utime + stime of a process, from /proc/PID/stat.
fn process_cpu(stat: &str) -> Result<Duration> {
    let s = std::fs::read_to_string(stat).with_context(|| format!("reading {stat}"))?;
    // Fields after the command name (which may hold spaces) start at the state.
    let rest = s.rsplit_once(')').map(|(_, r)| r).context("a /proc stat line")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    ensure!(f.len() > 12, "{stat} is too short");
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok(Duration::from_secs_f64(ticks as f64 / TICKS))
}

/// CPU time every process on the machine has used (all cores, idle excluded).
fn machine_cpu() -> Result<Duration> {
    let s = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = s.lines().next().context("an empty /proc/stat")?;
    let f = line.split_whitespace().skip(1).take(8).map(str::parse).collect::<Result<Vec<u64>, _>>().context("a /proc/stat cpu line")?;
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy: u64 = f.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    Ok(Duration::from_secs_f64(busy as f64 / TICKS))
}

/// How one sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// 200 with the account's name.
    Ok,
    /// Any other answer, by status (and 200 with the wrong body as "200 (bad body)").
    Status(String),
    /// No answer: a timeout, a reset connection.
    Failed(String),
}

/// One sign-in: when it was sent, when its whole answer was in, and how it ended.
struct Sample {
    sent: Instant,
    done: Instant,
    outcome: Outcome,
}

impl Sample {
    fn latency(&self) -> Duration {
        self.done - self.sent
    }
}

/// One round's figures.
struct Round {
    clients: usize,
    samples: Vec<Sample>,
    /// When the first sign-in was sent.
    start: Instant,
    /// From the first sign-in sent to the last answer in.
    wall: Duration,
    before: Usage,
    after: Usage,
    client_cpu: Duration,
    machine_cpu: Duration,
}

/// The burst against `server`: every account signed in once, all at the same time.
async fn burst(server: &Server, names: Arc<[String]>) -> Result<Round> {
    server.wait_until_answering().await?;
    let settled = server.started + SETTLE;
    if Instant::now() < settled {
        println!("waiting until {} s after the server's start (its first look for alerts) …", SETTLE.as_secs());
        tokio::time::sleep_until(settled.into()).await;
    }
    let base: Arc<str> = server.base.clone().into();
    let n = names.len();
    // Each client opens its connection first, so that only the sign-in is timed.
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(
            reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(REQUEST_TIMEOUT)
                .build()?,
        );
    }
    let mut opening = tokio::task::JoinSet::new();
    for http in &clients {
        let (http, url) = (http.clone(), format!("{base}/api/v1/me"));
        opening.spawn(async move {
            let resp = http.get(&url).send().await.context("opening a connection")?;
            ensure!(resp.status() == 401, "GET /api/v1/me unsigned: {}", resp.status());
            resp.bytes().await?;
            anyhow::Ok(())
        });
    }
    while let Some(r) = opening.join_next().await {
        r??;
    }

    let barrier = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, http) in clients.into_iter().enumerate() {
        let (barrier, base, names) = (barrier.clone(), base.clone(), names.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let sent = Instant::now();
            let outcome = sign_in(&http, &base, &names[i]).await;
            Sample { sent, done: Instant::now(), outcome }
        });
    }
    // No task sends anything before this one reaches the barrier too.
    let before = server.usage()?;
    let client_before = process_cpu("/proc/self/stat")?;
    let machine_before = machine_cpu()?;
    barrier.wait().await;
    let mut samples = Vec::with_capacity(n);
    let collected = tokio::time::timeout(BURST_TIMEOUT, async {
        while let Some(r) = tasks.join_next().await {
            samples.push(r?);
        }
        anyhow::Ok(())
    })
    .await;
    match collected {
        Ok(r) => r?,
        Err(_) => bail!("the burst took more than {} s", BURST_TIMEOUT.as_secs()),
    }
    let start = samples.iter().map(|s| s.sent).min().context("no sign-in")?;
    let wall = samples.iter().map(|s| s.done).max().context("no sign-in")? - start;
    let after = server.usage()?;
    let client_cpu = process_cpu("/proc/self/stat")?.saturating_sub(client_before);
    let machine_cpu = machine_cpu()?.saturating_sub(machine_before);
    Ok(Round { clients: n, samples, start, wall, before, after, client_cpu, machine_cpu })
}

async fn sign_in(http: &reqwest::Client, base: &str, name: &str) -> Outcome {
    let sent = http.post(format!("{base}/api/v1/signin")).json(&serde_json::json!({ "name": name, "password": PASSWORD })).send().await;
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) => return Outcome::Failed(failure(&e)),
    };
    let status = resp.status();
    match resp.bytes().await {
        Err(e) => Outcome::Failed(format!("reading the body: {}", failure(&e))),
        Ok(body) if status != 200 => {
            let text = String::from_utf8_lossy(&body);
            Outcome::Status(format!("{} {}", status.as_u16(), text.chars().take(120).collect::<String>()))
        }
        Ok(body) => {
            let signed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            if signed.as_ref().and_then(|v| v["account"]["name"].as_str()) == Some(name) {
                Outcome::Ok
            } else {
                Outcome::Status("200 (bad body)".into())
            }
        }
    }
}

/// A short name for a failed request.
fn failure(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("timeout after {} s", REQUEST_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.to_string()
    }
}

/// The nearest-rank percentile of sorted durations.
fn at(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

impl Round {
    fn ok(&self) -> usize {
        self.samples.iter().filter(|s| s.outcome == Outcome::Ok).count()
    }

    /// Every latency, successful or not, sorted.
    fn sorted(&self) -> Vec<Duration> {
        let mut l: Vec<Duration> = self.samples.iter().map(Sample::latency).collect();
        l.sort_unstable();
        l
    }

    fn print(&self) {
        let mut outcomes: BTreeMap<&Outcome, usize> = BTreeMap::new();
        for s in &self.samples {
            *outcomes.entry(&s.outcome).or_default() += 1;
        }
        let shown: Vec<String> = outcomes
            .iter()
            .map(|(o, n)| match o {
                Outcome::Ok => format!("{n} × 200"),
                Outcome::Status(s) => format!("{n} × {s}"),
                Outcome::Failed(e) => format!("{n} × no answer ({e})"),
            })
            .collect();
        println!("{} sign-ins at once: {}", self.clients, shown.join(", "));
        let l = self.sorted();
        println!(
            "latency, ms: min {} | p50 {} | p95 {} | max {}; wall time for all {}: {} ms",
            ms(l[0]),
            ms(at(&l, 0.5)),
            ms(at(&l, 0.95)),
            ms(l[l.len() - 1]),
            self.clients,
            ms(self.wall)
        );
        println!(
            "spread, ms: p10 {} | p25 {} | p50 {} | p75 {} | p90 {}",
            ms(at(&l, 0.10)),
            ms(at(&l, 0.25)),
            ms(at(&l, 0.50)),
            ms(at(&l, 0.75)),
            ms(at(&l, 0.90))
        );
        // Answers per tenth of the wall time, by when they arrived: even if they came
        // as they were computed, all in the last tenth if they came together at the end.
        let mut tenths = [0usize; 10];
        let wall = self.wall.as_secs_f64().max(f64::MIN_POSITIVE);
        for s in &self.samples {
            let arrived = s.done.saturating_duration_since(self.start).as_secs_f64();
            tenths[((arrived / wall * 10.0) as usize).min(9)] += 1;
        }
        let tenths: Vec<String> = tenths.iter().map(usize::to_string).collect();
        println!("answers per tenth of the wall time: {}", tenths.join(" "));
        let (b, a) = (&self.before, &self.after);
        println!(
            "server memory, MiB: RSS before {} (peak before {}), peak VmHWM after {}, RSS after {}; threads {} → {}",
            mib(b.rss_kib),
            mib(b.hwm_kib),
            mib(a.hwm_kib),
            mib(a.rss_kib),
            b.threads,
            a.threads
        );
        let server_cpu = a.cpu.saturating_sub(b.cpu);
        let others = self.machine_cpu.saturating_sub(server_cpu + self.client_cpu).as_secs_f64() / wall;
        println!(
            "CPU, s: server {:.2} in the burst ({:.2} since its start, {:.1} ms per sign-in), {:.2} cores of {} over the wall time; load generator {:.2}; everything else {:.2} cores{}",
            server_cpu.as_secs_f64(),
            a.cpu.as_secs_f64(),
            server_cpu.as_secs_f64() * 1000.0 / self.clients as f64,
            server_cpu.as_secs_f64() / wall,
            cores(),
            self.client_cpu.as_secs_f64(),
            others,
            if others > 0.1 { " (other work was running: figures are disturbed)" } else { "" }
        );
    }
}

fn summary(rounds: &[Round]) {
    println!("\n| round | 200 | other | min ms | p50 ms | p95 ms | max ms | wall ms | RSS before MiB | VmHWM MiB | server CPU s | other work, cores |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, r) in rounds.iter().enumerate() {
        let l = r.sorted();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            i + 1,
            r.ok(),
            r.samples.len() - r.ok(),
            ms(l[0]),
            ms(at(&l, 0.5)),
            ms(at(&l, 0.95)),
            ms(l[l.len() - 1]),
            ms(r.wall),
            mib(r.before.rss_kib),
            mib(r.after.hwm_kib),
            r.after.cpu.saturating_sub(r.before.cpu).as_secs_f64(),
            r.machine_cpu.saturating_sub(r.after.cpu.saturating_sub(r.before.cpu) + r.client_cpu).as_secs_f64() / r.wall.as_secs_f64()
        );
    }
}
