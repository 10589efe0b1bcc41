//! One run's figures summed over the venues, with the server's cost beside them, as a
//! plain table or JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::stats::VenueStats;

/// One measured run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Venues in the meeting.
    pub venues: usize,
    /// Venues whose signaling completed.
    pub joined: usize,
    /// Venues with media up at the end of the window.
    pub connected: usize,
    /// Length of the measured window in seconds.
    pub seconds: f64,
    /// Mean received bitrate of the branches, kbit/s.
    pub branch_kbps_mean: f64,
    /// The lowest branch's received bitrate.
    pub branch_kbps_min: f64,
    /// Packets lost over packets expected, all branches, in percent.
    pub loss_pct: f64,
    /// Packets that came after being missed (retransmissions mostly).
    pub repaired: u64,
    /// Mean added delay over every timed packet of the branches, ms.
    pub delay_mean_ms: Option<f64>,
    /// The median branch's 99th percentile of added delay, ms.
    pub delay_p99_ms: Option<f64>,
    /// The worst branch's 99th percentile, ms.
    pub delay_p99_worst_ms: Option<f64>,
    /// Packets without an abs-capture-time (not in the delay figures).
    pub untimed: u64,
    /// Largest jitter of any branch, ms.
    pub jitter_max_ms: f64,
    /// Frame gaps over 500 ms, all branches.
    pub freezes: u64,
    /// The longest frame gap of any branch, ms.
    pub longest_gap_ms: f64,
    /// Packets received by all branches (what the server forwarded to them).
    pub forwarded: u64,
    /// The server's CPU time over the window, seconds.
    pub server_cpu_s: f64,
    /// Server CPU per forwarded packet, µs.
    pub server_us_per_packet: f64,
    /// (server RSS at the end − RSS before the venues joined) / venues, MB.
    pub server_mb_per_venue: f64,
    /// The server's peak RSS, MB.
    pub server_peak_mb: f64,
    /// The generator's own CPU time over the window, seconds.
    pub generator_cpu_s: f64,
    /// Datagrams dropped by full receive buffers over the window: the venues' sockets.
    pub udp_drops_venues: u64,
    /// The same for every other socket on 127.0.0.1 (the server's media socket).
    pub udp_drops_server: u64,
    /// Keyframe sizes seen by branches, with how many branches saw each last.
    pub keyframes: Vec<((u16, u16), usize)>,
}

/// What the server cost over a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCost {
    /// CPU time over the window.
    pub cpu: Duration,
    /// RSS before the venues joined, bytes.
    pub rss_before: u64,
    /// RSS at the end, bytes.
    pub rss_after: u64,
    /// Peak RSS, bytes.
    pub peak: u64,
    /// The generator's own CPU over the window.
    pub generator_cpu: Duration,
    /// Receive-buffer drops over the window: (venues' sockets, others).
    pub udp_drops: (u64, u64),
}

impl Summary {
    /// Whether the run broke: loss over 1 %, or venues whose media never came up.
    pub fn broke(&self) -> bool {
        self.loss_pct > 1.0 || self.connected < self.venues
    }

    /// Sums `stats` (measured over `window`) with the server's `cost`.
    pub fn new(venues: usize, joined: usize, stats: &[VenueStats], window: Duration, cost: ServerCost) -> Summary {
        let branches: Vec<&VenueStats> = stats.iter().filter(|s| !s.main).collect();
        let mut s = Summary { venues, joined, seconds: window.as_secs_f64(), ..Default::default() };
        s.connected = stats.iter().filter(|v| v.connected).count();
        if !branches.is_empty() {
            s.branch_kbps_mean = branches.iter().map(|b| b.kbps).sum::<f64>() / branches.len() as f64;
            s.branch_kbps_min = branches.iter().map(|b| b.kbps).fold(f64::INFINITY, f64::min);
        }
        let (packets, lost): (u64, u64) = branches.iter().fold((0, 0), |a, b| (a.0 + b.packets, a.1 + b.lost));
        s.forwarded = packets;
        s.loss_pct = if packets + lost == 0 { 0.0 } else { lost as f64 * 100.0 / (packets + lost) as f64 };
        s.repaired = branches.iter().map(|b| b.repaired).sum();
        s.untimed = branches.iter().map(|b| b.untimed).sum();
        let timed: u64 = branches.iter().map(|b| b.timed).sum();
        if timed > 0 {
            s.delay_mean_ms = Some(branches.iter().filter_map(|b| b.delay_mean_ms.map(|d| d * b.timed as f64)).sum::<f64>() / timed as f64);
            let mut p99: Vec<f64> = branches.iter().filter_map(|b| b.delay_p99_ms).collect();
            p99.sort_by(f64::total_cmp);
            s.delay_p99_ms = p99.get(p99.len() / 2).copied();
            s.delay_p99_worst_ms = p99.last().copied();
        }
        s.jitter_max_ms = branches.iter().map(|b| b.jitter_ms).fold(0.0, f64::max);
        s.freezes = branches.iter().map(|b| b.freezes).sum();
        s.longest_gap_ms = branches.iter().map(|b| b.longest_gap_ms).fold(0.0, f64::max);
        let mut sizes = std::collections::BTreeMap::new();
        for b in &branches {
            if let Some(k) = b.keyframe {
                *sizes.entry(k).or_insert(0) += 1;
            }
        }
        s.keyframes = sizes.into_iter().collect();
        s.server_cpu_s = cost.cpu.as_secs_f64();
        s.server_us_per_packet = if packets == 0 { 0.0 } else { s.server_cpu_s * 1e6 / packets as f64 };
        s.server_mb_per_venue = cost.rss_after.saturating_sub(cost.rss_before) as f64 / 1e6 / venues.max(1) as f64;
        s.server_peak_mb = cost.peak as f64 / 1e6;
        s.generator_cpu_s = cost.generator_cpu.as_secs_f64();
        (s.udp_drops_venues, s.udp_drops_server) = cost.udp_drops;
        s
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

/// The runs as a plain table, one row per run.
pub fn table(runs: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6} {:>6} {:>6} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>7} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "venues", "joined", "media", "kbps avg", "kbps min", "loss %", "repaired", "delay ms", "p99 ms", "freezes", "gap ms", "forwarded", "srv cpu", "µs/pkt", "MB/venue", "gen cpu", "drops v/s"
    );
    for s in runs {
        let _ = writeln!(
            out,
            "{:>6} {:>6} {:>6} {:>9.0} {:>9.0} {:>7.2} {:>8} {:>8} {:>8} {:>7} {:>8.0} {:>10} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>9}",
            s.venues,
            s.joined,
            s.connected,
            s.branch_kbps_mean,
            s.branch_kbps_min,
            s.loss_pct,
            s.repaired,
            opt(s.delay_mean_ms),
            opt(s.delay_p99_ms),
            s.freezes,
            s.longest_gap_ms,
            s.forwarded,
            s.server_cpu_s,
            s.server_us_per_packet,
            s.server_mb_per_venue,
            s.generator_cpu_s,
            format!("{}/{}", s.udp_drops_venues, s.udp_drops_server),
        );
    }
    out
}

/// What a ramp found: the most venues carried with loss under 0.1 % and every venue's
/// media up, and the first step whose loss passed 1 % (or whose venues did not all
/// connect), if any.
pub fn capacity(runs: &[Summary]) -> (Option<usize>, Option<usize>) {
    let carried = runs.iter().filter(|s| s.loss_pct < 0.1 && s.connected == s.venues).map(|s| s.venues).max();
    let broke = runs.iter().find(|s| s.broke()).map(|s| s.venues);
    (carried, broke)
}

/// Several targets' runs side by side, one block per venue count that every target
/// ran, one row per figure and one column per target (`targets`: name and runs).
pub fn side_by_side(targets: &[(&str, &[Summary])]) -> String {
    let mut out = String::new();
    let Some((_, first)) = targets.first() else { return out };
    type Row = (&'static str, fn(&Summary) -> String);
    let rows: [Row; 8] = [
        ("venues connected", |s| format!("{}/{}", s.connected, s.venues)),
        ("branch kbps (mean)", |s| format!("{:.0}", s.branch_kbps_mean)),
        ("loss %", |s| format!("{:.3}", s.loss_pct)),
        ("delay mean ms", |s| opt(s.delay_mean_ms)),
        ("delay p99 ms (median branch)", |s| opt(s.delay_p99_ms)),
        ("server CPU s", |s| format!("{:.2}", s.server_cpu_s)),
        ("CPU µs per forwarded packet", |s| format!("{:.2}", s.server_us_per_packet)),
        ("MB per venue", |s| format!("{:.3}", s.server_mb_per_venue)),
    ];
    for run in first.iter() {
        let n = run.venues;
        let column: Vec<Option<&Summary>> = targets.iter().map(|(_, runs)| runs.iter().find(|s| s.venues == n)).collect();
        let _ = write!(out, "{:<30}", format!("{n} venues, {:.0} s", run.seconds));
        for (name, _) in targets {
            let _ = write!(out, " {name:>12}");
        }
        out.push('\n');
        for (label, f) in &rows {
            let _ = write!(out, "{label:<30}");
            for s in &column {
                let _ = write!(out, " {:>12}", s.map_or_else(|| "-".to_owned(), f));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(venues: usize, connected: usize, loss_pct: f64) -> Summary {
        Summary { venues, connected, loss_pct, ..Default::default() }
    }

    #[test]
    fn capacity_is_the_most_clean_venues_and_the_first_broken_step() {
        let runs = [run(50, 50, 0.0), run(100, 100, 0.05), run(150, 150, 0.5), run(200, 200, 3.0)];
        assert_eq!(capacity(&runs), (Some(100), Some(200)));
        assert_eq!(capacity(&[run(50, 49, 0.0)]), (None, Some(50)));
        assert_eq!(capacity(&[]), (None, None));
    }

    #[test]
    fn side_by_side_has_a_column_per_target() {
        let ours = [run(50, 50, 0.0)];
        let theirs = [run(50, 48, 0.25)];
        let t = side_by_side(&[("grassroots", &ours), ("janus", &theirs)]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("50 venues") && lines[0].ends_with("janus"), "{t}");
        assert!(lines[1].contains("50/50") && lines[1].ends_with("48/50"), "{t}");
        assert!(lines[3].ends_with("0.250"), "{t}");
        // A step only one target ran shows a dash for the other.
        let t = side_by_side(&[("grassroots", &[run(50, 50, 0.0), run(100, 100, 0.0)]), ("janus", &theirs)]);
        assert!(t.lines().nth(11).is_some_and(|l| l.ends_with('-')), "{t}");
    }
}
