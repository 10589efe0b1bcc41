//! The demo as a new user meets it: the city table `grassroots demo` prints, the
//! dashboard and the API all give the same figures, before and after its mobilization
//! meeting (held in halls, which are not units) closes with a city's hall signed in.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// One city's figures, as every view writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Figures {
    units: i64,
    covered: i64,
    share: String,
    sessions: i64,
    audience: i64,
    overdue: bool,
}

fn grassroots(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_grassroots"));
    c.args(args).current_dir(dir).env_remove("GRASSROOTS_DB");
    c
}

fn output(dir: &std::path::Path, args: &[&str]) -> String {
    let out = grassroots(dir, args).output().expect("the binary runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The rows of the city table the demo prints, by code.
fn printed(out: &str) -> BTreeMap<String, Figures> {
    out.lines()
        .filter(|l| l.starts_with('│') && l.contains('┆'))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('│').split('┆').map(str::trim).collect();
            let n = |i: usize| cells.get(i)?.parse::<i64>().ok();
            Some((
                cells.first()?.to_string(),
                Figures { units: n(2)?, covered: n(3)?, share: cells.get(4)?.to_string(), sessions: n(5)?, audience: n(6)?, overdue: cells.get(7)? == &"OVERDUE" },
            ))
        })
        .collect()
}

/// The cities of the coverage API.
fn from_api(rows: &Value) -> BTreeMap<String, Figures> {
    rows.as_array()
        .expect("an array of rows")
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap_or(-1);
            let share = domain::coverage::percent(r["coverage"].as_f64().unwrap_or(-1.0));
            (r["code"].as_str().unwrap_or("").to_owned(), Figures { units: n("units"), covered: n("covered"), share, sessions: n("sessions"), audience: n("audience"), overdue: r["overdue"] == true })
        })
        .collect()
}

/// The cities of the dashboard's table, read from its HTML.
fn from_dashboard(html: &str) -> BTreeMap<String, Figures> {
    let table = html.split("id=\"regions\"").nth(1).and_then(|t| t.split("</table>").next()).expect("the dashboard's table");
    table
        .split("<tr class=\"")
        .skip(1)
        .filter_map(|row| {
            let class = row.split('"').next()?;
            let code = row.split("data-code=\"").nth(1)?.split('"').next()?.to_owned();
            // The name, units, covered, (the bar's cell has a class), sessions, audience.
            let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap_or("")).collect();
            let share = row.split("<span>").nth(1)?.split("</span>").next()?.to_owned();
            let n = |i: usize| cells.get(i)?.trim().parse::<i64>().ok();
            Some((code, Figures { units: n(1)?, covered: n(2)?, share, sessions: n(3)?, audience: n(4)?, overdue: class == "overdue" }))
        })
        .collect()
}

/// Stops the server when the test ends, passed or not.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo served: its address, the chair's link and the first city venue's link.
fn serve(dir: &std::path::Path) -> (Serving, String, String, String) {
    let mut child = grassroots(dir, &["demo", "--file", "demo.db", "--listen", "127.0.0.1:0", "--media", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let lines = BufReader::new(child.stdout.take().expect("piped"));
    let server = Serving(child);
    let (mut address, mut chair, mut venue) = (None, None, None);
    for line in lines.lines().take(200) {
        let line = line.expect("utf-8 output");
        let link = line.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_owned);
        if line.contains("open http://") {
            address = link.map(|l| l.split("/campaigns").next().unwrap_or_default().to_owned());
        } else if line.contains("the chair at") {
            chair = link;
        } else if line.contains("/m/") && venue.is_none() {
            venue = link;
        }
        if line.contains("Ctrl-C stops the server") {
            break;
        }
    }
    let need = |v: Option<String>, what: &str| v.unwrap_or_else(|| panic!("the demo prints {what}"));
    (server, need(address, "its address"), need(chair, "the chair's link"), need(venue, "a city venue's link"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demos_table_agrees_with_the_dashboard_and_the_api_before_and_after_its_meeting_closes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = printed(&output(dir.path(), &["demo", "--file", "demo.db", "--no-serve"]));
    assert_eq!(table.len(), 13, "the 13 cities");
    assert!(table.values().any(|f| f.share == "100.0%") && table.values().any(|f| f.overdue), "{table:?}");
    for f in table.values() {
        assert_eq!(f.share == "100.0%", f.covered == f.units, "100.0% is said only of a city whose every unit is covered: {f:?}");
    }
    let token = output(dir.path(), &["--db", "sqlite://demo.db", "user", "token", "office"]).trim().to_owned();

    let (server, address, _chair, venue) = serve(dir.path());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let get = |path: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let r = http.get(path).bearer_auth(token).send().await.expect("the server answers");
            assert_eq!(r.status(), 200);
            r.text().await.expect("a body")
        }
    };
    let today = chrono::Local::now().date_naive();
    let api = format!("{address}/api/v1/campaigns/cpc20/coverage?level=city&as_of={today}");
    let dashboard = format!("{address}/campaigns/cpc20?as_of={today}");
    let agree = |when: &'static str| {
        let (api, dashboard, table) = (api.clone(), dashboard.clone(), table.clone());
        async move {
            let rows: Value = serde_json::from_str(&get(api).await).expect("JSON");
            assert_eq!(from_api(&rows), table, "the API {when}");
            assert_eq!(from_dashboard(&get(dashboard).await), table, "the dashboard {when}");
        }
    };
    agree("before the meeting").await;

    // A city's hall signs in to the meeting with its headcount, through its own link.
    let ws_url = format!("{}/ws", venue.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await.expect("the venue's socket opens");
    let welcome = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a welcome").expect("a message").expect("no error");
    assert!(welcome.to_text().unwrap_or_default().contains("welcome"), "{welcome:?}");
    ws.send(Message::Text(json!({ "type": "sign_in", "headcount": 120 }).to_string().into())).await.expect("sent");
    let meetings: Value = serde_json::from_str(&get(format!("{address}/api/v1/meetings")).await).unwrap();
    let id = meetings[0]["id"].as_i64().expect("the demo's meeting");
    let mut signed = false;
    for _ in 0..100 {
        let m: Value = serde_json::from_str(&get(format!("{address}/api/v1/meetings/{id}")).await).unwrap();
        if m["venues"].as_array().unwrap().iter().any(|v| v["signed_in"].is_i64() && v["headcount"] == 120) {
            assert!(m["venues"].as_array().unwrap().iter().all(|v| v["unit"].is_null() && v["hall"].is_string()), "every venue is a hall: {m}");
            signed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(signed, "the hall's sign-in is kept");
    agree("with a hall signed in").await;

    let r = http.post(format!("{address}/api/v1/meetings/{id}/close")).bearer_auth(&token).send().await.unwrap();
    let closed: Value = r.json().await.unwrap();
    assert_eq!(closed["sessions"], 0, "a hall's attendance is no session: {closed}");
    agree("after the meeting closed").await;
    let m: Value = serde_json::from_str(&get(format!("{address}/api/v1/meetings/{id}")).await).unwrap();
    assert_eq!(m["state"], "closed");
    assert!(m["venues"].as_array().unwrap().iter().any(|v| v["headcount"] == 120), "the attendance stays in the meeting's record: {m}");
    drop(ws);
    drop(server);

    let again = printed(&output(dir.path(), &["demo", "--file", "demo.db", "--no-serve"]));
    assert_eq!(again, table, "the table printed after the meeting");
}
