//! A lecture request's whole life in real browsers: a unit contact requests, the county
//! coordinator assigns, the lecturer declines, the coordinator reassigns, the lecturer
//! accepts and reports with a photo from the phone-sized form, the unit rates it, and
//! the unit's coverage changes on the dashboard, and a bulletin published about it
//! appears on the public page and in the feed; and a report made with no connection
//! is kept on the phone and sent when the connection returns.

mod common;

use common::browser::{Browser, Driver, covered_of, until};
use common::{Client, each_backend};
use fantoccini::Locator;
use serde_json::json;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00,
    0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The request id of the page the browser shows (`/requests/ID`).
async fn request_id(b: &Browser) -> i64 {
    until("a request's page", async || {
        let u = b.c.current_url().await.ok()?;
        u.path().strip_prefix("/requests/")?.parse().ok()
    })
    .await
}

/// Waits until the request's page shows `state`.
async fn state_is(b: &Browser, id: i64, state: &str) {
    b.open(&format!("/requests/{id}")).await;
    until(&format!("request {id} to be {state}"), async || {
        let e = b.c.find(Locator::Css("#request-state")).await.ok()?;
        (e.attr("data-state").await.ok()?? == state).then_some(())
    })
    .await;
}

/// Takes a step with its button and waits for the answer's page (which no longer
/// offers that step), so that nothing that follows races the form's submission.
async fn take(b: &Browser, step: &str) {
    let button = format!("#step-{step}");
    b.click(&button).await;
    until(&format!("the answer to {step}"), async || {
        let gone = b.c.find(Locator::Css(&button)).await.is_err();
        let loaded = b.c.find(Locator::Css("#signout")).await.is_ok();
        (gone && loaded).then_some(())
    })
    .await;
}

/// Sets an input's value by script: typing into date inputs depends on the browser's
/// locale.
async fn set(b: &Browser, css: &str, value: &str) {
    b.c.execute("document.querySelector(arguments[0]).value = arguments[1]", vec![json!(css), json!(value)]).await.expect("set a value");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_from_order_to_rating_in_the_browser() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        let b = driver.browser(&s).await;
        b.sign_in("daoli").await;
        b.open("/campaigns/cpc20?under=230102001").await;
        let (covered_before, _) = covered_of(&b).await;
        b.sign_out().await;

        // The unit contact orders a lecture for its unit.
        b.sign_in("contact2").await;
        b.open("/campaigns/cpc20/requests/new").await;
        b.click("input[name=topics][value=theme]").await;
        b.click("input[name=audiences][value=youth]").await;
        b.type_into("#f-headcount", "45").await;
        b.type_into("#f-note", "村委会议室").await;
        b.click("#save").await;
        let id = request_id(&b).await;
        state_is(&b, id, "requested").await;
        b.sign_out().await;

        // The county coordinator accepts it and assigns the suggested lecturer.
        b.sign_in("daoli").await;
        state_is(&b, id, "requested").await;
        take(&b, "review").await;
        state_is(&b, id, "reviewed").await;
        let first = b.text_when("form[data-step=assign] select option", |t| !t.is_empty()).await;
        assert!(first.contains("道里讲师"), "the county's own lecturer is suggested first: {first}");
        take(&b, "assign").await;
        state_is(&b, id, "assigned").await;
        b.sign_out().await;

        // The lecturer declines with a reason; it goes back to the coordinator.
        b.sign_in("lecturer").await;
        b.open("/my").await;
        b.find(&format!("#assignments li[data-id='{id}']")).await;
        b.open(&format!("/requests/{id}")).await;
        b.type_into("form[data-step=decline] input[name=text]", "那天在党校培训").await;
        take(&b, "decline").await;
        b.sign_out().await;
        b.sign_in("daoli").await;
        state_is(&b, id, "reviewed").await;
        assert_eq!(b.text("#request-reason").await.as_deref(), Some("那天在党校培训"));
        take(&b, "assign").await;
        state_is(&b, id, "assigned").await;
        b.sign_out().await;

        // The lecturer accepts and reports from the phone-sized form, with a photo.
        b.sign_in("lecturer").await;
        state_is(&b, id, "assigned").await;
        take(&b, "accept").await;
        state_is(&b, id, "accepted").await;
        b.click("#report-link").await;
        b.find("#report").await;
        b.type_into("#report input[name=headcount]", "52").await;
        let photo = s.file("photo.png", "");
        std::fs::write(&photo, PNG).unwrap();
        b.find("#report input[type=file]").await.send_keys(&photo.display().to_string()).await.expect("choose a photo");
        b.click("#send-report").await;
        b.at(&format!("/requests/{id}")).await;
        state_is(&b, id, "held").await;
        b.sign_out().await;

        // The unit rates it.
        b.sign_in("contact2").await;
        state_is(&b, id, "held").await;
        b.find("form[data-step=rate] select[name=rating]").await.select_by_value("5").await.expect("choose 5");
        b.type_into("form[data-step=rate] input[name=text]", "通俗易懂").await;
        take(&b, "rate").await;
        state_is(&b, id, "rated").await;
        b.sign_out().await;

        // Its coverage changed on the dashboard, and the session has the photo.
        b.sign_in("daoli").await;
        b.open("/campaigns/cpc20?under=230102001").await;
        let (covered_after, _) = covered_of(&b).await;
        assert_eq!(covered_after, covered_before + 1, "the unit is covered now");
        let api = Client::signed_in(&s, "daoli").await;
        let r = api.get(&format!("/api/v1/requests/{id}")).await.1;
        assert_eq!((r["state"].as_str(), r["rating"].as_i64()), (Some("rated"), Some(5)), "{r}");
        let session = r["session"].as_i64().unwrap();
        let photos = api.get(&format!("/api/v1/campaigns/cpc20/sessions/{session}/photos")).await.1;
        assert_eq!(photos["photos"].as_array().map(Vec::len), Some(1), "{photos}");
        b.sign_out().await;

        // The campaign office publishes a bulletin about it: public page and feed.
        b.sign_in("office").await;
        b.open("/bulletins/new").await;
        b.type_into("#f-title", "道里区宣讲进村").await;
        b.type_into("#f-body", "宣讲团走进社区，听众五十余人。").await;
        b.type_into("#f-sessions", &session.to_string()).await;
        b.click("#save-publish").await;
        until("the bulletin to be saved", async || b.c.find(Locator::Css("#bulletin")).await.ok()).await;
        // The bulletin's page is the public one, without the account's header.
        b.open("/requests").await;
        b.sign_out().await;
        b.open("/bulletins").await;
        let list = b.text_when("#bulletins", |t| t.contains("道里区宣讲进村")).await;
        assert!(!list.is_empty());
        b.c.find(Locator::LinkText("道里区宣讲进村")).await.expect("the bulletin's link").click().await.unwrap();
        let sessions = b.text_when("#sessions", |t| !t.is_empty()).await;
        assert!(sessions.contains("52"), "the linked session with its headcount: {sessions}");
        let feed = Client::anonymous(&s).page("/bulletins.atom").await;
        assert_eq!(feed.0, 200);
        assert!(feed.1.contains("道里区宣讲进村</title>"), "{}", feed.1);
        b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_without_a_connection_waits_on_the_phone_and_is_sent_once() {
    let Some(driver) = Driver::start() else { return };
    let driver = &driver;
    each_backend(|s| async move {
        // A request already accepted by the lecturer, through the API.
        let contact = Client::signed_in(&s, "contact2").await;
        let daoli = Client::signed_in(&s, "daoli").await;
        let lecturer = Client::signed_in(&s, "lecturer").await;
        let body = json!({ "topics": ["theme"], "window_from": "2022-11-20", "window_to": "2022-11-30", "headcount": 20 });
        let id = contact.post("/api/v1/campaigns/cpc20/requests", &body).await.1["id"].as_i64().unwrap();
        for (c, step) in [(&daoli, json!({ "step": "review" })), (&daoli, json!({ "step": "assign", "lecturer": "l-daoli" })), (&lecturer, json!({ "step": "accept" }))] {
            assert_eq!(c.post(&format!("/api/v1/requests/{id}/steps"), &step).await.0, 200);
        }

        let b = driver.browser(&s).await;
        b.sign_in("lecturer").await;
        b.open(&format!("/requests/{id}/report")).await;
        b.find("#report").await;
        set(&b, "#report input[name=date]", "2022-11-28").await;
        // The village has no connection: every request fails as fetch does offline.
        b.c.execute("window.realFetch = window.fetch; window.fetch = () => Promise.reject(new TypeError('Failed to fetch'))", vec![]).await.unwrap();
        b.click("#send-report").await;
        let status = b.text_when("#report-status", |t| !t.is_empty()).await;
        assert!(status.contains("本机"), "the page says the report is kept: {status}");
        let queued = b.c.execute("return JSON.parse(localStorage.getItem('grassroots-reports')).length", vec![]).await.unwrap();
        assert_eq!(queued, json!(1));
        assert_eq!(lecturer.get(&format!("/api/v1/requests/{id}")).await.1["state"], "accepted", "nothing reached the server");

        // The connection returns: the report goes, once, and the queue empties.
        b.c.execute("window.fetch = window.realFetch; window.dispatchEvent(new Event('online'))", vec![]).await.unwrap();
        b.at(&format!("/requests/{id}")).await;
        let r = until("the report to arrive", async || {
            let r = lecturer.get(&format!("/api/v1/requests/{id}")).await.1;
            (r["state"] == "held").then_some(r)
        })
        .await;
        let left = b.c.execute("return JSON.parse(localStorage.getItem('grassroots-reports') || '[]').length", vec![]).await.unwrap();
        assert_eq!(left, json!(0));
        let sessions = daoli.get("/api/v1/campaigns/cpc20/sessions?unit=230102001002").await.1;
        assert_eq!(sessions["total"], 1, "stored once: {sessions}");
        assert_eq!(sessions["items"][0]["date"], "2022-11-28");
        assert_eq!(sessions["items"][0]["id"], r["session"]);
        b.close().await;
    })
    .await;
}
