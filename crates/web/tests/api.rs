//! The JSON API against the real server on a loopback port and a real database:
//! sign-in, tokens, form tokens, throttling, scoping of every kind of object, reports,
//! imports, exports, campaign settings and the OpenAPI document.

mod common;

use common::{Client, Server, each_backend};
use serde_json::json;

fn codes(list: &serde_json::Value, field: &str) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i[field].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_gives_a_cookie_and_the_account() {
    each_backend(|s| async move {
        let anon = Client::anonymous(&s);
        assert_eq!(anon.get("/api/v1/me").await.0, 401);
        assert_eq!(anon.get("/api/v1/units").await.0, 401);
        let (status, body) = anon.post("/api/v1/signin", &json!({ "name": "daoli", "password": "wrong" })).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], "password");
        let (status, _) = anon.post("/api/v1/signin", &json!({ "name": "nobody", "password": "wrong" })).await;
        assert_eq!(status, 422);

        let c = Client::signed_in(&s, "daoli").await;
        let (status, me) = c.get("/api/v1/me").await;
        assert_eq!(status, 200);
        assert_eq!(me, json!({ "name": "daoli", "role": "coordinator", "scope": "230102", "unit": null }));
        let contact = Client::signed_in(&s, "contact").await;
        assert_eq!(contact.get("/api/v1/me").await.1["unit"], "230102001001");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failed_sign_ins_are_slowed_down() {
    each_backend(|s| async move {
        let anon = Client::anonymous(&s);
        let wrong = json!({ "name": "harbin", "password": "guess" });
        for _ in 0..3 {
            assert_eq!(anon.post("/api/v1/signin", &wrong).await.0, 422);
        }
        // The fourth attempt comes too soon: refused without checking, even with the
        // right password.
        let (status, body) = anon.post("/api/v1/signin", &json!({ "name": "harbin", "password": common::PASSWORD })).await;
        assert_eq!(status, 429, "{body}");
        assert!(body["message"].as_str().unwrap().contains("try again"), "{body}");
        // Another account is not affected.
        Client::signed_in(&s, "daoli").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_by_cookie_need_the_form_token() {
    each_backend(|s| async move {
        let mut c = Client::signed_in(&s, "daoli").await;
        let unit = json!({ "code": "E230102-2", "name": "道里面包厂", "kind": "enterprise", "division": "230102" });
        let csrf = c.csrf.take();
        let (status, body) = c.post("/api/v1/units", &unit).await;
        assert_eq!(status, 403, "{body}");
        assert!(body["message"].as_str().unwrap().contains("form token"), "{body}");
        c.csrf = Some("0".repeat(64));
        assert_eq!(c.post("/api/v1/units", &unit).await.0, 403);
        c.csrf = csrf;
        let (status, body) = c.post("/api/v1/units", &unit).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"], "道里面包厂");
        // Reading needs no form token.
        c.csrf = None;
        assert_eq!(c.get("/api/v1/units/E230102-2").await.0, 200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_tokens_work_without_form_tokens_and_cookies_do_not_pass_as_bearers() {
    each_backend(|s| async move {
        // The harness issued daoli a token the way `grassroots user token` does.
        let mut b = Client::anonymous(&s);
        b.bearer = Some(common::BEARER.to_owned());
        assert_eq!(b.get("/api/v1/me").await.1["name"], "daoli");
        let (status, body) = b.post("/api/v1/units", &json!({ "code": "E-b", "name": "令牌厂", "kind": "enterprise", "division": "230102" })).await;
        assert_eq!(status, 200, "no form token is needed with a bearer token: {body}");
        b.bearer = Some("f".repeat(64));
        assert_eq!(b.get("/api/v1/me").await.0, 401);

        // A sign-in cookie's token is only good as a cookie.
        let plain = reqwest::Client::new();
        let r = plain.post(format!("{}/api/v1/signin", s.base)).json(&json!({ "name": "office", "password": common::PASSWORD })).send().await.unwrap();
        let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        let token = set.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
        let as_cookie = plain.get(format!("{}/api/v1/me", s.base)).header("cookie", format!("gr_session={token}")).send().await.unwrap();
        assert_eq!(as_cookie.status(), 200);
        b.bearer = Some(token);
        assert_eq!(b.get("/api/v1/me").await.0, 401);

        // Signing out ends the cookie.
        let c = Client::signed_in(&s, "harbin").await;
        let r = c.http.post(format!("{}/signout", s.base)).header("X-CSRF-Token", c.csrf.clone().unwrap()).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(c.get("/api/v1/me").await.0, 401);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_data_is_the_scope_one_level_down() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let (status, rows) = office.get("/api/v1/campaigns/cpc20/coverage?level=city&as_of=2022-12-31").await;
        assert_eq!(status, 200, "{rows}");
        assert_eq!(rows.as_array().unwrap().len(), 13);
        let harbin = rows.as_array().unwrap().iter().find(|r| r["code"] == "2301").unwrap();
        assert_eq!(harbin["covered"], 3, "{harbin}");
        assert_eq!(harbin["sessions"], 3);
        assert_eq!(harbin["audience"], 95);

        let daoli = Client::signed_in(&s, "daoli").await;
        let (status, rows) = daoli.get("/api/v1/campaigns/cpc20/coverage?as_of=2022-12-31").await;
        assert_eq!(status, 200);
        let rows = rows.as_array().unwrap();
        assert!(rows.iter().all(|r| r["code"].as_str().unwrap().starts_with("230102") && r["level"] == "township"), "{rows:?}");
        assert_eq!(rows.iter().map(|r| r["covered"].as_i64().unwrap()).sum::<i64>(), 1);

        let (status, p) = daoli.get("/api/v1/campaigns/cpc20/progress?as_of=2022-12-31").await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["total"]["covered"], 2, "the village and the factory: {p}");
        assert_eq!(p["days"], json!([["2022-11-10", 1], ["2022-11-12", 2]]));
    })
    .await;
}

/// For each kind of object: what a Daoli coordinator asking for Nangang's (another
/// county of the same city) gets, by URL or API. Reads are 404 (as if it did not
/// exist), writes are refused, lists hold only Daoli.
#[tokio::test(flavor = "multi_thread")]
async fn a_county_coordinator_sees_and_changes_only_its_county() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        let not_found = [
            "/api/v1/regions/230103",
            "/api/v1/regions/2301",
            "/api/v1/campaigns/cpc20/coverage?under=230103",
            "/api/v1/campaigns/cpc20/coverage?under=2301",
            "/api/v1/campaigns/cpc20/progress?region=230103",
            "/api/v1/units/230103001001",
            "/api/v1/units/S230103",
            "/api/v1/units?under=230103",
            "/api/v1/lecturers/l-nangang",
            "/api/v1/lecturers/l-prov",
            "/api/v1/lecturers?under=230103",
            "/api/v1/campaigns/cpc20/sessions?unit=230103001001",
            "/api/v1/campaigns/cpc20/sessions?under=230103",
        ];
        for path in not_found {
            let (status, body) = daoli.get(path).await;
            assert_eq!(status, 404, "{path}: {body}");
            assert!(body["message"].is_string());
        }
        // The Nangang session, by id.
        let office = Client::signed_in(&s, "office").await;
        let all = office.get("/api/v1/campaigns/cpc20/sessions").await.1;
        let nangang_id = all["items"].as_array().unwrap().iter().find(|i| i["unit"] == "230103001001").unwrap()["id"].as_i64().unwrap();
        assert_eq!(daoli.get(&format!("/api/v1/campaigns/cpc20/sessions/{nangang_id}")).await.0, 404);

        // Lists hold only Daoli.
        let units = daoli.get("/api/v1/units?per_page=1000").await.1;
        assert!(codes(&units, "division").iter().all(|d| d.starts_with("230102")), "{units}");
        assert!(codes(&units, "code").contains(&"E230102".to_owned()));
        assert!(!codes(&units, "code").contains(&"S230103".to_owned()));
        let lecturers = daoli.get("/api/v1/lecturers").await.1;
        assert_eq!(codes(&lecturers, "key"), ["l-daoli"]);
        let sessions = daoli.get("/api/v1/campaigns/cpc20/sessions").await.1;
        assert_eq!(sessions["total"], 2);
        assert!(codes(&sessions, "unit").iter().all(|u| u.contains("230102")));

        // Writes into Nangang are refused.
        let (status, body) = daoli.put("/api/v1/units/S230103", &json!({ "name": "x", "kind": "school", "division": "230103" })).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = daoli.post("/api/v1/units", &json!({ "code": "E-new", "name": "x", "kind": "enterprise", "division": "230103" })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("division")), "{body}");
        let (status, body) = daoli.put("/api/v1/lecturers/l-nangang", &json!({ "name": "x", "group": "230103" })).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = daoli.post("/api/v1/lecturers", &json!({ "key": "l-x", "name": "x", "group": "230103" })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("group")), "{body}");
        let report = json!({ "unit": "230103001001", "date": "2022-11-20", "headcount": 10, "topics": ["theme"] });
        let (status, body) = daoli.post("/api/v1/campaigns/cpc20/sessions", &report).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("unit")), "{body}");
        // Another county's session is not found, whatever the report says.
        let (status, body) = daoli.put(&format!("/api/v1/campaigns/cpc20/sessions/{nangang_id}"), &report).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = daoli.post_csv("/api/v1/imports/sessions?campaign=cpc20&name=mine.csv", "unit,date,topics,headcount\n230103001001,2022-11-20,theme,5\n").await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["rows"][0], json!({ "file": "mine.csv", "line": 2, "field": "unit", "message": "unknown unit \"230103001001\"" }));
        let (status, body) = daoli.post_csv("/api/v1/imports/units", "code,name,kind,division\nE9,x,enterprise,230103\n").await;
        assert_eq!((status, body["rows"][0]["field"].as_str()), (422, Some("division")), "{body}");
        let (status, body) = daoli.post_csv("/api/v1/imports/lecturers", "key,name,group,topics\nl-9,x,230103,theme\n").await;
        assert_eq!((status, body["rows"][0]["field"].as_str()), (422, Some("group")), "{body}");
        let (status, _) = daoli.post_csv("/api/v1/imports/divisions", "code,name,parent\n").await;
        assert_eq!(status, 403);
        // Nothing of it was stored.
        assert_eq!(office.get("/api/v1/campaigns/cpc20/sessions").await.1["total"], 3);
        assert_eq!(office.get("/api/v1/units/S230103").await.1["name"], "南岗第一中学");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_contact_sees_its_unit_only_and_a_supervisor_changes_nothing() {
    each_backend(|s| async move {
        let contact = Client::signed_in(&s, "contact").await;
        assert_eq!(contact.get("/api/v1/units/230102001001").await.0, 200);
        assert_eq!(contact.get("/api/v1/units/230102001002").await.0, 404);
        assert_eq!(contact.get("/api/v1/units/E230102").await.0, 404);
        assert_eq!(codes(&contact.get("/api/v1/units").await.1, "code"), ["230102001001"]);
        // The table gives a unit contact no lecturers and no regions at all.
        assert_eq!(contact.get("/api/v1/lecturers").await.0, 403);
        assert_eq!(contact.get("/api/v1/regions/230102001").await.0, 403);
        assert_eq!(contact.get("/api/v1/campaigns/cpc20/coverage").await.0, 403);
        let sessions = contact.get("/api/v1/campaigns/cpc20/sessions").await.1;
        assert_eq!(codes(&sessions, "unit"), ["230102001001"]);

        let sup = Client::signed_in(&s, "supervisor").await;
        assert_eq!(sup.get("/api/v1/campaigns/cpc20/sessions").await.1["total"], 3);
        let report = json!({ "unit": "230102001001", "date": "2022-11-20", "headcount": 10, "topics": ["theme"] });
        for (status, body) in [
            sup.post("/api/v1/campaigns/cpc20/sessions", &report).await,
            sup.post("/api/v1/units", &json!({ "code": "X1", "name": "x", "kind": "other", "division": "230102" })).await,
            sup.post_csv("/api/v1/imports/units", "code,name,kind,division\n").await,
            sup.put("/api/v1/campaigns/cpc20", &json!({ "title": "x", "deadline": "2023-01-01", "target": 1, "topics": [] })).await,
        ] {
            assert_eq!(status, 403, "{body}");
        }
        assert_eq!(contact.post("/api/v1/campaigns/cpc20/sessions", &report).await.0, 403);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_report_changes_coverage_and_a_repeated_report_is_stored_once() {
    each_backend(|s| async move {
        let lecturer = Client::signed_in(&s, "lecturer").await;
        let before = lecturer.get("/api/v1/campaigns/cpc20/progress?as_of=2022-12-31").await.1;
        assert_eq!(before["total"]["covered"], 2);
        let report = json!({ "ext_id": "phone-1", "unit": "230102001002", "date": "2022-11-20", "headcount": 33,
                             "topics": ["theme", "theory"], "audiences": ["youth"], "lecturers": ["l-daoli"], "title": "青年宣讲" });
        let (status, saved) = lecturer.post("/api/v1/campaigns/cpc20/sessions", &report).await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["topics"], json!(["theme", "theory"]));
        assert_eq!(saved["lecturers"], json!(["l-daoli"]));
        let again = lecturer.post("/api/v1/campaigns/cpc20/sessions", &report).await.1;
        assert_eq!(again["id"], saved["id"], "the same ext_id is the same session");
        let after = lecturer.get("/api/v1/campaigns/cpc20/progress?as_of=2022-12-31").await.1;
        assert_eq!(after["total"]["covered"], 3);
        assert_eq!(after["total"]["audience"], 40 + 25 + 33);
        // Cancelling it takes the unit out again.
        let id = saved["id"].as_i64().unwrap();
        let mut cancelled = report.clone();
        cancelled["status"] = json!("cancelled");
        assert_eq!(lecturer.put(&format!("/api/v1/campaigns/cpc20/sessions/{id}"), &cancelled).await.0, 200);
        assert_eq!(lecturer.get("/api/v1/campaigns/cpc20/progress?as_of=2022-12-31").await.1["total"]["covered"], 2);

        for (field, bad) in [
            ("topics", json!({ "unit": "230102001002", "date": "2022-11-20", "headcount": 1, "topics": ["nope"] })),
            ("topics", json!({ "unit": "230102001002", "date": "2022-11-20", "headcount": 1, "topics": [] })),
            ("date", json!({ "unit": "230102001002", "date": "20.11.2022", "headcount": 1, "topics": ["theme"] })),
            ("headcount", json!({ "unit": "230102001002", "date": "2022-11-20", "headcount": -1, "topics": ["theme"] })),
            ("lecturers", json!({ "unit": "230102001002", "date": "2022-11-20", "headcount": 1, "topics": ["theme"], "lecturers": "nobody" })),
            ("status", json!({ "unit": "230102001002", "date": "2022-11-20", "headcount": 1, "topics": ["theme"], "status": "done" })),
        ] {
            let (status, body) = lecturer.post("/api/v1/campaigns/cpc20/sessions", &bad).await;
            assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{bad}: {body}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_report_every_bad_row_and_store_nothing_or_everything() {
    each_backend(|s| async move {
        let harbin = Client::signed_in(&s, "harbin").await;
        let bad = "unit,date,topics,headcount\n230102001003,2022-11-21,theme,5\n230102001004,2022-13-01,theme,5\n230102001001,2022-11-21,nope,x\n";
        let (status, body) = harbin.post_csv("/api/v1/imports/sessions?campaign=cpc20&name=week.csv", bad).await;
        assert_eq!(status, 422, "{body}");
        let rows: Vec<(u64, String)> = body["rows"].as_array().unwrap().iter().map(|r| (r["line"].as_u64().unwrap(), r["field"].as_str().unwrap().to_owned())).collect();
        assert_eq!(rows, [(3, "date".into()), (4, "topics".into()), (4, "headcount".into())]);
        assert_eq!(harbin.get("/api/v1/campaigns/cpc20/sessions").await.1["total"], 3);

        let good = "unit,date,topics,headcount\n230102001003,2022-11-21,theme,5\n230103001001,2022-11-22,decade,7\n";
        let (status, body) = harbin.post_csv("/api/v1/imports/sessions?campaign=cpc20", good).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({ "read": 2, "added": 2, "updated": 0, "unchanged": 0 }));
        assert_eq!(harbin.get("/api/v1/campaigns/cpc20/sessions").await.1["total"], 5);
        let (status, body) = harbin.post_csv("/api/v1/imports/sessions", good).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("campaign")), "{body}");
        assert_eq!(harbin.post_csv("/api/v1/imports/people", good).await.0, 422);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_search_and_export_as_csv_and_xlsx() {
    each_backend(|s| async move {
        let daoli = Client::signed_in(&s, "daoli").await;
        let p1 = daoli.get("/api/v1/units?per_page=10").await.1;
        let p2 = daoli.get("/api/v1/units?per_page=10&page=2").await.1;
        assert_eq!(p1["items"].as_array().unwrap().len(), 10);
        assert_eq!(p1["total"], p2["total"]);
        assert_ne!(p1["items"][0], p2["items"][0]);
        let found = daoli.get("/api/v1/units?q=农机").await.1;
        assert_eq!(codes(&found, "code"), ["E230102"]);
        let uncovered = daoli.get("/api/v1/units?uncovered=cpc20&as_of=2022-12-31&per_page=1000").await.1;
        assert_eq!(uncovered["total"].as_i64().unwrap(), p1["total"].as_i64().unwrap() - 2);
        assert!(!codes(&uncovered, "code").contains(&"230102001001".to_owned()));

        let (status, ct, body) = daoli.bytes("/api/v1/units?format=csv&q=农机").await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("text/csv"), "{ct}");
        assert_eq!(String::from_utf8(body).unwrap(), "code,name,kind,division,division_name\nE230102,道里农机厂,enterprise,230102,道里区\n");
        let (status, ct, body) = daoli.bytes("/api/v1/campaigns/cpc20/sessions?format=xlsx").await;
        assert_eq!(status, 200);
        assert!(ct.contains("spreadsheetml"), "{ct}");
        assert_eq!(&body[..2], b"PK", "an XLSX file is a zip");
        let (_, _, body) = daoli.bytes("/api/v1/campaigns/cpc20/coverage?format=csv&as_of=2022-12-31").await;
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("code,name,level,units,covered,coverage,sessions,audience,overdue,topic:theme"), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("230102")), "{text}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_campaign_office_changes_settings_by_the_campaign_files_rules() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let mut c = office.get("/api/v1/campaigns/cpc20").await.1;
        assert_eq!(c["topics"].as_array().unwrap().len(), 7);
        c["deadline"] = json!("2023-01-31");
        c["target"] = json!(0.9);
        c["topics"].as_array_mut().unwrap().push(json!({ "key": "extra", "title": "新增专题", "title_en": "An extra topic" }));
        let (status, body) = office.put("/api/v1/campaigns/cpc20", &c).await;
        assert_eq!(status, 200, "{body}");
        let now = office.get("/api/v1/campaigns/cpc20").await.1;
        assert_eq!((now["deadline"].as_str(), now["target"].as_f64()), (Some("2023-01-31"), Some(0.9)));
        assert_eq!(now["topics"][7], json!({ "key": "extra", "title": "新增专题", "title_en": "An extra topic" }));
        assert_eq!(now["topics"][0]["title_en"], "The theme of the 20th National Congress", "other fields are kept");

        let mut bad = now.clone();
        bad["target"] = json!(1.5);
        let (status, body) = office.put("/api/v1/campaigns/cpc20", &bad).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("target")), "{body}");
        let mut used = now.clone();
        used["topics"].as_array_mut().unwrap().remove(0);
        let (status, body) = office.put("/api/v1/campaigns/cpc20", &used).await;
        assert_eq!(status, 422, "a topic sessions use cannot go: {body}");
        let harbin = Client::signed_in(&s, "harbin").await;
        assert_eq!(harbin.put("/api/v1/campaigns/cpc20", &now).await.0, 403);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_the_api() {
    each_backend(|s| async move {
        let (status, doc) = Client::anonymous(&s).get("/api/v1/openapi.json").await;
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().unwrap();
        for p in ["/api/v1/units", "/api/v1/units/{code}", "/api/v1/lecturers", "/api/v1/campaigns/{key}/sessions", "/api/v1/campaigns/{key}/coverage", "/api/v1/imports/{kind}", "/api/v1/signin", "/api/v1/me"] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(paths["/api/v1/units"]["post"].is_object());
        assert!(doc["components"]["schemas"]["ErrorJson"].is_object());
        assert!(doc["components"]["schemas"]["CoverageRow"].is_object());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_sign_in_switch_language_and_refuse_other_regions() {
    each_backend(|s| async move {
        let anon = Client::anonymous(&s);
        let (status, _) = anon.page("/units").await;
        assert_eq!(status, 303, "pages send strangers to sign in");
        let (status, html) = anon.page("/signin").await;
        assert_eq!(status, 200);
        assert!(html.contains("登录"), "Chinese by default");
        let en = anon.http.get(format!("{}/signin", s.base)).header("accept-language", "en-GB,en;q=0.9").send().await.unwrap().text().await.unwrap();
        assert!(en.contains("Sign in"), "Accept-Language is honoured");

        let (status, location, html) = anon.form("/signin", &[("name", "daoli"), ("password", "nope"), ("next", "/")]).await;
        assert_eq!(status, 401, "{html}");
        assert!(html.contains("用户名或密码错误"));
        let (status, location2, _) = anon.form("/signin", &[("name", "daoli"), ("password", common::PASSWORD), ("next", "/units")]).await;
        assert_eq!((status, location2.as_str()), (303, "/units"), "{location}");

        let (status, html) = anon.page("/units/230103001001").await;
        assert_eq!(status, 404);
        assert!(html.contains("不在您的管辖范围内"), "{html}");
        assert_eq!(anon.page("/campaigns/cpc20?under=230103").await.0, 404);
        assert_eq!(anon.page("/lecturers/l-nangang").await.0, 404);
        let (status, html) = anon.page("/campaigns/cpc20?as_of=2022-12-31").await;
        assert_eq!(status, 200);
        assert!(html.contains("道里区"), "{html}");

        // A form without its token is refused; the page's own form carries it.
        let (status, _, _) = anon.form("/units/new", &[("code", "E-x"), ("name", "x"), ("kind", "enterprise"), ("division", "230102")]).await;
        assert_eq!(status, 403);
        let form = anon.page("/units/new").await.1;
        let token = form.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let (status, location, body) = anon.form("/units/new", &[("_csrf", &token), ("code", "E-x"), ("name", "新厂"), ("kind", "enterprise"), ("division", "230102")]).await;
        assert_eq!((status, location.as_str()), (303, "/units/E-x"), "{body}");
        let (status, _, body) = anon.form("/units/new", &[("_csrf", &token), ("code", "E-y"), ("name", "x"), ("kind", "enterprise"), ("division", "230103")]).await;
        assert_eq!(status, 422);
        assert!(body.contains("data-field=\"division\""), "the error is shown at its field: {body}");

        let c = anon.http.get(format!("{}/lang/en", s.base)).header("referer", format!("{}/units", s.base)).send().await.unwrap();
        assert_eq!(c.status(), 303);
        assert_eq!(c.headers()["location"], "/units");
        let (_, html) = anon.page("/units").await;
        assert!(html.contains("Units") && html.contains("Sign out"), "English after the switch");
    })
    .await;
}

#[allow(dead_code)]
fn _server_is_used(_: &Server) {}

#[tokio::test(flavor = "multi_thread")]
async fn imports_from_the_browser_show_row_errors_and_store_nothing() {
    each_backend(|s| async move {
        let anon = Client::anonymous(&s);
        anon.form("/signin", &[("name", "daoli"), ("password", common::PASSWORD), ("next", "/")]).await;
        let page = anon.page("/imports").await.1;
        let action = page.split("action=\"").find(|p| p.starts_with("/imports")).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        let upload = |csv: &'static str| {
            let form = reqwest::multipart::Form::new()
                .text("kind", "sessions")
                .text("campaign", "cpc20")
                .part("file", reqwest::multipart::Part::bytes(csv.as_bytes()).file_name("reports.csv").mime_str("text/csv").unwrap());
            anon.http.post(format!("{}{action}", s.base)).multipart(form).send()
        };
        let r = upload("unit,date,topics,headcount\n230102001003,2022-11-21,theme,5\n230102001004,2022-11-21,theme,many\n").await.unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"import-errors\""), "{html}");
        assert!(html.contains("<td>reports.csv</td><td>3</td><td>headcount</td>"), "{html}");
        let daoli = Client::signed_in(&s, "daoli").await;
        assert_eq!(daoli.get("/api/v1/campaigns/cpc20/sessions").await.1["total"], 2, "nothing stored");

        let r = upload("unit,date,topics,headcount\n230102001003,2022-11-21,theme,5\n").await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("1 rows read: 1 added"));
        assert_eq!(daoli.get("/api/v1/campaigns/cpc20/sessions").await.1["total"], 3);

        // Without the form token in the action, the upload is refused.
        let form = reqwest::multipart::Form::new().text("kind", "sessions").part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.csv"));
        let r = anon.http.post(format!("{}/imports", s.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 403);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_schema_the_openapi_document_refers_to_is_defined() {
    each_backend(|s| async move {
        let doc = Client::anonymous(&s).get("/api/v1/openapi.json").await.1;
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "{name} is referred to but not defined");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_campaign_office_makes_meetings_with_a_venue_for_every_county() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let body = json!({ "title": "哈尔滨市动员会", "starts_at": "2022-11-04 09:00", "campaign": "cpc20", "main": "E230102", "branches": "counties", "under": "2301" });
        let (status, m) = office.post("/api/v1/meetings", &body).await;
        assert_eq!(status, 200, "{m}");
        let venues = m["venues"].as_array().unwrap();
        assert_eq!(venues.len(), 1 + 18, "the main venue and Harbin's 18 counties");
        let branches: Vec<&serde_json::Value> = venues.iter().filter(|v| v["main"] == false).collect();
        assert!(branches.iter().all(|v| v["unit"].is_null() && v["hall"].as_str().unwrap().starts_with("2301") && v["name"].as_str().unwrap().ends_with("会场")), "{m}");
        assert_eq!(venues[0]["unit"], "E230102");
        let tokens: std::collections::BTreeSet<&str> = venues.iter().map(|v| v["token"].as_str().unwrap()).collect();
        assert_eq!(tokens.len(), venues.len(), "every venue its own link");
        // Halls are not units: none was made, and Harbin counts the same units as before.
        let units_before = office.get("/api/v1/regions/2301").await.1["units"].clone();
        assert_eq!(office.get("/api/v1/units?q=M2301&per_page=100").await.1["total"], 0);
        // Made again, the halls are reused.
        let (_, again) = office.post("/api/v1/meetings", &body).await;
        let halls = |m: &serde_json::Value| m["venues"].as_array().unwrap().iter().map(|v| v["hall"].clone()).collect::<Vec<_>>();
        assert_eq!(halls(&again), halls(&m));
        assert_eq!(office.get("/api/v1/meetings").await.1.as_array().unwrap().len(), 2);
        assert_eq!(office.get("/api/v1/regions/2301").await.1["units"], units_before);

        let anon = Client::anonymous(&s);
        let link = format!("/m/{}", venues[1]["token"].as_str().unwrap());
        let (status, page) = anon.page(&link).await;
        assert_eq!(status, 200);
        assert!(page.contains("哈尔滨市动员会"));
        assert_eq!(anon.page(&format!("/m/{}x", venues[1]["token"].as_str().unwrap())).await.0, 404);
        let harbin = Client::signed_in(&s, "harbin").await;
        assert_eq!(harbin.post("/api/v1/meetings", &body).await.0, 403);
        let mut bad = body.clone();
        bad["main"] = json!("nope");
        assert_eq!(office.post("/api/v1/meetings", &bad).await.1["field"], "main");
        let id = m["id"].as_i64().unwrap();
        assert_eq!(office.post(&format!("/api/v1/meetings/{id}/close"), &json!({})).await.1["sessions"], 0, "nobody signed in");
        assert_eq!(anon.page(&link).await.0, 404, "closed: the link is dead");
    })
    .await;
}
