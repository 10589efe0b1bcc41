//! A real browser for tests: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`). Without them the tests say so and pass, except in
//! CI (`CI` set), where nothing is skipped. Each test function starts one chromedriver
//! in its own process group and kills the whole group when it ends, panicking or not,
//! so no browser is left behind.
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::Server;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// The longest any one wait in these tests may take: a page load, an element showing,
/// chromedriver starting.
pub const WAIT: Duration = Duration::from_secs(15);
/// How often a condition is checked while waiting.
pub const POLL: Duration = Duration::from_millis(50);

/// The first path of an executable named `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// One chromedriver, in its own process group, for one test function. Dropping it kills
/// the group: chromedriver and every Chromium it started.
pub struct Driver {
    url: String,
    chromium: PathBuf,
    child: Child,
    /// Holds chromedriver's log and a fresh Chromium profile per session.
    dir: tempfile::TempDir,
    sessions: AtomicU32,
}

impl Driver {
    /// Starts chromedriver on a free loopback port; `None` (after saying why) when
    /// chromedriver or Chromium is not installed, which is an error in CI.
    pub fn start() -> Option<Driver> {
        let (driver, chromium) = match (on_path("chromedriver"), on_path("chromium").or_else(|| on_path("chromium-browser"))) {
            (Some(d), Some(c)) => (d, c),
            (d, c) => {
                let missing = [("chromedriver", d.is_none()), ("chromium", c.is_none())].iter().filter(|m| m.1).map(|m| m.0).collect::<Vec<_>>().join(" and ");
                if std::env::var_os("CI").is_some() {
                    panic!("{missing} not on PATH: CI installs chromium and chromium-driver: nothing is skipped there");
                }
                eprintln!("skipping the browser tests: {missing} not on PATH (Debian: apt-get install chromium chromium-driver)");
                return None;
            }
        };
        // The port is found free and then handed over; should another process take it in
        // between, chromedriver exits and the next attempt takes another port.
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir");
            let log = dir.path().join("chromedriver.log");
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("a free loopback port").port();
            let child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
            // From here on the guard owns the process group.
            let mut started = Driver { url: format!("http://127.0.0.1:{port}"), chromium: chromium.clone(), child, dir, sessions: AtomicU32::new(0) };
            let deadline = Instant::now() + WAIT;
            loop {
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return Some(started);
                }
                if matches!(started.child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(POLL);
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("chromedriver did not listen within {WAIT:?} in three tries; its last log:\n{last_log}")
    }

    /// A new browser session on a fresh profile, showing pages of `server`.
    pub async fn browser(&self, server: &Server) -> Browser {
        let n = self.sessions.fetch_add(1, Ordering::SeqCst);
        let profile = self.dir.path().join(format!("profile-{n}"));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900", "--lang=zh-CN",
                    // Meetings: a fake camera and microphone, no permission prompt, and
                    // sound that plays without a click.
                    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required", format!("--user-data-dir={}", profile.display()),
                ],
                // The application picks its language from Accept-Language: a browser in
                // China asks for Chinese, whatever the test machine's locale.
                "prefs": { "intl.accept_languages": "zh-CN,zh" },
            },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!("a JSON object") };
        let client = ClientBuilder::new(HttpConnector::new()).capabilities(caps).connect(&self.url).await.unwrap_or_else(|e| {
            panic!("a Chromium session: {e}; chromedriver's log: {}", std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default())
        });
        Browser { c: client, base: server.base.clone(), backend: server.backend }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver is the leader of its own group (process_group(0)): its id is the
        // group's, and Chromium's processes are in it too.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
    }
}

/// A browser session and the server it shows.
pub struct Browser {
    pub c: Client,
    pub base: String,
    pub backend: &'static str,
}

/// Polls `check` until it gives a value, for at most [`WAIT`]; then panics with `what`.
pub async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(POLL).await;
    }
}

impl Browser {
    pub async fn open(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The element `css` once it is on the page.
    pub async fn find(&self, css: &str) -> Element {
        match self.c.wait().at_most(WAIT).every(POLL).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("{css}: {e} (on {})", self.here().await),
        }
    }

    /// The text of `css`, if it is on the page now.
    pub async fn text(&self, css: &str) -> Option<String> {
        let e = self.c.find(Locator::Css(css)).await.ok()?;
        e.text().await.ok()
    }

    /// Waits until the text of `css` satisfies `ok`, and gives it.
    pub async fn text_when(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        until(&format!("the text of {css}"), async || self.text(css).await.filter(|t| ok(t))).await
    }

    /// The current path and query.
    pub async fn here(&self) -> String {
        match self.c.current_url().await {
            Ok(u) => format!("{}{}", u.path(), u.query().map(|q| format!("?{q}")).unwrap_or_default()),
            Err(e) => format!("(no URL: {e})"),
        }
    }

    /// Waits until the browser shows a page whose path is `path`.
    pub async fn at(&self, path: &str) {
        until(&format!("the page {path}"), async || self.c.current_url().await.ok().filter(|u| u.path() == path)).await;
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        e.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Signs in through the form, as a person would.
    pub async fn sign_in(&self, name: &str) {
        self.open("/signin").await;
        self.type_into("#signin input[name=name]", name).await;
        self.type_into("#signin input[name=password]", super::PASSWORD).await;
        self.click("#signin button[type=submit]").await;
        until(&format!("{name} to be signed in"), async || self.c.find(Locator::Css("#signout")).await.ok()).await;
    }

    /// Signs out with the header's button.
    pub async fn sign_out(&self) {
        self.click("#signout").await;
        self.at("/signin").await;
    }

    /// The codes of the dashboard's region rows.
    pub async fn region_codes(&self) -> BTreeSet<String> {
        let rows = self.c.find_all(Locator::Css("#regions tbody tr")).await.expect("rows");
        let mut codes = BTreeSet::new();
        for r in rows {
            codes.insert(r.attr("data-code").await.expect("data-code").expect("each row has its code"));
        }
        codes
    }

    /// Waits until the dashboard shows the region `name`, and gives its rows' codes.
    pub async fn dashboard_of(&self, name: &str) -> BTreeSet<String> {
        self.text_when("#region-name", |t| t == name).await;
        self.region_codes().await
    }

    /// Saves a screenshot of the whole page as `target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // WebDriver takes the viewport: make it as tall as the page first.
        let height = self.c.execute("return document.documentElement.scrollHeight", vec![]).await.ok().and_then(|h| h.as_u64()).unwrap_or(900);
        let _ = self.c.set_window_size(1280, (height as u32).clamp(600, 4000) + 120).await;
        let png = self.c.screenshot().await.expect("a screenshot");
        let _ = self.c.set_window_size(1280, 900).await;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).expect("target/screenshots");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    pub async fn close(self) {
        let _ = self.c.close().await;
    }
}

/// The codes of the divisions directly under `parent` in the tree the harness seeds.
pub fn children(parent: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grassroots/data/divisions-23.csv");
    let text = std::fs::read_to_string(&path).expect("the seed divisions");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let (code, _, p) = (f.next()?, f.next()?, f.next()?);
            (p == parent).then(|| code.to_owned())
        })
        .collect()
}

/// "covered / units" of the dashboard's coverage tile.
pub async fn covered_of(b: &Browser) -> (u32, u32) {
    let t = b.text_when(".tiles .tile small", |t| t.contains('/')).await;
    let (c, u) = t.split_once('/').expect("covered / units");
    (c.trim().parse().expect("covered"), u.trim().parse().expect("units"))
}

