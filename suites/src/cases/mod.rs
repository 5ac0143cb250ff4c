//! Every case chatspec knows, one module per protocol's suite. Each case is
//! declared beside its body and registered into its suite's distributed
//! slice; [`crate::registry::SUITES`] lists the suites.

use crate::case::Case;
use crate::registry::SUITES;

pub mod socketio;

/// All cases, in id order.
pub fn all() -> Vec<Case> {
    let mut cases: Vec<Case> = SUITES.iter().flat_map(|s| s.cases()).cloned().collect();
    cases.sort_by_key(|c| c.id);
    cases
}
