//! The pages in a real browser: headless Chromium driven through chromedriver against
//! the test server (SQLite, then PostgreSQL when configured). Sign-in through the form
//! for every role, drill-down to the uncovered units, a session report through the
//! form, refusal of another region's pages, the language switch, and a screenshot of
//! the dashboard kept under `target/screenshots/` for a person to look at.
//!
//! The tests need `chromedriver` and `chromium` on PATH (Debian: `apt-get install
//! chromium chromium-driver`). Without them they say so and pass, except in CI (`CI`
//! set), where nothing is skipped. Each test function starts one chromedriver in its
//! own process group and kills the whole group when it ends, panicking or not, so no
//! browser is left behind.

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{Server, each_backend};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// The longest any one wait in these tests may take: a page load, an element showing,
/// chromedriver starting.
const WAIT: Duration = Duration::from_secs(15);
/// How often a condition is checked while waiting.
const POLL: Duration = Duration::from_millis(50);

/// The first path of an executable named `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// One chromedriver, in its own process group, for one test function. Dropping it kills
/// the group: chromedriver and every Chromium it started.
struct Driver {
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
    fn start() -> Option<Driver> {
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
    async fn browser(&self, server: &Server) -> Browser {
        let n = self.sessions.fetch_add(1, Ordering::SeqCst);
        let profile = self.dir.path().join(format!("profile-{n}"));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900", "--lang=zh-CN", format!("--user-data-dir={}", profile.display()),
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
struct Browser {
    c: Client,
    base: String,
    backend: &'static str,
}

/// Polls `check` until it gives a value, for at most [`WAIT`]; then panics with `what`.
async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
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
    async fn open(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The element `css` once it is on the page.
    async fn find(&self, css: &str) -> Element {
        match self.c.wait().at_most(WAIT).every(POLL).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("{css}: {e} (on {})", self.here().await),
        }
    }

    /// The text of `css`, if it is on the page now.
    async fn text(&self, css: &str) -> Option<String> {
        let e = self.c.find(Locator::Css(css)).await.ok()?;
        e.text().await.ok()
    }

    /// Waits until the text of `css` satisfies `ok`, and gives it.
    async fn text_when(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        until(&format!("the text of {css}"), async || self.text(css).await.filter(|t| ok(t))).await
    }

    /// The current path and query.
    async fn here(&self) -> String {
        match self.c.current_url().await {
            Ok(u) => format!("{}{}", u.path(), u.query().map(|q| format!("?{q}")).unwrap_or_default()),
            Err(e) => format!("(no URL: {e})"),
        }
    }

    /// Waits until the browser shows a page whose path is `path`.
    async fn at(&self, path: &str) {
        until(&format!("the page {path}"), async || self.c.current_url().await.ok().filter(|u| u.path() == path)).await;
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        e.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Signs in through the form, as a person would.
    async fn sign_in(&self, name: &str) {
        self.open("/signin").await;
        self.type_into("#signin input[name=name]", name).await;
        self.type_into("#signin input[name=password]", common::PASSWORD).await;
        self.click("#signin button[type=submit]").await;
        until(&format!("{name} to be signed in"), async || self.c.find(Locator::Css("#signout")).await.ok()).await;
    }

    /// Signs out with the header's button.
    async fn sign_out(&self) {
        self.click("#signout").await;
        self.at("/signin").await;
    }

    /// The codes of the dashboard's region rows.
    async fn region_codes(&self) -> BTreeSet<String> {
        let rows = self.c.find_all(Locator::Css("#regions tbody tr")).await.expect("rows");
        let mut codes = BTreeSet::new();
        for r in rows {
            codes.insert(r.attr("data-code").await.expect("data-code").expect("each row has its code"));
        }
        codes
    }

    /// Waits until the dashboard shows the region `name`, and gives its rows' codes.
    async fn dashboard_of(&self, name: &str) -> BTreeSet<String> {
        self.text_when("#region-name", |t| t == name).await;
        self.region_codes().await
    }

    /// Saves a screenshot of the whole page as `target/screenshots/{name}.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
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

    async fn close(self) {
        let _ = self.c.close().await;
    }
}

/// The codes of the divisions directly under `parent` in the tree the harness seeds.
fn children(parent: &str) -> BTreeSet<String> {
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
async fn covered_of(b: &Browser) -> (u32, u32) {
    let t = b.text_when(".tiles .tile small", |t| t.contains('/')).await;
    let (c, u) = t.split_once('/').expect("covered / units");
    (c.trim().parse().expect("covered"), u.trim().parse().expect("units"))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_signs_in_through_the_form_and_lands_on_its_page() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let b = driver.browser(&s).await;
        let heilongjiang = children("23");
        assert_eq!(heilongjiang.len(), 13, "the seed tree has 13 cities and regions");
        for (name, region, rows) in [
            // The tree has one province: the office and the provincial supervisor see
            // its cities.
            ("office", "黑龙江省", heilongjiang.clone()),
            ("supervisor", "黑龙江省", heilongjiang.clone()),
            ("harbin", "哈尔滨市", children("2301")),
            ("daoli", "道里区", children("230102")),
            ("lecturer", "道里区", children("230102")),
        ] {
            b.sign_in(name).await;
            b.at("/campaigns/cpc20").await;
            assert_eq!(b.dashboard_of(region).await, rows, "{name} on {}", b.backend);
            if name == "office" {
                // The seed situation, as of the campaign's deadline.
                b.open("/campaigns/cpc20?as_of=2022-12-31").await;
                b.dashboard_of(region).await;
                let shot = b.screenshot("dashboard-office").await;
                eprintln!("the office's dashboard: {}", shot.display());
            }
            b.sign_out().await;
        }
        b.sign_in("contact").await;
        b.at("/units/230102001001").await;
        assert_eq!(b.text_when("main h1", |t| !t.is_empty()).await, "省报社社区居委会");
        assert!(b.c.find(Locator::Css("#regions")).await.is_err(), "a unit contact has no dashboard");
        b.open("/campaigns/cpc20").await;
        b.at("/units/230102001001").await;
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_coordinator_drills_down_to_the_uncovered_units() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let b = driver.browser(&s).await;
        b.sign_in("harbin").await;
        b.open("/campaigns/cpc20?as_of=2022-12-31").await;
        assert_eq!(b.dashboard_of("哈尔滨市").await, children("2301"));

        b.click("#regions tr[data-code='230102'] a.region").await;
        assert_eq!(b.dashboard_of("道里区").await, children("230102"), "Daoli's townships");
        assert!(b.text("#crumbs").await.unwrap_or_default().contains("哈尔滨市"), "the way back up is shown");
        assert!(b.c.find(Locator::Css("#uncovered")).await.is_err(), "a county lists its townships, not units");

        // Zhaolin subdistrict: its villages are the units; the one with a session on
        // 2022-11-10 is covered.
        b.click("#regions tr[data-code='230102001'] a.region").await;
        b.text_when("#region-name", |t| t == "兆麟街道").await;
        let villages = children("230102001");
        let total: usize = b.text_when("#uncovered-total", |t| !t.is_empty()).await.parse().expect("a count");
        assert_eq!(total, villages.len() - 1, "all but the covered village");
        let items = b.c.find_all(Locator::Css("ul#uncovered li small")).await.expect("list items");
        let mut listed = BTreeSet::new();
        for i in items {
            listed.insert(i.text().await.expect("a unit code"));
        }
        let mut expected = villages.clone();
        expected.remove("230102001001");
        assert_eq!(listed, expected);
        b.screenshot("dashboard-township").await;
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_reported_through_the_form_changes_coverage() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let b = driver.browser(&s).await;
        b.sign_in("daoli").await;
        let dashboard = "/campaigns/cpc20?as_of=2022-12-31";
        b.open(dashboard).await;
        b.text_when("#region-name", |t| t == "道里区").await;
        let (covered, units) = covered_of(&b).await;
        assert_eq!(covered, 2, "the village and the factory");
        let coverage = b.text("#total-coverage").await.expect("the coverage tile");
        let township = "#regions tr[data-code='230102001'] td:nth-child(3)";
        assert_eq!(b.text(township).await.as_deref(), Some("1"));

        b.open("/campaigns/cpc20/sessions/new?unit=230102001003").await;
        assert_eq!(b.find("#edit input[name=unit]").await.prop("value").await.unwrap().as_deref(), Some("230102001003"));
        // A date input is typed into in the browser's locale's order; its value is
        // always YYYY-MM-DD.
        b.find("#edit input[name=date]").await;
        b.c.execute("document.querySelector('#edit input[name=date]').value = '2022-11-20'", vec![]).await.expect("set the date");
        b.type_into("#edit input[name=headcount]", "36").await;
        b.click("#edit input[name=topics][value=theme]").await;
        b.click("#edit input[name=topics][value=decade]").await;
        b.click("button#save").await;
        let session = until("the saved session's page", async || {
            let here = b.here().await;
            let id = here.strip_prefix("/campaigns/cpc20/sessions/")?;
            (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| here.clone())
        })
        .await;
        let body = b.text("main").await.unwrap_or_default();
        assert!(body.contains("230102001003") && body.contains("36") && body.contains("theme, decade"), "{session}: {body}");

        b.open(dashboard).await;
        b.text_when("#region-name", |t| t == "道里区").await;
        assert_eq!(covered_of(&b).await, (covered + 1, units));
        assert_ne!(b.text("#total-coverage").await.expect("the coverage tile"), coverage);
        assert_eq!(b.text(township).await.as_deref(), Some("2"));
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_coordinator_is_refused_another_regions_pages() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let b = driver.browser(&s).await;
        b.sign_in("daoli").await;
        for path in ["/campaigns/cpc20?under=230103&as_of=2022-12-31", "/campaigns/cpc20?under=2301", "/units/230103001001", "/lecturers/l-nangang"] {
            b.open(path).await;
            let message = b.text_when("#error-message", |t| !t.is_empty()).await;
            assert!(message.contains("不在您的管辖范围内"), "{path}: {message}");
            let main = b.text("main").await.unwrap_or_default();
            assert!(!main.contains("南岗") && b.c.find(Locator::Css("#regions")).await.is_err(), "{path} shows nothing of it: {main}");
        }
        // Its own county is still there.
        b.open("/campaigns/cpc20?under=230102&as_of=2022-12-31").await;
        assert_eq!(b.dashboard_of("道里区").await, children("230102"));
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_language_switches_to_english_and_back() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let b = driver.browser(&s).await;
        b.sign_in("daoli").await;
        b.open("/campaigns/cpc20?as_of=2022-12-31").await;
        assert_eq!(b.text_when("#signout", |t| !t.is_empty()).await, "退出", "Chinese by default");

        b.click("header a[href='/lang/en']").await;
        b.text_when("#signout", |t| t == "Sign out").await;
        assert_eq!(b.here().await, "/campaigns/cpc20?as_of=2022-12-31", "the switch comes back to the same page");
        let main = b.text("main").await.unwrap_or_default();
        assert!(main.contains("Coverage by region") && main.contains("Centralized lectures"), "{main}");
        assert_eq!(b.find("html").await.attr("lang").await.unwrap().as_deref(), Some("en"));

        // The choice outlasts the sign-in.
        b.sign_out().await;
        b.text_when("#signin h1", |t| t == "Sign in").await;
        b.sign_in("daoli").await;
        b.text_when("#signout", |t| t == "Sign out").await;

        b.click("header a[href='/lang/zh']").await;
        b.text_when("#signout", |t| t == "退出").await;
        assert!(b.text("main").await.unwrap_or_default().contains("各地区覆盖情况"));
        b.close().await;
    })
    .await;
}
