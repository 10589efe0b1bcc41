//! Bulletins and photos against the real server, on each backend: a draft with a photo
//! and a linked session stays private until published, then shows in the public list,
//! page and Atom feed without sign-in; photos are checked by content and size and
//! served with their type to whom may see them; coordinators write within their scope.

mod common;

use std::str::FromStr;

use common::{Client, Server, each_backend};
use serde_json::{Value, json};

/// A valid PNG of `w`×`h` red pixels, made here: signature, IHDR, one stored
/// (uncompressed) zlib block of scanlines, IEND.
fn png(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // Each scanline: filter type 0 (none), then the pixels.
    let line: Vec<u8> = std::iter::once(0).chain([200, 30, 30].repeat(w as usize)).collect();
    let raw = line.repeat(h as usize);
    let (mut a, mut b) = (1u32, 0u32);
    for x in &raw {
        a = (a + u32::from(*x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    zlib.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// POSTs raw bytes as a photo upload.
async fn upload(c: &Client, bytes: Vec<u8>, content_type: &str) -> (u16, Value) {
    let mut r = c.http.post(format!("{}/api/v1/photos", c.base)).header("content-type", content_type).body(bytes);
    if let Some(t) = &c.csrf {
        r = r.header("X-CSRF-Token", t);
    }
    if let Some(t) = &c.bearer {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn photo_id(c: &Client) -> i64 {
    let (status, body) = upload(c, png(2, 2), "image/png").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["content_type"], "image/png");
    body["id"].as_i64().unwrap()
}

/// POSTs a multipart form as the browser's bulletin form does: the form token in the
/// action's query. Status, Location and text.
async fn submit_form(c: &Client, path: &str, form: reqwest::multipart::Form) -> (u16, String, String) {
    let url = format!("{}{path}?_csrf={}", c.base, c.csrf.as_deref().unwrap_or(""));
    let r = c.http.post(url).multipart(form).send().await.expect("request");
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, location, r.text().await.unwrap_or_default())
}

fn file(name: &str, bytes: Vec<u8>, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime).unwrap()
}

/// The id of the seeded session at `unit`.
async fn session_at(s: &Server, unit: &str) -> i64 {
    let office = Client::signed_in(s, "office").await;
    let all = office.get("/api/v1/campaigns/cpc20/sessions").await.1;
    all["items"].as_array().unwrap().iter().find(|i| i["unit"] == unit).unwrap_or_else(|| panic!("a session at {unit}: {all}"))["id"].as_i64().unwrap()
}

/// A page's text with minijinja's escaped slashes put back, to search it plainly
/// (`<`, `>` and `&` stay escaped).
async fn page_text(c: &Client, path: &str) -> (u16, String) {
    let (status, text) = c.page(path).await;
    (status, text.replace("&#x2f;", "/"))
}

fn atom(xml: &str) -> atom_syndication::Feed {
    atom_syndication::Feed::from_str(xml).unwrap_or_else(|e| panic!("the feed is Atom: {e}\n{xml}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_private_until_published_then_public_everywhere() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let anon = Client::anonymous(&s);
        let photo = photo_id(&office).await;
        let session = session_at(&s, "230102001001").await;
        let draft = json!({
            "title": "道里区宣讲 <b>简报</b>",
            "body": "第一段，\n第一段第二行。\n\n第二段 <script>alert(1)</script>",
            "campaign": "cpc20",
            "sessions": [session],
            "photos": [photo],
        });
        let (status, b) = office.post("/api/v1/bulletins", &draft).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(b["status"], "draft");
        assert_eq!(b["editable"], true);
        assert_eq!(b["author"], "office");
        let id = b["id"].as_i64().unwrap();

        // The public sees nothing of it: not by id, page, list, feed or photo.
        let (status, body) = anon.get(&format!("/api/v1/bulletins/{id}")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(anon.page(&format!("/bulletins/{id}")).await.0, 404);
        assert_eq!(anon.get("/api/v1/bulletins").await.1["total"], 0);
        assert_eq!(anon.get("/api/v1/bulletins?status=draft").await.1["total"], 0);
        let (status, list) = anon.page("/bulletins").await;
        assert_eq!(status, 200);
        assert!(!list.contains("道里区宣讲"), "{list}");
        assert!(atom(&anon.page("/bulletins.atom").await.1).entries().is_empty());
        assert_eq!(anon.bytes(&format!("/photos/{photo}")).await.0, 404);
        // Nor does a coordinator outside the office's scope, or a supervisor.
        for name in ["daoli", "supervisor"] {
            let c = Client::signed_in(&s, name).await;
            assert_eq!(c.get(&format!("/api/v1/bulletins/{id}")).await.0, 404, "{name}");
            assert_eq!(c.page(&format!("/bulletins/{id}")).await.0, 404, "{name}");
        }
        // Its author previews it and finds it among the drafts.
        let (status, preview) = page_text(&office, &format!("/bulletins/{id}")).await;
        assert_eq!(status, 200);
        assert!(preview.contains("id=\"draft-note\"") && preview.contains("id=\"publish\""), "{preview}");
        let (status, drafts) = page_text(&office, "/bulletins/drafts").await;
        assert_eq!(status, 200);
        assert!(drafts.contains(&format!("href=\"/bulletins/{id}\"")), "{drafts}");

        let (status, b) = office.post(&format!("/api/v1/bulletins/{id}/publish"), &json!({})).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(b["status"], "published");
        let published = b["published"].as_i64().unwrap();
        // Publishing again changes nothing.
        assert_eq!(office.post(&format!("/api/v1/bulletins/{id}/publish"), &json!({})).await.1["published"], published);

        // Now anyone reads it, without sign-in.
        let (status, b) = anon.get(&format!("/api/v1/bulletins/{id}")).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(b["author"], Value::Null, "account names are not public");
        assert_eq!(b["editable"], false);
        assert_eq!(b["photos"], json!([photo]));
        assert_eq!(b["sessions"][0]["date"], "2022-11-10");
        assert_eq!(b["sessions"][0]["headcount"], 40);
        let list = anon.get("/api/v1/bulletins").await.1;
        assert_eq!((list["total"].as_i64(), list["items"][0]["id"].as_i64()), (Some(1), Some(id)), "{list}");

        let (status, page) = page_text(&anon, &format!("/bulletins/{id}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("道里区宣讲 &lt;b&gt;简报&lt;/b&gt;"), "the title is escaped: {page}");
        assert!(page.contains("<p>第一段，<br>第一段第二行。</p>"), "paragraphs and lines: {page}");
        assert!(page.contains("第二段 &lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains("<script>"), "the text is escaped: {page}");
        assert!(page.contains(&format!("src=\"/photos/{photo}\"")), "{page}");
        let unit_name = office.get("/api/v1/units/230102001001").await.1["name"].as_str().unwrap().to_owned();
        assert!(page.contains(&unit_name) && page.contains("2022-11-10") && page.contains("40 人"), "the session: {page}");
        assert!(!page.contains("id=\"publish\"") && !page.contains("id=\"me\"") && !page.contains("/signout"), "no author's or account's controls: {page}");
        let (status, list) = page_text(&anon, "/bulletins").await;
        assert_eq!(status, 200);
        assert!(list.contains(&format!("href=\"/bulletins/{id}\"")) && list.contains("&lt;b&gt;"), "{list}");

        let (status, content_type, bytes) = anon.bytes(&format!("/photos/{photo}")).await;
        assert_eq!((status, content_type.as_str()), (200, "image/png"));
        assert_eq!(bytes, png(2, 2));

        let r = anon.http.get(format!("{}/bulletins.atom", s.base)).send().await.unwrap();
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/atom+xml"));
        let feed = atom(&r.text().await.unwrap());
        assert_eq!(feed.entries().len(), 1);
        let entry = &feed.entries()[0];
        assert_eq!(entry.title().as_str(), "道里区宣讲 <b>简报</b>");
        assert_eq!(entry.links()[0].href(), format!("{}/bulletins/{id}", s.base));
        assert_eq!(entry.published().map(|p| p.timestamp()), Some(published));
        assert!(entry.content().and_then(|c| c.value()).is_some_and(|v| v.contains("<script>alert(1)</script>")), "text content, escaped by the XML");
        assert!(feed.links().iter().any(|l| l.rel() == "self" && l.href() == format!("{}/bulletins.atom", s.base)));

        // Paging, newest first: two more bulletins, one page of one at a time.
        for title in ["第二期", "第三期"] {
            let (_, b) = office.post("/api/v1/bulletins", &json!({ "title": title, "body": "正文" })).await;
            let (status, _) = office.post(&format!("/api/v1/bulletins/{}/publish", b["id"]), &json!({})).await;
            assert_eq!(status, 200);
        }
        let page2 = anon.get("/api/v1/bulletins?per_page=1&page=2").await.1;
        assert_eq!(page2["total"], 3);
        assert_eq!(page2["items"].as_array().unwrap().len(), 1);
        let all = anon.get("/api/v1/bulletins").await.1;
        let ids: Vec<i64> = all["items"].as_array().unwrap().iter().map(|b| b["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.last(), Some(&id), "the first published comes last: {all}");
        assert_eq!(atom(&anon.page("/bulletins.atom").await.1).entries().len(), 3);

        // The API and its document.
        let doc = anon.get("/api/v1/openapi.json").await.1;
        for path in ["/api/v1/bulletins", "/api/v1/bulletins/{id}", "/api/v1/bulletins/{id}/publish", "/api/v1/photos"] {
            assert!(doc["paths"][path].is_object(), "{path} in the OpenAPI document");
        }
        let mut refs = Vec::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            if path.starts_with("/api/v1/bulletins") || path.contains("photos") {
                collect_refs(ops, &mut refs);
            }
        }
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
            assert!(doc["components"]["schemas"][name].is_object(), "{r} is described");
        }
        assert!(doc["components"]["schemas"]["BulletinView"]["properties"]["sessions"].is_object());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_photos_of_the_right_kind_and_size_are_stored() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let refused = |body: &Value, says: &str| {
            assert_eq!(body["field"], "photo", "{body}");
            let m = body["message"].as_str().unwrap();
            assert!(m.contains(says), "{m:?} should say {says:?}");
        };
        let (status, body) = upload(&office, b"just some notes\n".to_vec(), "image/png").await;
        assert_eq!(status, 422, "a declared type does not make a photo: {body}");
        refused(&body, "the file is text, not a photo: upload a JPEG, PNG or WebP image");
        let (status, body) = upload(&office, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), "application/octet-stream").await;
        assert_eq!(status, 422);
        refused(&body, "application/pdf");
        let mut big = png(1, 1);
        big.resize(store::MAX_PHOTO_BYTES + 1, 0);
        let (status, body) = upload(&office, big, "image/png").await;
        assert_eq!(status, 422);
        refused(&body, "5 MB");
        let (status, body) = upload(&office, Vec::new(), "image/png").await;
        assert_eq!(status, 422);
        refused(&body, "empty");

        // Multipart, as a browser sends a file.
        let send = |part: reqwest::multipart::Part| {
            let form = reqwest::multipart::Form::new().part("photo", part);
            office.http.post(format!("{}/api/v1/photos", s.base)).header("X-CSRF-Token", office.csrf.clone().unwrap()).multipart(form).send()
        };
        let r = send(file("notes.txt", b"hello".to_vec(), "text/plain")).await.unwrap();
        assert_eq!(r.status(), 422);
        refused(&r.json::<Value>().await.unwrap(), "text");
        let r = send(file("big.png", vec![0x89; store::MAX_PHOTO_BYTES + 10], "image/png")).await.unwrap();
        assert_eq!(r.status(), 422);
        refused(&r.json::<Value>().await.unwrap(), "5 MB");
        let r = send(file("red.png", png(3, 1), "application/octet-stream")).await.unwrap();
        assert_eq!(r.status(), 200);
        let mine: Value = r.json().await.unwrap();
        assert_eq!((mine["content_type"].as_str(), mine["size"].as_u64()), (Some("image/png"), Some(png(3, 1).len() as u64)));

        // An unattached photo is its uploader's only.
        let path = format!("/photos/{}", mine["id"]);
        let (status, content_type, _) = office.bytes(&path).await;
        assert_eq!((status, content_type.as_str()), (200, "image/png"));
        assert_eq!(Client::signed_in(&s, "harbin").await.bytes(&path).await.0, 404);
        assert_eq!(Client::anonymous(&s).bytes(&path).await.0, 404);
        assert_eq!(Client::anonymous(&s).bytes("/photos/999999").await.0, 404);
        assert_eq!(Client::anonymous(&s).bytes("/photos/x").await.0, 404);
        // Roles that neither report nor write do not upload; the public cannot.
        assert_eq!(upload(&Client::signed_in(&s, "supervisor").await, png(1, 1), "image/png").await.0, 403);
        assert_eq!(upload(&Client::anonymous(&s), png(1, 1), "image/png").await.0, 401);

        // The browser's form: a text file as a photo brings the form back with the
        // error at the photo field, and writes no bulletin.
        let form = reqwest::multipart::Form::new()
            .text("title", "带附件的简报")
            .text("body", "正文")
            .text("campaign", "cpc20")
            .text("sessions", "")
            .part("photo", file("notes.txt", b"not a picture".to_vec(), "image/jpeg"))
            .text("action", "publish");
        let (status, _, page) = submit_form(&office, "/bulletins/new", form).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("data-field=\"photo\"") && page.contains("the file is text, not a photo"), "{page}");
        assert!(page.contains("带附件的简报"), "what was typed is kept: {page}");
        assert_eq!(office.get("/api/v1/bulletins").await.1["total"], 0);
        // Without a form token, nothing at all.
        let mut stale = Client::signed_in(&s, "office").await;
        stale.csrf = Some("0".repeat(64));
        let (status, _, _) = submit_form(&stale, "/bulletins/new", reqwest::multipart::Form::new().text("title", "x")).await;
        assert_eq!(status, 403);

        // The same form with a real photo and a session: saved, published, public.
        let session = session_at(&s, "230102001001").await;
        let form = reqwest::multipart::Form::new()
            .text("title", "带附件的简报")
            .text("body", "第一段\r\n\r\n第二段")
            .text("campaign", "cpc20")
            .text("sessions", session.to_string())
            .part("photo", file("red.png", png(4, 4), "image/png"))
            .part("photo", file("", Vec::new(), "application/octet-stream"))
            .text("action", "publish");
        let (status, location, page) = submit_form(&office, "/bulletins/new", form).await;
        assert_eq!(status, 303, "{page}");
        let id: i64 = location.strip_prefix("/bulletins/").unwrap().parse().unwrap();
        let b = Client::anonymous(&s).get(&format!("/api/v1/bulletins/{id}")).await.1;
        assert_eq!(b["status"], "published", "{b}");
        assert_eq!(b["body"], "第一段\n\n第二段");
        assert_eq!(b["sessions"][0]["id"], session);
        let photo = b["photos"][0].as_i64().unwrap();
        assert_eq!(b["photos"].as_array().unwrap().len(), 1, "the empty file input adds nothing: {b}");
        let (status, content_type, bytes) = Client::anonymous(&s).bytes(&format!("/photos/{photo}")).await;
        assert_eq!((status, content_type.as_str(), bytes), (200, "image/png", png(4, 4)));

        // Editing keeps the photos left checked and adds new ones.
        let (status, edit) = page_text(&office, &format!("/bulletins/{id}/edit")).await;
        assert_eq!(status, 200);
        assert!(edit.contains(&format!("name=\"photos\" value=\"{photo}\" checked")), "{edit}");
        let form = reqwest::multipart::Form::new()
            .text("title", "带附件的简报（更新）")
            .text("body", "正文")
            .text("campaign", "cpc20")
            .text("sessions", "")
            .part("photo", file("two.png", png(5, 5), "image/png"))
            .text("action", "save");
        let (status, location, page) = submit_form(&office, &format!("/bulletins/{id}/edit"), form).await;
        assert_eq!((status, location.as_str()), (303, format!("/bulletins/{id}").as_str()), "{page}");
        let b = office.get(&format!("/api/v1/bulletins/{id}")).await.1;
        assert_eq!(b["title"], "带附件的简报（更新）");
        assert_eq!(b["photos"].as_array().unwrap().len(), 1, "the old photo was not kept: {b}");
        assert_ne!(b["photos"][0], photo);
        assert_eq!(b["sessions"], json!([]));
    })
    .await;
}

/// Every `$ref` under a JSON value.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => out.push(r.to_owned()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The ids of the drafts `c` lists.
async fn drafts(c: &Client) -> Vec<i64> {
    c.get("/api/v1/bulletins?status=draft").await.1["items"].as_array().unwrap().iter().map(|b| b["id"].as_i64().unwrap()).collect()
}

async fn attach(c: &Client, session: i64, photo: i64) -> (u16, Value) {
    c.post(&format!("/api/v1/campaigns/cpc20/sessions/{session}/photos"), &json!({ "photos": [photo] })).await
}

#[tokio::test(flavor = "multi_thread")]
async fn coordinators_write_bulletins_within_their_scope() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let daoli = Client::signed_in(&s, "daoli").await;
        let nangang = Client::signed_in(&s, "nangang").await;
        let harbin = Client::signed_in(&s, "harbin").await;
        let daoli_session = session_at(&s, "230102001001").await;
        let nangang_session = session_at(&s, "230103001001").await;

        // A session of another county cannot be linked.
        let (status, body) = daoli.post("/api/v1/bulletins", &json!({ "title": "道里", "body": "x", "sessions": [nangang_session] })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("sessions")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("outside your scope"), "{body}");
        let (status, body) = daoli.post("/api/v1/bulletins", &json!({ "title": " ", "body": "x" })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("title")), "{body}");
        let (status, body) = daoli.post("/api/v1/bulletins", &json!({ "title": "x", "campaign": "nope" })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("campaign")), "{body}");

        let (status, mine) = daoli.post("/api/v1/bulletins", &json!({ "title": "道里简报", "body": "", "campaign": "cpc20", "sessions": [daoli_session] })).await;
        assert_eq!(status, 200, "{mine}");
        assert_eq!(mine["scope"], "230102");
        let mine_id = mine["id"].as_i64().unwrap();
        // Nothing to read yet: not published.
        let (status, body) = daoli.post(&format!("/api/v1/bulletins/{mine_id}/publish"), &json!({})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("body")), "{body}");

        // The office's bulletin is not Daoli's to see, edit or publish, by API or page.
        let (_, theirs) = office.post("/api/v1/bulletins", &json!({ "title": "全省简报", "body": "正文" })).await;
        let theirs_id = theirs["id"].as_i64().unwrap();
        let (status, body) = daoli.put(&format!("/api/v1/bulletins/{theirs_id}"), &json!({ "title": "改了", "body": "x" })).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(daoli.post(&format!("/api/v1/bulletins/{theirs_id}/publish"), &json!({})).await.0, 404);
        assert_eq!(daoli.page(&format!("/bulletins/{theirs_id}/edit")).await.0, 404);
        let form = reqwest::multipart::Form::new().text("title", "改了").text("body", "x");
        assert_eq!(submit_form(&daoli, &format!("/bulletins/{theirs_id}/edit"), form).await.0, 404);
        // Once published, Daoli reads it like anyone, and still may not change it.
        office.post(&format!("/api/v1/bulletins/{theirs_id}/publish"), &json!({})).await;
        let (status, b) = daoli.get(&format!("/api/v1/bulletins/{theirs_id}")).await;
        assert_eq!((status, &b["editable"]), (200, &json!(false)), "{b}");
        assert_eq!(daoli.put(&format!("/api/v1/bulletins/{theirs_id}"), &json!({ "title": "改了" })).await.0, 404);
        assert_eq!(office.get(&format!("/api/v1/bulletins/{theirs_id}")).await.1["title"], "全省简报");

        // Daoli's draft: its own, its city's and the office's to see and edit; not
        // the neighbouring county's.
        assert_eq!(nangang.get(&format!("/api/v1/bulletins/{mine_id}")).await.0, 404);
        assert_eq!(nangang.put(&format!("/api/v1/bulletins/{mine_id}"), &json!({ "title": "x" })).await.0, 404);
        assert_eq!(drafts(&daoli).await, [mine_id]);
        assert_eq!(drafts(&nangang).await, Vec::<i64>::new());
        assert_eq!(drafts(&harbin).await, [mine_id]);
        assert_eq!(drafts(&office).await, [mine_id]);
        let (status, b) = harbin.put(&format!("/api/v1/bulletins/{mine_id}"), &json!({ "title": "道里简报（市里改）", "body": "正文", "campaign": "cpc20", "sessions": [daoli_session] })).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!((b["scope"].as_str(), b["author"].as_str()), (Some("230102"), Some("daoli")), "the draft stays Daoli's: {b}");

        // Those who do not write bulletins do not.
        for name in ["supervisor", "lecturer", "contact"] {
            let c = Client::signed_in(&s, name).await;
            let (status, body) = c.post("/api/v1/bulletins", &json!({ "title": "x", "body": "y" })).await;
            assert_eq!(status, 403, "{name}: {body}");
            assert_eq!(c.page("/bulletins/new").await.0, 403, "{name}");
        }
        assert_eq!(Client::anonymous(&s).post("/api/v1/bulletins", &json!({ "title": "x" })).await.0, 401);

        // Photos: another's unattached photo cannot be used; a photo attached to a
        // session is seen by whoever sees the session.
        let office_photo = photo_id(&office).await;
        let (status, body) = daoli.put(&format!("/api/v1/bulletins/{mine_id}"), &json!({ "title": "x", "photos": [office_photo] })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("photos")), "{body}");
        let daoli_photo = photo_id(&daoli).await;
        assert_eq!(attach(&daoli, nangang_session, daoli_photo).await.0, 404);
        let (status, body) = attach(&daoli, daoli_session, daoli_photo).await;
        assert_eq!((status, &body["photos"]), (200, &json!([daoli_photo])), "{body}");
        assert_eq!(attach(&daoli, daoli_session, daoli_photo).await.1["photos"], json!([daoli_photo]), "attached once");
        let path = format!("/photos/{daoli_photo}");
        assert_eq!(harbin.bytes(&path).await.0, 200);
        assert_eq!(office.bytes(&path).await.0, 200);
        assert_eq!(nangang.bytes(&path).await.0, 404);
        assert_eq!(Client::anonymous(&s).bytes(&path).await.0, 404);
        assert_eq!(nangang.get(&format!("/api/v1/campaigns/cpc20/sessions/{daoli_session}/photos")).await.0, 404);
        // Harbin sees the photo through the session, so it may use it in a bulletin.
        let (status, b) = harbin.post("/api/v1/bulletins", &json!({ "title": "哈尔滨", "body": "x", "photos": [daoli_photo] })).await;
        assert_eq!(status, 200, "{b}");
    })
    .await;
}
