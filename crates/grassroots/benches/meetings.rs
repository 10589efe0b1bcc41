//! Live meetings under load: how many venues one `grassroots serve` carries, and at
//! what CPU and memory, measured with the `loadgen` crate's venues (str0m in RTP mode,
//! the signaling and lines of a browser venue, real VP8 and Opus made by ffmpeg); and
//! the same load against the Janus gateway's VideoRoom, side by side.
//!
//! ```text
//! cargo bench -p grassroots --bench meetings -- --venues 300 --seconds 20 [--layers 3]
//!     [--bitrate-kbps 1500] [--ramp 50,100,200,300] [--loss 0.05 --lossy 5]
//!     [--limit-kbps 400 --limited 1] [--target grassroots|janus|both] [--json out.json]
//! ```
//!
//! The server is the release binary in its own process, on a fresh demo database
//! (Heilongjiang's units) in a temporary folder, with a bearer token for the campaign
//! office; its CPU (user + system over the measured window) and memory are read from
//! /proc. Each run makes a meeting whose venues are the first units the API lists (the
//! first is the main venue, joined with the chair's link), joins them, warms up,
//! measures, then leaves and closes the meeting. `--ramp` runs one meeting per step and
//! stops after the first step whose loss passes 1 %. The clips are made once with
//! ffmpeg into `.cache/clips/`.
//!
//! `--target janus` (or `both`: ours first, then Janus, with the same venues, layers,
//! bitrate, window and network model, and a table of the two side by side; with
//! `--ramp`, each is ramped on its own and the report gives each one's most venues at
//! under 0.1 % loss and where loss passed 1 %) runs `/usr/bin/janus` (Debian package
//! `janus`; absent, it is skipped with a message) in its own process group with a
//! configuration of its own (VideoRoom and HTTP only, two event loops) and a loopback
//! shim built with `cc` (see `loadgen::janus`). The comparison is not quite like for
//! like: on Janus the branches only receive (a branch's camera would be a publisher of
//! its own) and the main venue has no monitor wall, so Janus forwards the main venue's
//! picture and sound but receives nothing from the branches; simulcast subscribers
//! take the top layer (Janus picks no layer from a bandwidth estimate); and the delay
//! comes from a send-time tag at the end of each payload, since Janus drops
//! abs-capture-time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use loadgen::report::{ServerCost, Summary};
use loadgen::janus::{Janus, JanusOptions};
use loadgen::server::{Measured, ServerProcess, process_cpu, udp_drops};
use loadgen::{Config, LinkModel, Media, NetRule, Run};

/// Live meetings under load.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Venues in the meeting, the main venue included.
    #[arg(long, default_value_t = 20)]
    venues: usize,
    /// Length of the measured window, seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Unmeasured seconds after every venue's media are up.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// The main venue's simulcast layers: 1, or 3 (q 320x180, h 640x360, f 1280x720).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    layers: u8,
    /// The main venue's top layer bitrate, kbit/s.
    #[arg(long, default_value_t = 1500)]
    bitrate_kbps: u32,
    /// Step the venue count through these (comma-separated), stopping when loss passes 1 %.
    #[arg(long, value_delimiter = ',')]
    ramp: Vec<usize>,
    /// Random loss on the lossy branches' inbound datagrams (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// How many branches (the first ones) get `--loss`.
    #[arg(long, default_value_t = 0)]
    lossy: usize,
    /// Also lose `--loss` of the lossy branches' outbound datagrams.
    #[arg(long)]
    loss_outbound: bool,
    /// Extra one-way delay on the lossy branches' inbound path, ms.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Bandwidth limit of the limited branches' inbound path, kbit/s.
    #[arg(long)]
    limit_kbps: Option<u32>,
    /// How many branches (the ones after the lossy ones) get `--limit-kbps`.
    #[arg(long, default_value_t = 1)]
    limited: usize,
    /// Worker threads of the generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Venues joining at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Also write the runs (and every venue's figures) as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Print every branch's figures.
    #[arg(long)]
    per_venue: bool,
    /// Which server: ours, the Janus gateway (VideoRoom), or both in turn.
    #[arg(long, value_enum, default_value_t = Which::Grassroots)]
    target: Which,
    /// Branches only receive (camera and microphone off). Always so with `--target
    /// both` and `janus`, where a VideoRoom subscriber sends nothing, so that both
    /// servers carry the same load.
    #[arg(long)]
    receive_only: bool,
    #[arg(long, hide = true)]
    bench: bool,
}

/// The servers a bench run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// Our server, `grassroots serve`.
    Grassroots,
    /// The Janus gateway's VideoRoom (`/usr/bin/janus`).
    Janus,
    /// Ours, then Janus, side by side.
    Both,
}

impl Args {
    fn config(&self, root: &Path) -> Config {
        let mut network = Vec::new();
        if self.lossy > 0 && (self.loss > 0.0 || self.delay_ms > 0) {
            let model = LinkModel { loss: self.loss, delay: Duration::from_millis(self.delay_ms), ..Default::default() };
            let outbound = if self.loss_outbound { LinkModel { loss: self.loss, ..Default::default() } } else { LinkModel::default() };
            network.push(NetRule { branches: 1..=self.lossy, inbound: model, outbound });
        }
        if let Some(kbps) = self.limit_kbps.filter(|_| self.limited > 0) {
            let first = self.lossy + 1;
            network.push(NetRule { branches: first..=first + self.limited - 1, inbound: LinkModel { limit_kbps: Some(kbps), ..Default::default() }, outbound: LinkModel::default() });
        }
        Config {
            layers: usize::from(self.layers),
            bitrate_kbps: self.bitrate_kbps,
            threads: self.threads,
            concurrency: self.concurrency,
            clips: root.join(".cache/clips"),
            network,
            branches_send: !self.receive_only && self.target == Which::Grassroots,
            ..Default::default()
        }
    }
}

fn self_cpu() -> Duration {
    process_cpu(std::process::id()).unwrap_or_default()
}

/// A server under test, running.
enum Target<'a> {
    Grassroots { server: &'a ServerProcess, office: &'a loadgen::grassroots::Office, units: &'a [String] },
    Janus(&'a Janus),
}

impl Target<'_> {
    /// The server's process, whose CPU and memory are read.
    fn process(&self) -> &dyn Measured {
        match self {
            Target::Grassroots { server, .. } => *server,
            Target::Janus(j) => *j,
        }
    }

    /// A meeting of `n` venues; `k` numbers the runs (Janus's room).
    async fn start(&self, n: usize, k: usize, config: &Config, media: &Media) -> Result<Run> {
        Ok(match self {
            Target::Grassroots { office, units, .. } => Run::start(office, &units[..n], config, media).await?,
            Target::Janus(j) => Run::start_janus(j, 1000 + k as u64, n, config, media).await?,
        })
    }
}

async fn step(target: &Target<'_>, n: usize, k: usize, args: &Args, config: &Config, media: &Media) -> Result<(Summary, Vec<loadgen::VenueStats>)> {
    let before = target.process().memory()?;
    let run = target.start(n, k, config, media).await?;
    let media_up = run.wait_connected(Duration::from_secs(30)).await;
    println!("  {} of {} venues joined, {media_up} with media up{}", run.joined, run.venues, if run.errors.is_empty() { String::new() } else { format!("; first errors: {:?}", &run.errors[..run.errors.len().min(3)]) });
    run.warm_up(Duration::from_secs(args.warmup)).await;
    let (cpu0, gen0, drops0) = (target.process().cpu()?, self_cpu(), udp_drops(&run.ports));
    let window = Duration::from_secs(args.seconds);
    let stats = run.measure(window).await;
    let (cpu1, gen1, drops1) = (target.process().cpu()?, self_cpu(), udp_drops(&run.ports));
    let after = target.process().memory()?;
    let cost = ServerCost { cpu: cpu1 - cpu0, rss_before: before.rss, rss_after: after.rss, peak: after.peak, generator_cpu: gen1 - gen0, udp_drops: (drops1.0.saturating_sub(drops0.0), drops1.1.saturating_sub(drops0.1)) };
    let summary = Summary::new(run.venues, run.joined, &stats, window, cost);
    run.stop().await;
    Ok((summary, stats))
}

/// Every venue's figures, per run.
type PerVenue = Vec<Vec<loadgen::VenueStats>>;

/// A target's runs and every venue's figures in them.
type Figures = (Vec<Summary>, PerVenue);

/// Runs every step against `target`, stopping a ramp at the first step that breaks.
fn steps(rt: &tokio::runtime::Runtime, name: &str, target: &Target<'_>, steps: &[usize], args: &Args, config: &Config, media: &Media) -> Result<Figures> {
    let mut runs = Vec::new();
    let mut venues = Vec::new();
    for (k, &n) in steps.iter().enumerate() {
        println!("{name}, {n} venues: joining, {} s warm-up, {} s measured", args.warmup, args.seconds);
        let (summary, stats) = rt.block_on(step(target, n, k, args, config, media))?;
        if args.per_venue {
            for s in stats.iter().filter(|s| !s.main) {
                println!("  venue {:>5}: {:>6.0} kbps, loss {:.2} % ({} repaired), jitter {:.1} ms, delay {:?}/{:?} ms, keyframe {:?}, gap {:.0} ms", s.venue, s.kbps, s.loss * 100.0, s.repaired, s.jitter_ms, s.delay_mean_ms, s.delay_p99_ms, s.keyframe, s.longest_gap_ms);
                for t in &s.streams {
                    println!("      {} {:>10}: {} packets, {} lost, {} repaired", if t.audio { "sound  " } else if t.picture { "picture" } else { "video  " }, t.ssrc, t.packets, t.lost, t.repaired);
                }
            }
        }
        println!("{}", loadgen::report::table(std::slice::from_ref(&summary)));
        let broke = summary.broke();
        runs.push(summary);
        venues.push(stats);
        if !args.ramp.is_empty() && broke {
            println!("stopping the ramp: loss over 1 % or venues without media at {n} venues");
            break;
        }
    }
    Ok((runs, venues))
}

fn grassroots(rt: &tokio::runtime::Runtime, steps_: &[usize], args: &Args, config: &Config, media: &Media) -> Result<Figures> {
    let bin = env!("CARGO_BIN_EXE_grassroots");
    let dir = tempfile::tempdir()?;
    let (server, token) = ServerProcess::demo(Path::new(bin), dir.path())?;
    println!("grassroots {} (pid {})", server.base, server.pid());
    let office = loadgen::grassroots::Office::new(&server.base, &token);
    let most = steps_.iter().copied().max().unwrap_or(2);
    let units = rt.block_on(office.units(most))?;
    if units.len() < most {
        bail!("the demo has {} units, fewer than {most} venues", units.len());
    }
    steps(rt, "grassroots", &Target::Grassroots { server: &server, office: &office, units: &units }, steps_, args, config, media)
}

fn janus(rt: &tokio::runtime::Runtime, steps_: &[usize], args: &Args, config: &Config, media: &Media) -> Result<Option<Figures>> {
    let opts = JanusOptions::default();
    if let Some(why) = opts.missing() {
        println!("skipping Janus: {why}");
        return Ok(None);
    }
    let dir = tempfile::tempdir()?;
    let janus = rt.block_on(Janus::start(dir.path(), &opts))?;
    println!("janus {} (pid {})", janus.base, janus.pid());
    steps(rt, "janus", &Target::Janus(&janus), steps_, args, config, media).map(Some)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let steps = if args.ramp.is_empty() { vec![args.venues] } else { args.ramp.clone() };
    ensure!(steps.iter().all(|&n| n >= 2), "a meeting needs a main venue and at least one branch");
    let config = args.config(&root);
    let media = Media::load(&config).context("making the clips")?;
    for (who, sending) in [("main", &media.main), ("branch", &media.branch)] {
        let layers: Vec<String> = sending.video.iter().map(|(rid, clip, _)| format!("{}{}x{} {:.0} kbps", rid.map(|r| format!("{r}: ")).unwrap_or_default(), clip.width, clip.height, clip.kbps(loadgen::clips::FPS))).collect();
        println!("{who} sends {}", layers.join(", "));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut results: Vec<(&str, Vec<Summary>, PerVenue)> = Vec::new();
    if args.target != Which::Janus {
        // The server process ends here, before Janus starts: one server at a time.
        let (runs, venues) = grassroots(&rt, &steps, &args, &config, &media)?;
        results.push(("grassroots", runs, venues));
    }
    if args.target != Which::Grassroots {
        match janus(&rt, &steps, &args, &config, &media) {
            Ok(Some((runs, venues))) => results.push(("janus", runs, venues)),
            Ok(None) => {}
            // Beside ours, a Janus that fails still leaves our figures to report.
            Err(e) if args.target == Which::Both => println!("janus failed: {e:#}"),
            Err(e) => return Err(e),
        }
    }
    for (name, runs, _) in &results {
        println!("{name}:\n{}", loadgen::report::table(runs));
        if let Some(k) = runs.last().map(|r| &r.keyframes).filter(|k| !k.is_empty()) {
            println!("last keyframe sizes at the branches (size, branches): {k:?}");
        }
    }
    if results.len() > 1 {
        let columns: Vec<(&str, &[Summary])> = results.iter().map(|(name, runs, _)| (*name, runs.as_slice())).collect();
        println!("side by side:\n{}", loadgen::report::side_by_side(&columns));
    }
    if !args.ramp.is_empty() {
        for (name, runs, _) in &results {
            let (carried, broke) = loadgen::report::capacity(runs);
            let carried = carried.map_or_else(|| "none".to_owned(), |n| n.to_string());
            let broke = broke.map_or_else(|| format!("not within {:?}", steps), |n| format!("at {n} venues"));
            println!("{name}: most venues at < 0.1 % loss (all connected): {carried}; loss passed 1 % (or venues lost media): {broke}");
        }
    }
    if let Some(path) = &args.json {
        let doc: serde_json::Map<String, serde_json::Value> = results.iter().map(|(name, runs, venues)| ((*name).to_owned(), serde_json::json!({ "runs": runs, "venues": venues }))).collect();
        std::fs::write(path, serde_json::to_string_pretty(&doc)?).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
