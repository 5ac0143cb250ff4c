//! The suite registry: one descriptor per protocol that has a suite, saying
//! where its cases are, which target section it reads and how it points at
//! the reference server. Adding a protocol's suite is one line in [`SUITES`].

use std::sync::Arc;

use protocols::Protocol;

use crate::case::Case;
use crate::cases::CASES;
use crate::target::{
    AssaTarget, ChatpotTarget, CirclesTarget, Reference, Section, SectionType, SocketclusterTarget,
    SocketioTarget, SocketsTarget, TargetError, Targets,
};

/// Every suite, one per protocol.
pub static SUITES: &[Suite] = &[
    Suite::new::<SocketioTarget>(),
    Suite::new::<SocketclusterTarget>(),
    Suite::new::<SocketsTarget>(),
    Suite::new::<AssaTarget>(),
    Suite::new::<ChatpotTarget>(),
    Suite::new::<CirclesTarget>(),
];

/// A section built by its suite, or why it could not be.
type Built = Result<Arc<dyn Section>, TargetError>;

/// One protocol's suite: its cases and its target section type.
pub struct Suite {
    /// The protocol it checks.
    pub protocol: Protocol,
    /// Reads and checks the protocol's section of a target file.
    pub(crate) parse: fn(toml::Value) -> Built,
    /// Builds the section of a `--target P=URL` flag over the file's section.
    pub(crate) from_url: fn(&str, Option<&dyn Section>) -> Built,
    embedded: fn(&Reference) -> Option<Arc<dyn Section>>,
}

impl Suite {
    /// The suite of the protocol whose target section is `S`.
    pub const fn new<S: SectionType>() -> Suite {
        Suite {
            protocol: S::PROTOCOL,
            parse: parse::<S>,
            from_url: from_url::<S>,
            embedded: embedded::<S>,
        }
    }

    /// The suite's cases (the declared cases of its protocol), in no particular order.
    pub fn cases(&self) -> impl Iterator<Item = &'static Case> + '_ {
        CASES.iter().filter(|c| c.protocol == self.protocol)
    }
}

fn parse<S: SectionType>(value: toml::Value) -> Built {
    let section: S = value.try_into().map_err(TargetError::Value)?;
    section.validate()?;
    Ok(Arc::new(section))
}

fn from_url<S: SectionType>(url: &str, previous: Option<&dyn Section>) -> Built {
    let previous = previous.and_then(|p| p.as_any().downcast_ref::<S>());
    let section = S::from_url(url, previous)?;
    section.validate()?;
    Ok(Arc::new(section))
}

fn embedded<S: SectionType>(reference: &Reference) -> Option<Arc<dyn Section>> {
    S::embedded(reference).map(|s| Arc::new(s) as Arc<dyn Section>)
}

/// The suite of `protocol`, if it has one.
pub fn suite(protocol: Protocol) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.protocol == protocol)
}

/// The ids of the protocols that have a suite, comma separated (for messages).
pub fn protocol_list() -> String {
    SUITES
        .iter()
        .map(|s| s.protocol.id())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The targets pointing at the reference server `reference` (its
/// listeners as `(listener name, address)` pairs, e.g. `("echo",
/// 127.0.0.1:3000)`, and its secrets): one section for every suite whose
/// listener runs.
pub fn embedded_targets(name: &str, reference: &Reference) -> Targets {
    let mut targets = Targets::default();
    targets.name = Some(name.to_owned());
    for suite in SUITES {
        if let Some(section) = (suite.embedded)(reference) {
            targets.insert_dyn(suite.protocol, section);
        }
    }
    targets
}
