//! An action's params as Juju hands them over (`action-get --format=json`), read into
//! what each command takes. Juju checks them against actions.yaml before the action
//! runs; they are checked again here, because a confirmation must be the boolean
//! `true` and nothing that merely looks like it (a string `"true"`, a `1`), and a
//! param of the wrong type is the operator's to fix, never a silent default.

use serde_json::{Map, Value};

/// A param that is not what actions.yaml says it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(String);

/// The params of one action run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Map<String, Value>);

impl Params {
    /// `action-get --format=json`'s output: a JSON object.
    pub fn parse(text: &str) -> Result<Params, ParamError> {
        let value: Value = serde_json::from_str(text.trim()).map_err(|e| {
            ParamError(format!(
                "action-get printed no JSON ({e}): is this run by Juju's unit agent?"
            ))
        })?;
        Params::from_value(value)
    }

    /// The params from their JSON value (an object; `null` when the action has none).
    pub fn from_value(value: Value) -> Result<Params, ParamError> {
        match value {
            Value::Object(map) => Ok(Params(map)),
            Value::Null => Ok(Params::default()),
            other => Err(ParamError(format!(
                "action-get gave {} where the params' object belongs",
                kind(&other)
            ))),
        }
    }

    /// A boolean param: absent is `false`; only `true` and `false` are booleans.
    pub fn flag(&self, name: &str) -> Result<bool, ParamError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ParamError(format!(
                "the `{name}` param is {}: give `{name}=true` or `{name}=false`",
                shown(other)
            ))),
        }
    }

    /// A string param: absent or empty is none.
    pub fn text(&self, name: &str) -> Result<Option<String>, ParamError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ParamError(format!(
                "the `{name}` param is {}: give it as text (`{name}=...`)",
                shown(other)
            ))),
        }
    }

    /// A list of strings: absent is empty.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ParamError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(ParamError(format!(
                        "the `{name}` param holds {}: give a list of ids (`{name}='[\"ID\", ...]'`)",
                        shown(other)
                    ))),
                })
                .collect(),
            Some(other) => Err(ParamError(format!(
                "the `{name}` param is {}: give a list (`{name}='[\"ID\", ...]'`)",
                shown(other)
            ))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The value, short, for a message (params are no secrets: actions.yaml has none).
fn shown(v: &Value) -> String {
    let text = v.to_string();
    let short: String = text.chars().take(40).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("{} `{short}{more}`", kind(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_boolean_true_confirms() {
        let p = Params::parse(r#"{"confirm": true, "force": false, "dry-run": "true", "n": 1}"#)
            .unwrap();
        assert_eq!(p.flag("confirm"), Ok(true));
        assert_eq!(p.flag("force"), Ok(false));
        assert_eq!(p.flag("absent"), Ok(false));
        let e = p.flag("dry-run").unwrap_err().to_string();
        assert!(e.contains("`dry-run` param is a string `\"true\"`"), "{e}");
        assert!(e.contains("dry-run=true"), "{e}");
        assert!(p.flag("n").is_err());
    }

    #[test]
    fn text_and_lists_are_what_they_say() {
        let p = Params::parse(
            r#"{"until": "", "run": "r1", "load-balancers": ["a", "b"], "bad": [1]}"#,
        )
        .unwrap();
        assert_eq!(p.text("until"), Ok(None));
        assert_eq!(p.text("run"), Ok(Some("r1".into())));
        assert_eq!(p.list("load-balancers"), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(p.list("absent"), Ok(vec![]));
        assert!(p.list("bad").is_err());
        assert!(p.text("load-balancers").is_err());
        assert!(Params::parse("[1]").is_err());
        assert_eq!(Params::parse("null"), Ok(Params::default()));
        assert!(Params::parse("ERROR not in an action context").is_err());
    }
}
