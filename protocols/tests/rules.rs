//! Every rule id is unique and listed: a rule several protocols list is one of the
//! common rules (same id, same meaning), no protocol lists an id twice, and every id
//! a codec can report (in its `rule()` match, in a violation of any fixture, in an
//! `.expect` file) is in that protocol's listing. And every kind a dialect lists
//! reads back as itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use protocols::rules::{self, RuleInfo};
use protocols::{Dialect, Protocol};

use crate::check::{fixtures, fixtures_root};

fn listed(protocol: Protocol) -> BTreeSet<&'static str> {
    protocol.rules().iter().map(|r| r.id).collect()
}

#[test]
fn no_protocol_lists_a_rule_twice_and_every_listing_says_where_and_what() {
    for protocol in Protocol::ALL {
        let mut seen = BTreeSet::new();
        for rule in protocol.rules() {
            assert!(seen.insert(rule.id), "{protocol} lists `{}` twice", rule.id);
            assert!(
                !rule.spec.is_empty(),
                "{protocol}: `{}` has no spec",
                rule.id
            );
            assert!(
                !rule.description.is_empty(),
                "{protocol}: `{}` has no description",
                rule.id
            );
            assert!(
                rule.id.split('-').all(|w| !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{protocol}: `{}` is not kebab-case",
                rule.id
            );
        }
    }
}

#[test]
fn an_id_listed_by_two_protocols_is_a_common_rule_with_one_meaning() {
    let common: BTreeMap<&str, &RuleInfo> = rules::COMMON.iter().map(|r| (r.id, r)).collect();
    let mut owners: BTreeMap<&str, Vec<Protocol>> = BTreeMap::new();
    for protocol in Protocol::ALL {
        for rule in protocol.rules() {
            owners.entry(rule.id).or_default().push(protocol);
            if let Some(c) = common.get(rule.id) {
                assert_eq!(
                    rule.description, c.description,
                    "{protocol} gives the common rule `{}` another meaning",
                    rule.id
                );
            }
        }
    }
    for (id, protocols) in owners {
        assert!(
            protocols.len() == 1 || common.contains_key(id),
            "`{id}` is listed by {protocols:?} but is not a common rule: \
             make it one (protocols::rules::COMMON) or give each its own id"
        );
    }
}

#[test]
fn every_expect_file_and_every_fixture_violation_names_a_listed_rule() {
    fn check<D: Dialect>(failures: &mut Vec<String>) {
        let protocol = D::PROTOCOL;
        let ids = listed(protocol);
        for class in ["valid", "invalid"] {
            for f in fixtures(protocol, class) {
                for v in D::validate(f.kind.as_deref(), &f.bytes) {
                    if !ids.contains(v.rule) {
                        failures.push(format!("{}: unlisted rule `{}`", f.path.display(), v.rule));
                    }
                }
                if class == "invalid" {
                    let expect = f.path.with_extension("expect");
                    let expected = fs::read_to_string(&expect)
                        .unwrap_or_else(|e| panic!("{}: {e}", expect.display()));
                    if !ids.contains(expected.trim()) {
                        failures.push(format!(
                            "{}: names unlisted rule `{}`",
                            expect.display(),
                            expected.trim()
                        ));
                    }
                }
            }
        }
    }
    let mut failures = Vec::new();
    check::<protocols::socketio::Transport>(&mut failures);
    check::<protocols::chatpot::Chatpot>(&mut failures);
    check::<protocols::sockets::Sockets>(&mut failures);
    check::<protocols::socketcluster::SocketCluster>(&mut failures);
    check::<protocols::circles::Circles>(&mut failures);
    check::<protocols::assa::Assa>(&mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The ids of `protocols::rules::ids`, by constant name.
fn common_ids(src: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(src.join("rules.rs")).unwrap();
    text.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, value) = rest.split_once(": &str = \"")?;
            Some((name.to_owned(), value.strip_suffix("\";")?.to_owned()))
        })
        .collect()
}

/// Every id a `fn rule(&self)` body in `text` can return: its string literals and
/// the `ids::` constants it names.
fn ids_in_rule_fns(text: &str, common: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("fn rule(&self) -> &'static str {") {
        let body = &rest[start..];
        let end = body.find("fn spec(&self)").unwrap_or(body.len());
        let body = &body[..end];
        for piece in body.split('"').skip(1).step_by(2) {
            out.push(piece.to_owned());
        }
        for piece in body.split("ids::").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let id = common
                .get(&name)
                .unwrap_or_else(|| panic!("ids::{name} is not a common rule id"));
            out.push(id.clone());
        }
        rest = &rest[start + end..];
    }
    out
}

#[test]
fn every_id_a_codec_error_can_return_is_listed() {
    let src = fixtures_root().join("../protocols/src");
    let common = common_ids(&src);
    let files: [(&str, Protocol); 10] = [
        ("engineio.rs", Protocol::Socketio),
        ("socketio.rs", Protocol::Socketio),
        ("chatpot.rs", Protocol::Chatpot),
        ("sockets.rs", Protocol::Sockets),
        ("socketcluster.rs", Protocol::Socketcluster),
        ("circles.rs", Protocol::Circles),
        ("assa/error.rs", Protocol::Assa),
        ("assa/mod.rs", Protocol::Assa),
        ("assa/validation.rs", Protocol::Assa),
        ("assa/framing.rs", Protocol::Assa),
    ];
    let mut found = 0;
    for (file, protocol) in files {
        let text = fs::read_to_string(src.join(file)).unwrap();
        for id in ids_in_rule_fns(&text, &common) {
            found += 1;
            assert!(
                listed(protocol).contains(id.as_str()),
                "{file}: `{id}` is not in {protocol}'s rules (`chatspec rules -p {protocol}`)"
            );
        }
    }
    assert!(found > 80, "only {found} rule ids found in the sources");
    // A common error a codec wraps reports one of the common ids.
    for id in common.values() {
        assert!(
            rules::COMMON.iter().any(|r| r.id == id),
            "`{id}` is in rules::ids but not in rules::COMMON"
        );
    }
}

#[test]
fn every_kind_reads_back_as_itself() {
    fn check<D: Dialect>() {
        let kinds = D::kinds();
        assert!(!kinds.is_empty());
        let mut names = BTreeSet::new();
        for kind in kinds {
            let name = kind.to_string();
            assert!(
                names.insert(name.clone()),
                "{} lists `{name}` twice",
                D::PROTOCOL
            );
            assert_eq!(
                name.parse::<D::Kind>().as_ref(),
                Ok(kind),
                "{}",
                D::PROTOCOL
            );
            assert_eq!(D::PROTOCOL.check_kind(&name), Ok(()));
        }
        assert!(D::PROTOCOL.check_kind("no-such-kind").is_err());
        assert_eq!(D::PROTOCOL.kinds().len(), kinds.len());
    }
    check::<protocols::socketio::Transport>();
    check::<protocols::chatpot::Chatpot>();
    check::<protocols::sockets::Sockets>();
    check::<protocols::socketcluster::SocketCluster>();
    check::<protocols::circles::Circles>();
    check::<protocols::assa::Assa>();
}

#[test]
fn every_fixture_kind_is_a_listed_kind_or_an_unknown_kind_fixture() {
    for protocol in Protocol::ALL {
        for class in ["valid", "invalid"] {
            for f in fixtures(protocol, class) {
                let Some(kind) = &f.kind else { continue };
                let expected = match class {
                    "invalid" => fs::read_to_string(f.path.with_extension("expect")).unwrap(),
                    _ => String::new(),
                };
                let refused = ["unknown-kind", "misspelled-event", "local-only-event"];
                assert!(
                    protocol.check_kind(kind).is_ok() || refused.contains(&expected.trim()),
                    "{}: kind `{kind}` is none of {protocol}'s kinds",
                    f.path.display()
                );
            }
        }
    }
}
