//! The permission matrix, generated from the one table (`domain::access`): every
//! action of every party (each role, and the public), inside its scope and outside it,
//! through the real HTTP API on both backends. Each attempt must be allowed exactly
//! where the table allows it and refused elsewhere (403 for a role the table refuses,
//! 401 for the public, 404 for an object outside the scope addressed by its URL, 422
//! for one named in the body of a write), and the database must be unchanged after
//! every refusal. Join links (venues, the chair) are parties of their own, probed on
//! the meeting pages and sockets.
//!
//! The table's rows come to the test through [`probes`], an exhaustive `match` over
//! `Action`: an action added to the table does not compile here until its probes are
//! written. And every operation of the OpenAPI document must be among the probes, so
//! that no route escapes the matrix either.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{Client, Server, Setup, each_backend_with};
use domain::access::{Action, Kind, Party, Reach, Verb};
use domain::Role;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A place objects lie in: each party's own and one outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Daoli district (230102): the coordinator's, lecturer's and supervisor's own.
    Daoli,
    /// Nangang district (230103): outside Daoli.
    Nangang,
    /// Jilin province (22): outside Heilongjiang, the supervisor's scope.
    Jilin,
    /// The unit contact's own unit (230102001001).
    Unit1,
    /// Another village of the same township (230102001002).
    Unit2,
}

impl Place {
    fn division(self) -> &'static str {
        match self {
            Place::Daoli => "230102",
            Place::Nangang => "230103",
            Place::Jilin => "220102",
            Place::Unit1 | Place::Unit2 => "230102001",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Place::Daoli => "E230102",
            Place::Nangang => "S230103",
            Place::Jilin => "E220102",
            Place::Unit1 => "230102001001",
            Place::Unit2 => "230102001002",
        }
    }

    /// The lecturer whose group serves the place.
    fn lecturer(self) -> &'static str {
        match self {
            Place::Daoli | Place::Unit1 | Place::Unit2 => "l-daoli",
            Place::Nangang => "l-nangang",
            Place::Jilin => "l-jilin",
        }
    }

    /// The account of that lecturer.
    fn lecturer_account(self) -> &'static str {
        match self {
            Place::Nangang => "lecturer-nangang",
            Place::Jilin => "lecturer-jilin",
            _ => "lecturer",
        }
    }

    /// A coordinator of the place (who writes its bulletins).
    fn coordinator(self) -> &'static str {
        match self {
            Place::Nangang => "nangang",
            Place::Jilin => "jilin",
            _ => "daoli",
        }
    }

    /// The session of the fixture at the place (its reporter's id).
    fn session(self) -> &'static str {
        match self {
            Place::Daoli => "s2",
            Place::Nangang => "s3",
            Place::Jilin => "sj",
            Place::Unit1 => "s1",
            Place::Unit2 => "s4",
        }
    }
}

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Office,
    Coordinator,
    Lecturer,
    Contact,
    Supervisor,
    Public,
}

impl Who {
    const ALL: [Who; 6] = [Who::Office, Who::Coordinator, Who::Lecturer, Who::Contact, Who::Supervisor, Who::Public];

    fn party(self) -> Party {
        match self {
            Who::Office => Party::Role(Role::Office),
            Who::Coordinator => Party::Role(Role::Coordinator),
            Who::Lecturer => Party::Role(Role::Lecturer),
            Who::Contact => Party::Role(Role::UnitContact),
            Who::Supervisor => Party::Role(Role::Supervisor),
            Who::Public => Party::Public,
        }
    }

    fn account(self) -> Option<&'static str> {
        match self {
            Who::Office => Some("office"),
            Who::Coordinator => Some("daoli"),
            Who::Lecturer => Some("lecturer"),
            Who::Contact => Some("contact"),
            Who::Supervisor => Some("supervisor"),
            Who::Public => None,
        }
    }

    /// Its own place, and one outside its reach (none for the office: everything is
    /// its own).
    fn places(self) -> (Place, Option<Place>) {
        match self {
            Who::Office => (Place::Daoli, None),
            Who::Coordinator | Who::Lecturer => (Place::Daoli, Some(Place::Nangang)),
            Who::Contact => (Place::Unit1, Some(Place::Unit2)),
            Who::Supervisor => (Place::Daoli, Some(Place::Jilin)),
            Who::Public => (Place::Daoli, Some(Place::Nangang)),
        }
    }
}

/// Which side of the party's reach an attempt is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Inside,
    Outside,
}

/// A body to send.
#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Csv(String),
    Png,
}

/// How an attempt outside the reach is refused: by its URL (not found) or by a field
/// of its body (invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Away {
    NotFound,
    Invalid,
}

/// One HTTP attempt of an action.
#[derive(Debug, Clone)]
struct Attempt {
    method: Method,
    /// The route as the OpenAPI document names it.
    route: &'static str,
    path: String,
    body: Body,
    away: Away,
}

fn at(method: Method, route: &'static str, path: impl Into<String>, body: Body, away: Away) -> Attempt {
    Attempt { method, route, path: path.into(), body, away }
}

fn get(route: &'static str, path: impl Into<String>) -> Attempt {
    at(Method::GET, route, path, Body::None, Away::NotFound)
}

static FRESH: AtomicU32 = AtomicU32::new(0);

/// A key no fixture has.
fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", FRESH.fetch_add(1, Ordering::SeqCst))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

/// The fixture and a client for every account.
struct World {
    s: Arc<Server>,
    clients: BTreeMap<&'static str, Client>,
    anon: Client,
    /// Stored ids: sessions by reporter's id, photos and drafts by place, a meeting.
    sessions: BTreeMap<&'static str, i64>,
    photos: BTreeMap<String, i64>,
    drafts: BTreeMap<String, i64>,
    published: i64,
    published_photo: i64,
    draft_photo: i64,
    meeting: i64,
    /// Notifications by account.
    notifications: BTreeMap<&'static str, i64>,
}

impl World {
    fn client(&self, name: &str) -> &Client {
        self.clients.get(name).unwrap_or_else(|| panic!("no client {name}"))
    }

    fn office(&self) -> &Client {
        self.client("office")
    }

    async fn ok(&self, who: &str, method: Method, path: &str, body: Value) -> Value {
        let c = self.client(who);
        let r = c.http.request(method.clone(), format!("{}{path}", self.s.base)).header("x-csrf-token", c.csrf.clone().unwrap_or_default()).json(&body).send().await.unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "setup {method} {path} as {who}: {status} {v}");
        v
    }

    /// A fresh request at `place`, brought to `state` (assigned to the place's lecturer
    /// where a lecturer is involved).
    async fn request(&self, place: Place, state: &str) -> i64 {
        let body = json!({ "unit": place.unit(), "topics": ["theme"], "window_from": "2022-11-20", "window_to": "2022-11-30", "headcount": 20 });
        let id = self.ok("office", Method::POST, "/api/v1/campaigns/cpc20/requests", body).await["id"].as_i64().unwrap();
        let step = |who: &'static str, body: Value| async move { self.ok(who, Method::POST, &format!("/api/v1/requests/{id}/steps"), body).await };
        if state == "requested" {
            return id;
        }
        step("office", json!({ "step": "review" })).await;
        match state {
            "reviewed" => return id,
            "open" => {
                step("office", json!({ "step": "open" })).await;
                return id;
            }
            _ => {}
        }
        step("office", json!({ "step": "assign", "lecturer": place.lecturer() })).await;
        if state == "assigned" {
            return id;
        }
        step(place.lecturer_account(), json!({ "step": "accept" })).await;
        if state == "accepted" {
            return id;
        }
        step(place.lecturer_account(), json!({ "step": "report", "report": { "date": "2022-11-25", "headcount": 30, "topics": ["theme"] } })).await;
        assert_eq!(state, "held", "a state the probes use");
        id
    }

    /// A fresh draft at `place`, by its coordinator.
    async fn draft(&self, place: Place) -> i64 {
        let body = json!({ "title": fresh("通报"), "body": "内容" });
        self.ok(place.coordinator(), Method::POST, "/api/v1/bulletins", body).await["id"].as_i64().unwrap()
    }

    /// A fresh meeting of the office's, its venues in the contact's village.
    async fn meeting(&self) -> i64 {
        let body = json!({ "title": fresh("会议"), "main_hall": "23", "branches": "units", "units": ["230102001001"] });
        self.ok("office", Method::POST, "/api/v1/meetings", body).await["id"].as_i64().unwrap()
    }

    /// A photo uploaded by `who`.
    async fn photo(&self, who: &str) -> i64 {
        let c = self.client(who);
        let r = c.http.post(format!("{}/api/v1/photos", self.s.base)).header("x-csrf-token", c.csrf.clone().unwrap_or_default()).body(PNG.to_vec()).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        v["id"].as_i64().unwrap_or_else(|| panic!("upload as {who}: {v}"))
    }
}

const DIVISIONS_22: &str = "code,name,parent
22,吉林省,
2201,长春市,22
220102,南关区,2201
220102001,永吉街道,220102
220102001001,永吉社区,220102001
";

async fn world(s: Arc<Server>) -> World {
    let mut clients = BTreeMap::new();
    let office = Client::signed_in(&s, "office").await;
    // Another province, for the supervisor's outside, with what lies there.
    for (kind, csv) in [
        ("divisions", DIVISIONS_22.to_owned()),
        ("units", "code,name,kind,division\nE220102,南关机械厂,enterprise,220102\n".to_owned()),
        ("lecturers", "key,name,group,topics\nl-jilin,吉林讲师,220102,theme\n".to_owned()),
        ("sessions?campaign=cpc20", "id,unit,date,topics,headcount\nsj,E220102,2022-11-11,theme,10\ns4,230102001002,2022-11-12,theme,11\n".to_owned()),
    ] {
        let (status, body) = office.post_csv(&format!("/api/v1/imports/{kind}"), &csv).await;
        assert_eq!(status, 200, "{kind}: {body}");
    }
    // More accounts: coordinators of the other places, lecturers of their groups.
    let url = s.url.clone();
    tokio::task::spawn_blocking(move || {
        let store = store::Store::open(&url).unwrap();
        let hash = web::hash_password(common::PASSWORD).unwrap();
        for (name, role, scope, lecturer) in [
            ("jilin", Role::Coordinator, "220102", None),
            ("lecturer-nangang", Role::Lecturer, "230103", Some("l-nangang")),
            ("lecturer-jilin", Role::Lecturer, "220102", Some("l-jilin")),
        ] {
            let new = store::NewAccount { name: name.into(), role, scope: Some(scope.parse().unwrap()), unit: None, password_hash: hash.clone() };
            store.add_account(&new, 0).unwrap();
            if let Some(l) = lecturer {
                store.link_lecturer(name, l).unwrap();
            }
        }
    })
    .await
    .unwrap();
    for name in ["office", "daoli", "nangang", "jilin", "lecturer", "lecturer-nangang", "lecturer-jilin", "contact", "contact2", "supervisor"] {
        clients.insert(name, Client::signed_in(&s, name).await);
    }
    drop(office);
    let mut w = World {
        s: s.clone(),
        clients,
        anon: Client::anonymous(&s),
        sessions: BTreeMap::new(),
        photos: BTreeMap::new(),
        drafts: BTreeMap::new(),
        published: 0,
        published_photo: 0,
        draft_photo: 0,
        meeting: 0,
        notifications: BTreeMap::new(),
    };
    let all = w.office().get("/api/v1/campaigns/cpc20/sessions?per_page=100").await.1;
    for item in all["items"].as_array().unwrap() {
        for ext in ["s1", "s2", "s3", "s4", "sj"] {
            if item["ext_id"] == ext {
                w.sessions.insert(ext, item["id"].as_i64().unwrap());
            }
        }
    }
    assert_eq!(w.sessions.len(), 5, "{all}");
    // A photo on the session of every place, and a draft of every coordinator's.
    for place in [Place::Daoli, Place::Nangang, Place::Jilin, Place::Unit1, Place::Unit2] {
        let photo = w.photo("office").await;
        let sid = w.sessions[place.session()];
        w.ok("office", Method::POST, &format!("/api/v1/campaigns/cpc20/sessions/{sid}/photos"), json!({ "photos": [photo] })).await;
        w.photos.insert(format!("{place:?}"), photo);
    }
    for place in [Place::Daoli, Place::Nangang, Place::Jilin] {
        let id = w.draft(place).await;
        w.drafts.insert(format!("{place:?}"), id);
    }
    // A published bulletin with a photo; a draft with another.
    w.published_photo = w.photo("office").await;
    let b = w.ok("office", Method::POST, "/api/v1/bulletins", json!({ "title": "已发布", "body": "内容", "photos": [w.published_photo] })).await;
    w.published = b["id"].as_i64().unwrap();
    w.ok("office", Method::POST, &format!("/api/v1/bulletins/{}/publish", w.published), json!({})).await;
    w.draft_photo = w.photo("office").await;
    w.ok("office", Method::POST, "/api/v1/bulletins", json!({ "title": "草稿", "body": "内容", "photos": [w.draft_photo] })).await;
    w.meeting = w.meeting().await;
    // Requests waiting long: notifications for those told of alerts.
    w.request(Place::Daoli, "requested").await;
    w.request(Place::Nangang, "requested").await;
    let url = s.url.clone();
    tokio::task::spawn_blocking(move || {
        let store = store::Store::open(&url).unwrap();
        let later = chrono::Utc::now().timestamp() + 100 * 3600;
        store.notify(later, chrono::Local::now().date_naive(), &store::Limits::default()).unwrap();
    })
    .await
    .unwrap();
    for name in ["office", "daoli", "nangang"] {
        let list = w.client(name).get("/api/v1/notifications").await.1;
        let id = list["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{name} has a notification: {list}"));
        w.notifications.insert(name, id);
    }
    w
}

/// The attempts of `action` by `who` on `side`, after any setup they need (done as the
/// office, or as the account an object belongs to). Empty: nothing to attempt there.
async fn probes(w: &World, action: Action, who: Who, side: Side) -> Vec<Attempt> {
    let (home, away) = who.places();
    let Some(place) = (match side {
        Side::Inside => Some(home),
        Side::Outside => away,
    }) else {
        return Vec::new();
    };
    let outside = side == Side::Outside;
    let reach = action.reach(who.party());
    let key = "cpc20";
    // A list "under" a region: the place's division, except a unit's own place, which
    // is no region (its lists are its unit's, unfiltered).
    let under = |param: &str| match (place, side) {
        (Place::Unit1, Side::Inside) => String::new(),
        _ => format!("{param}={}", place.division()),
    };
    let sid = w.sessions[place.session()];
    let json = |v: Value| Body::Json(v);
    use Action as A;
    match action {
        A::DivisionRead => vec![get("/api/v1/regions/{code}", format!("/api/v1/regions/{}", place.division()))],
        A::DivisionImport => {
            let code = format!("{}9{:02}", place.division(), FRESH.fetch_add(1, Ordering::SeqCst) % 100);
            vec![at(Method::POST, "/api/v1/imports/{kind}", "/api/v1/imports/divisions", Body::Csv(format!("code,name,parent\n{code},新街道,{}\n", place.division())), Away::Invalid)]
        }
        A::CoverageRead => vec![
            get("/api/v1/campaigns/{key}/coverage", format!("/api/v1/campaigns/{key}/coverage?{}", under("under"))),
            get("/api/v1/campaigns/{key}/progress", format!("/api/v1/campaigns/{key}/progress?{}", under("region"))),
        ],
        A::CoverageExport => vec![get("/api/v1/campaigns/{key}/coverage", format!("/api/v1/campaigns/{key}/coverage?format=csv&{}", under("under")))],
        A::SupervisionRead => vec![
            get("/api/v1/campaigns/{key}/supervision", format!("/api/v1/campaigns/{key}/supervision?{}", under("region"))),
            get("/api/v1/campaigns/{key}/digest", format!("/api/v1/campaigns/{key}/digest?{}", under("region"))),
        ],
        A::UnitList => vec![get("/api/v1/units", format!("/api/v1/units?{}", under("under")))],
        A::UnitRead => vec![get("/api/v1/units/{code}", format!("/api/v1/units/{}", place.unit()))],
        A::UnitCreate => {
            let mut a = vec![at(Method::POST, "/api/v1/units", "/api/v1/units", json(json!({ "code": fresh("E"), "name": "新厂", "kind": "enterprise", "division": place.division() })), Away::Invalid)];
            if outside {
                // Another place's unit's code, taken home.
                a.push(at(Method::POST, "/api/v1/units", "/api/v1/units", json(json!({ "code": place.unit(), "name": "夺", "kind": "enterprise", "division": home.division() })), Away::Invalid));
            }
            a
        }
        A::UnitUpdate => vec![at(Method::PUT, "/api/v1/units/{code}", format!("/api/v1/units/{}", place.unit()), json(json!({ "name": "改名厂", "kind": "enterprise", "division": place.division() })), Away::NotFound)],
        A::UnitImport => {
            let row = |code: &str, division: &str| Body::Csv(format!("code,name,kind,division\n{code},新厂,enterprise,{division}\n"));
            let mut a = vec![at(Method::POST, "/api/v1/imports/{kind}", "/api/v1/imports/units", row(&fresh("E"), place.division()), Away::Invalid)];
            if outside {
                a.push(at(Method::POST, "/api/v1/imports/{kind}", "/api/v1/imports/units", row(place.unit(), home.division()), Away::Invalid));
            }
            a
        }
        A::UnitExport => vec![get("/api/v1/units", format!("/api/v1/units?format=csv&{}", under("under")))],
        A::LecturerList => vec![get("/api/v1/lecturers", format!("/api/v1/lecturers?{}", under("under")))],
        A::LecturerRead => vec![get("/api/v1/lecturers/{key}", format!("/api/v1/lecturers/{}", place.lecturer()))],
        A::LecturerCreate => {
            let body = |key: &str, group: &str| json(json!({ "key": key, "name": "新讲师", "group": group }));
            let mut a = vec![at(Method::POST, "/api/v1/lecturers", "/api/v1/lecturers", body(&fresh("l"), place.division()), Away::Invalid)];
            if outside {
                a.push(at(Method::POST, "/api/v1/lecturers", "/api/v1/lecturers", body(place.lecturer(), home.division()), Away::Invalid));
            }
            a
        }
        A::LecturerUpdate => vec![at(Method::PUT, "/api/v1/lecturers/{key}", format!("/api/v1/lecturers/{}", place.lecturer()), json(json!({ "name": "改名", "group": place.division(), "topics": "theme" })), Away::NotFound)],
        A::LecturerImport => {
            let row = |key: &str, group: &str| Body::Csv(format!("key,name,group,topics\n{key},新讲师,{group},theme\n"));
            let mut a = vec![at(Method::POST, "/api/v1/imports/{kind}", "/api/v1/imports/lecturers", row(&fresh("l"), place.division()), Away::Invalid)];
            if outside {
                a.push(at(Method::POST, "/api/v1/imports/{kind}", "/api/v1/imports/lecturers", row(place.lecturer(), home.division()), Away::Invalid));
            }
            a
        }
        A::LecturerExport => vec![get("/api/v1/lecturers", format!("/api/v1/lecturers?format=csv&{}", under("under")))],
        A::SessionList => {
            let filter = if place == Place::Unit1 || place == Place::Unit2 { format!("unit={}", place.unit()) } else { under("under") };
            vec![get("/api/v1/campaigns/{key}/sessions", format!("/api/v1/campaigns/{key}/sessions?{filter}"))]
        }
        A::SessionRead => vec![
            get("/api/v1/campaigns/{key}/sessions/{id}", format!("/api/v1/campaigns/{key}/sessions/{sid}")),
            get("/api/v1/campaigns/{key}/sessions/{id}/photos", format!("/api/v1/campaigns/{key}/sessions/{sid}/photos")),
        ],
        A::SessionCreate => {
            let report = json!({ "unit": place.unit(), "date": "2022-11-21", "headcount": 12, "topics": ["theme"] });
            let mut a = vec![at(Method::POST, "/api/v1/campaigns/{key}/sessions", format!("/api/v1/campaigns/{key}/sessions"), json(report), Away::Invalid)];
            if outside {
                // At home, but naming the other place's lecturer, or reusing its session's id.
                for report in [
                    json!({ "unit": home.unit(), "date": "2022-11-21", "headcount": 12, "topics": ["theme"], "lecturers": [place.lecturer()] }),
                    json!({ "ext_id": place.session(), "unit": home.unit(), "date": "2022-11-21", "headcount": 12, "topics": ["theme"] }),
                ] {
                    a.push(at(Method::POST, "/api/v1/campaigns/{key}/sessions", format!("/api/v1/campaigns/{key}/sessions"), json(report), Away::Invalid));
                }
            }
            a
        }
        A::SessionPlan => {
            let plan = json!({ "units": [place.unit()], "lecturer": Place::Daoli.lecturer(), "from": "2022-11-22", "to": "2022-11-23", "topics": ["theme"] });
            vec![at(Method::POST, "/api/v1/campaigns/{key}/plan", format!("/api/v1/campaigns/{key}/plan"), json(plan), Away::Invalid)]
        }
        A::SessionUpdate => {
            let report = json!({ "unit": place.unit(), "date": "2022-11-21", "headcount": 13, "topics": ["theme"] });
            vec![at(Method::PUT, "/api/v1/campaigns/{key}/sessions/{id}", format!("/api/v1/campaigns/{key}/sessions/{sid}"), json(report), Away::NotFound)]
        }
        A::SessionAttachPhotos => {
            // A photo of the party's own to attach, if it may upload one.
            let photo = match who.account() {
                Some(a) if Action::PhotoCreate.allows(who.party()) => w.photo(a).await,
                _ => w.photos[&format!("{home:?}")],
            };
            vec![at(Method::POST, "/api/v1/campaigns/{key}/sessions/{id}/photos", format!("/api/v1/campaigns/{key}/sessions/{sid}/photos"), json(json!({ "photos": [photo] })), Away::NotFound)]
        }
        A::SessionImport => {
            let mut files = vec![format!("unit,date,topics,headcount\n{},2022-11-24,theme,14\n", place.unit())];
            if outside {
                files.push(format!("id,unit,date,topics,headcount\n{},{},2022-11-24,theme,14\n", place.session(), home.unit()));
                files.push(format!("unit,date,topics,headcount,lecturers\n{},2022-11-24,theme,14,{}\n", home.unit(), place.lecturer()));
            }
            files.into_iter().map(|csv| at(Method::POST, "/api/v1/imports/{kind}", format!("/api/v1/imports/sessions?campaign={key}"), Body::Csv(csv), Away::Invalid)).collect()
        }
        A::SessionExport => vec![get("/api/v1/campaigns/{key}/sessions", format!("/api/v1/campaigns/{key}/sessions?format=csv&{}", under("under")))],
        A::RequestList => match side {
            Side::Inside => vec![get("/api/v1/requests", "/api/v1/requests")],
            Side::Outside => Vec::new(),
        },
        A::RequestRead | A::RequestSuggest => {
            // A lecturer's own requests are those assigned to it.
            let id = if reach == Reach::Own { w.request(place, "assigned").await } else { w.request(place, "requested").await };
            if action == A::RequestRead {
                vec![get("/api/v1/requests/{id}", format!("/api/v1/requests/{id}"))]
            } else {
                vec![get("/api/v1/requests/{id}/suggestions", format!("/api/v1/requests/{id}/suggestions"))]
            }
        }
        A::RequestWork => match side {
            Side::Inside => vec![get("/api/v1/my", format!("/api/v1/my?campaign={key}"))],
            Side::Outside => Vec::new(),
        },
        A::RequestCreate => {
            let body = json!({ "unit": place.unit(), "topics": ["theme"], "window_from": "2022-11-20", "window_to": "2022-11-30", "headcount": 20 });
            vec![at(Method::POST, "/api/v1/campaigns/{key}/requests", format!("/api/v1/campaigns/{key}/requests"), json(body), Away::Invalid)]
        }
        A::RequestReview | A::RequestReject | A::RequestAssign | A::RequestOpen | A::RequestClaim | A::RequestAccept | A::RequestDecline | A::RequestReport | A::RequestRate | A::RequestCancel => {
            let (state, body) = match action {
                A::RequestReview => ("requested", json!({ "step": "review" })),
                A::RequestReject => ("requested", json!({ "step": "reject", "text": "不需要" })),
                A::RequestAssign => ("reviewed", json!({ "step": "assign", "lecturer": place.lecturer() })),
                A::RequestOpen => ("reviewed", json!({ "step": "open" })),
                A::RequestClaim => ("open", json!({ "step": "claim" })),
                A::RequestAccept => ("assigned", json!({ "step": "accept" })),
                A::RequestDecline => ("assigned", json!({ "step": "decline", "text": "有事" })),
                A::RequestReport => ("accepted", json!({ "step": "report", "report": { "date": "2022-11-25", "headcount": 31, "topics": ["theme"] } })),
                A::RequestRate => ("held", json!({ "step": "rate", "rating": 5, "text": "好" })),
                _ => (if reach == Reach::Own { "assigned" } else { "requested" }, json!({ "step": "cancel", "text": "取消" })),
            };
            let id = w.request(place, state).await;
            let mut a = vec![at(Method::POST, "/api/v1/requests/{id}/steps", format!("/api/v1/requests/{id}/steps"), json(body), Away::NotFound)];
            if action == A::RequestAssign && outside {
                // A request at home, given to the other place's lecturer.
                let id = w.request(home, state).await;
                a.push(at(Method::POST, "/api/v1/requests/{id}/steps", format!("/api/v1/requests/{id}/steps"), json(json!({ "step": "assign", "lecturer": place.lecturer() })), Away::Invalid));
            }
            a
        }
        A::PhotoRead => {
            let id = match (reach, side) {
                (Reach::Public, Side::Inside) => w.published_photo,
                (Reach::Public, Side::Outside) => w.draft_photo,
                _ => w.photos[&format!("{place:?}")],
            };
            vec![get("/photos/{id}", format!("/photos/{id}"))]
        }
        A::PhotoCreate => match side {
            Side::Inside => vec![at(Method::POST, "/api/v1/photos", "/api/v1/photos", Body::Png, Away::NotFound)],
            Side::Outside => Vec::new(),
        },
        A::BulletinList => match side {
            Side::Inside => vec![get("/api/v1/bulletins", "/api/v1/bulletins")],
            Side::Outside => Vec::new(),
        },
        A::BulletinRead => {
            let id = match (reach, side) {
                (Reach::Scope, _) => w.drafts.get(&format!("{place:?}")).copied().unwrap_or(w.published),
                (_, Side::Inside) => w.published,
                (_, Side::Outside) => w.drafts[&format!("{:?}", Place::Daoli)],
            };
            vec![get("/api/v1/bulletins/{id}", format!("/api/v1/bulletins/{id}"))]
        }
        A::BulletinCreate => {
            let body = json!({ "title": fresh("通报"), "body": "内容", "sessions": [sid] });
            vec![at(Method::POST, "/api/v1/bulletins", "/api/v1/bulletins", json(body), Away::Invalid)]
        }
        A::BulletinUpdate | A::BulletinPublish => {
            // A unit's place has no bulletins of its own: its party gets Daoli's.
            let draft_place = if w.drafts.contains_key(&format!("{place:?}")) { place } else { Place::Daoli };
            let id = w.draft(draft_place).await;
            if action == A::BulletinUpdate {
                vec![at(Method::PUT, "/api/v1/bulletins/{id}", format!("/api/v1/bulletins/{id}"), json(json!({ "title": fresh("改"), "body": "改" })), Away::NotFound)]
            } else {
                vec![at(Method::POST, "/api/v1/bulletins/{id}/publish", format!("/api/v1/bulletins/{id}/publish"), json(json!({})), Away::NotFound)]
            }
        }
        A::MeetingList if !outside => vec![get("/api/v1/meetings", "/api/v1/meetings")],
        A::MeetingRead if !outside => vec![get("/api/v1/meetings/{id}", format!("/api/v1/meetings/{}", w.meeting))],
        A::MeetingCreate if !outside => {
            let body = json!({ "title": fresh("会议"), "main_hall": "23", "branches": "units", "units": [place.unit()] });
            vec![at(Method::POST, "/api/v1/meetings", "/api/v1/meetings", json(body), Away::Invalid)]
        }
        A::MeetingClose if !outside => {
            let id = w.meeting().await;
            vec![at(Method::POST, "/api/v1/meetings/{id}/close", format!("/api/v1/meetings/{id}/close"), json(json!({})), Away::NotFound)]
        }
        A::MeetingList | A::MeetingRead | A::MeetingCreate | A::MeetingClose => Vec::new(),
        // Only join links take these: see `join_links_are_parties_of_their_own`.
        A::MeetingChair | A::VenueJoin | A::VenueSignIn | A::VenueHand => Vec::new(),
        A::NotificationList => match side {
            Side::Inside => vec![get("/api/v1/notifications", "/api/v1/notifications")],
            Side::Outside => Vec::new(),
        },
        A::NotificationUpdate => {
            let own = who.account().and_then(|a| w.notifications.get(a).copied());
            let other = w.notifications.iter().find(|(name, _)| Some(**name) != who.account()).map(|(_, id)| *id);
            match (side, own) {
                (Side::Inside, Some(id)) => vec![
                    at(Method::POST, "/api/v1/notifications/{id}/read", format!("/api/v1/notifications/{id}/read"), json(json!({})), Away::NotFound),
                    at(Method::POST, "/api/v1/notifications/read-all", "/api/v1/notifications/read-all", json(json!({})), Away::NotFound),
                ],
                (Side::Inside, None) => vec![at(Method::POST, "/api/v1/notifications/read-all", "/api/v1/notifications/read-all", json(json!({})), Away::NotFound)],
                (Side::Outside, _) => {
                    let id = other.expect("another account's notification");
                    vec![at(Method::POST, "/api/v1/notifications/{id}/read", format!("/api/v1/notifications/{id}/read"), json(json!({})), Away::NotFound)]
                }
            }
        }
        A::AccountRead if !outside => vec![get("/api/v1/me", "/api/v1/me")],
        A::AccountRead => Vec::new(),
        A::CampaignList if !outside => vec![get("/api/v1/campaigns", "/api/v1/campaigns")],
        A::CampaignRead if !outside => vec![get("/api/v1/campaigns/{key}", format!("/api/v1/campaigns/{key}"))],
        A::CampaignUpdate if !outside => {
            let spec = w.office().get(&format!("/api/v1/campaigns/{key}")).await.1;
            vec![at(Method::PUT, "/api/v1/campaigns/{key}", format!("/api/v1/campaigns/{key}"), json(spec), Away::NotFound)]
        }
        A::CampaignList | A::CampaignRead | A::CampaignUpdate => Vec::new(),
    }
}

/// What the table says an attempt must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
    SignIn,
    Away(Away),
}

fn expect(action: Action, who: Who, side: Side, away: Away) -> Expect {
    match (action.reach(who.party()), side) {
        (Reach::No, _) if who == Who::Public => Expect::SignIn,
        (Reach::No, _) => Expect::Forbidden,
        (_, Side::Inside) => Expect::Allowed,
        (_, Side::Outside) => Expect::Away(away),
    }
}

fn statuses(e: Expect) -> &'static [u16] {
    match e {
        Expect::Allowed => &[200],
        Expect::Forbidden => &[403],
        Expect::SignIn => &[401],
        Expect::Away(Away::NotFound) => &[404],
        Expect::Away(Away::Invalid) => &[422],
    }
}

/// Everything the database holds, as one digest per table: compared before and after
/// each refused attempt.
async fn fingerprint(url: &str) -> BTreeMap<String, String> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || fingerprint_now(&url)).await.expect("the fingerprint is taken")
}

fn fingerprint_now(url: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let tables: Vec<String> = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        for t in tables {
            let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let n = st.column_count();
            // Rows in their stored order (by rowid, or by key without one), each value's
            // bytes folded into one digest.
            let (mut rows, mut h) = (0u64, Fnv::default());
            let mut q = st.query([]).unwrap();
            while let Some(r) = q.next().unwrap() {
                rows += 1;
                for i in 0..n {
                    match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => h.add(b"\0null"),
                        rusqlite::types::ValueRef::Integer(v) => h.add(&v.to_le_bytes()),
                        rusqlite::types::ValueRef::Real(v) => h.add(&v.to_bits().to_le_bytes()),
                        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => h.add(b),
                    }
                    h.add(b"\x1f");
                }
            }
            out.insert(t, format!("{rows}:{:x}", h.0));
        }
    } else {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let tables: Vec<String> = c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", &[]).unwrap().iter().map(|r| r.get(0)).collect();
        for t in tables {
            let r = c.query_one(&format!("SELECT COUNT(*), COALESCE(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM \"{t}\" x"), &[]).unwrap();
            let (n, md5): (i64, String) = (r.get(0), r.get(1));
            out.insert(t, format!("{n}:{md5}"));
        }
    }
    out
}

/// FNV-1a: enough to tell a changed table from an unchanged one.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

async fn send(w: &World, who: Who, a: &Attempt) -> (u16, String) {
    let c = match who.account() {
        Some(name) => w.client(name),
        None => &w.anon,
    };
    let mut r = c.http.request(a.method.clone(), format!("{}{}", w.s.base, a.path));
    if let Some(t) = &c.csrf {
        r = r.header("x-csrf-token", t);
    }
    r = match &a.body {
        Body::None => r,
        Body::Json(v) => r.json(v),
        Body::Csv(t) => r.header("content-type", "text/csv").body(t.clone()),
        Body::Png => r.header("content-type", "image/png").body(PNG.to_vec()),
    };
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_party_may_do_what_the_table_allows_and_nothing_else() {
    // No background notifier: the database changes by the attempts alone.
    each_backend_with(&Setup { notifier: false, ..Setup::default() }, |s| async move {
        let w = world(s.clone()).await;
        let mut covered: BTreeSet<(String, &'static str)> = BTreeSet::new();
        let mut failures = Vec::new();
        let mut summary: BTreeMap<(String, String), String> = BTreeMap::new();
        let mut attempts = 0;
        for &action in Action::ALL {
            for who in Who::ALL {
                for side in [Side::Inside, Side::Outside] {
                    for a in probes(&w, action, who, side).await {
                        covered.insert((a.method.to_string(), a.route));
                        let want = expect(action, who, side, a.away);
                        let before = if want == Expect::Allowed { None } else { Some(fingerprint(&s.url).await) };
                        let (status, body) = send(&w, who, &a).await;
                        attempts += 1;
                        let mark = summary.entry((format!("{:?}/{:?} {action:?}", action.kind(), action.verb()), format!("{who:?}"))).or_default();
                        mark.push(match side {
                            Side::Inside => if status == 200 { '✓' } else { '·' },
                            Side::Outside => if status == 200 { '!' } else { '·' },
                        });
                        if !statuses(want).contains(&status) {
                            failures.push(format!("{action:?} by {who:?} {side:?}: {} {} gave {status}, the table wants {want:?}: {}", a.method, a.path, &body[..body.len().min(300)]));
                            continue;
                        }
                        if let Some(before) = before {
                            let after = fingerprint(&s.url).await;
                            if after != before {
                                let changed: Vec<&String> = after.keys().filter(|t| before.get(*t) != after.get(*t)).collect();
                                failures.push(format!("{action:?} by {who:?} {side:?} was refused ({status}) but changed {changed:?}"));
                            }
                        }
                    }
                }
            }
        }
        // Every operation of the API is in the matrix.
        let doc = w.anon.get("/api/v1/openapi.json").await.1;
        let mut missing = Vec::new();
        for (route, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                let unguarded = ["/api/v1/signin", "/api/v1/openapi.json"].contains(&route.as_str());
                if !unguarded && !covered.contains(&(method.to_uppercase(), route.as_str())) {
                    missing.push(format!("{} {route}", method.to_uppercase()));
                }
            }
        }
        assert!(missing.is_empty(), "API operations no probe reaches (add their actions to the table and their probes here): {missing:?}");
        eprintln!("{} backend: {attempts} attempts; ✓ allowed inside, · refused, ! allowed outside", s.backend);
        for ((action, who), marks) in &summary {
            eprintln!("  {action:<45} {who:<11} {marks}");
        }
        assert!(failures.is_empty(), "{} of {attempts} attempts broke the table on {}:\n{}", failures.len(), s.backend, failures.join("\n"));
    })
    .await;
}

/// Every kind × verb the table has no action for is no operation at all: its
/// conventional route is refused for every account, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn what_the_table_does_not_name_cannot_be_done() {
    each_backend_with(&Setup { notifier: false, ..Setup::default() }, |s| async move {
        let names = ["office", "daoli", "lecturer", "contact", "supervisor"];
        let mut clients = Vec::new();
        for n in names {
            clients.push(Client::signed_in(&s, n).await);
        }
        let route = |kind: Kind| match kind {
            Kind::Division => Some(("/api/v1/regions", "/api/v1/regions/230102")),
            Kind::Unit => Some(("/api/v1/units", "/api/v1/units/E230102")),
            Kind::Lecturer => Some(("/api/v1/lecturers", "/api/v1/lecturers/l-daoli")),
            Kind::Session => Some(("/api/v1/campaigns/cpc20/sessions", "/api/v1/campaigns/cpc20/sessions/1")),
            Kind::Request => Some(("/api/v1/requests", "/api/v1/requests/1")),
            Kind::Bulletin => Some(("/api/v1/bulletins", "/api/v1/bulletins/1")),
            Kind::Meeting => Some(("/api/v1/meetings", "/api/v1/meetings/1")),
            Kind::Notification => Some(("/api/v1/notifications", "/api/v1/notifications/1")),
            Kind::Campaign => Some(("/api/v1/campaigns", "/api/v1/campaigns/cpc20")),
            Kind::Account => Some(("/api/v1/me", "/api/v1/me")),
            Kind::Photo => Some(("/api/v1/photos", "/photos/1")),
            Kind::Report | Kind::Group | Kind::Venue => None,
        };
        let mut tried = 0;
        for kind in Kind::ALL {
            for verb in Verb::ALL {
                if Action::ALL.iter().any(|a| a.kind() == kind && a.verb() == verb) {
                    continue;
                }
                let Some((collection, item)) = route(kind) else { continue };
                let (method, path) = match verb {
                    Verb::Delete => (Method::DELETE, item),
                    Verb::Update => (Method::PUT, item),
                    Verb::Create => (Method::POST, collection),
                    Verb::Read | Verb::List | Verb::Import | Verb::Export => continue,
                };
                for c in &clients {
                    let before = fingerprint(&s.url).await;
                    let r = c.http.request(method.clone(), format!("{}{path}", s.base)).header("x-csrf-token", c.csrf.clone().unwrap()).json(&json!({})).send().await.unwrap();
                    assert!([404, 405].contains(&r.status().as_u16()), "{kind:?} {verb:?}: {method} {path} gave {}", r.status());
                    assert_eq!(fingerprint(&s.url).await, before, "{method} {path} changed nothing");
                    tried += 1;
                }
            }
        }
        assert!(tried > 20, "the kinds and verbs with no action were tried ({tried})");
    })
    .await;
}

/// A join link is a credential of its own: a venue's opens its venue of an open meeting
/// (to join, sign in and raise its hand), the chair's also chairs and closes; neither
/// opens a closed meeting, and a venue's link cannot chair.
#[tokio::test(flavor = "multi_thread")]
async fn join_links_are_parties_of_their_own() {
    each_backend_with(&Setup { notifier: false, ..Setup::default() }, |s| async move {
        let office = Client::signed_in(&s, "office").await;
        let body = json!({ "title": "链接", "main_hall": "23", "branches": "units", "units": ["230102001001", "230102001002"] });
        let (status, m) = office.post("/api/v1/meetings", &body).await;
        assert_eq!(status, 200, "{m}");
        let id = m["id"].as_i64().unwrap();
        let chair = m["chair_token"].as_str().unwrap().to_owned();
        let branch = m["venues"][1]["token"].as_str().unwrap().to_owned();
        let anon = Client::anonymous(&s);
        for (party, token) in [(Party::Venue, &branch), (Party::Chair, &chair)] {
            assert!(Action::VenueJoin.allows(party));
            assert_eq!(anon.page(&format!("/m/{token}")).await.0, 200, "{party} joins");
        }
        let ws = |token: String| {
            let url = format!("{}/m/{token}/ws", s.base.replacen("http://", "ws://", 1));
            async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the socket opens");
                let first = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a welcome").unwrap().unwrap();
                assert!(first.to_text().unwrap().contains("welcome"));
                ws
            }
        };
        let meeting = || async { office.get(&format!("/api/v1/meetings/{id}")).await.1 };
        // A branch signs its own venue in; its sign-in is kept.
        assert_eq!(Action::VenueSignIn.reach(Party::Venue), Reach::Own);
        let mut b = ws(branch.clone()).await;
        b.send(Message::Text(json!({ "type": "sign_in", "headcount": 33 }).to_string().into())).await.unwrap();
        let mut signed = false;
        for _ in 0..100 {
            if meeting().await["venues"].as_array().unwrap().iter().any(|v| v["headcount"] == 33 && v["signed_in"].is_i64()) {
                signed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(signed, "the venue's sign-in is kept");
        // A branch's link may not close the meeting (nor chair it).
        assert!(!Action::MeetingClose.allows(Party::Venue) && !Action::MeetingChair.allows(Party::Venue));
        let before = fingerprint(&s.url).await;
        b.send(Message::Text(json!({ "type": "close" }).to_string().into())).await.unwrap();
        b.send(Message::Text(json!({ "type": "command", "command": { "command": "mute_branches" } }).to_string().into())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(meeting().await["state"], "open", "a branch cannot close the meeting");
        assert_eq!(fingerprint(&s.url).await, before, "a branch's refused close changed nothing");
        // The chair's link closes it; then no link opens it any more.
        assert_eq!(Action::MeetingClose.reach(Party::Chair), Reach::Own);
        let mut c = ws(chair.clone()).await;
        c.send(Message::Text(json!({ "type": "close" }).to_string().into())).await.unwrap();
        let mut closed = false;
        for _ in 0..100 {
            if meeting().await["state"] == "closed" {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(closed, "the chair closes the meeting");
        for token in [&branch, &chair] {
            assert_eq!(anon.page(&format!("/m/{token}")).await.0, 404, "a closed meeting's link opens nothing");
        }
        assert_eq!(anon.page(&format!("/m/{}", "0".repeat(64))).await.0, 404);
        drop((b, c));
    })
    .await;
}
