//! Rules of the code base that no compiler checks, read from the source tree: every
//! file says what it is for; ARCHITECTURE.md names every crate; and the one
//! authorization path has no way around it (no role tested inline, no account made
//! up outside the store, the raw store reached by sign-in and the notifier alone).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every Rust file under `crates/`, with its path from the root and its text.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("crates"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(root()).unwrap().display().to_string(), text)
        })
        .collect()
}

#[test]
fn every_file_says_what_it_is_for() {
    let silent: Vec<String> = sources().into_iter().filter(|(_, text)| !text.starts_with("//!")).map(|(p, _)| p).collect();
    assert!(silent.is_empty(), "files without a `//!` line at the top: {silent:?}");
}

#[test]
fn the_architecture_names_every_crate() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(doc.contains(&format!("### `{name}`")), "ARCHITECTURE.md has no heading for the crate {name}");
    }
}

#[test]
fn no_role_is_tested_outside_the_permission_table() {
    // Permissions are rows of `domain::access`; a role compared inline is a second
    // table that the permission matrix does not see.
    // (The account model itself says which roles a lecturer record links to: data,
    // not a permission.)
    for (path, text) in sources() {
        if path.starts_with("crates/domain/") || path == "crates/store/src/accounts.rs" || path.contains("/tests/") || path.contains("/benches/") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let inline = (line.contains("matches!(") && line.contains("Role::")) || line.contains("role == Role::") || line.contains("role != Role::");
            assert!(!inline, "{path}:{}: a role tested inline; add a row to the permission table instead: {}", i + 1, line.trim());
        }
    }
}

#[test]
fn no_account_is_made_up_outside_the_store() {
    // An account literal with a wider scope ("a warrant") would pass every check.
    for (path, text) in sources() {
        if path == "crates/store/src/accounts.rs" {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let literal = line.match_indices("Account {").any(|(at, _)| {
                let before = &line[..at];
                let after = line[at + "Account {".len()..].trim_start();
                !before.ends_with("New") && ["id:", "name:", "role:", "scope:", "lecturer:", ".."].iter().any(|f| after.starts_with(f))
            });
            assert!(!literal, "{path}:{}: an account made up outside the store: {}", i + 1, line.trim());
        }
    }
}

#[test]
fn handlers_reach_the_store_only_through_its_handles() {
    // `AppState::system` gives the raw store: for finding the account of a sign-in or
    // a cookie, and for the notifier. Every other handler goes through `as_account`,
    // `public` or `link`, which check the permission table.
    for (path, text) in sources() {
        if !path.starts_with("crates/web/src/") || ["crates/web/src/lib.rs", "crates/web/src/auth.rs", "crates/web/src/supervision.rs"].contains(&path.as_str()) {
            continue;
        }
        assert!(!text.contains(".system("), "{path} reaches the raw store; use the account's handle");
    }
    let supervision = std::fs::read_to_string(root().join("crates/web/src/supervision.rs")).unwrap();
    let uses: Vec<&str> = supervision.lines().filter(|l| l.contains(".system(")).collect();
    assert!(uses.iter().all(|l| l.contains("notify")), "supervision.rs uses the raw store for notifying only: {uses:?}");
}
