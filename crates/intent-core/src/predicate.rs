//! Property predicates: the tests a plan applies to event fields (`equals`, `one_of`, `contains`,
//! `prefix`, `suffix`, numeric comparisons, `exists`, `regex`).
//!
//! In the plan a predicate is written as a scalar (shorthand for `equals`), a list (shorthand for
//! `one_of`) or a map of tests that must all hold: `{ gte: 60, lt: 600 }`.

use crate::event::FieldValue;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A literal a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Text, compared with the field's text form (numbers as written).
    Text(String),
    /// A number, compared numerically (numeric strings count as numbers).
    Number(f64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    fn matches(&self, value: FieldValue<'_>) -> bool {
        match self {
            Scalar::Text(expected) => value.to_text().is_some_and(|t| t == expected.as_str()),
            Scalar::Number(expected) => value.as_f64().is_some_and(|n| n == *expected),
            Scalar::Bool(expected) => {
                matches!(value, FieldValue::Json(serde_json::Value::Bool(b)) if b == expected)
            }
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => write!(f, "{s:?}"),
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One test on a field.
#[derive(Debug, Clone)]
pub enum Test {
    /// The field equals the literal.
    Equals(Scalar),
    /// The field equals one of the literals.
    OneOf(Vec<Scalar>),
    /// Text contains the substring, or a list contains the element.
    Contains(String),
    /// Text starts with.
    Prefix(String),
    /// Text ends with (e.g. an e-mail domain).
    Suffix(String),
    /// Number greater than.
    Gt(f64),
    /// Number greater than or equal.
    Gte(f64),
    /// Number less than.
    Lt(f64),
    /// Number less than or equal.
    Lte(f64),
    /// The field is present and not null (`true`) or absent or null (`false`).
    Exists(bool),
    /// Text matches the regular expression.
    Regex(regex::Regex),
}

impl Test {
    /// Whether a (possibly missing) field value passes the test.
    pub fn matches(&self, value: Option<FieldValue<'_>>) -> bool {
        let present = value.filter(|v| !v.is_null());
        if let Test::Exists(want) = self {
            return present.is_some() == *want;
        }
        let Some(value) = present else {
            return false;
        };
        match self {
            Test::Equals(s) => s.matches(value),
            Test::OneOf(list) => list.iter().any(|s| s.matches(value)),
            Test::Contains(needle) => match value {
                FieldValue::Json(serde_json::Value::Array(items)) => {
                    items.iter().any(|i| i.as_str() == Some(needle.as_str()))
                }
                v => v.as_str().is_some_and(|t| t.contains(needle.as_str())),
            },
            Test::Prefix(p) => value.as_str().is_some_and(|t| t.starts_with(p.as_str())),
            Test::Suffix(p) => value.as_str().is_some_and(|t| t.ends_with(p.as_str())),
            Test::Gt(n) => value.as_f64().is_some_and(|v| v > *n),
            Test::Gte(n) => value.as_f64().is_some_and(|v| v >= *n),
            Test::Lt(n) => value.as_f64().is_some_and(|v| v < *n),
            Test::Lte(n) => value.as_f64().is_some_and(|v| v <= *n),
            Test::Regex(re) => value.to_text().is_some_and(|t| re.is_match(&t)),
            Test::Exists(_) => unreachable!("handled above"),
        }
    }
}

/// All tests must hold.
#[derive(Debug, Clone)]
pub struct Predicate {
    /// The tests, all of which must pass.
    pub tests: Vec<Test>,
}

impl Predicate {
    /// Whether the value passes every test.
    pub fn matches(&self, value: Option<FieldValue<'_>>) -> bool {
        self.tests.iter().all(|t| t.matches(value))
    }
}

const TESTS: &str = "equals, one_of, contains, prefix, suffix, gt, gte, lt, lte, exists, regex";

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v))
    }
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
}

struct Number(f64);
impl<'de> de::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor).map(Number)
    }
}

struct PredicateVisitor;

impl<'de> Visitor<'de> for PredicateVisitor {
    type Value = Predicate;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "a value to equal, a list of values, or a map of tests ({TESTS})"
        )
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Predicate, E> {
        Ok(single(Test::Equals(Scalar::Text(v.to_string()))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Predicate, E> {
        Ok(single(Test::Equals(Scalar::Bool(v))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Predicate, E> {
        Ok(single(Test::Equals(Scalar::Number(v as f64))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Predicate, E> {
        Ok(single(Test::Equals(Scalar::Number(v as f64))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Predicate, E> {
        Ok(single(Test::Equals(Scalar::Number(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Predicate, A::Error> {
        let mut list = Vec::new();
        while let Some(s) = seq.next_element::<Scalar>()? {
            list.push(s);
        }
        Ok(single(Test::OneOf(list)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Predicate, A::Error> {
        let mut tests = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let test = match key.as_str() {
                "equals" => Test::Equals(map.next_value()?),
                "one_of" => Test::OneOf(map.next_value()?),
                "contains" => Test::Contains(map.next_value()?),
                "prefix" => Test::Prefix(map.next_value()?),
                "suffix" => Test::Suffix(map.next_value()?),
                "gt" => Test::Gt(map.next_value::<Number>()?.0),
                "gte" => Test::Gte(map.next_value::<Number>()?.0),
                "lt" => Test::Lt(map.next_value::<Number>()?.0),
                "lte" => Test::Lte(map.next_value::<Number>()?.0),
                "exists" => Test::Exists(map.next_value()?),
                "regex" => {
                    let pattern: String = map.next_value()?;
                    let re = regex::Regex::new(&pattern).map_err(|e| {
                        de::Error::custom(format!(
                            "`{pattern}` is not a valid regular expression: {}",
                            e.to_string().lines().last().unwrap_or_default().trim()
                        ))
                    })?;
                    Test::Regex(re)
                }
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown test `{other}`: expected one of {TESTS}"
                    )));
                }
            };
            tests.push(test);
        }
        if tests.is_empty() {
            return Err(de::Error::custom(format!(
                "empty test: write e.g. `{{ equals: x }}` (tests: {TESTS})"
            )));
        }
        Ok(Predicate { tests })
    }
}

fn single(t: Test) -> Predicate {
    Predicate { tests: vec![t] }
}

impl<'de> de::Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PredicateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(p: &Predicate, v: serde_json::Value) -> bool {
        p.matches(Some(FieldValue::Json(&v)))
    }

    #[test]
    fn tests_cover_the_documented_operators() {
        let p = |t| Predicate { tests: vec![t] };
        assert!(check(
            &p(Test::Equals(Scalar::Text("a".into()))),
            json!("a")
        ));
        assert!(check(&p(Test::Equals(Scalar::Number(5.0))), json!("5")));
        assert!(!check(&p(Test::Equals(Scalar::Number(5.0))), json!("five")));
        assert!(check(&p(Test::Contains("x".into())), json!(["y", "x"])));
        assert!(check(&p(Test::Suffix("@d.pl".into())), json!("jan@d.pl")));
        assert!(check(&p(Test::Gte(60.0)), json!(60)));
        assert!(!check(&p(Test::Lt(60.0)), json!(60)));
        assert!(p(Test::Exists(false)).matches(None));
        assert!(!p(Test::Exists(true)).matches(Some(FieldValue::Json(&json!(null)))));
        assert!(check(
            &p(Test::Regex(regex::Regex::new("^kiosk-").unwrap())),
            json!("kiosk-1")
        ));
        assert!(!p(Test::Gt(1.0)).matches(None));
    }
}
