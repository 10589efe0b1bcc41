//! What probing the running server found, each mended and held here, on both
//! backends: sign-in guessing slowed by source and name, security headers on every
//! answer, bounded bodies and texts, inert CSV cells, a locked database answered
//! "busy, retry" while sign-in goes on, and axum's own refusals in the API's format.

mod common;

use std::time::Duration;

use common::{Client, Setup, each_backend, each_backend_with};
use serde_json::{Value, json};

/// A client whose connections come from another loopback address (Linux answers on
/// all of 127/8): another source, as far as the server can tell.
fn from(s: &common::Server, address: &str) -> Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    Client { http, base: s.base.clone(), csrf: None, bearer: None }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_cannot_lock_an_owner_out_and_parallel_guesses_gain_nothing() {
    each_backend(|s| async move {
        let stranger = from(&s, "127.0.0.2");
        let wrong = json!({ "name": "harbin", "password": "guess" });
        // Twenty guesses at once: three are checked, the others refused unheard.
        let guesses = (0..20).map(|_| stranger.post("/api/v1/signin", &wrong));
        let statuses: Vec<u16> = futures_util::future::join_all(guesses).await.into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 3, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 17, "{statuses:?}");
        let r = stranger.http.post(format!("{}/api/v1/signin", s.base)).json(&json!({ "name": "harbin", "password": common::PASSWORD })).send().await.unwrap();
        assert_eq!(r.status(), 429, "the stranger waits, even with the right password");
        assert!(r.headers().get("retry-after").is_some());
        // The owner, from its own address, signs in at once.
        let owner = from(&s, "127.0.0.3");
        let (status, body) = owner.post("/api/v1/signin", &json!({ "name": "harbin", "password": common::PASSWORD })).await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crowd_behind_one_address_signs_in_at_once() {
    each_backend(|s| async move {
        // Thirty clerks of one office, behind its one router.
        let url = s.url.clone();
        tokio::task::spawn_blocking(move || {
            let store = store::Store::open(&url).unwrap();
            let hash = web::hash_password(common::PASSWORD).unwrap();
            for i in 0..30 {
                let new = store::NewAccount { name: format!("clerk{i}"), role: domain::Role::Coordinator, scope: Some("230102".parse().unwrap()), unit: None, password_hash: hash.clone() };
                store.add_account(&new, 0).unwrap();
            }
        })
        .await
        .unwrap();
        let office = from(&s, "127.0.0.4");
        let bodies: Vec<Value> = (0..30).map(|i| json!({ "name": format!("clerk{i}"), "password": common::PASSWORD })).collect();
        let tries = bodies.iter().map(|b| office.post("/api/v1/signin", b));
        let statuses: Vec<u16> = futures_util::future::join_all(tries).await.into_iter().map(|(s, _)| s).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_the_security_headers_and_cookies_are_secure_under_https() {
    each_backend_with(&Setup { https: true, ..Setup::default() }, |s| async move {
        let anon = Client::anonymous(&s);
        for path in ["/signin", "/bulletins", "/api/v1/units", "/static/app.css", "/no/such/page", "/api/v1/nope"] {
            let r = anon.http.get(format!("{}{path}", s.base)).send().await.unwrap();
            let h = r.headers();
            let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("{path}: no CSP"));
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert!(h["strict-transport-security"].to_str().unwrap().starts_with("max-age="), "{path}");
        }
        let r = anon.http.post(format!("{}/api/v1/signin", s.base)).json(&json!({ "name": "office", "password": common::PASSWORD })).send().await.unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    })
    .await;
    each_backend(|s| async move {
        let r = reqwest::Client::new().post(format!("{}/api/v1/signin", s.base)).json(&json!({ "name": "office", "password": common::PASSWORD })).send().await.unwrap();
        assert!(r.headers().get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
        assert!(!r.headers()["set-cookie"].to_str().unwrap().contains("Secure"), "a cookie over plain HTTP is not Secure");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_and_texts_are_bounded_and_values_quoted_short() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        // Over a megabyte of JSON: refused before any handler, in the API's format.
        let big = json!({ "code": "E-big", "name": "x".repeat(1_100_000), "kind": "enterprise", "division": "230102" });
        let (status, body) = daoli.post("/api/v1/units", &big).await;
        assert_eq!(status, 413, "{body}");
        assert!(body["message"].is_string(), "{body}");
        // A file to import may be larger (here: 1.2 MB of rows, checked and refused by row).
        let mut csv = String::from("code,name,kind,division\n");
        while csv.len() < 1_200_000 {
            csv.push_str("E-row,名称,enterprise,230102\n");
        }
        let (status, body) = daoli.post_csv("/api/v1/imports/units", &csv).await;
        assert_eq!((status, body["rows"][0]["field"].as_str()), (422, Some("code")), "{}", &body.to_string()[..200.min(body.to_string().len())]);

        // Every text field has its limit, named in the error.
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/api/v1/units", json!({ "code": "E-long", "name": "名".repeat(201), "kind": "enterprise", "division": "230102" }), "name"),
            ("/api/v1/units", json!({ "code": "E".repeat(65), "name": "n", "kind": "enterprise", "division": "230102" }), "code"),
            ("/api/v1/lecturers", json!({ "key": "l-long", "name": "n".repeat(201), "group": "230102" }), "name"),
            ("/api/v1/campaigns/cpc20/sessions", json!({ "unit": "230102001001", "date": "2022-11-20", "headcount": 1, "topics": ["theme"], "title": "t".repeat(201) }), "title"),
            ("/api/v1/campaigns/cpc20/requests", json!({ "unit": "230102001001", "topics": ["theme"], "window_from": "2022-11-20", "window_to": "2022-11-21", "headcount": 1, "note": "n".repeat(2001) }), "note"),
            ("/api/v1/bulletins", json!({ "title": "t".repeat(201), "body": "b" }), "title"),
        ];
        for (path, body, field) in cases {
            let (status, answer) = daoli.post(path, &body).await;
            assert_eq!((status, answer["field"].as_str()), (422, Some(field)), "{path}: {answer}");
            assert!(answer["message"].as_str().unwrap().contains("at most"), "{path}: {answer}");
        }
        // An unknown column of five thousand characters is quoted a hundred long.
        let (status, body) = daoli.post_csv("/api/v1/imports/units", &format!("code,name,kind,division,{}\n", "z".repeat(5000))).await;
        assert_eq!(status, 422);
        let row = &body["rows"][0];
        assert!(row["field"].as_str().unwrap().chars().count() <= 101, "{row}");
        assert!(body.to_string().len() < 2000, "the whole answer stays short: {} bytes", body.to_string().len());
        let (_, body) = daoli.post_csv("/api/v1/imports/sessions?campaign=cpc20", &format!("unit,date,topics,headcount\n230102001001,{},theme,1\n", "9".repeat(5000))).await;
        assert!(body["rows"][0]["message"].as_str().unwrap().chars().count() < 200, "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_cells_never_run_as_formulas() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        let (status, body) = daoli.post("/api/v1/units", &json!({ "code": "E-formula", "name": "=HYPERLINK(\"http://x\",\"y\")", "kind": "enterprise", "division": "230102" })).await;
        assert_eq!(status, 200, "{body}");
        let (status, _, bytes) = daoli.bytes("/api/v1/units?q=E-formula&format=csv").await;
        assert_eq!(status, 200);
        let csv = String::from_utf8(bytes).unwrap();
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""), "{csv}");
        // The store and the API keep the name as typed.
        assert_eq!(daoli.get("/api/v1/units/E-formula").await.1["name"], "=HYPERLINK(\"http://x\",\"y\")");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn axums_own_refusals_answer_in_the_apis_format() {
    each_backend(|s| async move {
        let c = Client::signed_in(&s, "daoli").await;
        let send = |method: reqwest::Method, path: &str, ctype: &str, body: &str| {
            c.http.request(method, format!("{}{path}", s.base)).header("content-type", ctype).header("x-csrf-token", c.csrf.clone().unwrap()).body(body.to_owned()).send()
        };
        for (method, path, ctype, body, status) in [
            (reqwest::Method::POST, "/api/v1/units", "application/json", "{not json", 400),
            (reqwest::Method::POST, "/api/v1/units", "application/json", "{\"code\": 1}", 422),
            (reqwest::Method::POST, "/api/v1/units", "text/plain", "{}", 415),
            (reqwest::Method::GET, "/api/v1/no-such-thing", "application/json", "", 404),
            (reqwest::Method::DELETE, "/api/v1/units/E230102", "application/json", "", 405),
            (reqwest::Method::GET, "/api/v1/campaigns/cpc20/sessions/not-a-number", "application/json", "", 400),
        ] {
            let r = send(method.clone(), path, ctype, body).await.unwrap();
            assert_eq!(r.status(), status, "{method} {path}");
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {path}");
            let body: Value = r.json().await.unwrap();
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{method} {path}: {body}");
        }
        // Pages keep their own refusals: a missing page is a page.
        let (status, html) = c.page("/no/such/page").await;
        assert_eq!(status, 404);
        assert!(html.contains("<html"), "{html}");
    })
    .await;
}

/// Holds the database's write lock from outside the server, as a long import does.
struct Locked(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>);

impl Locked {
    fn hold(s: &common::Server) -> Locked {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (held, ready) = std::sync::mpsc::channel::<()>();
        let url = s.url.clone();
        let thread = std::thread::spawn(move || {
            if let Some(path) = url.strip_prefix("sqlite://") {
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                held.send(()).unwrap();
                let _ = stopped.recv_timeout(Duration::from_secs(60));
                c.execute_batch("ROLLBACK").unwrap();
            } else {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                // The store's writers' advisory lock ("grassrts").
                c.batch_execute("SELECT pg_advisory_lock(7454127481737606259)").unwrap();
                held.send(()).unwrap();
                let _ = stopped.recv_timeout(Duration::from_secs(60));
                c.batch_execute("SELECT pg_advisory_unlock_all()").unwrap();
            }
        });
        ready.recv_timeout(Duration::from_secs(30)).expect("the lock is held");
        Locked(stop, thread)
    }

    fn release(self) {
        let _ = self.0.send(());
        let _ = self.1.join();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_database_answers_busy_and_sign_in_goes_on() {
    each_backend_with(&Setup { lock_wait: Duration::from_secs(1), ..Setup::default() }, |s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        let lock = Locked::hold(&s);
        let unit = json!({ "code": "E-busy", "name": "忙", "kind": "enterprise", "division": "230102" });
        let r = daoli.http.post(format!("{}/api/v1/units", s.base)).header("x-csrf-token", daoli.csrf.clone().unwrap()).json(&unit).send().await.unwrap();
        assert_eq!(r.status(), 503);
        assert!(r.headers().get("retry-after").is_some(), "tells when to retry");
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("busy"), "{body}");
        // Signing in and reading go on while the lock is held.
        let office = Client::signed_in(&s, "office").await;
        assert_eq!(office.get("/api/v1/units/E230102").await.0, 200);
        let (status, page) = office.page("/units/new").await;
        assert_eq!(status, 200, "{page}");
        lock.release();
        assert_eq!(daoli.post("/api/v1/units", &unit).await.0, 200, "once free, the same write goes through");
    })
    .await;
}

/// What a stranger's page may send down a venue's socket: any text, any JSON, any
/// command, a bounded number each run. The server drops what it cannot use, stores no
/// absurd sign-in, lets a branch chair nothing, and goes on serving everyone.
#[tokio::test(flavor = "multi_thread")]
async fn signaling_from_strangers_harms_no_one() {
    use futures_util::{SinkExt, StreamExt};
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use tokio_tungstenite::tungstenite::Message;

    let message = prop_oneof![
        "\\PC{0,80}",
        (prop_oneof![Just("join".to_owned()), Just("sign_in".to_owned()), Just("hand".to_owned()), Just("command".to_owned()), Just("close".to_owned()), "[a-z_]{0,10}"], any::<i64>(), "\\PC{0,40}", any::<bool>())
            .prop_map(|(t, n, s, b)| json!({ "type": t, "headcount": n, "offer": s, "up": b, "command": { "command": s, "venue": n } }).to_string()),
        (prop_oneof![Just("roll_call"), Just("mute_branches"), Just("give_floor"), Just("broadcast")], any::<i64>())
            .prop_map(|(c, v)| json!({ "type": "command", "command": { "command": c, "venue": v } }).to_string()),
        (0i64..200_000).prop_map(|n| json!({ "type": "sign_in", "headcount": n - 50_000 }).to_string()),
        Just(format!("{{\"type\":\"join\",\"offer\":\"{}\"}}", "v=0\\r\\n".repeat(20_000))),
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let messages: Vec<String> = (0..150).map(|_| message.new_tree(&mut runner).unwrap().current()).collect();
    let messages = std::sync::Arc::new(messages);
    each_backend(move |s| {
        let messages = messages.clone();
        async move {
            let office = Client::signed_in(&s, "office").await;
            let (status, m) = office.post("/api/v1/meetings", &json!({ "title": "陌生", "main_hall": "23", "branches": "units", "units": ["230102001001", "230102001002"] })).await;
            assert_eq!(status, 200, "{m}");
            let id = m["id"].as_i64().unwrap();
            let socket = |token: &str| {
                let url = format!("{}/m/{token}/ws", s.base.replacen("http://", "ws://", 1));
                async move {
                    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the socket opens");
                    let first = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a welcome").unwrap().unwrap();
                    assert!(first.to_text().unwrap().contains("welcome"));
                    ws
                }
            };
            let mut ws = socket(m["venues"][1]["token"].as_str().unwrap()).await;
            for text in messages.iter() {
                if ws.send(Message::Text(text.clone().into())).await.is_err() {
                    break;
                }
            }
            // Whatever it made of them, the server answers and the meeting is whole.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (status, after) = office.get(&format!("/api/v1/meetings/{id}")).await;
            assert_eq!(status, 200);
            assert_eq!(after["state"], "open", "a branch cannot close the meeting");
            for v in after["venues"].as_array().unwrap() {
                let n = v["headcount"].as_i64().unwrap();
                assert!((0..=100_000).contains(&n), "no absurd headcount is stored: {v}");
            }
            // Another venue still joins, and the socket that sent it all is still served.
            let other = socket(m["venues"][2]["token"].as_str().unwrap()).await;
            drop(other);
            assert!(ws.send(Message::Text(json!({ "type": "hand", "up": true }).to_string().into())).await.is_ok());
        }
    })
    .await;
}
