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

impl Run {
    /// Runs with `stdin` as standard input.
    fn with_input(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_grassroots"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("GRASSROOTS_DB")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

/// A plain HTTP/1.0 GET on loopback: the status line's code and the body.
fn http_get(address: &str, path: &str, bearer: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = address.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect to the server");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

/// Kills the server when the test ends, passed or not.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn accounts_are_added_listed_given_tokens_and_removed() {
    let r = loaded();
    let out = r.with_input(&["user", "add", "harbin", "--role", "coordinator", "--scope", "2301"], "a long password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "account harbin added: coordinator of 2301");
    let refusals = [
        (vec!["user", "add", "harbin", "--role", "office"], "exists already"),
        (vec!["user", "add", "x", "--role", "coordinator"], "a coordinator needs --scope"),
        (vec!["user", "add", "x", "--role", "office", "--scope", "23"], "an office sees the whole tree"),
        (vec!["user", "add", "x", "--role", "supervisor", "--scope", "2399"], "division \"2399\" not found"),
        (vec!["user", "add", "x", "--role", "unit-contact", "--unit", "nope"], "unit \"nope\" not found"),
        (vec!["user", "add", "x", "--role", "chief"], "invalid value 'chief'"),
        (vec!["user", "add", "Bad Name", "--role", "office"], "malformed key"),
    ];
    for (args, expected) in refusals {
        let out = r.with_input(&args, "a long password\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{args:?}: {err}");
    }
    let short = r.with_input(&["user", "add", "y", "--role", "office"], "short\n");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
    let out = r.with_input(&["user", "add", "contact", "--role", "unit-contact", "--unit", "230102001001"], "another password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    r.file("lecturers.csv", "key,name,group,topics\nl-1,讲师,230102,theme\n");
    r.ok(&["import", "lecturers", "lecturers.csv"]);
    let out = r.with_input(&["user", "add", "wang", "--role", "lecturer", "--scope", "230102", "--lecturer", "l-1"], "a long password\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "account wang added: lecturer of 230102 (lecturer l-1)", "{}", String::from_utf8_lossy(&out.stderr));
    let out = r.with_input(&["user", "add", "li", "--role", "lecturer", "--scope", "230103", "--lecturer", "l-1"], "a long password\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside li's scope"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(r.fails(&["user", "remove", "li"]).contains("not found"), "a refused link leaves no account behind");
    r.ok(&["user", "remove", "wang"]);
    let list = r.json(&["user", "list", "--format", "json"]);
    assert_eq!(
        list,
        serde_json::json!([
            { "name": "contact", "role": "unit-contact", "scope": "230102001001", "unit": "230102001001" },
            { "name": "harbin", "role": "coordinator", "scope": "2301", "unit": null },
        ])
    );

    // The token signs API requests in to the running server.
    let token = r.ok(&["user", "token", "harbin"]).trim().to_owned();
    assert_eq!(token.len(), 64, "{token}");
    let child = Command::new(env!("CARGO_BIN_EXE_grassroots"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(r.dir.path())
        .env_remove("GRASSROOTS_DB")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut server = Serving(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.0.stdout.take().unwrap()), &mut line).unwrap();
    let address = line.split_whitespace().find(|w| w.starts_with("http://")).expect("the address is printed").to_owned();
    let (code, body) = http_get(&address, "/api/v1/me", &token);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"name\":\"harbin\""), "{body}");
    assert_eq!(http_get(&address, "/api/v1/regions/2302", &token).0, 404, "outside Harbin");

    assert_eq!(r.ok(&["user", "remove", "harbin"]).trim(), "account harbin removed");
    assert_eq!(http_get(&address, "/api/v1/me", &token).0, 401, "a removed account's token is dead");
    assert!(r.fails(&["user", "remove", "harbin"]).contains("account \"harbin\" not found"));
}
