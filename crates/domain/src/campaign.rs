//! A campaign's definition as a campaign office writes it (a TOML file), checked.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::Error;
use crate::text::{TITLE, quote, too_long};

/// The most topics (or audiences) one campaign may have: a session's set of them is
/// stored as one 64-bit integer (see [`KeySet`](crate::KeySet)).
pub const MAX_ENTRIES: usize = 63;

/// A topic or an audience segment: a key, a title, and any other fields the campaign
/// file gave (such as `title_en`), kept as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The short name used in files and URLs, such as `theme`.
    pub key: String,
    /// The title shown to people.
    pub title: String,
    /// Other fields, kept so that nothing written in the campaign file is lost.
    pub extra: toml::Table,
}

/// A checked campaign definition.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignSpec {
    /// The short name, such as `cpc20`.
    pub key: String,
    /// The title shown to people.
    pub title: String,
    /// The first day a session counts.
    pub start: NaiveDate,
    /// The day by which coverage should reach the target.
    pub deadline: NaiveDate,
    /// The share of units to cover, 0 to 1.
    pub target: f64,
    /// The points to explain, in the campaign's order.
    pub topics: Vec<Entry>,
    /// The audience segments, in the campaign's order.
    pub audiences: Vec<Entry>,
    /// Other fields of the campaign file, kept as written.
    pub extra: toml::Table,
}

/// Whether `key` may name a campaign, topic, audience or lecturer.
pub fn is_valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl CampaignSpec {
    /// Parses and checks a campaign file. Every broken rule is reported, not only the
    /// first, each naming its field (`topics[2].key`, `deadline`).
    pub fn from_toml(text: &str) -> Result<CampaignSpec, Error> {
        // The parser quotes the offending line: each line of its report is cut short, so
        // that a hostile file's megabyte line does not come back in the message.
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::Campaign(e.to_string().lines().map(crate::text::cut).collect::<Vec<_>>().join("\n")))?;
        let mut problems = Vec::new();
        let key = take_string(&mut table, "key", &mut problems);
        if let Some(k) = &key {
            if !is_valid_key(k) {
                problems.push(format!("key: {}", Error::MalformedKey(k.clone())));
            }
        }
        let title = take_string(&mut table, "title", &mut problems);
        if let Some(why) = title.as_deref().and_then(|t| too_long(t, TITLE)) {
            problems.push(format!("title: {why}"));
        }
        let start = take_date(&mut table, "start", &mut problems);
        let deadline = take_date(&mut table, "deadline", &mut problems);
        if let (Some(s), Some(d)) = (start, deadline) {
            if d < s {
                problems.push(format!("deadline: {d} is before the start {s}"));
            }
        }
        let target = match table.remove("target") {
            None => {
                problems.push("target: missing (the share of units to cover, 0 to 1)".into());
                None
            }
            Some(v) => match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
                Some(t) if (0.0..=1.0).contains(&t) => Some(t),
                _ => {
                    problems.push(format!("target: {v} is not a number from 0 to 1"));
                    None
                }
            },
        };
        let topics = take_entries(&mut table, "topics", &mut problems);
        let audiences = take_entries(&mut table, "audiences", &mut problems);
        if topics.is_empty() && !problems.iter().any(|p| p.starts_with("topics")) {
            problems.push("topics: a campaign needs at least one [[topics]] entry".into());
        }
        match (key, title, start, deadline, target) {
            (Some(key), Some(title), Some(start), Some(deadline), Some(target)) if problems.is_empty() => {
                Ok(CampaignSpec { key, title, start, deadline, target, topics, audiences, extra: table })
            }
            _ => Err(Error::Campaign(problems.join("; "))),
        }
    }

    /// Writes the campaign back as a campaign file that [`CampaignSpec::from_toml`]
    /// reads as this same campaign: the way a form's edit is checked by the file's rules.
    pub fn to_toml(&self) -> String {
        let entries = |list: &[Entry]| {
            toml::Value::Array(
                list.iter()
                    .map(|e| {
                        let mut t = e.extra.clone();
                        t.insert("key".into(), e.key.clone().into());
                        t.insert("title".into(), e.title.clone().into());
                        toml::Value::Table(t)
                    })
                    .collect(),
            )
        };
        let mut t = self.extra.clone();
        t.insert("key".into(), self.key.clone().into());
        t.insert("title".into(), self.title.clone().into());
        t.insert("start".into(), self.start.to_string().into());
        t.insert("deadline".into(), self.deadline.to_string().into());
        t.insert("target".into(), self.target.into());
        t.insert("topics".into(), entries(&self.topics));
        if !self.audiences.is_empty() {
            t.insert("audiences".into(), entries(&self.audiences));
        }
        toml::to_string(&t).unwrap_or_default()
    }

    /// The slot of a topic key, if the campaign has it.
    pub fn topic_slot(&self, key: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.key == key)
    }
}

fn take_string(table: &mut toml::Table, field: &str, problems: &mut Vec<String>) -> Option<String> {
    match table.remove(field) {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(toml::Value::String(_)) => {
            problems.push(format!("{field}: must not be empty"));
            None
        }
        Some(other) => {
            problems.push(format!("{field}: expected a string, found {}", other.type_str()));
            None
        }
        None => {
            problems.push(format!("{field}: missing"));
            None
        }
    }
}

fn take_date(table: &mut toml::Table, field: &str, problems: &mut Vec<String>) -> Option<NaiveDate> {
    let text = match table.remove(field) {
        Some(toml::Value::Datetime(d)) => d.to_string(),
        Some(toml::Value::String(s)) => s,
        Some(other) => {
            problems.push(format!("{field}: expected a date such as 2022-11-04, found {}", other.type_str()));
            return None;
        }
        None => {
            problems.push(format!("{field}: missing"));
            return None;
        }
    };
    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            problems.push(format!("{field}: {} is not a date of the form YYYY-MM-DD", quote(&text)));
            None
        }
    }
}

fn take_entries(table: &mut toml::Table, field: &str, problems: &mut Vec<String>) -> Vec<Entry> {
    let items = match table.remove(field) {
        None => return Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(other) => {
            problems.push(format!("{field}: expected an array of tables ([[{field}]]), found {}", other.type_str()));
            return Vec::new();
        }
    };
    if items.len() > MAX_ENTRIES {
        problems.push(format!("{field}: {} entries, at most {MAX_ENTRIES} are allowed", items.len()));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        let toml::Value::Table(mut t) = item else {
            problems.push(format!("{at}: expected a table with key and title"));
            continue;
        };
        let key = take_string(&mut t, "key", &mut Vec::new());
        let title = take_string(&mut t, "title", &mut Vec::new());
        match (key, title) {
            (Some(key), Some(title)) => {
                if !is_valid_key(&key) {
                    problems.push(format!("{at}.key: {}", Error::MalformedKey(key)));
                } else if !seen.insert(key.clone()) {
                    problems.push(format!("{at}.key: {} appears twice", quote(&key)));
                } else if let Some(why) = too_long(&title, TITLE) {
                    problems.push(format!("{at}.title: {why}"));
                } else {
                    out.push(Entry { key, title, extra: t });
                }
            }
            (None, _) => problems.push(format!("{at}.key: missing or not a string")),
            (_, None) => problems.push(format!("{at}.title: missing or not a string")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"
key = "cpc20"
title = "Lectures"
title_en = "kept"
start = 2022-11-04
deadline = "2022-12-31"
target = 1
[[topics]]
key = "theme"
title = "The theme"
title_en = "also kept"
[[topics]]
key = "decade"
title = "The decade"
[[audiences]]
key = "youth"
title = "Youth"
"#;

    #[test]
    fn a_campaign_survives_writing_back() {
        let c = CampaignSpec::from_toml(SEED).unwrap();
        assert_eq!(CampaignSpec::from_toml(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn a_good_campaign_parses_and_keeps_other_fields() {
        let c = CampaignSpec::from_toml(SEED).unwrap();
        assert_eq!(c.key, "cpc20");
        assert_eq!(c.start, NaiveDate::from_ymd_opt(2022, 11, 4).unwrap());
        assert_eq!(c.deadline, NaiveDate::from_ymd_opt(2022, 12, 31).unwrap());
        assert_eq!(c.target, 1.0);
        assert_eq!(c.topics.len(), 2);
        assert_eq!(c.topic_slot("decade"), Some(1));
        assert_eq!(c.extra.get("title_en").and_then(|v| v.as_str()), Some("kept"));
        assert_eq!(c.topics[0].extra.get("title_en").and_then(|v| v.as_str()), Some("also kept"));
    }

    fn check_err(text: &str, expected: &[&str]) {
        let err = CampaignSpec::from_toml(text).unwrap_err().to_string();
        for e in expected {
            assert!(err.contains(e), "error {err:?} should contain {e:?}");
        }
    }

    #[test]
    fn every_broken_rule_is_named() {
        check_err("key = \"Bad Key\"\ntitle = \"\"\nstart = 2022-12-01\ndeadline = 2022-11-01\ntarget = 1.5",
            &["key: malformed key", "title: must not be empty", "deadline: 2022-11-01 is before", "target: 1.5", "topics: a campaign needs"]);
        check_err("key = \"k\"\ntitle = \"t\"\nstart = \"1 May\"\ndeadline = 2022-11-01\ntarget = 0.5\n[[topics]]\nkey = \"a\"\ntitle = \"A\"\n[[topics]]\nkey = \"a\"\ntitle = \"B\"\n[[topics]]\ntitle = \"C\"",
            &["start: \"1 May\" is not a date", "topics[1].key: \"a\" appears twice", "topics[2].key: missing"]);
        check_err("key = ", &["TOML parse error"]);
    }

    #[test]
    fn keys_are_checked() {
        assert!(is_valid_key("party-members"));
        assert!(is_valid_key("t_1"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("Theme"));
        assert!(!is_valid_key("a b"));
        assert!(!is_valid_key(&"x".repeat(65)));
    }

    /// Any text at all is read as a campaign or refused in words, never a panic, and a
    /// refusal stays short whatever it was sent.
    mod strangers {
        use proptest::prelude::*;

        use super::super::CampaignSpec;

        fn config() -> ProptestConfig {
            // A bounded number each run; `PROPTEST_CASES` asks for a longer hunt.
            let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
            ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn any_text_is_read_or_refused(text in "\\PC{0,600}") {
                match CampaignSpec::from_toml(&text) {
                    Ok(spec) => prop_assert_eq!(CampaignSpec::from_toml(&spec.to_toml()).ok(), Some(spec)),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }

            #[test]
            fn campaign_files_are_checked_and_read_back(
                key in "[a-z0-9_ -]{0,70}",
                title in "\\PC{0,260}",
                start in 0u32..3000,
                days in -30i64..400,
                target in -0.5f64..1.5,
                topics in proptest::collection::vec(("[a-z0-9-]{0,8}", "\\PC{0,230}"), 0..6),
                junk in "\\PC{0,300}",
            ) {
                let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(start as u64);
                let deadline = start.checked_add_signed(chrono::TimeDelta::days(days)).unwrap();
                let mut text = format!("key = {key:?}\ntitle = {title:?}\nstart = {start}\ndeadline = {deadline}\ntarget = {target}\nnote = {junk:?}\n");
                for (k, t) in &topics {
                    text.push_str(&format!("[[topics]]\nkey = {k:?}\ntitle = {t:?}\n"));
                }
                match CampaignSpec::from_toml(&text) {
                    Ok(spec) => {
                        prop_assert!((0.0..=1.0).contains(&spec.target) && spec.deadline >= spec.start);
                        prop_assert!(spec.title.chars().count() <= crate::text::TITLE && !spec.topics.is_empty());
                        prop_assert!(spec.topics.iter().all(|t| t.title.chars().count() <= crate::text::TITLE));
                        prop_assert_eq!(CampaignSpec::from_toml(&spec.to_toml()).ok(), Some(spec));
                    }
                    Err(e) => {
                        let m = e.to_string();
                        prop_assert!(!m.is_empty());
                        // Every rule broken is named; none echoes more than a short quote.
                        prop_assert!(m.split("; ").all(|p| p.chars().count() < 400), "{}", m);
                    }
                }
            }
        }
    }
}
