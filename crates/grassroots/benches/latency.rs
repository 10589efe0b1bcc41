//! Page and API latency under load: the release `grassroots serve` over the national
//! dataset of the `national` benchmark, with many signed-in users at once, against the
//! target "page and API latency under 100 concurrent users: p95 < 50 ms".
//!
//! ```text
//! cargo bench -p grassroots --bench latency -- [--sessions 5000000] [--clients 100]
//!     [--seconds 20] [--warmup 5] [--think-ms 0] [--as-of 2022-12-31]
//! ```
//!
//! The database is `.cache/bench-N.db`, left by `cargo bench -p grassroots --bench
//! national -- --sessions N --backend sqlite`. Opening it migrates it (accounts, and
//! an index on sessions built once) and the benchmark adds accounts, so it works on a
//! copy in a temporary directory beside it; all of that happens before any timing.
//!
//! The server is the real binary, `grassroots serve --listen 127.0.0.1:0`, in its own
//! process: it is what is deployed (the same runtime, thread pools and store
//! configuration), and its CPU time can be read apart from the load generator's
//! (/proc/PID/stat), which tells whether the two cores went to serving or to
//! measuring. It is stopped with SIGINT at the end, as Ctrl-C would.
//!
//! Each client is one user with its own connection and cookie jar, signed in through
//! `POST /api/v1/signin`; a third are the campaign office, a third a city coordinator
//! (3101, Shanghai's districts), a third a county coordinator (310115, Pudong, the
//! county with the most villages). Each goes round its role's pages and API calls
//! with no pause (or a random pause of 0 to 2 × `--think-ms`), first for `--warmup`
//! seconds unrecorded, then for `--seconds` recorded. Every answer other than 200 is
//! an error and is reported; redirects are not followed, so a lost sign-in shows.
//!
//! The server looks for alerts to notify 10 s after it starts, then every 5 minutes;
//! on this dataset the first look writes some 155,000 notifications (one per overdue
//! planned session and account). Nothing is timed before [`SETTLE`] after the start,
//! so that the figures are those of a server that has been up for a while, and a run
//! shorter than 5 minutes meets no other look.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::NaiveDate;
use domain::Role;
use store::{NewAccount, Store};

/// The target of docs/BENCHMARKS.md.
const TARGET: Duration = Duration::from_millis(50);
/// How long after the server's start timing begins: its first look for alerts (at
/// 10 s, some 3 s of work on an idle machine) is over by then.
const SETTLE: Duration = Duration::from_secs(25);
/// Requests per endpoint in the one-at-a-time pass (after five unrecorded).
const ALONE: usize = 40;
const PASSWORD: &str = "latency-bench-password";
/// The county whose coordinator is simulated, and the city above it.
const COUNTY: &str = "310115";
const CITY: &str = "3101";

struct Args {
    sessions: u64,
    clients: usize,
    seconds: u64,
    warmup: u64,
    think_ms: u64,
    as_of: NaiveDate,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        sessions: 5_000_000,
        clients: 100,
        seconds: 20,
        warmup: 5,
        think_ms: 0,
        as_of: NaiveDate::from_ymd_opt(2022, 12, 31).expect("a date"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--sessions" => args.sessions = value()?.parse()?,
            "--clients" => args.clients = value()?.parse()?,
            "--seconds" => args.seconds = value()?.parse()?,
            "--warmup" => args.warmup = value()?.parse()?,
            "--think-ms" => args.think_ms = value()?.parse()?,
            "--as-of" => args.as_of = value()?.parse()?,
            "--bench" => {} // cargo bench passes this
            other => bail!("unknown argument {other}; see the file's header for usage"),
        }
    }
    ensure!(args.clients > 0 && args.seconds > 0, "--clients and --seconds must be positive");
    Ok(args)
}

/// Who a client signs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Office,
    City,
    County,
}

impl Who {
    const ALL: [Who; 3] = [Who::Office, Who::City, Who::County];

    fn account(self) -> &'static str {
        match self {
            Who::Office => "bench-office",
            Who::City => "bench-city",
            Who::County => "bench-county",
        }
    }
}

/// What a good answer looks like, checked once per endpoint before the warm-up (the
/// timed loop checks the status only, so that parsing does not load the client).
#[derive(Debug, Clone, Copy)]
enum Expect {
    Html,
    /// A JSON array of this many rows (0: any number but none).
    Rows(usize),
}

struct Endpoint {
    name: &'static str,
    who: Who,
    path: String,
    expect: Expect,
}

fn endpoints(as_of: NaiveDate) -> Vec<Endpoint> {
    let e = |name, who, path: String, expect| Endpoint { name, who, path, expect };
    vec![
        e("page: dashboard, office (31 provinces)", Who::Office, format!("/campaigns/cpc20?as_of={as_of}"), Expect::Html),
        e("API: coverage, office (31 provinces)", Who::Office, format!("/api/v1/campaigns/cpc20/coverage?as_of={as_of}"), Expect::Rows(31)),
        e("API: coverage, office, under=3101 (16 counties)", Who::Office, format!("/api/v1/campaigns/cpc20/coverage?under={CITY}&as_of={as_of}"), Expect::Rows(16)),
        e("page: dashboard, city 3101 (16 counties)", Who::City, format!("/campaigns/cpc20?as_of={as_of}"), Expect::Html),
        e("API: coverage, city, under=310115 (townships)", Who::City, format!("/api/v1/campaigns/cpc20/coverage?under={COUNTY}&as_of={as_of}"), Expect::Rows(0)),
        e("page: dashboard, county 310115 (townships)", Who::County, format!("/campaigns/cpc20?as_of={as_of}"), Expect::Html),
        e("page: units, county, under=310115", Who::County, format!("/units?under={COUNTY}"), Expect::Html),
        e("page: units, county, uncovered", Who::County, format!("/units?under={COUNTY}&uncovered=cpc20&as_of={as_of}"), Expect::Html),
    ]
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache");
    let source = cache.join(format!("bench-{}.db", args.sessions));
    if !source.is_file() {
        bail!(
            "{} is missing: make it first with\n  cargo bench -p grassroots --bench national -- --sessions {} --backend sqlite",
            source.display(),
            args.sessions
        );
    }
    println!("machine: {} cores; load average before: {}", cores(), std::fs::read_to_string("/proc/loadavg")?.trim());

    // Preparation, untimed: a copy beside the cached file (same disk), migrated, with
    // the benchmark's accounts.
    let dir = tempfile::Builder::new().prefix("latency-").tempdir_in(&cache)?;
    let db = dir.path().join("latency.db");
    let t0 = Instant::now();
    std::fs::copy(&source, &db).with_context(|| format!("copying {}", source.display()))?;
    let url = format!("sqlite://{}", db.display());
    let store = Store::open(&url).context("opening (and migrating) the copy")?;
    add_accounts(&store)?;
    drop(store);
    println!("copied, migrated and added accounts in {:.1} s ({})", t0.elapsed().as_secs_f64(), source.display());

    let server = Server::start(&url)?;
    println!("serving on {} (pid {})", server.base, server.child.id());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = rt.block_on(load(&server, &args));
    let stopped = server.stop();
    let report = result?;
    stopped?;
    report.print(&args);
    ensure!(report.errors == 0, "{} requests failed (see above)", report.errors);
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn add_accounts(store: &Store) -> Result<()> {
    let hash = web::hash_password(PASSWORD)?;
    let now = chrono::Utc::now().timestamp();
    for who in Who::ALL {
        let (role, scope) = match who {
            Who::Office => (Role::Office, None),
            Who::City => (Role::Coordinator, Some(CITY.parse()?)),
            Who::County => (Role::Coordinator, Some(COUNTY.parse()?)),
        };
        let new = NewAccount { name: who.account().into(), role, scope, unit: None, password_hash: hash.clone() };
        store.add_account(&new, now).with_context(|| format!("adding {}", who.account()))?;
    }
    Ok(())
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
            .args(["--db", url, "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting grassroots serve")?;
        let stdout = child.stdout.take().context("the server's standard output")?;
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
        let banner = rx.recv_timeout(Duration::from_secs(120)).context("the server did not say where it listens")?;
        server.base = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .with_context(|| format!("no address in the server's banner {banner:?}"))?
            .to_owned();
        Ok(server)
    }

    /// CPU time the server has used so far.
    fn cpu(&self) -> Result<Duration> {
        process_cpu(&format!("/proc/{}/stat", self.child.id()))
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

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux everywhere).
const TICKS: f64 = 100.0;

/// utime + stime of a process, from /proc/PID/stat.
fn process_cpu(stat: &str) -> Result<Duration> {
    let s = std::fs::read_to_string(stat).with_context(|| format!("reading {stat}"))?;
    // Fields after the command name (which may hold spaces) start at the state.
    let rest = s.rsplit_once(')').map(|(_, r)| r).context("a /proc stat line")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok(Duration::from_secs_f64(ticks as f64 / TICKS))
}

/// CPU time every process on the machine has used (all cores, idle excluded).
fn machine_cpu() -> Result<Duration> {
    let s = std::fs::read_to_string("/proc/stat")?;
    let line = s.lines().next().context("/proc/stat")?;
    let f: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0)).collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy: u64 = f.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    Ok(Duration::from_secs_f64(busy as f64 / TICKS))
}

/// One recorded request.
#[derive(Clone, Copy)]
struct Sample {
    endpoint: u8,
    micros: u32,
    ok: bool,
}

/// CPU used in the recorded window, in seconds of one core.
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    server: f64,
    client: f64,
    machine: f64,
}

struct Report {
    endpoints: Vec<Endpoint>,
    samples: Vec<Sample>,
    errors: usize,
    error_examples: Vec<String>,
    window: Duration,
    cpu: Cpu,
    signin: Duration,
    sizes: Vec<usize>,
    /// The median of each endpoint alone.
    alone: Vec<Duration>,
}

async fn load(server: &Server, args: &Args) -> Result<Report> {
    let endpoints = endpoints(args.as_of);
    let base: Arc<str> = server.base.clone().into();

    // Every endpoint answers as expected once before anything is timed.
    let mut sizes = Vec::new();
    let mut probe = BTreeMap::new();
    for who in Who::ALL {
        probe.insert(who, sign_in(&base, who).await?);
    }
    for e in &endpoints {
        let url = format!("{base}{}", e.path);
        let resp = probe[&e.who].get(&url).send().await.with_context(|| format!("GET {}", e.path))?;
        let status = resp.status();
        let body = resp.bytes().await?;
        ensure!(status == 200, "GET {} as {}: {status}: {}", e.path, e.who.account(), String::from_utf8_lossy(&body[..body.len().min(500)]));
        match e.expect {
            Expect::Html => ensure!(body.windows(7).any(|w| w == b"</html>"), "GET {}: not a whole page", e.path),
            Expect::Rows(n) => {
                let rows: Vec<serde_json::Value> = serde_json::from_slice(&body).with_context(|| format!("GET {}: not a JSON array", e.path))?;
                ensure!(if n == 0 { !rows.is_empty() } else { rows.len() == n }, "GET {}: {} rows", e.path, rows.len());
            }
        }
        sizes.push(body.len());
    }
    let settled = server.started + SETTLE;
    if Instant::now() < settled {
        println!("waiting until {} s after the server's start (its first notification run) …", SETTLE.as_secs());
        tokio::time::sleep_until(settled.into()).await;
    }
    // Each endpoint alone, one request at a time: the time a request takes with no
    // queue in front of it.
    let mut alone = Vec::new();
    for e in &endpoints {
        let url = format!("{base}{}", e.path);
        let mut times = Vec::with_capacity(ALONE);
        for i in 0..ALONE + 5 {
            let t0 = Instant::now();
            let resp = probe[&e.who].get(&url).send().await?;
            ensure!(resp.status() == 200, "GET {}: {}", e.path, resp.status());
            resp.bytes().await?;
            if i >= 5 {
                times.push(t0.elapsed());
            }
        }
        times.sort();
        alone.push(times[times.len() / 2]);
    }
    drop(probe);

    // Sign every user in, all at once, as a crowd arriving would.
    let t0 = Instant::now();
    let mut signing = tokio::task::JoinSet::new();
    for i in 0..args.clients {
        let base = base.clone();
        signing.spawn(async move { sign_in(&base, Who::ALL[i % 3]).await.map(|c| (i, c)) });
    }
    let mut clients: Vec<Option<reqwest::Client>> = vec![None; args.clients];
    while let Some(r) = signing.join_next().await {
        let (i, c) = r??;
        clients[i] = Some(c);
    }
    let signin = t0.elapsed();
    println!("{} users signed in in {:.2} s", args.clients, signin.as_secs_f64());

    // The plan of each role: its endpoints in turn, each user starting elsewhere in it.
    let plans: BTreeMap<Who, Vec<u8>> =
        Who::ALL.iter().map(|w| (*w, endpoints.iter().enumerate().filter(|(_, e)| e.who == *w).map(|(i, _)| i as u8).collect())).collect();
    let urls: Arc<Vec<String>> = Arc::new(endpoints.iter().map(|e| format!("{base}{}", e.path)).collect());
    println!("warming up for {} s, then recording for {} s …", args.warmup, args.seconds);
    let start = Instant::now();
    let record_from = start + Duration::from_secs(args.warmup);
    let end = record_from + Duration::from_secs(args.seconds);
    let mut users = tokio::task::JoinSet::new();
    for (i, http) in clients.into_iter().enumerate() {
        let http = http.expect("every client signed in");
        let plan = plans[&Who::ALL[i % 3]].clone();
        let urls = urls.clone();
        let think = args.think_ms;
        users.spawn(user(http, urls, plan, i / 3, record_from, end, think, i as u64));
    }
    // CPU counters at the edges of the recorded window.
    tokio::time::sleep_until(record_from.into()).await;
    let before = (server.cpu()?, process_cpu("/proc/self/stat")?, machine_cpu()?);
    tokio::time::sleep_until(end.into()).await;
    let after = (server.cpu()?, process_cpu("/proc/self/stat")?, machine_cpu()?);
    let mut samples = Vec::new();
    let mut error_examples = Vec::new();
    while let Some(r) = users.join_next().await {
        let (s, errs) = r?;
        samples.extend(s);
        for e in errs {
            if error_examples.len() < 10 {
                error_examples.push(e);
            }
        }
    }
    let window = end - record_from;
    let cpu = Cpu {
        server: (after.0 - before.0).as_secs_f64(),
        client: (after.1 - before.1).as_secs_f64(),
        machine: (after.2.saturating_sub(before.2)).as_secs_f64(),
    };
    let errors = samples.iter().filter(|s| !s.ok).count();
    Ok(Report { endpoints, samples, errors, error_examples, window, cpu, signin, sizes, alone })
}

/// A client of its own (one connection, one cookie jar) signed in as `who`.
async fn sign_in(base: &str, who: Who) -> Result<reqwest::Client> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let resp = http
        .post(format!("{base}/api/v1/signin"))
        .json(&serde_json::json!({ "name": who.account(), "password": PASSWORD }))
        .send()
        .await
        .context("signing in")?;
    let status = resp.status();
    ensure!(status == 200, "signing in as {}: {status}: {}", who.account(), resp.text().await.unwrap_or_default());
    Ok(http)
}

/// One user's loop; gives the recorded requests and the errors' descriptions.
#[allow(clippy::too_many_arguments)]
async fn user(
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    plan: Vec<u8>,
    offset: usize,
    record_from: Instant,
    end: Instant,
    think_ms: u64,
    seed: u64,
) -> (Vec<Sample>, Vec<String>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    let mut k = offset;
    while Instant::now() < end {
        let e = plan[k % plan.len()];
        k += 1;
        let url = &urls[e as usize];
        let t0 = Instant::now();
        let outcome = match http.get(url).send().await {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(_) if status == 200 => Ok(()),
                    Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]))),
                    Err(err) => Err(format!("reading the body: {err}")),
                }
            }
            Err(err) => Err(format!("{err}")),
        };
        let elapsed = t0.elapsed();
        if t0 >= record_from {
            samples.push(Sample { endpoint: e, micros: elapsed.as_micros().min(u32::MAX as u128) as u32, ok: outcome.is_ok() });
            if let Err(msg) = outcome
                && errors.len() < 3
            {
                errors.push(format!("GET {url}: {msg}"));
            }
        }
        if think_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rng.u64(0..=2 * think_ms))).await;
        }
    }
    (samples, errors)
}

/// Latencies of one endpoint (or all), in microseconds, sorted.
struct Stats {
    count: usize,
    errors: usize,
    sorted: Vec<u32>,
}

impl Stats {
    fn of<'a>(samples: impl Iterator<Item = &'a Sample>) -> Stats {
        let mut sorted = Vec::new();
        let mut errors = 0;
        for s in samples {
            sorted.push(s.micros);
            errors += usize::from(!s.ok);
        }
        sorted.sort_unstable();
        Stats { count: sorted.len(), errors, sorted }
    }

    /// The nearest-rank percentile, in milliseconds.
    fn at(&self, p: f64) -> f64 {
        if self.sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * self.sorted.len() as f64).ceil() as usize).clamp(1, self.sorted.len());
        self.sorted[rank - 1] as f64 / 1000.0
    }
}

impl Report {
    fn print(&self, args: &Args) {
        let secs = self.window.as_secs_f64();
        let mut t = String::new();
        let _ = writeln!(
            t,
            "\n{} users ({} office, {} city, {} county), {} s recorded after {} s warm-up, think time {}; {} sessions, as of {}",
            args.clients,
            args.clients.div_ceil(3),
            (args.clients + 1) / 3,
            args.clients / 3,
            args.seconds,
            args.warmup,
            if args.think_ms == 0 { "none".to_owned() } else { format!("0–{} ms (mean {} ms)", 2 * args.think_ms, args.think_ms) },
            args.sessions,
            args.as_of,
        );
        let _ = writeln!(t, "\n| endpoint | bytes | alone, median ms | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms | p95 < 50 ms |");
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|");
        let mut row = |name: &str, bytes: String, alone: String, s: &Stats| {
            if s.count == 0 {
                let _ = writeln!(t, "| {name} | {bytes} | {alone} | 0 | | | | | | | (no user of this role) |");
                return;
            }
            let met = s.at(0.95) < TARGET.as_secs_f64() * 1000.0 && s.errors == 0;
            let _ = writeln!(
                t,
                "| {name} | {bytes} | {alone} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                s.count,
                s.errors,
                s.count as f64 / secs,
                s.at(0.5),
                s.at(0.95),
                s.at(0.99),
                s.at(1.0),
                if met { "yes" } else { "**no**" },
            );
        };
        let mut all_met = true;
        let mut all_run = true;
        for (i, e) in self.endpoints.iter().enumerate() {
            let s = Stats::of(self.samples.iter().filter(|s| s.endpoint as usize == i));
            all_run &= s.count > 0;
            all_met &= s.count > 0 && s.at(0.95) < TARGET.as_secs_f64() * 1000.0 && s.errors == 0;
            row(e.name, self.sizes[i].to_string(), format!("{:.1}", self.alone[i].as_secs_f64() * 1000.0), &s);
        }
        row("all", String::new(), String::new(), &Stats::of(self.samples.iter()));
        println!("{t}");
        let c = &self.cpu;
        println!(
            "CPU in the recorded window, in cores of {}: server {:.2}, load generator {:.2}, everything else {:.2}{}",
            cores(),
            c.server / secs,
            c.client / secs,
            ((c.machine - c.server - c.client) / secs).max(0.0),
            if (c.machine - c.server - c.client) / secs > 0.1 { " (other work was running: figures are disturbed)" } else { "" },
        );
        println!(
            "server CPU per request: {:.2} ms; throughput {:.0} requests/s",
            c.server * 1000.0 / self.samples.len().max(1) as f64,
            self.samples.len() as f64 / secs
        );
        println!("sign-in of {} users at once: {:.2} s", args.clients, self.signin.as_secs_f64());
        if self.errors > 0 {
            println!("\n{} requests failed; for example:", self.errors);
            for e in &self.error_examples {
                println!("  {e}");
            }
        }
        println!(
            "\ntarget \"p95 < {} ms under {} concurrent users\": {}",
            TARGET.as_millis(),
            args.clients,
            match (all_run, all_met) {
                (false, _) => "not measured: some endpoints had no user (fewer than 3 users)",
                (true, true) => "met on every endpoint",
                (true, false) => "NOT met (see the rows marked no)",
            }
        );
    }
}
