//! Lecture requests through the API of the real server: the whole life of a request
//! (request, review, assign, decline, reassign, accept, report, rate), claims, refusals
//! by state, role and scope, history, planning and the lecturer's own view.

mod common;

use common::{Client, each_backend};
use serde_json::{Value, json};

fn request_body(unit: &str) -> Value {
    json!({ "unit": unit, "topics": ["theme", "decade"], "audiences": ["youth"], "window_from": "2022-11-20", "window_to": "2022-11-30", "headcount": 50, "note": "青年讲习所" })
}

async fn step(c: &Client, id: i64, body: Value) -> (u16, Value) {
    c.post(&format!("/api/v1/requests/{id}/steps"), &body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_goes_from_order_to_rating_and_counts_in_coverage() {
    each_backend(|s| async move {
        let contact = Client::signed_in(&s, "contact").await;
        let daoli = Client::signed_in(&s, "daoli").await;
        let lecturer = Client::signed_in(&s, "lecturer").await;
        let before = daoli.get("/api/v1/campaigns/cpc20/progress?as_of=2022-12-31").await.1["total"]["covered"].as_i64().unwrap();

        // The contact orders for its own unit (no unit given: its own).
        let mut body = request_body("");
        body["unit"] = json!("");
        let (status, r) = contact.post("/api/v1/campaigns/cpc20/requests", &body).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!((r["state"].as_str(), r["unit"].as_str()), (Some("requested"), Some("230102001001")));
        let id = r["id"].as_i64().unwrap();
        let path = format!("/api/v1/requests/{id}");

        // No skipping: the lecturer cannot accept what is not assigned; the contact
        // cannot review; another county's coordinator does not see it at all.
        assert_eq!(step(&lecturer, id, json!({ "step": "accept" })).await.0, 404, "not visible to a lecturer before assignment");
        assert_eq!(step(&contact, id, json!({ "step": "review" })).await.0, 403);
        let nangang = Client::signed_in(&s, "nangang").await;
        assert_eq!(nangang.get(&path).await.0, 404);
        assert_eq!(step(&nangang, id, json!({ "step": "review" })).await.0, 404);
        let (status, e) = step(&daoli, id, json!({ "step": "assign", "lecturer": "l-daoli" })).await;
        assert_eq!(status, 409, "assign before review: {e}");
        assert_eq!(e["message"], "a request that is requested cannot be assigned");

        assert_eq!(step(&daoli, id, json!({ "step": "review" })).await.1["state"], "reviewed");
        let (status, suggestions) = daoli.get(&format!("{path}/suggestions")).await;
        assert_eq!(status, 200);
        let keys: Vec<&str> = suggestions.as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["l-daoli", "l-prov"], "both topics covered first; Nangang's lecturer cannot serve Daoli: {suggestions}");
        assert_eq!(suggestions[0]["topic_match"], 2);
        let (status, e) = step(&daoli, id, json!({ "step": "assign", "lecturer": "l-nangang" })).await;
        assert_eq!((status, e["field"].as_str()), (422, Some("lecturer")), "{e}");

        assert_eq!(step(&daoli, id, json!({ "step": "assign", "lecturer": "l-daoli" })).await.1["state"], "assigned");
        let (status, e) = step(&lecturer, id, json!({ "step": "decline" })).await;
        assert_eq!((status, e["field"].as_str()), (422, Some("reason")), "a decline needs a reason: {e}");
        let (_, r) = step(&lecturer, id, json!({ "step": "decline", "text": "那天在外地" })).await;
        assert_eq!((r["state"].as_str(), r["reason"].as_str(), r["lecturer"].as_str()), (Some("reviewed"), Some("那天在外地"), None));
        assert_eq!(contact.get(&path).await.1["reason"], "那天在外地", "the requester sees the reason");
        step(&daoli, id, json!({ "step": "assign", "lecturer": "l-daoli" })).await;
        assert_eq!(step(&lecturer, id, json!({ "step": "accept" })).await.1["state"], "accepted");

        let report = json!({ "step": "report", "report": { "ext_id": "phone-42", "date": "2022-11-25", "headcount": 61, "topics": ["theme", "decade"], "audiences": ["youth"], "notes": "座无虚席" } });
        assert_eq!(step(&contact, id, report.clone()).await.0, 403, "only the lecturer reports");
        let (status, held) = step(&lecturer, id, report.clone()).await;
        assert_eq!(status, 200, "{held}");
        assert_eq!(held["state"], "held");
        let session = held["session"].as_i64().unwrap();
        let (status, again) = step(&lecturer, id, report.clone()).await;
        assert_eq!((status, again["session"].as_i64()), (200, Some(session)), "a report sent twice is stored once: {again}");
        let sessions = daoli.get("/api/v1/campaigns/cpc20/sessions?unit=230102001001").await.1;
        assert_eq!(sessions["total"], 2, "the seeded session and this one: {sessions}");
        let stored = daoli.get(&format!("/api/v1/campaigns/cpc20/sessions/{session}")).await.1;
        assert_eq!((stored["headcount"].as_i64(), stored["title"].as_str(), stored["lecturers"][0].as_str()), (Some(61), Some("座无虚席"), Some("l-daoli")));

        assert_eq!(step(&contact, id, json!({ "step": "rate", "rating": 9 })).await.1["field"], "rating");
        let (_, rated) = step(&contact, id, json!({ "step": "rate", "rating": 5, "text": "讲得好" })).await;
        assert_eq!((rated["state"].as_str(), rated["rating"].as_i64()), (Some("rated"), Some(5)));
        assert_eq!(step(&contact, id, json!({ "step": "cancel", "text": "x" })).await.0, 409, "nothing after the end");

        let history: Vec<(String, String, String)> = rated["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["actor"].as_str().unwrap().into(), h["step"].as_str().unwrap().into(), h["to"].as_str().unwrap().into()))
            .collect();
        let expected = [
            ("contact", "request", "requested"),
            ("daoli", "review", "reviewed"),
            ("daoli", "assign", "assigned"),
            ("lecturer", "decline", "reviewed"),
            ("daoli", "assign", "assigned"),
            ("lecturer", "accept", "accepted"),
            ("lecturer", "report", "held"),
            ("contact", "rate", "rated"),
        ];
        assert_eq!(history, expected.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned())));
        assert!(rated["history"].as_array().unwrap().windows(2).all(|w| w[0]["at"].as_i64() <= w[1]["at"].as_i64()));

        // The unit was covered already; the audience grew by the report.
        let after = daoli.get("/api/v1/campaigns/cpc20/progress?as_of=2022-12-31").await.1;
        assert_eq!(after["total"]["covered"].as_i64().unwrap(), before);
        assert_eq!(after["total"]["audience"], 40 + 25 + 61);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_request_goes_to_the_first_eligible_lecturer_who_claims_it() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        let lecturer = Client::signed_in(&s, "lecturer").await;
        // A coordinator may order on a unit's behalf.
        let (status, r) = daoli.post("/api/v1/campaigns/cpc20/requests", &request_body("230102001003")).await;
        assert_eq!(status, 200, "{r}");
        let id = r["id"].as_i64().unwrap();
        step(&daoli, id, json!({ "step": "review" })).await;
        assert_eq!(lecturer.get("/api/v1/requests?claimable=true").await.1["items"].as_array().unwrap().len(), 0);
        assert_eq!(step(&daoli, id, json!({ "step": "open" })).await.1["state"], "open");
        let claimable = lecturer.get("/api/v1/requests?claimable=true").await.1;
        assert_eq!(claimable["items"][0]["id"], id, "{claimable}");
        let (status, claimed) = step(&lecturer, id, json!({ "step": "claim" })).await;
        assert_eq!(status, 200, "{claimed}");
        assert_eq!((claimed["state"].as_str(), claimed["lecturer"].as_str()), (Some("accepted"), Some("l-daoli")));
        assert_eq!(step(&lecturer, id, json!({ "step": "claim" })).await.0, 409, "claimed once");
        let my = lecturer.get("/api/v1/my").await.1;
        assert_eq!(my["assignments"][0]["id"], id, "{my}");
        // Either side may cancel before it is held, with a reason.
        assert_eq!(step(&lecturer, id, json!({ "step": "cancel" })).await.0, 422);
        assert_eq!(step(&lecturer, id, json!({ "step": "cancel", "text": "生病" })).await.1["state"], "cancelled");

        // A lecturer outside the unit's chain may not claim: Nangang's request stays
        // out of a Daoli lecturer's reach.
        let office = Client::signed_in(&s, "office").await;
        let (_, other) = office.post("/api/v1/campaigns/cpc20/requests", &request_body("230103001001")).await;
        let other = other["id"].as_i64().unwrap();
        step(&office, other, json!({ "step": "review" })).await;
        step(&office, other, json!({ "step": "open" })).await;
        assert_eq!(step(&lecturer, other, json!({ "step": "claim" })).await.0, 404);
        assert_eq!(Client::signed_in(&s, "supervisor").await.post(&format!("/api/v1/requests/{other}/steps"), &json!({ "step": "cancel", "text": "x" })).await.0, 403);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coordinators_plan_sessions_that_lecturers_see_by_date() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        let plan = json!({ "units": ["230102001003", "230102001004"], "lecturer": "l-daoli", "from": "2030-01-10", "to": "2030-01-11", "topics": ["theme"] });
        let (status, r) = daoli.post("/api/v1/campaigns/cpc20/plan", &plan).await;
        assert_eq!((status, r["planned"].as_i64()), (200, Some(2)), "{r}");
        let planned = daoli.get("/api/v1/campaigns/cpc20/sessions?status=planned").await.1;
        assert_eq!(planned["total"], 2);
        let my = Client::signed_in(&s, "lecturer").await.get("/api/v1/my").await.1;
        let dates: Vec<&str> = my["planned"].as_array().unwrap().iter().map(|s| s["date"].as_str().unwrap()).collect();
        assert_eq!(dates, ["2030-01-10", "2030-01-11"]);
        let mut bad = plan.clone();
        bad["units"] = json!(["230103001001"]);
        assert_eq!(daoli.post("/api/v1/campaigns/cpc20/plan", &bad).await.1["field"], "units", "Nangang is outside Daoli");
        bad["units"] = json!(["230102001003"]);
        bad["lecturer"] = json!("l-nangang");
        assert_eq!(daoli.post("/api/v1/campaigns/cpc20/plan", &bad).await.1["field"], "lecturer");
        assert_eq!(Client::signed_in(&s, "supervisor").await.post("/api/v1/campaigns/cpc20/plan", &plan).await.0, 403);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_pages_show_the_steps_each_role_may_take() {
    each_backend(|s| async move {
        let contact = Client::signed_in(&s, "contact").await;
        let r = contact.post("/api/v1/campaigns/cpc20/requests", &request_body("")).await.1;
        let id = r["id"].as_i64().unwrap();
        let (status, html) = Client::signed_in(&s, "daoli").await.page(&format!("/requests/{id}")).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-step=\"review\"") && html.contains("data-step=\"reject\""), "{html}");
        let html = contact.page(&format!("/requests/{id}")).await.1;
        assert!(!html.contains("data-step=\"review\"") && html.contains("data-step=\"cancel\""));
        assert_eq!(Client::signed_in(&s, "nangang").await.page(&format!("/requests/{id}")).await.0, 404);
        let (status, list) = contact.page("/requests").await;
        assert!(list.contains(&format!("&#x2f;requests&#x2f;{id}\">#{id}</a>")), "{status} {list}");
        assert_eq!(contact.page("/campaigns/cpc20/requests/new").await.0, 200);
        let lecturer = Client::signed_in(&s, "lecturer").await;
        assert_eq!(lecturer.page("/my").await.0, 200);
        assert_eq!(lecturer.page(&format!("/requests/{id}/report")).await.0, 404, "not the lecturer's request");
    })
    .await;
}
