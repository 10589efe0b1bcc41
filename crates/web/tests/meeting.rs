//! A live meeting in real browsers: headless Chromium with a fake camera and microphone
//! opens the main venue (the chair's link) and three branch venues against the real
//! server and its media server on loopback. Each branch decodes the main venue's video
//! and receives its sound; after a roll call of branch 2 the others decode branch 2's
//! video; the chair's mute stops a venue's sound; branches sign in, and closing the
//! meeting makes their attendance held sessions.

mod common;

use std::time::Duration;

use common::browser::{Browser, Driver, until};
use common::{Client, each_backend};
use serde_json::{Value, json};

/// The inbound streams of a venue's page, as its `meetingStats()` gives them.
async fn stats(b: &Browser) -> Vec<Value> {
    let v = b.c.execute("return await window.meetingStats()", vec![]).await.expect("stats");
    v.as_array().cloned().unwrap_or_default()
}

/// The program picture a venue decodes: (frames decoded, frame width).
async fn picture(b: &Browser) -> (u64, u64) {
    // The first video line is the program's.
    stats(b).await.iter().filter(|s| s["kind"] == "video").min_by_key(|s| s["mid"].as_str().and_then(|m| m.parse::<u32>().ok()).unwrap_or(99)).map_or((0, 0), |s| (s["frames"].as_u64().unwrap_or(0), s["width"].as_u64().unwrap_or(0)))
}

/// Audio packets received on all its sound lines.
async fn sound(b: &Browser) -> u64 {
    stats(b).await.iter().filter(|s| s["kind"] == "audio").map(|s| s["packets"].as_u64().unwrap_or(0)).sum()
}

/// The widths of the main venue's picture: its camera is 640 px wide.
const MAIN: &[u64] = &[320, 640];

/// Waits until `b` decodes new frames of a picture one of `widths` wide (a camera
/// 640 px wide sends simulcast layers of 320 and 640 px; a smaller one, one layer).
async fn sees(b: &Browser, widths: &[u64], what: &str) {
    let (start, _) = picture(b).await;
    until(what, async || {
        let (frames, w) = picture(b).await;
        (widths.contains(&w) && frames > start + 5).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_main_venue_and_three_branches_under_the_chairs_control() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let body = json!({ "title": "动员大会", "starts_at": "2022-11-04 09:00", "campaign": "cpc20", "main": "E230102",
                           "agenda": [{ "speaker": "主持人", "title": "开幕" }], "branches": "units", "units": ["230102001002", "S230103", "H230202"] });
        let (status, m) = office.post("/api/v1/meetings", &body).await;
        assert_eq!(status, 200, "{m}");
        let id = m["id"].as_i64().unwrap();
        let link = |unit: &str| format!("/m/{}", m["venues"].as_array().unwrap().iter().find(|v| v["unit"] == unit).unwrap()["token"].as_str().unwrap());
        let branch_id = |unit: &str| m["venues"].as_array().unwrap().iter().find(|v| v["unit"] == unit).unwrap()["id"].as_i64().unwrap();
        let chair_link = format!("/m/{}", m["chair_token"].as_str().unwrap());
        assert_eq!(Client::anonymous(&s).page("/m/not-a-token-at-all-really").await.0, 404);

        // Each venue its own picture size, to tell them apart on the receiving side: no
        // branch's width is one of the main venue's layers (320 and 640).
        let chair = driver.browser(&s).await;
        chair.open(&format!("{chair_link}?width=640")).await;
        let mut branches = Vec::new();
        for (unit, width) in [("230102001002", 360), ("S230103", 400), ("H230202", 480)] {
            let b = driver.browser(&s).await;
            b.open(&format!("{}?width={width}", link(unit))).await;
            branches.push(b);
        }
        // Every branch decodes the main venue's video and hears it.
        for b in &branches {
            sees(b, MAIN, "a branch to decode the main venue").await;
            until("a branch to hear the main venue", async || (sound(b).await > 20).then_some(())).await;
        }
        // The chair sees every venue present.
        until("the chair's roster", async || {
            let n = chair.c.execute("return document.querySelectorAll('#roster tr[data-presence=present]').length", vec![]).await.ok()?;
            (n == json!(4)).then_some(())
        })
        .await;

        // Roll call of branch 2: the others decode it; it sees the chair.
        let b2 = branch_id("230102001002");
        chair.click(&format!("#roster tr[data-venue='{b2}'] button[data-action=roll_call]")).await;
        sees(&branches[1], &[360], "branch 3 to decode branch 2").await;
        sees(&branches[2], &[360], "branch 4 to decode branch 2").await;
        sees(&branches[0], MAIN, "branch 2 to see the chair").await;
        chair.click("#release").await;
        sees(&branches[1], MAIN, "branch 3 back on the main venue").await;

        // The chair mutes the main venue: the branches hear nothing; then again.
        let main = m["venues"].as_array().unwrap().iter().find(|v| v["main"] == true).unwrap()["id"].as_i64().unwrap();
        chair.click(&format!("#roster tr[data-venue='{main}'] button[data-action=mute]")).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = sound(&branches[1]).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let during = sound(&branches[1]).await - before;
        assert!(during < 5, "{during} audio packets reached a branch while the main venue was muted");
        chair.click(&format!("#roster tr[data-venue='{main}'] button[data-action=unmute]")).await;
        let after = sound(&branches[1]).await;
        until("the sound to come back", async || (sound(&branches[1]).await > after + 20).then_some(())).await;

        // A venue whose network drops (signaling and media both) joins again by itself
        // and is back on the current broadcast.
        branches[2].c.execute("window.meetingDrop(); return 0", vec![]).await.unwrap();
        until("the dropped venue to come back", async || {
            let (frames, width) = picture(&branches[2]).await;
            (MAIN.contains(&width) && frames > 5).then_some(())
        })
        .await;

        // Branches sign in; the chair closes; the attendance becomes sessions.
        let before = office.get("/api/v1/campaigns/cpc20/sessions?per_page=1000").await.1["total"].as_i64().unwrap();
        for (b, n) in branches.iter().zip([35, 48, 52]) {
            b.type_into("#sign-in input[name=headcount]", &n.to_string()).await;
            b.click("#sign-in-button").await;
        }
        until("the sign-ins", async || {
            let m = office.get(&format!("/api/v1/meetings/{id}")).await.1;
            (m["venues"].as_array()?.iter().filter(|v| v["signed_in"].is_i64()).count() == 3).then_some(())
        })
        .await;
        chair.click("#close").await;
        let sessions = until("the sessions", async || {
            let r = office.get("/api/v1/campaigns/cpc20/sessions?per_page=1000").await.1;
            (r["total"].as_i64()? == before + 3).then_some(r)
        })
        .await;
        let broadcast: Vec<i64> = sessions["items"].as_array().unwrap().iter().filter(|s| s["format"] == "broadcast").map(|s| s["headcount"].as_i64().unwrap()).collect();
        assert_eq!({ let mut b = broadcast.clone(); b.sort(); b }, [35, 48, 52]);
        assert_eq!(Client::anonymous(&s).page(&link("S230103")).await.0, 404, "a closed meeting's link no longer works");
        for b in branches {
            b.close().await;
        }
        chair.close().await;
    })
    .await;
}
