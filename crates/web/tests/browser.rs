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

use common::browser::{Driver, children, covered_of, until};
use common::each_backend;
use fantoccini::Locator;

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
