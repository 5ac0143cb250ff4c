//! The validation kernel the JSON codecs share: where a field is (its dotted
//! path), the one field walker ([`Walker`]), the rules several codecs share
//! ([`CommonError`], each with one fixed kebab-case id), and the rule listing
//! `chatspec rules` prints ([`RuleInfo`]).
//!
//! A rule id is public API: users' expectation files name it. A rule several
//! protocols share has one id and one meaning everywhere (`missing-field`,
//! `wrong-type`, ...); a protocol's own rules live in its error enum, which
//! wraps [`CommonError`].

use std::fmt;

use serde_json::{Map, Value};

/// One rule as `chatspec rules` lists it: its id, where it comes from, what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// The kebab-case id violations carry.
    pub id: &'static str,
    /// The document and section the rule comes from.
    pub spec: &'static str,
    /// One line for people.
    pub description: &'static str,
}

impl RuleInfo {
    /// A rule of one protocol.
    pub const fn new(id: &'static str, spec: &'static str, description: &'static str) -> Self {
        RuleInfo {
            id,
            spec,
            description,
        }
    }
}

/// The ids of the rules several protocols share, with their one-line descriptions.
pub mod ids {
    /// The bytes are not UTF-8.
    pub const INVALID_UTF8: &str = "invalid-utf8";
    /// The bytes are not one JSON value.
    pub const INVALID_JSON: &str = "invalid-json";
    /// The kind handed to the codec is none it knows.
    pub const UNKNOWN_KIND: &str = "unknown-kind";
    /// A required field is absent.
    pub const MISSING_FIELD: &str = "missing-field";
    /// A value has the wrong JSON type.
    pub const WRONG_TYPE: &str = "wrong-type";
    /// A string that must carry something is empty.
    pub const EMPTY_VALUE: &str = "empty-value";
    /// A number is outside its range.
    pub const OUT_OF_RANGE: &str = "out-of-range";
    /// A string holds a value outside its documented set.
    pub const UNKNOWN_VALUE: &str = "unknown-value";
    /// An id is not a non-negative integer.
    pub const BAD_ID: &str = "bad-id";
    /// An event name the document does not define.
    pub const UNKNOWN_EVENT: &str = "unknown-event";
    /// The input is not a Socket.IO event argument array.
    pub const NOT_AN_EVENT_ARRAY: &str = "not-an-event-array";
    /// An event carries another number of arguments than it takes.
    pub const WRONG_ARGUMENT_COUNT: &str = "wrong-argument-count";
    /// A message that must be a JSON object is not one.
    pub const NOT_AN_OBJECT: &str = "not-an-object";
    /// A message travels the other way than it may.
    pub const WRONG_DIRECTION: &str = "wrong-direction";
}

/// The rules several protocols share: one id, one meaning, wherever they are listed.
/// `spec` is a placeholder here; each protocol lists them with its own sections.
pub const COMMON: &[RuleInfo] = &[
    RuleInfo::new(ids::INVALID_UTF8, "", "the bytes are not UTF-8"),
    RuleInfo::new(ids::INVALID_JSON, "", "the bytes are not one JSON value"),
    RuleInfo::new(
        ids::UNKNOWN_KIND,
        "",
        "the kind handed to the codec is none it knows (a caller's mistake)",
    ),
    RuleInfo::new(ids::MISSING_FIELD, "", "a required field is absent"),
    RuleInfo::new(ids::WRONG_TYPE, "", "a value has the wrong JSON type"),
    RuleInfo::new(
        ids::EMPTY_VALUE,
        "",
        "a string that must carry something is empty",
    ),
    RuleInfo::new(ids::OUT_OF_RANGE, "", "a number is outside its range"),
    RuleInfo::new(
        ids::UNKNOWN_VALUE,
        "",
        "a string holds a value outside its documented set",
    ),
    RuleInfo::new(ids::BAD_ID, "", "an id is not a non-negative integer"),
    RuleInfo::new(
        ids::UNKNOWN_EVENT,
        "",
        "an event name the document does not define",
    ),
    RuleInfo::new(
        ids::NOT_AN_EVENT_ARRAY,
        "",
        "the input is not a Socket.IO event argument array [\"name\", ...]",
    ),
    RuleInfo::new(
        ids::WRONG_ARGUMENT_COUNT,
        "",
        "an event carries another number of arguments than it takes",
    ),
    RuleInfo::new(
        ids::NOT_AN_OBJECT,
        "",
        "a message that must be a JSON object is not one",
    ),
    RuleInfo::new(
        ids::WRONG_DIRECTION,
        "",
        "a message travels the other way than it may",
    ),
];

/// The listing of a common rule with the section a protocol takes it from.
/// Panics at compile time (in a `const`) on an id that is not common.
pub const fn common(id: &'static str, spec: &'static str) -> RuleInfo {
    let mut i = 0;
    while i < COMMON.len() {
        if const_eq(COMMON[i].id, id) {
            return RuleInfo::new(id, spec, COMMON[i].description);
        }
        i += 1;
    }
    panic!("not a common rule id")
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The path of `key` inside `prefix`: `a.b`, `a[0]` for an index key, `key` at the top,
/// `prefix` for an empty key.
pub fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if key.starts_with('[') => format!("{prefix}{key}"),
        (false, false) => format!("{prefix}.{key}"),
    }
}

/// The path of item `index` of the array at `prefix`: `prefix[index]`.
pub fn index(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

/// The JSON type of a value, for people: `a string`, `an object`, `null`...
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Names a field in an error message; the empty path is the whole payload.
struct Describe<'a>(&'a str);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the payload")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}

/// A broken common rule. Every protocol's error enum wraps it; `spec` is the
/// section of that protocol's document the field (or the message) comes from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommonError {
    /// The bytes are not UTF-8. Rule `invalid-utf8`.
    #[error("message is not valid UTF-8")]
    InvalidUtf8 {
        /// The section that says the encoding.
        spec: &'static str,
    },
    /// The bytes are not one JSON value. Rule `invalid-json`.
    #[error("message is not JSON: {reason}")]
    InvalidJson {
        /// What the JSON parser said.
        reason: String,
        /// The section that says the format.
        spec: &'static str,
    },
    /// A required field is absent. Rule `missing-field`.
    #[error("missing field `{field}`")]
    MissingField {
        /// Dotted path of the field.
        field: String,
        /// The section that names the field.
        spec: &'static str,
    },
    /// A value has the wrong JSON type. Rule `wrong-type`.
    #[error("{} must be {expected}", Describe(.field))]
    WrongType {
        /// Dotted path of the field (`""` for the payload itself).
        field: String,
        /// What it must be, for people.
        expected: &'static str,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// A string that must carry something is empty. Rule `empty-value`.
    #[error("{} is empty", Describe(.field))]
    EmptyValue {
        /// Dotted path of the field.
        field: String,
        /// The section that names the field.
        spec: &'static str,
    },
    /// A number is outside its range. Rule `out-of-range`.
    #[error("`{field}` is out of range: {found}")]
    OutOfRange {
        /// Dotted path of the field.
        field: String,
        /// The number as it came.
        found: String,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// A string holds a value outside its documented set. Rule `unknown-value`.
    #[error("`{field}` is `{found}`; expected {expected}")]
    UnknownValue {
        /// Dotted path of the field.
        field: String,
        /// The value as it came.
        found: String,
        /// The values allowed, for people.
        expected: &'static str,
        /// The section that lists the values.
        spec: &'static str,
    },
    /// An id that is a number but not a non-negative integer. Rule `bad-id`.
    #[error("`{field}` is not a valid id: {found}")]
    BadId {
        /// Dotted path of the field.
        field: String,
        /// The number as it came.
        found: String,
        /// The section that shows the id.
        spec: &'static str,
    },
}

impl CommonError {
    /// The rule's id.
    pub fn rule(&self) -> &'static str {
        match self {
            CommonError::InvalidUtf8 { .. } => ids::INVALID_UTF8,
            CommonError::InvalidJson { .. } => ids::INVALID_JSON,
            CommonError::MissingField { .. } => ids::MISSING_FIELD,
            CommonError::WrongType { .. } => ids::WRONG_TYPE,
            CommonError::EmptyValue { .. } => ids::EMPTY_VALUE,
            CommonError::OutOfRange { .. } => ids::OUT_OF_RANGE,
            CommonError::UnknownValue { .. } => ids::UNKNOWN_VALUE,
            CommonError::BadId { .. } => ids::BAD_ID,
        }
    }

    /// The section the rule comes from.
    pub fn spec(&self) -> &'static str {
        match self {
            CommonError::InvalidUtf8 { spec }
            | CommonError::InvalidJson { spec, .. }
            | CommonError::MissingField { spec, .. }
            | CommonError::WrongType { spec, .. }
            | CommonError::EmptyValue { spec, .. }
            | CommonError::OutOfRange { spec, .. }
            | CommonError::UnknownValue { spec, .. }
            | CommonError::BadId { spec, .. } => spec,
        }
    }

    /// The dotted path of the field; `""` for the whole message.
    pub fn field(&self) -> &str {
        match self {
            CommonError::InvalidUtf8 { .. } | CommonError::InvalidJson { .. } => "",
            CommonError::MissingField { field, .. }
            | CommonError::WrongType { field, .. }
            | CommonError::EmptyValue { field, .. }
            | CommonError::OutOfRange { field, .. }
            | CommonError::UnknownValue { field, .. }
            | CommonError::BadId { field, .. } => field,
        }
    }

    /// The same error about `prefix` joined with its field.
    pub fn prefixed(mut self, prefix: &str) -> Self {
        match &mut self {
            CommonError::InvalidUtf8 { .. } | CommonError::InvalidJson { .. } => {}
            CommonError::MissingField { field, .. }
            | CommonError::WrongType { field, .. }
            | CommonError::EmptyValue { field, .. }
            | CommonError::OutOfRange { field, .. }
            | CommonError::UnknownValue { field, .. }
            | CommonError::BadId { field, .. } => *field = join(prefix, field),
        }
        self
    }
}

/// Whether a field must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Required: absent is `missing-field`.
    Required,
    /// Optional: absent is fine.
    Optional,
    /// Optional, and a present `null` is fine too (and reads as absent).
    Nullable,
}

impl From<bool> for Need {
    /// `true` is [`Need::Required`], `false` [`Need::Optional`].
    fn from(required: bool) -> Self {
        if required {
            Need::Required
        } else {
            Need::Optional
        }
    }
}

/// The one field walker: reads fields out of JSON objects and collects every
/// broken rule with the path of the field it is about, rather than stopping at
/// the first. `spec` is the section the next fields come from; a codec sets it
/// as it moves from one part of a message to another.
#[derive(Debug)]
pub struct Walker<E> {
    /// The section fields read next come from.
    pub spec: &'static str,
    found: Vec<(String, E)>,
}

impl<E: From<CommonError>> Walker<E> {
    /// A walker reading fields of the section `spec`.
    pub fn new(spec: &'static str) -> Self {
        Walker {
            spec,
            found: Vec::new(),
        }
    }

    /// Records a codec's own error about `field`.
    pub fn push(&mut self, field: impl Into<String>, error: E) {
        self.found.push((field.into(), error));
    }

    /// Records a common error about its own field.
    pub fn common(&mut self, error: CommonError) {
        let field = error.field().to_owned();
        self.found.push((field, error.into()));
    }

    /// `field` is absent.
    pub fn missing(&mut self, field: String) {
        let spec = self.spec;
        self.common(CommonError::MissingField { field, spec });
    }

    /// `field` is not `expected`.
    pub fn wrong_type(&mut self, field: String, expected: &'static str) {
        let spec = self.spec;
        self.common(CommonError::WrongType {
            field,
            expected,
            spec,
        });
    }

    /// `field` is empty.
    pub fn empty(&mut self, field: String) {
        let spec = self.spec;
        self.common(CommonError::EmptyValue { field, spec });
    }

    /// `field` holds the number `found`, outside its range.
    pub fn out_of_range(&mut self, field: String, found: impl fmt::Display) {
        let spec = self.spec;
        self.common(CommonError::OutOfRange {
            field,
            found: found.to_string(),
            spec,
        });
    }

    /// Nothing broken so far.
    pub fn is_clean(&self) -> bool {
        self.found.is_empty()
    }

    /// How many errors so far.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Whether no error was recorded (same as [`Walker::is_clean`]).
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Prefixes the path of every error recorded since `from` (a [`Walker::len`]) with
    /// `prefix`; `rewrite` does the same inside each error (see [`CommonError::prefixed`]).
    pub fn prefix_since(&mut self, from: usize, prefix: &str, rewrite: impl Fn(E, &str) -> E) {
        let found = self.found.split_off(from.min(self.found.len()));
        for (field, error) in found {
            self.found
                .push((join(prefix, &field), rewrite(error, prefix)));
        }
    }

    /// Every error with its field path, in the order found.
    pub fn into_found(self) -> Vec<(String, E)> {
        self.found
    }

    /// Every error without its path, in the order found.
    pub fn into_errors(self) -> Vec<E> {
        self.found.into_iter().map(|(_, e)| e).collect()
    }

    /// The value at `key` of `map` (whose path is `at`), or `None` after reporting
    /// it missing when it is required. A `null` reads as absent when `need` is
    /// [`Need::Nullable`].
    pub fn get<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        at: &str,
        key: &str,
        need: Need,
    ) -> Option<&'a Value> {
        match map.get(key) {
            None => {
                if need == Need::Required {
                    self.missing(join(at, key));
                }
                None
            }
            Some(Value::Null) if need == Need::Nullable => None,
            Some(value) => Some(value),
        }
    }

    /// Runs `f` on the value at `key` (with its path) when present; see [`Walker::get`].
    pub fn with<'a, T>(
        &mut self,
        map: &'a Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
        f: impl FnOnce(&mut Self, &'a Value, String) -> Option<T>,
    ) -> Option<T> {
        let value = self.get(map, at, key, need.into())?;
        f(self, value, join(at, key))
    }

    /// `value` (at `field`) as an object, or `None` after reporting `wrong-type`.
    pub fn object<'a>(&mut self, value: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => {
                self.wrong_type(field.to_owned(), "an object");
                None
            }
        }
    }

    /// The object at `key`.
    pub fn object_field<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
    ) -> Option<&'a Map<String, Value>> {
        self.with(map, at, key, need, |w, value, field| {
            w.object(value, &field)
        })
    }

    /// The string at `key` (may be empty).
    pub fn string<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
    ) -> Option<&'a str> {
        self.with(map, at, key, need, |w, value, field| match value {
            Value::String(s) => Some(s.as_str()),
            _ => {
                w.wrong_type(field, "a string");
                None
            }
        })
    }

    /// The string at `key`, reported `empty-value` when empty.
    pub fn nonempty<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
    ) -> Option<&'a str> {
        self.with(map, at, key, need, |w, value, field| match value {
            Value::String(s) if s.is_empty() => {
                w.empty(field);
                None
            }
            Value::String(s) => Some(s.as_str()),
            _ => {
                w.wrong_type(field, "a string");
                None
            }
        })
    }

    /// The boolean at `key`.
    pub fn boolean(
        &mut self,
        map: &Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
    ) -> Option<bool> {
        self.with(map, at, key, need, |w, value, field| match value {
            Value::Bool(b) => Some(*b),
            _ => {
                w.wrong_type(field, "a boolean");
                None
            }
        })
    }

    /// `value` (at `field`) as an integer id: a negative or fractional number is
    /// `bad-id`, anything else but a number is `wrong-type` (`expected`).
    pub fn id_value(
        &mut self,
        value: &Value,
        field: String,
        expected: &'static str,
    ) -> Option<u64> {
        match value {
            Value::Number(n) => match n.as_u64() {
                Some(id) => Some(id),
                None => {
                    let spec = self.spec;
                    self.common(CommonError::BadId {
                        field,
                        found: n.to_string(),
                        spec,
                    });
                    None
                }
            },
            _ => {
                self.wrong_type(field, expected);
                None
            }
        }
    }

    /// The integer id at `key` (see [`Walker::id_value`]).
    pub fn id(
        &mut self,
        map: &Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
        expected: &'static str,
    ) -> Option<u64> {
        self.with(map, at, key, need, |w, value, field| {
            w.id_value(value, field, expected)
        })
    }

    /// The non-negative integer at `key`, at most `max`: a negative integer or one
    /// above `max` is `out-of-range`, anything else `wrong-type` (`expected`).
    pub fn unsigned(
        &mut self,
        map: &Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
        max: u64,
        expected: &'static str,
    ) -> Option<u64> {
        self.with(map, at, key, need, |w, value, field| match value {
            Value::Number(n) => match (n.as_u64(), n.is_i64()) {
                (Some(v), _) if v <= max => Some(v),
                (Some(_), _) | (None, true) => {
                    w.out_of_range(field, n);
                    None
                }
                (None, false) => {
                    w.wrong_type(field, expected);
                    None
                }
            },
            _ => {
                w.wrong_type(field, expected);
                None
            }
        })
    }

    /// The string at `key`, one of `values`: another string is `unknown-value`.
    pub fn one_of<T: Copy>(
        &mut self,
        map: &Map<String, Value>,
        at: &str,
        key: &str,
        need: impl Into<Need>,
        values: &[(T, &str)],
        expected: &'static str,
    ) -> Option<T> {
        let found = self.string(map, at, key, need)?;
        match values.iter().find(|(_, s)| *s == found) {
            Some((v, _)) => Some(*v),
            None => {
                let spec = self.spec;
                self.common(CommonError::UnknownValue {
                    field: join(at, key),
                    found: found.to_owned(),
                    expected,
                    spec,
                });
                None
            }
        }
    }
}

/// Reads `input` as UTF-8 JSON, or says which common rule it breaks.
pub fn parse_json(input: &[u8], spec: &'static str) -> Result<Value, CommonError> {
    let text = std::str::from_utf8(input).map_err(|_| CommonError::InvalidUtf8 { spec })?;
    serde_json::from_str(text).map_err(|e| CommonError::InvalidJson {
        reason: e.to_string(),
        spec,
    })
}

/// Why `encode` could not produce bytes for a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The JSON serializer refused the message (e.g. a map with non-string keys).
    #[error("the message cannot be serialized as JSON: {0}")]
    Json(String),
}

impl From<serde_json::Error> for EncodeError {
    fn from(e: serde_json::Error) -> Self {
        EncodeError::Json(e.to_string())
    }
}
