//! What strangers send the importers, a bounded number of cases each run: any CSV
//! file of units, lecturers or sessions, well formed or not, from an office or a
//! county's coordinator. Each is stored whole or refused whole with its rows named in
//! short messages; nothing panics, nothing is half stored, nothing is our fault.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use store::{Account, ImportKind, NewAccount, Paging, SessionFilter, Store, UnitFilter};

/// A cell as files carry them: good values, bad ones, quotes and separators, long ones.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("230102001001".to_owned()),
        Just("230102001002".to_owned()),
        Just("230103001001".to_owned()),
        Just("E230102".to_owned()),
        Just("S230103".to_owned()),
        Just("230102".to_owned()),
        Just("230103".to_owned()),
        Just("2301".to_owned()),
        Just("enterprise".to_owned()),
        Just("village".to_owned()),
        Just("theme".to_owned()),
        Just("theme;decade".to_owned()),
        Just("l-daoli".to_owned()),
        Just("2022-11-10".to_owned()),
        Just("2022-13-40".to_owned()),
        Just("12".to_owned()),
        Just("-3".to_owned()),
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        "\\PC{0,20}",
        "[\",;\n\r]{1,4}",
        Just("长".repeat(300)),
    ]
}

/// A header: the kind's columns in any order, some missing, some unknown.
fn header(kind: ImportKind) -> impl Strategy<Value = Vec<String>> {
    let known: &[&str] = match kind {
        ImportKind::Units => &["code", "name", "kind", "division"],
        ImportKind::Lecturers => &["key", "name", "group", "topics"],
        _ => &["id", "unit", "date", "topics", "headcount", "audiences", "lecturers", "format", "status", "title"],
    };
    let known: Vec<String> = known.iter().map(|s| s.to_string()).collect();
    (Just(known).prop_shuffle(), 0usize..3, proptest::option::of("[a-z]{1,200}")).prop_map(|(mut cols, drop, extra)| {
        cols.truncate(cols.len().saturating_sub(drop % 2));
        cols.extend(extra);
        cols
    })
}

fn file(kind: ImportKind) -> impl Strategy<Value = Vec<u8>> {
    let rows = header(kind).prop_flat_map(|h| {
        let n = h.len();
        (Just(h), proptest::collection::vec(proptest::collection::vec(cell(), n..=n + 1), 0..12))
    });
    prop_oneof![
        4 => rows.prop_map(|(h, rows)| {
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
            w.write_record(&h).unwrap();
            for r in rows {
                w.write_record(&r).unwrap();
            }
            w.into_inner().unwrap()
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..600),
    ]
}

/// One store for every case: the tree, the campaign, a few units and lecturers, an
/// office and a county coordinator.
fn world() -> &'static (Store, Account, Account, tempfile::TempDir) {
    static WORLD: OnceLock<(Store, Account, Account, tempfile::TempDir)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display())).unwrap();
        store.import_divisions(&common::heilongjiang(), &store::Quiet).unwrap();
        let spec = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../grassroots/data/campaign-cpc20.toml")).unwrap();
        store.apply_campaign(&domain::CampaignSpec::from_toml(&spec).unwrap()).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        store.import_units(&write("u.csv", "code,name,kind,division\nE230102,厂,enterprise,230102\nS230103,校,school,230103\n"), &store::Quiet).unwrap();
        store.import_lecturers(&write("l.csv", "key,name,group,topics\nl-daoli,讲师,230102,theme\nl-nangang,讲师,230103,theme\n"), &store::Quiet).unwrap();
        let account = |name: &str, role, scope: Option<&str>| {
            let new = NewAccount { name: name.into(), role, scope: scope.map(|s| s.parse().unwrap()), unit: None, password_hash: "x".into() };
            store.add_account(&new, 0).unwrap()
        };
        let office = account("office", domain::Role::Office, None);
        let daoli = account("daoli", domain::Role::Coordinator, Some("230102"));
        (store, office, daoli, dir)
    })
}

/// What the office sees: every unit, lecturer and session, in full.
fn everything(store: &Store, office: &Account) -> (Vec<String>, Vec<String>, Vec<String>) {
    let s = store.as_account(office);
    let units = s.units(&UnitFilter::default(), Paging::ALL).unwrap().items.iter().map(|u| format!("{}|{}|{}|{}", u.code, u.name, u.kind.as_str(), u.division)).collect();
    let lecturers = s.lecturers("", None, Paging::ALL).unwrap().items.iter().map(|l| format!("{}|{}|{}|{:?}", l.key, l.name, l.group, l.topics)).collect();
    let sessions = s.sessions("cpc20", &SessionFilter::default(), Paging::ALL).unwrap().items.iter().map(|x| format!("{:?}", x)).collect();
    (units, lecturers, sessions)
}

fn check(kind: ImportKind, bytes: &[u8], as_daoli: bool) -> Result<(), TestCaseError> {
    // One import at a time: the three properties share the store, and "nothing was
    // stored" is read before and after.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (store, office, daoli, dir) = world();
    let path = dir.path().join(format!("stranger-{}.csv", kind.as_str()));
    std::fs::write(&path, bytes).unwrap();
    let before = everything(store, office);
    let acc = if as_daoli { daoli } else { office };
    match store.as_account(acc).import(kind, Some("cpc20"), &path) {
        Ok(summary) => prop_assert!(summary.read <= 13),
        Err(store::Error::Invalid { errors, .. }) => {
            prop_assert!(!errors.is_empty());
            for e in &errors {
                prop_assert!(e.message.chars().count() < 300, "a short message: {}", e.message);
                prop_assert!(e.field.as_ref().is_none_or(|f| f.chars().count() <= 101), "a short field: {:?}", e.field);
            }
            prop_assert_eq!(everything(store, office), before, "refused whole: nothing stored");
        }
        Err(store::Error::Field { .. }) => prop_assert_eq!(everything(store, office), before),
        Err(e) => prop_assert!(false, "not the file's fault but ours: {e}"),
    }
    Ok(())
}

/// Cases per property: a bounded number on every test run (CI included), more when
/// `PROPTEST_CASES` asks for a longer hunt.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_unit_file_is_stored_whole_or_refused_whole(bytes in file(ImportKind::Units), as_daoli in any::<bool>()) {
        check(ImportKind::Units, &bytes, as_daoli)?;
    }

    #[test]
    fn any_lecturer_file_is_stored_whole_or_refused_whole(bytes in file(ImportKind::Lecturers), as_daoli in any::<bool>()) {
        check(ImportKind::Lecturers, &bytes, as_daoli)?;
    }

    #[test]
    fn any_session_file_is_stored_whole_or_refused_whole(bytes in file(ImportKind::Sessions), as_daoli in any::<bool>()) {
        check(ImportKind::Sessions, &bytes, as_daoli)?;
    }
}
