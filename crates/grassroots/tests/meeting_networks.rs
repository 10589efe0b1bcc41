//! Live meetings on bad networks, shown with the load generator against the real server
//! (the `grassroots` binary in its own process): a main venue sends three simulcast
//! layers of a real VP8 clip; two branches lose 5% of what reaches them, one is held
//! to 400 kbit/s by a token bucket, the others have a clear path (the kernel here has
//! no netem, so the generator models the links itself).
//!
//! - A lossy branch still plays: its picture's losses are repaired by retransmission
//!   (NACK, RTX), it never freezes, and it keeps at least the middle layer.
//! - The constrained branch drops to a lower layer, chosen from its transport-wide
//!   congestion control estimate, instead of freezing.
//! - Clear branches get the top layer, without loss.
//!
//! Needs ffmpeg (for the clips); without it the test says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use loadgen::server::ServerProcess;
use loadgen::{Config, LinkModel, NetRule, Run, VenueStats};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_lossy_branch_plays_on_and_a_constrained_one_drops_a_layer() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        println!("skipped: ffmpeg is not installed (apt-get install ffmpeg); the clips are made with it");
        return;
    }
    let lossy = LinkModel { loss: 0.05, ..LinkModel::default() };
    let narrow = LinkModel { limit_kbps: Some(400), ..LinkModel::default() };
    let config = Config {
        layers: 3,
        clips: root().join(".cache/clips"),
        network: vec![
            NetRule { branches: 1..=2, inbound: lossy, outbound: LinkModel::default() },
            NetRule { branches: 3..=3, inbound: narrow, outbound: LinkModel::default() },
        ],
        ..Config::default()
    };
    let media = loadgen::Media::load(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = ServerProcess::demo(Path::new(env!("CARGO_BIN_EXE_grassroots")), dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let office = loadgen::grassroots::Office::new(&server.base, &token);
    let stats = rt.block_on(async {
        let units = office.units(7).await.unwrap();
        let run = Run::start(&office, &units, &config, &media).await.unwrap();
        assert_eq!(run.wait_connected(Duration::from_secs(30)).await, 7, "every venue connects: {:?}", run.errors);
        // Long enough for the estimator of the narrow branch to settle.
        run.warm_up(Duration::from_secs(8)).await;
        let stats = run.measure(Duration::from_secs(10)).await;
        run.stop().await;
        stats
    });
    let branches: Vec<&VenueStats> = stats.iter().filter(|s| !s.main).collect();
    assert_eq!(branches.len(), 6);
    let picture = |s: &VenueStats| {
        let (mut packets, mut lost, mut repaired) = (0, 0, 0);
        for t in s.streams.iter().filter(|t| t.picture) {
            packets += t.packets;
            lost += t.lost;
            repaired += t.repaired;
        }
        (packets, lost, repaired)
    };
    for (i, s) in branches.iter().enumerate() {
        let (packets, lost, repaired) = picture(s);
        let what = format!("branch {}: {:.0} kbps, picture {packets} packets, {lost} lost, {repaired} repaired, keyframe {:?}, longest gap {:.0} ms", i + 1, s.kbps, s.keyframe, s.longest_gap_ms);
        println!("{what}");
        assert_eq!(s.freezes, 0, "no freeze: {what}");
        assert!(s.longest_gap_ms < 500.0, "{what}");
        match i + 1 {
            1 | 2 => {
                assert!(repaired > 0, "losses are repaired: {what}");
                assert!((lost as f64) < 0.01 * packets as f64, "after retransmission under 1% of the picture is lost: {what}");
                // Its estimator may read the loss as congestion and move it to the
                // middle layer for a while; it plays on either way.
                assert!(s.keyframe.is_some_and(|(w, _)| w >= 640) && s.kbps > 300.0, "the lossy branch still gets a good picture: {what}");
            }
            3 => {
                assert!(s.keyframe.is_some_and(|(w, _)| w < 1280), "the narrow branch is on a lower layer: {what}");
                assert!(s.kbps > 100.0 && s.kbps < 450.0, "and gets what its link carries: {what}");
            }
            _ => {
                assert_eq!(s.keyframe, Some((1280, 720)), "a clear branch gets the top layer: {what}");
                assert_eq!(lost, 0, "{what}");
            }
        }
    }
}
