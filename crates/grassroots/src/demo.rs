//! `grassroots demo`: a ready campaign to look at, built from data inside the binary.
//!
//! The Heilongjiang division tree and the seed campaign are embedded; lecture groups,
//! lecturers, a few organization units and a history of sessions are generated from a
//! fixed seed, so every demo shows the same numbers. Cities differ on purpose: some
//! reach every unit, others fall short and show as overdue.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{Days, Local};
use domain::{CampaignSpec, Level};
use store::{CoverageQuery, Store};

use crate::cli::Format;
use crate::progress::Bar;
use crate::report;

/// The Heilongjiang division tree.
pub const DIVISIONS: &str = include_str!("../data/divisions-23.csv");
/// The seed campaign.
pub const CAMPAIGN: &str = include_str!("../data/campaign-cpc20.toml");

/// The share of units each city covers by the deadline, in the order of the city
/// codes: a spread from complete to far behind.
const CITY_SHARES: [f64; 13] = [1.0, 0.93, 0.81, 1.0, 0.67, 0.96, 0.74, 1.0, 0.58, 0.88, 0.71, 0.84, 0.62];

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"];
const GIVEN: &[&str] = &["建国", "丽", "伟", "秀英", "敏", "静", "海峰", "志强", "桂兰", "晓东", "红梅", "立新", "春生", "玉珍"];

/// The demo's accounts: (name, role, scope, unit, what it shows). They share one
/// password, printed with them: this is a demo database, not a deployment.
const ACCOUNTS: &[(&str, domain::Role, Option<&str>, Option<&str>, &str)] = &[
    ("office", domain::Role::Office, None, None, "the campaign office: the whole province"),
    ("harbin", domain::Role::Coordinator, Some("2301"), None, "city coordinator of Harbin (哈尔滨市)"),
    ("daoli", domain::Role::Coordinator, Some("230102"), None, "county coordinator of Daoli district (道里区)"),
    ("supervisor", domain::Role::Supervisor, Some("23"), None, "supervisor of the province, read only"),
    ("lecturer", domain::Role::Lecturer, Some("230102"), None, "a lecturer of Daoli's lecture group"),
    ("contact", domain::Role::UnitContact, None, Some(DEMO_UNIT), "contact of one village committee in Daoli"),
];

/// The password of every demo account.
pub const PASSWORD: &str = "grassroots-demo";

/// The lecturer the demo's lecturer account is: the first of Daoli's lecture group.
const DEMO_LECTURER: &str = "l230102-01";

/// The unit of the demo's unit contact: a residential community of Daoli district.
const DEMO_UNIT: &str = "230102001001";

/// Opens (or creates) the demo database, shows it and, given an address, serves it.
pub fn run(file: &Path, listen: Option<(&str, std::net::SocketAddr)>) -> Result<()> {
    let url = format!("sqlite://{}", file.display());
    let store = crate::cli::open_for_web(&url)?;
    let spec = CampaignSpec::from_toml(CAMPAIGN).context("the embedded campaign")?;
    if store.campaigns()?.iter().any(|c| c.key == spec.key) {
        println!("Reopened the demo in {}", file.display());
    } else {
        println!("Creating the demo in {} …", file.display());
        build(&store, &spec)?;
    }
    let q = CoverageQuery { campaign: spec.key.clone(), level: Some(Level::City), under: None, as_of: Local::now().date_naive() };
    let rows = store.coverage(&q)?;
    let campaign = store.campaign(&spec.key)?;
    report::coverage(&campaign, &q, &rows, Format::Table, false)?;
    ensure_accounts(&store)?;
    let Some((listen, media)) = listen else { return Ok(()) };
    let meeting = ensure_meeting(&store)?;
    let key = spec.key.clone();
    crate::cli::serve(store, listen, media, Some(&|address: &str| {
        println!("\nGrassroots demo: open {address}/campaigns/{key} and sign in as one of");
        for (name, role, scope, unit, what) in ACCOUNTS {
            let place = unit.or(*scope).unwrap_or("");
            println!("  {name:<11} {:<13} {place:<13} {what}", role.as_str());
        }
        println!("with the password {PASSWORD:?}.");
        println!("The mobilization meeting (a branch venue in each of the 13 cities): the chair at {address}/m/{}", meeting.chair_token);
        for v in meeting.venues.iter().filter(|v| !v.main).take(3) {
            println!("  {} at {address}/m/{}", v.name, v.token);
        }
        println!("  (every venue's link: sign in as office, 视频会议). Ctrl-C stops the server.");
    }))
}

/// The demo's mobilization meeting: the main venue in the province's hall, a branch
/// venue in every city; made once.
fn ensure_meeting(store: &Store) -> Result<store::MeetingView> {
    let (office, _) = store.account("office")?;
    let office = store.as_account(&office);
    if let Some(m) = office.meetings()?.into_iter().find(|m| m.state == "open") {
        return Ok(m);
    }
    let input = store::MeetingInput {
        title: "学习宣传贯彻党的二十大精神动员大会".into(),
        starts_at: "2022-11-04 09:00".into(),
        campaign: Some("cpc20".into()),
        agenda: vec![
            store::AgendaItem { speaker: "主持人".into(), title: "宣布开会".into() },
            store::AgendaItem { speaker: "省委宣讲团".into(), title: "动员讲话".into() },
        ],
        // Halls, not units: the province's meeting room and each city's. A meeting
        // moves no coverage figure unless a unit itself joins it.
        main: store::Place::Hall("23".parse()?),
        branches: store::Branches::EveryCity(23),
    };
    Ok(office.create_meeting(&input, &mut || web::new_token(), chrono::Utc::now().timestamp())?)
}

/// Creates the demo accounts that are missing.
fn ensure_accounts(store: &Store) -> Result<()> {
    let existing: Vec<String> = store.accounts()?.into_iter().map(|a| a.name).collect();
    let mut hash = None;
    for (name, role, scope, unit, _) in ACCOUNTS {
        if existing.iter().any(|e| e == name) {
            continue;
        }
        let password_hash = match &hash {
            Some(h) => String::clone(h),
            None => hash.insert(web::hash_password(PASSWORD)?).clone(),
        };
        let scope = scope.map(str::parse).transpose()?;
        let new = store::NewAccount { name: (*name).to_owned(), role: *role, scope, unit: unit.map(str::to_owned), password_hash };
        store.add_account(&new, chrono::Utc::now().timestamp())?;
        if *role == domain::Role::Lecturer {
            store.link_lecturer(name, DEMO_LECTURER)?;
        }
    }
    Ok(())
}

/// Loads the tree and the campaign and generates the rest.
pub fn build(store: &Store, spec: &CampaignSpec) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let write = |name: &str, text: &str| -> Result<std::path::PathBuf> {
        let path = dir.path().join(name);
        std::fs::File::create(&path)?.write_all(text.as_bytes())?;
        Ok(path)
    };
    let bar = Bar::new();
    store.import_divisions(&write("divisions-23.csv", DIVISIONS)?, &bar)?;
    store.apply_campaign(spec)?;
    let (units, lecturers, sessions) = generate(spec);
    store.import_units(&write("units.csv", &units)?, &bar)?;
    store.import_lecturers(&write("lecturers.csv", &lecturers)?, &bar)?;
    let summary = store.import_sessions(&spec.key, &write("sessions.csv", &sessions)?, &bar)?;
    drop(bar);
    println!("Generated {} sessions.", summary.added);
    Ok(())
}

/// The generated units, lecturers and sessions, as import files.
fn generate(spec: &CampaignSpec) -> (String, String, String) {
    let mut rng = fastrand::Rng::with_seed(2022_11_04);
    let name = |rng: &mut fastrand::Rng| format!("{}{}", SURNAMES[rng.usize(..SURNAMES.len())], GIVEN[rng.usize(..GIVEN.len())]);
    let topics: Vec<&str> = spec.topics.iter().map(|t| t.key.as_str()).collect();
    let audiences: Vec<&str> = spec.audiences.iter().map(|a| a.key.as_str()).collect();
    let pick = |rng: &mut fastrand::Rng, from: &[&str], min: usize, max: usize| -> String {
        let mut keys: Vec<&str> = from.to_vec();
        rng.shuffle(&mut keys);
        keys.truncate(rng.usize(min..=max).min(from.len()));
        keys.join(";")
    };

    let mut villages: Vec<&str> = Vec::new();
    let mut counties: Vec<(&str, &str)> = Vec::new();
    let mut cities: Vec<&str> = Vec::new();
    for line in DIVISIONS.lines().skip(1) {
        let mut f = line.split(',');
        let (code, division) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
        match code.len() {
            4 => cities.push(code),
            6 => counties.push((code, division)),
            12 => villages.push(code),
            _ => {}
        }
    }

    let mut units = String::from("code,name,kind,division\n");
    for (code, county) in &counties {
        let _ = writeln!(units, "S{code},{county}第一中学,school,{code}");
        let _ = writeln!(units, "E{code},{county}农机厂,enterprise,{code}");
    }
    let mut lecturers = String::from("key,name,group,topics\n");
    let mut group_lecturers: Vec<(String, Vec<String>)> = Vec::new();
    for (group, size) in std::iter::once(("23", 13)).chain(cities.iter().map(|c| (*c, 6))).chain(counties.iter().map(|(c, _)| (*c, 3))) {
        let mut keys = Vec::new();
        for i in 1..=size {
            let key = format!("l{group}-{i:02}");
            let _ = writeln!(lecturers, "{key},{},{group},{}", name(&mut rng), pick(&mut rng, &topics, 2, 5));
            keys.push(key);
        }
        group_lecturers.push((group.to_owned(), keys));
    }
    let lecturers_of = |code: &str| -> &[String] {
        group_lecturers.iter().find(|(g, _)| code.starts_with(g.as_str()) && g.len() == 6).map_or(&[], |(_, k)| k)
    };

    let days = (spec.deadline - spec.start).num_days().max(1) as u64;
    let mut sessions = String::from("id,unit,date,topics,headcount,audiences,lecturers,format,status\n");
    let mut n = 0;
    let org_units: Vec<String> = counties.iter().flat_map(|(c, _)| [format!("S{c}"), format!("E{c}")]).collect();
    for unit in villages.iter().map(|v| v.to_string()).chain(org_units) {
        let digits: String = unit.chars().filter(char::is_ascii_digit).collect();
        let city = cities.iter().position(|c| digits.starts_with(c)).unwrap_or(0);
        let share = CITY_SHARES[city % CITY_SHARES.len()];
        let county_lecturers = lecturers_of(&digits);
        if rng.f64() >= share {
            // An uncovered unit: sometimes a lecture is only planned, or was called off.
            if rng.u8(..4) == 0 {
                n += 1;
                let date = spec.deadline.checked_add_days(Days::new(rng.u64(1..20))).unwrap_or(spec.deadline);
                let status = if rng.bool() { "planned" } else { "cancelled" };
                let _ = writeln!(sessions, "d{n},{unit},{date},{},0,,,in_person,{status}", pick(&mut rng, &topics, 1, 3));
            }
            continue;
        }
        for _ in 0..rng.usize(1..=3) {
            n += 1;
            // Leading cities report earlier: their dates lean towards the start.
            let lean = if share >= 0.9 { rng.f64() * rng.f64() } else { rng.f64() };
            let date = spec.start.checked_add_days(Days::new((lean * days as f64) as u64)).unwrap_or(spec.start);
            let lecturer = if county_lecturers.is_empty() { String::new() } else { county_lecturers[rng.usize(..county_lecturers.len())].clone() };
            let format = if rng.u8(..10) == 0 { "online" } else { "in_person" };
            let _ = writeln!(
                sessions,
                "d{n},{unit},{date},{},{},{},{lecturer},{format},held",
                pick(&mut rng, &topics, 2, 5),
                rng.u32(15..160),
                pick(&mut rng, &audiences, 1, 2)
            );
        }
    }
    (units, lecturers, sessions)
}
