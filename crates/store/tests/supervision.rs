//! Supervision on real databases: waiting requests, overdue planned sessions, trailing
//! regions and rankings against figures worked out by hand on a small tree, for each
//! kind of account; and notifications told once, to the right accounts only.

mod common;

use chrono::NaiveDate;
use common::{TestStore, each_backend};
use domain::{CampaignSpec, Role, SessionFormat, SessionStatus, Step};
use store::{Account, Error, Limits, NewAccount, Paging, Quiet, RequestInput, SessionInput, StepInput, Supervision};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Two cities; Harbin has Daoli (two townships: 4 + 2 villages) and Nangang (one
/// township: 4 villages); Qiqihar has Longsha (one township: 2 villages). 12 units.
const TREE: &str = "code,name,parent
23,黑龙江省,
2301,哈尔滨市,23
2302,齐齐哈尔市,23
230102,道里区,2301
230103,南岗区,2301
230202,龙沙区,2302
230102001,兆麟街道,230102
230102002,新阳路街道,230102
230103001,花园街道,230103
230202001,五龙街道,230202
230102001001,兆麟一社区,230102001
230102001002,兆麟二社区,230102001
230102001003,兆麟三社区,230102001
230102001004,兆麟四社区,230102001
230102002001,新阳一社区,230102002
230102002002,新阳二社区,230102002
230103001001,花园一社区,230103001
230103001002,花园二社区,230103001
230103001003,花园三社区,230103001
230103001004,花园四社区,230103001
230202001001,五龙一社区,230202001
230202001002,五龙二社区,230202001
";

const CAMPAIGN: &str = r#"
key = "c1"
title = "Test campaign"
start = 2022-11-01
deadline = 2022-12-01
target = 0.9
[[topics]]
key = "theme"
title = "Theme"
[[audiences]]
key = "youth"
title = "Youth"
"#;

const LECTURERS: &str = "key,name,group,topics
l-daoli,道里讲师,230102,theme
l-daoli2,道里讲师二,230102,theme
l-nangang,南岗讲师,230103,theme
l-harbin,市讲师,2301,theme
l-prov,省讲师,23,theme
l-longsha,龙沙讲师,230202,theme
";

/// Held sessions (s5 after the date looked at) and planned ones: p1 is past its day
/// on 2022-11-16, p2 is not.
const SESSIONS: &str = "id,unit,date,topics,headcount,lecturers,status
s1,230102001001,2022-11-05,theme,40,l-daoli,held
s2,230102001002,2022-11-08,theme,25,l-daoli,held
s3,230103001001,2022-11-10,theme,100,l-nangang,held
s4,230202001001,2022-11-12,theme,30,l-longsha,held
s5,230102001001,2022-11-20,theme,50,l-daoli2,held
p1,230102001004,2022-11-10,theme,0,l-daoli,planned
p2,230103001002,2022-11-20,theme,0,l-nangang,planned
";

/// The supervision's "now": 2022-11-16 12:00 UTC.
const NOW: i64 = 1_668_600_000;
const HOUR: i64 = 3600;

fn as_of() -> NaiveDate {
    date("2022-11-16")
}

struct World {
    office: Account,
    harbin: Account,
    daoli: Account,
    nangang: Account,
    supervisor: Account,
    contact: Account,
    lecturer: Account,
    /// Request ids: w1 waits 50 h for assignment, w2 10 h, w3 was reviewed 30 h ago,
    /// w4 waits 25 h for acceptance, w5 (Nangang) 60 h for assignment.
    w: [i64; 5],
}

fn account(s: &TestStore, name: &str, role: Role, scope: Option<&str>, unit: Option<&str>) -> Account {
    let new = NewAccount { name: name.into(), role, scope: scope.map(|c| c.parse().unwrap()), unit: unit.map(str::to_owned), password_hash: "x".into() };
    s.store.add_account(&new, 0).unwrap()
}

fn step(step: Step) -> StepInput {
    StepInput { step, text: String::new(), lecturer: None, report: None, photos: Vec::new(), rating: None }
}

fn request(s: &TestStore, acc: &Account, unit: &str, at: i64) -> i64 {
    let input = RequestInput {
        unit: unit.into(),
        topics: vec!["theme".into()],
        audiences: Vec::new(),
        window_from: date("2022-11-10"),
        window_to: date("2022-11-30"),
        headcount: 30,
        note: String::new(),
    };
    s.store.as_account(acc).request_lecture("c1", &input, at).unwrap().id
}

fn report(unit: &str, day: &str, headcount: i64) -> SessionInput {
    SessionInput {
        ext_id: None,
        unit: unit.into(),
        date: date(day),
        headcount,
        topics: vec!["theme".into()],
        audiences: Vec::new(),
        lecturers: Vec::new(),
        format: SessionFormat::InPerson,
        status: SessionStatus::Held,
        title: String::new(),
    }
}

/// A request taken all the way: reviewed, assigned, accepted, reported (a held
/// session at `unit` on `day`) and rated.
struct Rated<'a> {
    lecturer: &'a Account,
    key: &'a str,
    contact: &'a Account,
    unit: &'a str,
    day: &'a str,
    headcount: i64,
    rating: i64,
}

fn rated(s: &TestStore, w: &World, r: Rated) {
    let t = NOW - 200 * HOUR;
    let id = request(s, &w.daoli, r.unit, t);
    s.store.as_account(&w.daoli).step_request(id, &step(Step::Review), t).unwrap();
    s.store.as_account(&w.daoli).step_request(id, &StepInput { lecturer: Some(r.key.into()), ..step(Step::Assign) }, t).unwrap();
    s.store.as_account(r.lecturer).step_request(id, &step(Step::Accept), t).unwrap();
    s.store.as_account(r.lecturer).step_request(id, &StepInput { report: Some(report(r.unit, r.day, r.headcount)), ..step(Step::Report) }, t).unwrap();
    s.store.as_account(r.contact).step_request(id, &StepInput { rating: Some(r.rating), ..step(Step::Rate) }, t).unwrap();
}

fn world(s: &TestStore) -> World {
    s.store.import_divisions(&s.file("tree.csv", TREE), &Quiet).unwrap();
    s.store.apply_campaign(&CampaignSpec::from_toml(CAMPAIGN).unwrap()).unwrap();
    s.store.import_lecturers(&s.file("lecturers.csv", LECTURERS), &Quiet).unwrap();
    s.store.import_sessions("c1", &s.file("sessions.csv", SESSIONS), &Quiet).unwrap();
    let office = account(s, "office", Role::Office, None, None);
    let harbin = account(s, "harbin", Role::Coordinator, Some("2301"), None);
    let daoli = account(s, "daoli", Role::Coordinator, Some("230102"), None);
    let nangang = account(s, "nangang", Role::Coordinator, Some("230103"), None);
    let supervisor = account(s, "supervisor", Role::Supervisor, Some("23"), None);
    let contact = account(s, "contact", Role::UnitContact, None, Some("230102002001"));
    let contact2 = account(s, "contact2", Role::UnitContact, None, Some("230102001001"));
    account(s, "lecturer", Role::Lecturer, Some("230102"), None);
    let lecturer = s.store.link_lecturer("lecturer", "l-daoli").unwrap();
    account(s, "lecturer2", Role::Lecturer, Some("230102"), None);
    let lecturer2 = s.store.link_lecturer("lecturer2", "l-daoli2").unwrap();
    let mut w = World { office, harbin, daoli, nangang, supervisor, contact: contact.clone(), lecturer: lecturer.clone(), w: [0; 5] };

    // Two rated requests: l-daoli2 gave a new unit its lecture (rated 5), l-daoli a
    // second one to a covered unit (rated 4).
    rated(s, &w, Rated { lecturer: &lecturer2, key: "l-daoli2", contact: &contact, unit: "230102002001", day: "2022-11-09", headcount: 10, rating: 5 });
    rated(s, &w, Rated { lecturer: &lecturer, key: "l-daoli", contact: &contact2, unit: "230102001001", day: "2022-11-14", headcount: 20, rating: 4 });

    w.w[0] = request(s, &w.daoli, "230102001003", NOW - 50 * HOUR);
    w.w[1] = request(s, &w.daoli, "230102001004", NOW - 10 * HOUR);
    w.w[2] = request(s, &w.daoli, "230102002002", NOW - 100 * HOUR);
    s.store.as_account(&w.daoli).step_request(w.w[2], &step(Step::Review), NOW - 30 * HOUR).unwrap();
    w.w[3] = request(s, &w.daoli, "230102001002", NOW - 80 * HOUR);
    s.store.as_account(&w.daoli).step_request(w.w[3], &step(Step::Review), NOW - 70 * HOUR).unwrap();
    s.store.as_account(&w.daoli).step_request(w.w[3], &StepInput { lecturer: Some("l-daoli".into()), ..step(Step::Assign) }, NOW - 25 * HOUR).unwrap();
    w.w[4] = request(s, &w.nangang, "230103001003", NOW - 60 * HOUR);
    w
}

fn sup(s: &TestStore, acc: &Account) -> Supervision {
    s.store.as_account(acc).supervision("c1", as_of(), NOW, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", s.name))
}

fn codes<T>(list: &[T], f: impl Fn(&T) -> String) -> Vec<String> {
    list.iter().map(f).collect()
}

#[test]
fn requests_waiting_too_long_are_those_of_the_scope() {
    each_backend(|s| {
        let w = world(s);
        let daoli = sup(s, &w.daoli);
        let waiting: Vec<(i64, &str, i64)> = daoli.waiting.iter().map(|r| (r.id, r.waiting_for.as_str(), r.hours)).collect();
        // Oldest first: w1 has waited 50 h for assignment, w4 25 h for acceptance.
        assert_eq!(waiting, vec![(w.w[0], "assignment", 50), (w.w[3], "acceptance", 25)], "{}", s.name);
        assert_eq!(daoli.waiting_total, 2);
        assert_eq!(daoli.waiting[1].lecturer.as_deref(), Some("l-daoli"));

        let ids = |a: &Account| sup(s, a).waiting.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&w.nangang), vec![w.w[4]]);
        assert_eq!(ids(&w.harbin), vec![w.w[4], w.w[0], w.w[3]]);
        assert_eq!(ids(&w.office), ids(&w.harbin));
        assert_eq!(ids(&w.supervisor), ids(&w.harbin));

        // Tighter limits catch more; a cap keeps the list short but counts them all.
        let tight = Limits { assignment_hours: 5, acceptance_hours: 5, items: 2, ..Limits::default() };
        let t = s.store.as_account(&w.daoli).supervision("c1", as_of(), NOW, &tight).unwrap();
        assert_eq!(t.waiting_total, 4, "w1, w2, w3 and w4");
        assert_eq!(t.waiting.iter().map(|r| r.id).collect::<Vec<_>>(), vec![w.w[0], w.w[2]]);
    });
}

#[test]
fn planned_sessions_past_their_day_are_alerts_of_their_region_only() {
    each_backend(|s| {
        let w = world(s);
        let daoli = sup(s, &w.daoli);
        assert_eq!(daoli.overdue_total, 1, "{}", s.name);
        let p1 = &daoli.overdue_sessions[0];
        assert_eq!((p1.unit.as_str(), p1.date, p1.days, p1.lecturers.clone()), ("230102001004", date("2022-11-10"), 6, vec!["l-daoli".to_owned()]));
        assert_eq!(sup(s, &w.nangang).overdue_total, 0, "p2 is not due until the 20th");
        assert_eq!(sup(s, &w.harbin).overdue_total, 1);
        let later = s.store.as_account(&w.nangang).supervision("c1", date("2022-11-21"), NOW, &Limits::default()).unwrap();
        assert_eq!(later.overdue_sessions.iter().map(|s| s.unit.as_str()).collect::<Vec<_>>(), vec!["230103001002"]);
    });
}

#[test]
fn regions_are_judged_against_the_straight_line_and_ranked() {
    each_backend(|s| {
        let w = world(s);
        // On 2022-11-16, 15 of the campaign's 30 days have gone: the line expects
        // 0.9 × 15/30 = 0.45 of each region's units.
        let office = sup(s, &w.office);
        assert!((office.expected - 0.45).abs() < 1e-12, "{}", office.expected);
        assert_eq!(office.region.as_deref(), Some("23"), "a one-province tree opens on its cities");
        // Harbin: 4 of 10 covered (three in Daoli, one in Nangang; s5 comes later), 1
        // short of 4.5; Qiqihar: 1 of 2.
        let cities: Vec<(String, i64, i64, i64, bool)> =
            office.regions_by_coverage.iter().map(|r| (r.code.clone(), r.covered, r.units, r.behind, r.trailing)).collect();
        assert_eq!(cities, vec![("2302".into(), 1, 2, 0, false), ("2301".into(), 4, 10, 1, true)], "{}", s.name);
        assert_eq!(codes(&office.trailing, |r| r.code.clone()), vec!["2301"]);
        // Audience: Harbin 40 + 25 + 100 + 10 + 20 = 195, Qiqihar 30.
        assert_eq!(codes(&office.regions_by_audience, |r| format!("{}:{}", r.code, r.audience)), vec!["2301:195", "2302:30"]);

        // Harbin's counties: Daoli 3/6 = 0.5 (on the line), Nangang 1/4 = 0.25 (1 short
        // of 1.8); by audience Nangang (100) leads Daoli (40 + 25 + 10 + 20 = 95).
        let harbin = sup(s, &w.harbin);
        assert_eq!(codes(&harbin.regions_by_coverage, |r| format!("{}:{}:{}", r.code, r.rank_coverage, r.behind)), vec!["230102:1:0", "230103:2:1"]);
        assert_eq!(codes(&harbin.regions_by_audience, |r| format!("{}:{}", r.code, r.rank_audience)), vec!["230103:1", "230102:2"]);
        assert_eq!(codes(&harbin.trailing, |r| r.name.clone()), vec!["南岗区"]);

        // Daoli's townships are both at 0.5: none trails, and they share first place.
        let daoli = sup(s, &w.daoli);
        assert_eq!(daoli.level, Some(domain::Level::Township));
        assert!(daoli.trailing.is_empty());
        assert_eq!(codes(&daoli.regions_by_coverage, |r| format!("{}:{}", r.code, r.rank_coverage)), vec!["230102001:1", "230102002:1"]);

        // A region in scope may be looked at; one outside is not found.
        let nangang = s.store.as_account(&w.harbin).supervision_of("c1", Some("230103".parse().unwrap()), as_of(), NOW, &Limits::default()).unwrap();
        assert_eq!(codes(&nangang.trailing, |r| r.code.clone()), vec!["230103001"]);
        let outside = s.store.as_account(&w.daoli).supervision_of("c1", Some("230103".parse().unwrap()), as_of(), NOW, &Limits::default());
        assert!(matches!(outside, Err(Error::NotFound { .. })), "{outside:?}");

        // Before the start nothing is expected; after the deadline the target is.
        let early = s.store.as_account(&w.office).supervision("c1", date("2022-10-20"), NOW, &Limits::default()).unwrap();
        assert!(early.trailing.is_empty() && early.expected == 0.0);
        let late = s.store.as_account(&w.office).supervision("c1", date("2022-12-10"), NOW, &Limits::default()).unwrap();
        assert_eq!(codes(&late.trailing, |r| format!("{}:{}", r.code, r.behind)), vec!["2301:5", "2302:1"]);
    });
}

#[test]
fn lecturers_are_ranked_by_sessions_held_and_by_rating() {
    each_backend(|s| {
        let w = world(s);
        let office = sup(s, &w.office);
        // As of the 16th: l-daoli held s1, s2 and a reported request; l-daoli2 a
        // reported request (s5 comes later); l-nangang and l-longsha one each.
        let by_sessions = codes(&office.lecturers_by_sessions, |l| format!("{}:{}:{}", l.key, l.sessions, l.rank_sessions));
        assert_eq!(by_sessions, vec!["l-daoli:3:1", "l-daoli2:1:2", "l-longsha:1:2", "l-nangang:1:2", "l-harbin:0:5", "l-prov:0:5"], "{}", s.name);
        assert_eq!(office.lecturers_total, 6);
        let by_rating = codes(&office.lecturers_by_rating, |l| format!("{}:{:?}:{}", l.key, l.rating, l.rank_rating));
        assert_eq!(by_rating, vec!["l-daoli2:Some(5.0):1", "l-daoli:Some(4.0):2"]);

        // Lecturers of the groups in scope only.
        let daoli = sup(s, &w.daoli);
        assert_eq!(codes(&daoli.lecturers_by_sessions, |l| l.key.clone()), vec!["l-daoli", "l-daoli2"]);
        let harbin = sup(s, &w.harbin);
        assert_eq!(codes(&harbin.lecturers_by_sessions, |l| l.key.clone()), vec!["l-daoli", "l-daoli2", "l-nangang", "l-harbin"]);
        let top = s.store.as_account(&w.office).supervision("c1", as_of(), NOW, &Limits { top: 2, ..Limits::default() }).unwrap();
        assert_eq!(top.lecturers_by_sessions.len(), 2);
        assert_eq!(top.lecturers_total, 6);

        // Where the regions hold more sessions than a caller will wait for, the lists
        // that cost time per session are left out, and said to be.
        assert!(office.detailed);
        // Harbin's counties hold 5 counting sessions, Qiqihar's 1.
        let light = s.store.as_account(&w.office).supervision("c1", as_of(), NOW, &Limits { detail_up_to: Some(5), ..Limits::default() }).unwrap();
        assert!(!light.detailed);
        assert!(light.lecturers_by_sessions.is_empty() && light.overdue_sessions.is_empty() && light.overdue_total == 0);
        assert_eq!(light.regions_by_coverage.len(), 2, "the regions are there all the same");
        let enough = s.store.as_account(&w.office).supervision("c1", as_of(), NOW, &Limits { detail_up_to: Some(6), ..Limits::default() }).unwrap();
        assert!(enough.detailed);
        assert_eq!(enough.overdue_total, 1);
    });
}

#[test]
fn only_those_who_supervise_get_supervision() {
    each_backend(|s| {
        let w = world(s);
        for acc in [&w.contact, &w.lecturer] {
            let r = s.store.as_account(acc).supervision("c1", as_of(), NOW, &Limits::default());
            assert!(matches!(r, Err(Error::Forbidden(_))), "{}: {r:?}", acc.name);
        }
        let r = s.store.as_account(&w.office).supervision("nope", as_of(), NOW, &Limits::default());
        assert!(matches!(r, Err(Error::NotFound { what: "campaign", .. })), "{r:?}");
    });
}

fn kinds(s: &TestStore, acc: &Account) -> Vec<String> {
    let mut k: Vec<String> = s.store.as_account(acc).notifications(Paging { page: 1, per_page: 100 }).unwrap().items.iter().map(|n| format!("{}:{}", n.kind, n.text)).collect();
    k.sort();
    k
}

#[test]
fn notifications_are_told_once_to_the_responsible_accounts() {
    each_backend(|s| {
        let w = world(s);
        let today = as_of();
        let added = s.store.notify(NOW, today, &Limits::default()).unwrap();
        assert_eq!(s.store.notify(NOW, today, &Limits::default()).unwrap(), 0, "{}: a second run adds nothing", s.name);
        assert_eq!(s.store.notify(NOW + 600, today, &Limits::default()).unwrap(), 0);

        let w1 = format!("waiting_assignment:#{} 兆麟三社区 (230102001003)", w.w[0]);
        let w4 = format!("waiting_acceptance:#{} 兆麟二社区 (230102001002)", w.w[3]);
        let w5 = format!("waiting_assignment:#{} 花园三社区 (230103001003)", w.w[4]);
        let p1 = "session_overdue:兆麟四社区 (230102001004) · 2022-11-10".to_owned();
        let mut daoli = vec![w1.clone(), w4.clone(), p1.clone()];
        daoli.sort();
        assert_eq!(kinds(s, &w.daoli), daoli);
        // Nangang's one township (1 of 4) trails the line.
        let mut nangang = vec![w5.clone(), "regions_trailing:花园街道".to_owned()];
        nangang.sort();
        assert_eq!(kinds(s, &w.nangang), nangang);
        let mut harbin = vec![w1.clone(), w4.clone(), w5.clone(), p1.clone(), "regions_trailing:南岗区".to_owned()];
        harbin.sort();
        assert_eq!(kinds(s, &w.harbin), harbin);
        let mut office = vec![w1, w4, w5, p1, "regions_trailing:哈尔滨市".to_owned()];
        office.sort();
        assert_eq!(kinds(s, &w.office), office);
        assert!(kinds(s, &w.supervisor).is_empty(), "supervisors read; they are not told");
        assert!(kinds(s, &w.contact).is_empty());
        assert_eq!(added, 3 + 2 + 5 + 5);

        // A new alert is told once more, to those responsible; the trailing regions
        // are told again the next day.
        let planned = SessionInput { status: SessionStatus::Planned, ..report("230103001004", "2022-11-11", 0) };
        s.store.as_account(&w.nangang).report_session("c1", &planned).unwrap();
        assert_eq!(s.store.notify(NOW, today, &Limits::default()).unwrap(), 3, "nangang, harbin and the office");
        assert_eq!(s.store.notify(NOW, date("2022-11-17"), &Limits::default()).unwrap(), 3, "a day later: the trailing regions again");

        // Reading: one's own only.
        let page = s.store.as_account(&w.daoli).notifications(Paging { page: 1, per_page: 2 }).unwrap();
        assert_eq!((page.total, page.items.len()), (3, 2));
        assert_eq!(s.store.as_account(&w.daoli).unread_notifications().unwrap(), 3);
        let id = page.items[0].id;
        assert!(matches!(s.store.as_account(&w.nangang).mark_read(id), Err(Error::NotFound { .. })), "another account's notification is not found");
        assert_eq!(s.store.as_account(&w.daoli).unread_notifications().unwrap(), 3);
        let read = s.store.as_account(&w.daoli).mark_read(id).unwrap();
        assert!(read.read);
        assert_eq!(s.store.as_account(&w.daoli).unread_notifications().unwrap(), 2);
        assert_eq!(s.store.as_account(&w.daoli).mark_all_read().unwrap(), 2);
        assert_eq!(s.store.as_account(&w.daoli).unread_notifications().unwrap(), 0);
        assert!(s.store.as_account(&w.harbin).unread_notifications().unwrap() > 0, "harbin's are its own");

        // One account at a time: nothing for roles that are not told.
        assert_eq!(s.store.notify_one(&w.supervisor, NOW, today, &Limits::default()).unwrap(), 0);
        assert_eq!(s.store.notify_one(&w.daoli, NOW, today, &Limits::default()).unwrap(), 0);
    });
}
