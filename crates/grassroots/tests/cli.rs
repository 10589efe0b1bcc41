//! The built `grassroots` binary run on real files in a throwaway directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        Run { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str, content: &str) -> String {
        std::fs::write(self.path(name), content).expect("temp dir is writable");
        name.to_owned()
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_grassroots"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("GRASSROOTS_DB")
            .output()
            .expect("the binary runs")
    }

    /// Runs and expects success; returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(out.status.success(), "{args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs and expects failure; returns standard error.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(!out.status.success(), "{args:?} should fail but printed:\n{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).expect("utf-8 output")
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("valid JSON")
    }
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name).display().to_string()
}

/// A run with the Heilongjiang tree and the seed campaign loaded.
fn loaded() -> Run {
    let r = Run::new();
    let out = r.cmd(&["import", "divisions", &data("divisions-23.csv")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "15720 rows read: 15720 added, 0 updated, 0 unchanged");
    assert!(out.stderr.is_empty(), "no progress drawn when not on a terminal: {:?}", String::from_utf8_lossy(&out.stderr));
    let out = r.ok(&["campaign", "apply", &data("campaign-cpc20.toml")]);
    assert!(out.starts_with("campaign cpc20 created: 7 topics, 6 audiences"), "{out}");
    r
}

#[test]
fn a_campaign_office_loads_its_province_and_sees_coverage() {
    let r = loaded();
    assert!(r.path("grassroots.db").exists(), "the default database is grassroots.db here");
    r.file("orgs.csv", "code,name,kind,division\nHIT,哈尔滨工业大学,school,230103\n");
    assert_eq!(r.ok(&["import", "units", "orgs.csv"]).trim(), "1 rows read: 1 added, 0 updated, 0 unchanged");
    r.file("lecturers.csv", "key,name,group,topics\nwang,王讲师,2301,theme;decade\n");
    r.ok(&["import", "lecturers", "lecturers.csv"]);
    // Two villages of 道里区 (230102) and the university in 南岗区 (230103).
    r.file(
        "sessions.csv",
        "id,unit,date,topics,headcount,audiences,lecturers,format,status,title\n\
         1,230102001001,2022-11-10,theme;decade,40,party-members,wang,in_person,held,宣讲\n\
         2,230102001001,2022-11-20,theory,25,,,online,held,\n\
         3,230102001002,2022-11-15,theme,60,,,,,\n\
         4,HIT,2022-11-12,modernization,300,youth,wang,broadcast,held,\n\
         5,230102001003,2022-11-16,theme,10,,,,planned,\n",
    );
    assert_eq!(r.ok(&["import", "sessions", "--campaign", "cpc20", "sessions.csv"]).trim(), "5 rows read: 5 added, 0 updated, 0 unchanged");

    let harbin = r.json(&["report", "coverage", "--campaign", "cpc20", "--under", "2301", "--as-of", "2022-11-30", "--format", "json"]);
    let rows = harbin.as_array().unwrap();
    let daoli = rows.iter().find(|r| r["code"] == "230102").unwrap();
    assert_eq!(daoli["name"], "道里区");
    assert_eq!(daoli["level"], "county");
    assert_eq!((daoli["covered"].as_i64(), daoli["sessions"].as_i64(), daoli["audience"].as_i64()), (Some(2), Some(3), Some(125)));
    assert_eq!(daoli["topics"]["theme"], 2);
    assert_eq!(daoli["topics"]["theory"], 1);
    assert_eq!(daoli["overdue"], false);
    let units = daoli["units"].as_f64().unwrap();
    assert!((daoli["coverage"].as_f64().unwrap() - 2.0 / units).abs() < 1e-12);
    let nangang = rows.iter().find(|r| r["code"] == "230103").unwrap();
    assert_eq!((nangang["covered"].as_i64(), nangang["audience"].as_i64()), (Some(1), Some(300)));

    // As of a date before a session, it does not count; after the deadline, short is overdue.
    let early = r.json(&["report", "coverage", "--campaign", "cpc20", "--under", "230102", "--as-of", "2022-11-12", "--format", "json"]);
    let covered: i64 = early.as_array().unwrap().iter().map(|r| r["covered"].as_i64().unwrap()).sum();
    assert_eq!(covered, 1);
    let late = r.json(&["report", "coverage", "--campaign", "cpc20", "--as-of", "2023-01-01", "--format", "json"]);
    assert_eq!(late[0]["code"], "23");
    assert_eq!(late[0]["overdue"], true);
    assert_eq!(late[0]["units"], 13878);

    // Re-importing by id updates: session 3 is cancelled, so 230102001002 is no longer covered.
    r.file("update.csv", "id,unit,date,topics,headcount,status\n3,230102001002,2022-11-15,theme,60,cancelled\n");
    assert_eq!(r.ok(&["import", "sessions", "--campaign", "cpc20", "update.csv"]).trim(), "1 rows read: 0 added, 1 updated, 0 unchanged");
    let after = r.json(&["report", "coverage", "--campaign", "cpc20", "--under", "230102", "--as-of", "2022-11-30", "--format", "json"]);
    let covered: i64 = after.as_array().unwrap().iter().map(|r| r["covered"].as_i64().unwrap()).sum();
    assert_eq!(covered, 1);

    // The table is for people, the CSV for spreadsheets.
    let table = r.ok(&["report", "coverage", "--campaign", "cpc20", "--under", "2301", "--as-of", "2022-11-30"]);
    assert!(table.contains("道里区") && table.contains('%') && table.contains("regions, 0 overdue"), "{table}");
    let csv = r.ok(&["report", "coverage", "--campaign", "cpc20", "--level", "township", "--under", "230102", "--as-of", "2022-11-30", "--format", "csv"]);
    assert!(csv.starts_with("code,name,level,units,covered,coverage,sessions,audience,topic:theme,"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("230102001,") && l.contains(",township,")), "{csv}");

    let list = r.ok(&["campaign", "list"]);
    assert!(list.contains("cpc20") && list.contains("2022-12-31"), "{list}");
}

/// Each kind of bad input: the command fails, names file, line and field, and the
/// database is as it was.
#[test]
fn bad_files_are_refused_whole_with_their_rows_named() {
    let r = loaded();
    let state = || r.ok(&["report", "coverage", "--campaign", "cpc20", "--under", "2301", "--as-of", "2022-12-31", "--format", "json"]);
    r.file("ok.csv", "unit,date,topics,headcount\n230102001001,2022-11-10,theme,40\n");
    r.ok(&["import", "sessions", "--campaign", "cpc20", "ok.csv"]);
    let before = state();
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "divisions",
            "code,name,parent\n2301001,坏码,\n230199,新区,2398\n",
            &[],
            &["bad.csv:2: field `code`: malformed division code \"2301001\"", "bad.csv:3: field `parent`: unknown parent division 2398"],
        ),
        ("units", "code,name,kind,division\nX1,某厂,factory,2301\n", &[], &["bad.csv:2: field `kind`: unknown unit kind \"factory\""]),
        ("lecturers", "key,name,group\nli,李,2301\n", &[], &["bad.csv:1: field `topics`: missing column"]),
        (
            "sessions",
            "unit,date,topics,headcount\n230102001002,2022-11-10,theme,40\nnowhere,2022-13-01,points,-1\n",
            &["--campaign", "cpc20"],
            &[
                "bad.csv:3: field `unit`: unknown unit \"nowhere\"",
                "bad.csv:3: field `date`: \"2022-13-01\" is not a date",
                "bad.csv:3: field `topics`: unknown topic \"points\"",
                "bad.csv:3: field `headcount`: -1 is negative",
                "nothing was stored",
            ],
        ),
    ];
    for (what, content, extra, expected) in cases {
        r.file("bad.csv", content);
        let mut args = vec!["import", what];
        args.extend(*extra);
        args.push("bad.csv");
        let err = r.fails(&args);
        for e in *expected {
            assert!(err.contains(e), "import {what}: {e:?} not in\n{err}");
        }
        assert_eq!(state(), before, "import {what} changed the database");
    }
    let err = r.fails(&["import", "sessions", "--campaign", "cpc20", "absent.csv"]);
    assert!(err.contains("cannot read absent.csv"), "{err}");
    let err = r.fails(&["report", "coverage", "--campaign", "nope"]);
    assert!(err.contains("campaign \"nope\" not found"), "{err}");
    r.file("bad.toml", "key = \"x\"\ntitle = \"t\"\nstart = 2022-11-04\ndeadline = 2022-11-01\ntarget = 2\n");
    let err = r.fails(&["campaign", "apply", "bad.toml"]);
    assert!(err.contains("bad.toml") && err.contains("deadline: 2022-11-01 is before the start") && err.contains("target: 2"), "{err}");
}

#[test]
fn the_database_is_chosen_by_flag_or_environment() {
    let r = Run::new();
    r.ok(&["--db", "other.db", "campaign", "apply", &data("campaign-cpc20.toml")]);
    assert!(r.path("other.db").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_grassroots"))
        .args(["campaign", "list", "--format", "json"])
        .current_dir(r.dir.path())
        .env("GRASSROOTS_DB", "sqlite://other.db")
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["key"], "cpc20");
    let err = r.fails(&["--db", "mysql://x", "campaign", "list"]);
    assert!(err.contains("unsupported database URL"), "{err}");
}

#[test]
fn the_demo_builds_a_campaign_with_cities_ahead_and_behind() {
    let r = Run::new();
    let out = r.ok(&["demo", "--file", "demo.db", "--no-serve"]);
    assert!(out.contains("Creating the demo"), "{out}");
    assert!(out.contains("哈尔滨市") && out.contains("13 regions"), "{out}");
    let overdue = out.lines().filter(|l| l.contains("OVERDUE")).count();
    assert!((1..13).contains(&overdue), "some cities are overdue, some are not:\n{out}");
    let again = r.ok(&["demo", "--file", "demo.db", "--no-serve"]);
    assert!(again.contains("Reopened the demo"), "{again}");
    let table = |s: &str| s.lines().skip_while(|l| !l.starts_with('┌')).map(str::to_owned).collect::<Vec<_>>();
    assert!(!table(&out).is_empty());
    assert_eq!(table(&out), table(&again), "the same numbers when reopened");
}
