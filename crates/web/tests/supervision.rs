//! Supervision against the real server on both backends: alerts and rankings of each
//! account's scope in the API and on the dashboard, the daily digest (API and page, in
//! both languages), notifications told once to the responsible accounts and marked
//! read, and refusals. Waiting requests are made through the requests API and judged
//! with no allowance of hours; the store's tests (crates/store/tests/supervision.rs)
//! set the clock of each step.

mod common;

use common::{Client, Server, each_backend};
use serde_json::{Value, json};

const SUPERVISION: &str = "/api/v1/campaigns/cpc20/supervision";

/// Daoli's coordinator plans a session at one of its villages for a day long gone.
async fn plan_past_session(s: &Server) -> i64 {
    let daoli = Client::signed_in(s, "daoli").await;
    let body = json!({ "unit": "230102001003", "date": "2022-11-20", "headcount": 0, "topics": ["theme"], "lecturers": "l-daoli", "status": "planned" });
    let (status, saved) = daoli.post("/api/v1/campaigns/cpc20/sessions", &body).await;
    assert_eq!(status, 200, "{saved}");
    saved["id"].as_i64().or_else(|| saved.as_i64()).unwrap_or_else(|| panic!("the session's id: {saved}"))
}

fn list<'a>(v: &'a Value, field: &str) -> &'a Vec<Value> {
    v[field].as_array().unwrap_or_else(|| panic!("{field} in {v}"))
}

fn column(v: &Value, field: &str, column: &str) -> Vec<String> {
    list(v, field).iter().map(|r| r[column].as_str().map(str::to_owned).unwrap_or_else(|| r[column].to_string())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planned_session_past_its_date_is_an_alert_of_its_county_and_above_only() {
    each_backend(|s| async move {
        let id = plan_past_session(&s).await;
        // Nangang plans one for after the date looked at: not overdue yet.
        let nangang = Client::signed_in(&s, "nangang").await;
        let later = json!({ "unit": "230103001003", "date": "2023-01-10", "headcount": 0, "topics": ["theme"], "status": "planned" });
        let (status, body) = nangang.post("/api/v1/campaigns/cpc20/sessions", &later).await;
        assert_eq!(status, 200, "{body}");

        let daoli = Client::signed_in(&s, "daoli").await;
        let (status, sup) = daoli.get(&format!("{SUPERVISION}?as_of=2022-12-31")).await;
        assert_eq!(status, 200, "{}: {sup}", s.backend);
        assert_eq!(sup["overdue_total"], 1, "{sup}");
        let overdue = &list(&sup, "overdue_sessions")[0];
        assert_eq!((overdue["id"].as_i64(), overdue["unit"].as_str(), overdue["days"].as_i64()), (Some(id), Some("230102001003"), Some(41)));
        assert_eq!(overdue["lecturers"], json!(["l-daoli"]));

        let (_, sup) = nangang.get(&format!("{SUPERVISION}?as_of=2022-12-31")).await;
        assert_eq!(sup["overdue_total"], 0, "not Nangang's: {sup}");
        for name in ["harbin", "office", "supervisor"] {
            let c = Client::signed_in(&s, name).await;
            let (status, sup) = c.get(&format!("{SUPERVISION}?as_of=2022-12-31")).await;
            assert_eq!(status, 200, "{name}: {sup}");
            assert_eq!(column(&sup, "overdue_sessions", "unit"), vec!["230102001003"], "{name}");
        }
        // A fortnight later Nangang's is overdue too, for Nangang, Harbin and the office.
        let (_, sup) = nangang.get(&format!("{SUPERVISION}?as_of=2023-01-15")).await;
        assert_eq!(column(&sup, "overdue_sessions", "unit"), vec!["230103001003"]);
        let (_, sup) = daoli.get(&format!("{SUPERVISION}?as_of=2023-01-15")).await;
        assert_eq!(column(&sup, "overdue_sessions", "unit"), vec!["230102001003"]);
        // No request of the seed waits: the lists are there, empty.
        assert_eq!((sup["waiting_total"].as_i64(), list(&sup, "waiting").len()), (Some(0), 0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn trailing_regions_and_rankings_match_the_figures_worked_by_hand() {
    each_backend(|s| async move {
        let harbin = Client::signed_in(&s, "harbin").await;
        // cpc20 runs from 2022-11-04 to 2022-12-31 (57 days) with a target of 100%: on
        // 2022-12-01 (27 days in) the line expects 27/57 of each county's units.
        let (status, sup) = harbin.get(&format!("{SUPERVISION}?as_of=2022-12-01")).await;
        assert_eq!(status, 200, "{}: {sup}", s.backend);
        assert!((sup["expected"].as_f64().unwrap() - 27.0 / 57.0).abs() < 1e-9, "{sup}");
        assert_eq!(sup["region"], "2301");
        assert_eq!(sup["level"], "county");
        // Daoli: 202 villages and the factory, 2 covered: 27/57 × 203 = 96.2, 95 short.
        // Nangang: 213 villages and the school, 1 covered: 27/57 × 214 = 101.4, 101 short.
        let standing = |code: &str| list(&sup, "regions_by_coverage").iter().find(|r| r["code"] == code).cloned().unwrap();
        let daoli = standing("230102");
        assert_eq!((daoli["units"].as_i64(), daoli["covered"].as_i64(), daoli["behind"].as_i64(), daoli["trailing"].as_bool()), (Some(203), Some(2), Some(95), Some(true)));
        let nangang = standing("230103");
        assert_eq!((nangang["units"].as_i64(), nangang["covered"].as_i64(), nangang["behind"].as_i64()), (Some(214), Some(1), Some(101)));
        // Every one of Harbin's 18 counties trails; the one furthest behind comes first.
        let trailing = list(&sup, "trailing");
        assert_eq!(trailing.len(), 18);
        let behind: Vec<i64> = trailing.iter().map(|r| r["behind"].as_i64().unwrap()).collect();
        assert!(behind.windows(2).all(|w| w[0] >= w[1]), "{behind:?}");

        // By coverage: Daoli (2/203) before Nangang (1/214), then the rest tied third.
        let by_coverage: Vec<(String, i64)> = list(&sup, "regions_by_coverage").iter().map(|r| (r["code"].as_str().unwrap().to_owned(), r["rank_coverage"].as_i64().unwrap())).collect();
        assert_eq!(by_coverage[..3], [("230102".into(), 1), ("230103".into(), 2), ("230104".into(), 3)]);
        assert!(by_coverage[2..].iter().all(|(_, r)| *r == 3));
        // By audience: Daoli 40 + 25, Nangang 30.
        let by_audience: Vec<String> = list(&sup, "regions_by_audience").iter().take(2).map(|r| format!("{}:{}", r["code"].as_str().unwrap(), r["audience"])).collect();
        assert_eq!(by_audience, vec!["230102:65", "230103:30"]);
        // Lecturers of Harbin's groups: l-daoli held two sessions, l-nangang one; the
        // provincial group is not Harbin's. None is rated yet.
        let lecturers: Vec<String> = list(&sup, "lecturers_by_sessions").iter().map(|l| format!("{}:{}:{}", l["key"].as_str().unwrap(), l["sessions"], l["rank_sessions"])).collect();
        assert_eq!(lecturers, vec!["l-daoli:2:1", "l-nangang:1:2"]);
        assert_eq!(sup["lecturers_by_rating"], json!([]));

        // At the start nothing is expected, so nothing trails.
        let (_, start) = harbin.get(&format!("{SUPERVISION}?as_of=2022-11-04")).await;
        assert_eq!(start["trailing"], json!([]));
        // Six days in (6/57 of 203 = 21.4) Daoli has covered one unit: 21 short.
        let (_, early) = harbin.get(&format!("{SUPERVISION}?as_of=2022-11-10&region=230102")).await;
        assert_eq!(early["region"], "230102");
        let (_, early) = harbin.get(&format!("{SUPERVISION}?as_of=2022-11-10")).await;
        let daoli = list(&early, "regions_by_coverage").iter().find(|r| r["code"] == "230102").cloned().unwrap();
        assert_eq!((daoli["covered"].as_i64(), daoli["behind"].as_i64()), (Some(1), Some(21)));

        // The office sees the province's cities; a tighter ranking keeps fewer rows.
        let office = Client::signed_in(&s, "office").await;
        let (_, sup) = office.get(&format!("{SUPERVISION}?as_of=2022-12-01&top=1")).await;
        assert_eq!((sup["region"].as_str(), sup["level"].as_str()), (Some("23"), Some("city")));
        assert_eq!(list(&sup, "regions_by_coverage").len(), 13);
        assert_eq!(column(&sup, "lecturers_by_sessions", "key"), vec!["l-daoli"]);
        assert_eq!(sup["lecturers_total"], 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_waiting_and_ratings_come_from_the_requests_api() {
    each_backend(|s| async move {
        let (contact, daoli, lecturer) = (Client::signed_in(&s, "contact").await, Client::signed_in(&s, "daoli").await, Client::signed_in(&s, "lecturer").await);
        let body = json!({ "unit": "", "topics": ["theme"], "audiences": [], "window_from": "2022-11-20", "window_to": "2022-11-30", "headcount": 40 });
        let (status, r) = contact.post("/api/v1/campaigns/cpc20/requests", &body).await;
        assert_eq!(status, 200, "{}: {r}", s.backend);
        let id = r["id"].as_i64().unwrap();
        let step = |b: Value| (format!("/api/v1/requests/{id}/steps"), b);

        // Just made: not late by the default 48 hours; late at once with no allowance.
        let waiting = |sup: &Value| list(sup, "waiting").iter().map(|w| (w["id"].as_i64().unwrap(), w["waiting_for"].as_str().unwrap().to_owned())).collect::<Vec<_>>();
        assert_eq!(waiting(&daoli.get(SUPERVISION).await.1), vec![]);
        assert_eq!(waiting(&daoli.get(&format!("{SUPERVISION}?assignment_hours=0")).await.1), vec![(id, "assignment".to_owned())]);
        let nangang = Client::signed_in(&s, "nangang").await;
        assert_eq!(waiting(&nangang.get(&format!("{SUPERVISION}?assignment_hours=0")).await.1), vec![], "not Nangang's");

        // Assigned, it waits for the lecturer instead.
        for b in [json!({ "step": "review" }), json!({ "step": "assign", "lecturer": "l-daoli" })] {
            let (path, b) = step(b);
            assert_eq!(daoli.post(&path, &b).await.0, 200);
        }
        assert_eq!(waiting(&daoli.get(&format!("{SUPERVISION}?assignment_hours=0")).await.1), vec![]);
        assert_eq!(waiting(&daoli.get(&format!("{SUPERVISION}?acceptance_hours=0")).await.1), vec![(id, "acceptance".to_owned())]);

        // Held and rated 4: l-daoli leads the ratings.
        let (path, b) = step(json!({ "step": "accept" }));
        assert_eq!(lecturer.post(&path, &b).await.0, 200);
        let (path, b) = step(json!({ "step": "report", "report": { "date": "2022-11-25", "headcount": 38, "topics": ["theme"] } }));
        assert_eq!(lecturer.post(&path, &b).await.0, 200);
        let (path, b) = step(json!({ "step": "rate", "rating": 4 }));
        assert_eq!(contact.post(&path, &b).await.0, 200);
        let (_, sup) = daoli.get(&format!("{SUPERVISION}?as_of=2022-12-31&acceptance_hours=0&assignment_hours=0")).await;
        assert_eq!(waiting(&sup), vec![]);
        let rated = &list(&sup, "lecturers_by_rating")[0];
        assert_eq!((rated["key"].as_str(), rated["rating"].as_f64(), rated["ratings"].as_i64(), rated["rank_rating"].as_i64()), (Some("l-daoli"), Some(4.0), Some(1), Some(1)));
        assert_eq!(list(&sup, "lecturers_by_sessions")[0]["sessions"], 3, "s1, s2 and the reported request");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_told_once_to_the_responsible_accounts_and_marked_read() {
    each_backend(|s| async move {
        let id = plan_past_session(&s).await;
        let daoli = Client::signed_in(&s, "daoli").await;
        let (status, first) = daoli.get("/api/v1/notifications").await;
        assert_eq!(status, 200, "{}: {first}", s.backend);
        let items = list(&first, "items");
        assert_eq!(items.len(), 1, "{first}");
        let n = &items[0];
        assert_eq!((n["kind"].as_str(), n["read"].as_bool()), (Some("session_overdue"), Some(false)));
        assert_eq!(n["link"], format!("/campaigns/cpc20/sessions/{id}"));
        assert!(n["text"].as_str().unwrap().contains("230102001003"), "{n}");
        assert_eq!(first["unread"], 1);
        // Asked again (and whatever the server's own rounds did meanwhile): still one.
        let (_, again) = daoli.get("/api/v1/notifications").await;
        assert_eq!(again["total"], 1, "{again}");

        // Harbin and the office are told too; Nangang, the supervisor and the unit's
        // contact are not.
        for (name, told) in [("harbin", 1), ("office", 1), ("nangang", 0), ("supervisor", 0), ("contact", 0)] {
            let c = Client::signed_in(&s, name).await;
            let (status, got) = c.get("/api/v1/notifications").await;
            assert_eq!(status, 200, "{name}: {got}");
            let about: Vec<&Value> = list(&got, "items").iter().filter(|n| n["link"] == format!("/campaigns/cpc20/sessions/{id}")).collect();
            assert_eq!(about.len(), told, "{name}: {got}");
        }

        // One's own only: another account's notification is not found.
        let nid = n["id"].as_i64().unwrap();
        let nangang = Client::signed_in(&s, "nangang").await;
        assert_eq!(nangang.post(&format!("/api/v1/notifications/{nid}/read"), &json!({})).await.0, 404);
        let (status, read) = daoli.post(&format!("/api/v1/notifications/{nid}/read"), &json!({})).await;
        assert_eq!(status, 200, "{read}");
        assert_eq!(read["read"], true);
        let (_, after) = daoli.get("/api/v1/notifications").await;
        assert_eq!((after["unread"].as_i64(), after["total"].as_i64()), (Some(0), Some(1)));

        // The page lists them and marks all read by a form carrying the form token.
        let harbin = Client::signed_in(&s, "harbin").await;
        let (status, page) = harbin.page("/notifications").await;
        assert_eq!(status, 200);
        assert!(page.contains("230102001003") && page.contains("计划宣讲已过日期仍未报告"), "{page}");
        let token = harbin.csrf.clone().unwrap();
        let (status, location, _) = harbin.form("/notifications/read-all", &[("_csrf", token.as_str())]).await;
        assert_eq!((status, location.as_str()), (303, "/notifications"));
        assert_eq!(harbin.get("/api/v1/notifications").await.1["unread"], 0);
        let (status, _, _) = harbin.form("/notifications/read-all", &[("_csrf", "stale")]).await;
        assert_eq!(status, 403, "a form without its token changes nothing");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_alerts_trailing_regions_rankings_and_the_unread_count() {
    each_backend(|s| async move {
        plan_past_session(&s).await;
        let harbin = Client::signed_in(&s, "harbin").await;
        let (status, page) = harbin.page("/campaigns/cpc20?as_of=2022-12-01").await;
        assert_eq!(status, 200, "{}", s.backend);
        assert!(page.contains(r#"id="alerts""#) && page.contains(r#"<span id="overdue-total">1</span>"#), "{page}");
        assert!(page.contains(r#"<tr class="trailing" data-code="230102">"#), "Daoli is behind the line: {page}");
        assert!(page.contains(r#"id="rankings""#) && page.contains(r#"data-key="l-daoli""#), "{page}");
        assert!(page.contains(r#"id="unread-count""#), "{page}");
        assert!(page.contains(r#"id="digest-link""#) && page.contains("digest?as_of=2022-12-01&amp;region=2301"), "{page}");
        // After the deadline a region short of the target is overdue, as before.
        let (_, page) = harbin.page("/campaigns/cpc20?as_of=2023-01-15").await;
        assert!(page.contains(r#"<tr class="overdue" data-code="230102">"#), "{page}");
        // A lecturer's dashboard has no supervision.
        let lecturer = Client::signed_in(&s, "lecturer").await;
        let (status, page) = lecturer.page("/campaigns/cpc20?as_of=2022-12-01").await;
        assert_eq!(status, 200);
        assert!(page.contains(r#"id="regions""#) && !page.contains(r#"id="alerts""#), "{page}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_digest_gives_the_day_and_renders_in_both_languages() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        // On 2022-11-12 the factory had its first session (25 came): Daoli's second
        // covered unit.
        let (status, d) = daoli.get("/api/v1/campaigns/cpc20/digest?as_of=2022-11-12").await;
        assert_eq!(status, 200, "{}: {d}", s.backend);
        assert_eq!((d["new_covered"].as_i64(), d["new_sessions"].as_i64(), d["new_audience"].as_i64()), (Some(1), Some(1), Some(25)), "{d}");
        assert_eq!((d["total"]["covered"].as_i64(), d["days_left"].as_i64()), (Some(2), Some(49)));
        assert_eq!(d["supervision"]["region"], "230102");
        let (_, d) = daoli.get("/api/v1/campaigns/cpc20/digest?as_of=2022-11-13").await;
        assert_eq!(d["new_covered"], 0);

        let (status, page) = daoli.page("/campaigns/cpc20/digest?as_of=2022-11-12").await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("每日督导简报") && page.contains("道里区") && page.contains(r#"id="print""#), "{page}");
        assert!(page.contains(r#"<strong id="new-covered">+1</strong>"#), "{page}");
        assert_eq!(daoli.page("/lang/en").await.0, 303);
        let (status, page) = daoli.page("/campaigns/cpc20/digest?as_of=2022-11-12").await;
        assert_eq!(status, 200);
        assert!(page.contains("Daily supervision digest") && page.contains("Lecturers") && !page.contains("每日督导简报"), "{page}");
        // The office's digest is the province's.
        let office = Client::signed_in(&s, "office").await;
        let (status, page) = office.page("/campaigns/cpc20/digest?as_of=2022-11-12").await;
        assert_eq!(status, 200);
        assert!(page.contains("黑龙江省"), "{page}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn those_who_do_not_supervise_are_refused_and_scopes_hold() {
    each_backend(|s| async move {
        for name in ["contact", "lecturer"] {
            let c = Client::signed_in(&s, name).await;
            for path in [SUPERVISION, "/api/v1/campaigns/cpc20/digest"] {
                let (status, body) = c.get(path).await;
                assert_eq!(status, 403, "{name} {path}: {body}");
            }
            assert_eq!(c.page("/campaigns/cpc20/digest").await.0, 403, "{name}");
        }
        let daoli = Client::signed_in(&s, "daoli").await;
        assert_eq!(daoli.get(&format!("{SUPERVISION}?region=230103")).await.0, 404, "another county is not found");
        assert_eq!(daoli.get("/api/v1/campaigns/nope/supervision").await.0, 404);
        assert_eq!(daoli.get(&format!("{SUPERVISION}?region=2301")).await.0, 404, "nor the city above");
        let (status, body) = daoli.get(&format!("{SUPERVISION}?assignment_hours=-1")).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("assignment_hours")));
        assert_eq!(Client::anonymous(&s).get(SUPERVISION).await.0, 401);
        assert_eq!(Client::anonymous(&s).get("/api/v1/notifications").await.0, 401);

        let (_, doc) = daoli.get("/api/v1/openapi.json").await;
        for path in ["/api/v1/campaigns/{key}/supervision", "/api/v1/campaigns/{key}/digest", "/api/v1/notifications", "/api/v1/notifications/{id}/read"] {
            assert!(doc["paths"][path].is_object(), "{path} in the OpenAPI document");
        }
    })
    .await;
}
