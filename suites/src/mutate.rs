//! The mutation layer: between a case and the target, it changes one
//! server→client message of the case (the n-th one the mutation applies to)
//! and leaves every other message alone. A case that still passes under a
//! mutation did not notice it; the kill matrix records which mutations each
//! case notices.
//!
//! The wire (`crate::wire`) hands every message a driver receives to
//! [`Mutator::apply`] before the driver sees it, so the layer works for
//! every driver, every protocol and every target.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One way of breaking a server message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MutationKind {
    /// The message never arrives.
    Drop,
    /// The message arrives twice.
    Duplicate,
    /// The message arrives after the case stopped waiting for it.
    Delay,
    /// A field of the message's JSON is removed.
    RemoveField,
    /// A value of the message's JSON changes type (number ↔ string, ...).
    ChangeType,
    /// The event name (first element of an event array, or `event`/`action`) changes.
    RenameEvent,
    /// An id (ack id, `sid`, `rid`, `cid`, `seq_id`, ...) changes.
    ChangeId,
    /// An HTTP response's status flips between success (200) and refusal (400).
    ChangeStatus,
}

impl MutationKind {
    /// Every mutation, in report order.
    pub const ALL: [MutationKind; 8] = [
        MutationKind::Drop,
        MutationKind::Duplicate,
        MutationKind::Delay,
        MutationKind::RemoveField,
        MutationKind::ChangeType,
        MutationKind::RenameEvent,
        MutationKind::ChangeId,
        MutationKind::ChangeStatus,
    ];

    /// The kebab-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            MutationKind::Drop => "drop",
            MutationKind::Duplicate => "duplicate",
            MutationKind::Delay => "delay",
            MutationKind::RemoveField => "remove-field",
            MutationKind::ChangeType => "change-type",
            MutationKind::RenameEvent => "rename-event",
            MutationKind::ChangeId => "change-id",
            MutationKind::ChangeStatus => "change-status",
        }
    }
}

/// A message as a driver received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (a WebSocket text frame, one packet of a polling payload, one JSON value of a stream).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// How a protocol's text messages are opened up for editing, through the
/// protocol's own codec: the JSON value a message carries, what stands
/// around it (its head), and back.
pub trait Editable {
    /// What a message carries besides its JSON value.
    type Head;
    /// Splits a text message into its head and its JSON value (if any);
    /// `None` when the text is not a message of the protocol.
    fn split(text: &str) -> Option<(Self::Head, Option<Value>)>;
    /// Puts a (mutated) head and value back together.
    fn join(head: &Self::Head, value: Option<&Value>) -> String;
    /// The JSON fields that carry ids, as the protocol's codec declares them
    /// ([`protocols::Dialect::ID_FIELDS`]); [`MutationKind::ChangeId`] edits the
    /// first one found, depth first.
    const ID_FIELDS: &'static [&'static str];
    /// Changes the id the head carries outside the JSON (a Socket.IO ack id);
    /// false when it has none.
    fn change_head_id(_head: &mut Self::Head) -> bool {
        false
    }
}

/// Plain JSON messages (SocketCluster, ASSA): the whole text is the value;
/// the ids are those of the dialect `D`.
pub struct PlainJson<D>(std::marker::PhantomData<D>);

impl<D: protocols::Dialect> Editable for PlainJson<D> {
    type Head = ();
    const ID_FIELDS: &'static [&'static str] = D::ID_FIELDS;
    fn split(text: &str) -> Option<((), Option<Value>)> {
        serde_json::from_str(text).ok().map(|v| ((), Some(v)))
    }
    fn join(_head: &(), value: Option<&Value>) -> String {
        value.map(Value::to_string).unwrap_or_default()
    }
}

/// One mutation applied to the `index`-th message it applies to.
#[derive(Debug)]
pub struct Mutator {
    /// What is done.
    pub kind: MutationKind,
    /// Which applicable message (0-based) is changed.
    pub index: usize,
    /// How long `Delay` holds the message.
    pub delay: Duration,
    seen: AtomicUsize,
    applied: AtomicBool,
}

impl Mutator {
    /// A mutator of `kind` for the `index`-th applicable message.
    pub fn new(kind: MutationKind, index: usize, delay: Duration) -> Self {
        Mutator {
            kind,
            index,
            delay,
            seen: AtomicUsize::new(0),
            applied: AtomicBool::new(false),
        }
    }

    /// Whether the mutation was applied during the run (it is not when the
    /// case saw fewer applicable messages than `index + 1`).
    pub fn applied(&self) -> bool {
        self.applied.load(Ordering::SeqCst)
    }

    /// How many applicable messages the run saw.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// The status an HTTP response carries instead of `status` (`None`: unchanged).
    pub fn apply_status(&self, status: u16) -> Option<u16> {
        if self.kind != MutationKind::ChangeStatus {
            return None;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n != self.index {
            return None;
        }
        self.applied.store(true, Ordering::SeqCst);
        Some(if (200..300).contains(&status) {
            400
        } else {
            200
        })
    }

    /// What the case receives instead of `message`: each item after its delay.
    pub fn apply<E: Editable>(&self, message: Message) -> Vec<(Duration, Message)> {
        let mutated = match self.kind {
            MutationKind::ChangeStatus => None,
            MutationKind::Drop => Some(Vec::new()),
            MutationKind::Duplicate => Some(vec![
                (Duration::ZERO, message.clone()),
                (Duration::ZERO, message.clone()),
            ]),
            MutationKind::Delay => Some(vec![(self.delay, message.clone())]),
            kind => match &message {
                Message::Text(text) => {
                    edit::<E>(kind, text).map(|t| vec![(Duration::ZERO, Message::Text(t))])
                }
                Message::Binary(_) => None,
            },
        };
        let Some(mutated) = mutated else {
            return vec![(Duration::ZERO, message)];
        };
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n == self.index {
            self.applied.store(true, Ordering::SeqCst);
            mutated
        } else {
            vec![(Duration::ZERO, message)]
        }
    }
}

const EVENT_KEYS: [&str; 2] = ["event", "action"];

/// Edits a text message; `None` when the mutation does not apply to it.
fn edit<E: Editable>(kind: MutationKind, text: &str) -> Option<String> {
    let (mut head, value) = E::split(text)?;
    if kind == MutationKind::ChangeId && E::change_head_id(&mut head) {
        return Some(E::join(&head, value.as_ref()));
    }
    let mut value = value?;
    let changed = match kind {
        MutationKind::RemoveField => remove_field(&mut value),
        MutationKind::ChangeType => change_type(&mut value),
        MutationKind::RenameEvent => rename_event(&mut value),
        MutationKind::ChangeId => change_id(E::ID_FIELDS, &mut value),
        MutationKind::Drop
        | MutationKind::Duplicate
        | MutationKind::Delay
        | MutationKind::ChangeStatus => false,
    };
    changed.then(|| E::join(&head, Some(&value)))
}

/// Removes the first key of the first non-empty object, depth first.
fn remove_field(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            if let Some(key) = map.keys().next().cloned() {
                map.remove(&key);
                true
            } else {
                false
            }
        }
        Value::Array(items) => items.iter_mut().any(remove_field),
        _ => false,
    }
}

/// Changes the type of the first scalar found, depth first (skipping an event name).
fn change_type(v: &mut Value) -> bool {
    fn flip(v: &mut Value) -> bool {
        let new = match v {
            Value::Number(n) => Value::String(n.to_string()),
            Value::String(s) => match s.parse::<i64>() {
                Ok(n) => Value::Number(n.into()),
                Err(_) => Value::Array(vec![Value::String(s.clone())]),
            },
            Value::Bool(b) => Value::String(b.to_string()),
            Value::Null => Value::Bool(false),
            Value::Object(map) => return map.values_mut().any(flip),
            Value::Array(items) => return items.iter_mut().any(flip),
        };
        *v = new;
        true
    }
    match v {
        // An event array: leave the name, flip inside the arguments; a bare
        // name with no arguments gets a type change of the name itself.
        Value::Array(items) if items.first().is_some_and(Value::is_string) => {
            if items.len() > 1 {
                items[1..].iter_mut().any(flip)
            } else {
                flip(&mut items[0])
            }
        }
        other => flip(other),
    }
}

/// Renames the event: first string of an event array, or an `event`/`action` field.
fn rename_event(v: &mut Value) -> bool {
    match v {
        Value::Array(items) => match items.first_mut() {
            Some(Value::String(s)) => {
                s.push_str("-mutated");
                true
            }
            _ => false,
        },
        Value::Object(map) => EVENT_KEYS.iter().any(|k| match map.get_mut(*k) {
            Some(Value::String(s)) => {
                s.push_str("-mutated");
                true
            }
            _ => false,
        }),
        _ => false,
    }
}

/// Changes the first field of `ids` found, depth first.
fn change_id(ids: &[&str], v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            for key in ids {
                if let Some(id) = map.get_mut(*key) {
                    match id {
                        Value::Number(n) => {
                            *id = Value::Number((n.as_i64().unwrap_or(0).wrapping_add(1)).into())
                        }
                        Value::String(s) => s.push_str("-mutated"),
                        _ => continue,
                    }
                    return true;
                }
            }
            map.values_mut().any(|v| change_id(ids, v))
        }
        Value::Array(items) => items.iter_mut().any(|v| change_id(ids, v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Sc = PlainJson<protocols::socketcluster::SocketCluster>;

    fn text(m: &[(Duration, Message)]) -> Vec<String> {
        m.iter()
            .map(|(_, m)| match m {
                Message::Text(t) => t.clone(),
                Message::Binary(b) => format!("{b:?}"),
            })
            .collect()
    }

    #[test]
    fn only_the_indexed_applicable_message_changes() {
        let m = Mutator::new(MutationKind::RemoveField, 1, Duration::ZERO);
        // Not JSON: not applicable, not counted.
        assert_eq!(text(&m.apply::<Sc>(Message::Text("#1".into()))), ["#1"]);
        assert_eq!(
            text(&m.apply::<Sc>(Message::Text(r#"{"a":1}"#.into()))),
            [r#"{"a":1}"#]
        );
        assert!(!m.applied());
        assert_eq!(
            text(&m.apply::<Sc>(Message::Text(r#"{"a":1,"b":2}"#.into()))),
            [r#"{"b":2}"#]
        );
        assert!(m.applied());
        assert_eq!(
            text(&m.apply::<Sc>(Message::Text(r#"{"a":1}"#.into()))),
            [r#"{"a":1}"#]
        );
        assert_eq!(m.seen(), 3);
    }

    #[test]
    fn each_json_mutation_changes_what_it_names() {
        let cases = [
            (
                MutationKind::ChangeType,
                r#"{"rid":1,"data":"x"}"#,
                r#"{"data":["x"],"rid":1}"#,
            ),
            (
                MutationKind::RenameEvent,
                r##"{"event":"#publish"}"##,
                r##"{"event":"#publish-mutated"}"##,
            ),
            (
                MutationKind::ChangeId,
                r#"{"rid":7,"data":{}}"#,
                r#"{"data":{},"rid":8}"#,
            ),
            (
                MutationKind::ChangeId,
                r#"{"data":{"id":"abc"}}"#,
                r#"{"data":{"id":"abc-mutated"}}"#,
            ),
        ];
        for (kind, input, expected) in cases {
            let m = Mutator::new(kind, 0, Duration::ZERO);
            let out = text(&m.apply::<Sc>(Message::Text(input.into())));
            let got: Value = serde_json::from_str(&out[0]).unwrap();
            let want: Value = serde_json::from_str(expected).unwrap();
            assert_eq!(got, want, "{kind:?} on {input}");
        }
    }

    #[test]
    fn drop_duplicate_delay_apply_to_anything() {
        let m = Mutator::new(MutationKind::Drop, 0, Duration::ZERO);
        assert!(m.apply::<Sc>(Message::Binary(vec![1])).is_empty());
        let m = Mutator::new(MutationKind::Duplicate, 0, Duration::ZERO);
        assert_eq!(m.apply::<Sc>(Message::Text("#1".into())).len(), 2);
        let m = Mutator::new(MutationKind::Delay, 0, Duration::from_secs(5));
        assert_eq!(
            m.apply::<Sc>(Message::Text("#1".into()))[0].0,
            Duration::from_secs(5)
        );
    }
}
