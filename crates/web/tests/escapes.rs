//! The scope escapes of the trust issue, through the real API on both backends: a
//! coordinator who imports (or writes) rows reusing another region's keys takes over
//! nothing, learns nothing of what lies there, and leaves it as it was.

mod common;

use common::{Client, each_backend};
use serde_json::{Value, json};

/// What the office sees of an object: compared before and after each attempt.
async fn seen(office: &Client, path: &str) -> Value {
    let (status, body) = office.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The one row error of a refused import.
fn refused_row(status: u16, body: &Value) -> (&str, &str) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(1), "{body}");
    (body["rows"][0]["field"].as_str().unwrap_or(""), body["rows"][0]["message"].as_str().unwrap_or(""))
}

/// A message that tells nothing of an object elsewhere beyond the key the user gave:
/// not that it exists, not where.
fn tells_nothing(message: &str, key: &str, elsewhere: &[&str]) {
    let message = message.replace(key, "KEY");
    for word in ["exist", "already", "outside", "scope"].iter().chain(elsewhere) {
        assert!(!message.contains(word), "{message:?} hints at {word:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_another_regions_keys_takes_over_nothing() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let harbin = Client::signed_in(&s, "harbin").await;
        let daoli = Client::signed_in(&s, "daoli").await;

        // A unit of Qiqihar, taken by Harbin's coordinator into Daoli.
        let before = seen(&office, "/api/v1/units/H230202").await;
        let (status, body) = harbin.post_csv("/api/v1/imports/units", "code,name,kind,division\nH230202,X,agency,230102\n").await;
        let (field, message) = refused_row(status, &body);
        assert_eq!((field, message), ("code", "\"H230202\" is not available: choose another"));
        tells_nothing(message, "H230202", &["230202", "龙沙", "hospital"]);
        assert_eq!(seen(&office, "/api/v1/units/H230202").await, before);
        // A code nobody has is Harbin's to add.
        let (status, body) = harbin.post_csv("/api/v1/imports/units", "code,name,kind,division\nH230102-new,新医院,hospital,230102\n").await;
        assert_eq!((status, body["added"].as_u64()), (200, Some(1)), "{body}");

        // A session of Nangang, taken over by Daoli's coordinator by its id.
        let sessions = seen(&office, "/api/v1/campaigns/cpc20/sessions?unit=230103001001").await;
        let s3 = sessions["items"][0].clone();
        let (status, body) = daoli.post_csv("/api/v1/imports/sessions?campaign=cpc20", "id,unit,date,topics,headcount\ns3,230102001001,2022-11-20,theme,99\n").await;
        let (field, message) = refused_row(status, &body);
        assert_eq!((field, message), ("id", "\"s3\" is not available: choose another"));
        tells_nothing(message, "s3", &["230103", &s3["id"].to_string()]);
        assert_eq!(seen(&office, &format!("/api/v1/campaigns/cpc20/sessions/{}", s3["id"])).await, s3);

        // A lecturer of Nangang, taken over by Daoli's coordinator by its key.
        let before = seen(&office, "/api/v1/lecturers/l-nangang").await;
        let (status, body) = daoli.post_csv("/api/v1/imports/lecturers", "key,name,group,topics\nl-nangang,X,230102,theme\n").await;
        let (field, message) = refused_row(status, &body);
        assert_eq!((field, message), ("key", "\"l-nangang\" is not available: choose another"));
        tells_nothing(message, "l-nangang", &["230103", "南岗"]);
        assert_eq!(seen(&office, "/api/v1/lecturers/l-nangang").await, before);

        // Sessions may name only lecturers the account may name: another county's
        // lecturer is as unknown as one that does not exist.
        let rows = |lecturer: &str| format!("id,unit,date,topics,headcount,lecturers\nd9,230102001001,2022-11-20,theme,9,{lecturer}\n");
        let (status, body) = daoli.post_csv("/api/v1/imports/sessions?campaign=cpc20", &rows("l-nangang")).await;
        let elsewhere = refused_row(status, &body).1.replace("l-nangang", "KEY");
        let (status, body) = daoli.post_csv("/api/v1/imports/sessions?campaign=cpc20", &rows("l-nobody")).await;
        assert_eq!(elsewhere, refused_row(status, &body).1.replace("l-nobody", "KEY"));
        // The province's lecturers serve Daoli too.
        let (status, body) = daoli.post_csv("/api/v1/imports/sessions?campaign=cpc20", &rows("l-prov")).await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writing_another_regions_keys_takes_over_nothing() {
    each_backend(|s| async move {
        let office = Client::signed_in(&s, "office").await;
        let daoli = Client::signed_in(&s, "daoli").await;

        // A report sent with another county's session id: refused, and the answer
        // carries neither that session's id nor a hint that it exists.
        let s3 = seen(&office, "/api/v1/campaigns/cpc20/sessions?unit=230103001001").await["items"][0].clone();
        let report = json!({ "ext_id": "s3", "unit": "230102001001", "date": "2022-11-20", "headcount": 99, "topics": ["theme"] });
        let (status, body) = daoli.post("/api/v1/campaigns/cpc20/sessions", &report).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("ext_id")), "{body}");
        let message = body["message"].as_str().unwrap();
        tells_nothing(message, "s3", &["230103", "not found", &s3["id"].to_string()]);
        assert_eq!(seen(&office, &format!("/api/v1/campaigns/cpc20/sessions/{}", s3["id"])).await, s3);

        // A unit or lecturer made with another county's code or key.
        let before = seen(&office, "/api/v1/units/S230103").await;
        let (status, body) = daoli.post("/api/v1/units", &json!({ "code": "S230103", "name": "x", "kind": "school", "division": "230102" })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("code")), "{body}");
        tells_nothing(body["message"].as_str().unwrap(), "S230103", &["230103"]);
        assert_eq!(seen(&office, "/api/v1/units/S230103").await, before);
        let before = seen(&office, "/api/v1/lecturers/l-nangang").await;
        let (status, body) = daoli.post("/api/v1/lecturers", &json!({ "key": "l-nangang", "name": "x", "group": "230102" })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("key")), "{body}");
        tells_nothing(body["message"].as_str().unwrap(), "l-nangang", &["230103"]);
        assert_eq!(seen(&office, "/api/v1/lecturers/l-nangang").await, before);

        // Naming another county's lecturer reads as naming nobody.
        let named = |lecturer: &str| json!({ "unit": "230102001001", "date": "2022-11-20", "headcount": 9, "topics": ["theme"], "lecturers": [lecturer] });
        let (_, elsewhere) = daoli.post("/api/v1/campaigns/cpc20/sessions", &named("l-nangang")).await;
        let (_, nobody) = daoli.post("/api/v1/campaigns/cpc20/sessions", &named("l-nobody")).await;
        assert_eq!(elsewhere["field"], "lecturers");
        assert_eq!(elsewhere["message"].as_str().unwrap().replace("l-nangang", "KEY"), nobody["message"].as_str().unwrap().replace("l-nobody", "KEY"));
        let plan = |lecturer: &str| json!({ "units": ["230102001002"], "lecturer": lecturer, "from": "2022-11-20", "to": "2022-11-21", "topics": ["theme"] });
        let (_, elsewhere) = daoli.post("/api/v1/campaigns/cpc20/plan", &plan("l-nangang")).await;
        let (_, nobody) = daoli.post("/api/v1/campaigns/cpc20/plan", &plan("l-nobody")).await;
        assert_eq!(elsewhere["field"], "lecturer");
        assert_eq!(elsewhere["message"].as_str().unwrap().replace("l-nangang", "KEY"), nobody["message"].as_str().unwrap().replace("l-nobody", "KEY"));
        assert_eq!(seen(&office, "/api/v1/campaigns/cpc20/sessions").await["total"], 3, "nothing was stored");
    })
    .await;
}
