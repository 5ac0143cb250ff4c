//! The input generator every protocol's fuzzer shares: a seeded random source and the hostile values of every class.

use serde_json::{json, Value};

/// The random source of one input: seeded from the run's seed and the input's index alone.
pub struct Gen {
    rng: fastrand::Rng,
}

impl Gen {
    /// The generator of input `index` of a run seeded with `seed`.
    pub fn new(seed: u64, index: u64) -> Gen {
        // SplitMix64 of the pair, so neighbouring indexes share nothing.
        let mut z = seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Gen {
            rng: fastrand::Rng::with_seed(z ^ (z >> 31)),
        }
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.usize(..n.max(1))
    }

    /// True once in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Random bytes, up to `max` of them.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.rng.u8(..)).collect()
    }

    /// A hostile value: huge and negative numbers, floats, long strings,
    /// deep nesting, type confusion (a value of another JSON type).
    pub fn value(&mut self) -> Value {
        match self.below(12) {
            0 => json!(u64::MAX),
            1 => json!(i64::MIN),
            2 => json!(-1),
            3 => json!(1e308),
            4 => json!(0.5),
            5 => json!(self.long_string()),
            6 => self.nested(),
            7 => json!(null),
            8 => json!(true),
            9 => json!([]),
            10 => json!({}),
            _ => json!("x"),
        }
    }

    /// A string of 10 KiB to 200 KiB.
    pub fn long_string(&mut self) -> String {
        "A".repeat(10_000 + self.below(190_000))
    }

    /// An array nested 1,000 to 100,000 deep, as text (a JSON value of it
    /// would itself be too deep to build).
    pub fn nested_text(&mut self) -> String {
        let depth = 1000 + self.below(99_000);
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    /// An array nested 90 to 120 deep: deep, yet under the 128 levels most JSON parsers (and the probe's) take.
    pub fn nested(&mut self) -> Value {
        let mut v = json!(0);
        for _ in 0..(90 + self.below(30)) {
            v = json!([v]);
        }
        v
    }

    /// Bytes that are not UTF-8, inside otherwise plain text.
    pub fn invalid_utf8(&mut self, around: &str) -> Vec<u8> {
        let bad: &[&[u8]] = &[
            b"\xff",
            b"\xc3\x28",
            b"\xed\xa0\x80",
            b"\xf0\x28\x8c\x28",
            b"\xc0\xaf",
        ];
        let mut out = around.as_bytes().to_vec();
        let at = self.below(out.len() + 1);
        let piece = self.pick(bad).to_vec();
        out.splice(at..at, piece);
        out
    }

    /// `text` with one character changed, removed or duplicated, or cut.
    pub fn break_text(&mut self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return "\u{0}".to_owned();
        }
        let at = self.below(chars.len());
        let mut out = chars.clone();
        match self.below(4) {
            0 => {
                out.remove(at);
            }
            1 => out.insert(at, chars[at]),
            2 => out[at] = *self.pick(&['"', '{', '}', '[', ']', ',', ':', '9', '-', '\\', 'ÿ']),
            _ => out.truncate(at),
        }
        out.into_iter().collect()
    }

    /// A JSON value with one field's value replaced by a hostile one, or removed.
    pub fn break_json(&mut self, value: &Value) -> Value {
        let mut v = value.clone();
        self.break_in(&mut v);
        v
    }

    fn break_in(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                let keys: Vec<String> = map.keys().cloned().collect();
                let key = self.pick(&keys).clone();
                let leaf = !matches!(map[&key], Value::Object(_) | Value::Array(_));
                if leaf || self.one_in(3) {
                    if self.one_in(4) {
                        map.remove(&key);
                    } else {
                        let hostile = self.value();
                        map.insert(key, hostile);
                    }
                } else if let Some(inner) = map.get_mut(&key) {
                    self.break_in(inner);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let at = self.below(items.len());
                if self.one_in(3) {
                    items[at] = self.value();
                } else {
                    self.break_in(&mut items[at]);
                }
            }
            other => *other = self.value(),
        }
    }
}
