//! Every case chatspec knows, by protocol.

use crate::case::Case;

pub mod socketio;

/// All cases, in id order.
pub fn all() -> Vec<Case> {
    let mut cases = socketio::cases();
    cases.sort_by_key(|c| c.id);
    cases
}
