//! `actions/actions.yaml` held to what Juju checks at deploy (its charm package's
//! `ReadActionsYaml`: action names by its key rule, `juju`/`juju-*` reserved, no
//! `$ref`/`$schema` anywhere, the known top-level keys with their types, the params
//! compiled as JSON Schema Draft 4) and to this project's rules (every action
//! parallel, `additionalProperties: false` said, no param named like a YAML 1.1
//! boolean), and action params validated as Juju validates them before an action
//! runs, defaults inserted. charmcraft checks none of this.

use serde_json::{Map, Value, json};

/// The charm's actions.yaml.
pub const ACTIONS_YAML: &str = include_str!("../../actions/actions.yaml");

/// Names a YAML 1.1 reader (PyYAML) turns into booleans.
const YAML11_BOOLEANS: [&str; 8] = ["yes", "no", "on", "off", "y", "n", "true", "false"];

/// One action's schema, as Juju builds it from actions.yaml.
pub fn schemas(text: &str) -> Result<Map<String, Value>, String> {
    let actions: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let actions = actions
        .as_object()
        .ok_or("actions.yaml is not a map of actions")?;
    let mut out = Map::new();
    for (name, spec) in actions {
        if !capi_restore::charm::results::key_part_ok(name) {
            return Err(format!("bad action name {name}"));
        }
        if name == "juju" || name.starts_with("juju-") {
            return Err(format!(
                "cannot use action name {name}: juju is a reserved name"
            ));
        }
        prohibited(spec)?;
        let spec = spec
            .as_object()
            .ok_or(format!("action {name} is not a map"))?;
        let mut schema = json!({"description": "No description", "type": "object", "title": name, "properties": {}});
        for (key, value) in spec {
            let must = |ok: bool, what: &str| {
                ok.then_some(())
                    .ok_or(format!("value for schema key {key:?} must be {what}"))
            };
            match key.as_str() {
                "description" | "title" | "execution-group" => must(value.is_string(), "a string")?,
                "required" => must(value.is_array(), "a YAML list")?,
                "parallel" => must(value.is_boolean(), "a bool")?,
                "params" => must(value.is_object(), "a map")?,
                _ => {}
            }
            match key.as_str() {
                "params" => schema["properties"] = value.clone(),
                "parallel" | "execution-group" => {}
                _ => schema[key] = value.clone(),
            }
        }
        jsonschema::draft4::new(&schema)
            .map_err(|e| format!("invalid params schema for action schema {name}: {e}"))?;
        house_rules(name, spec)?;
        out.insert(name.clone(), schema);
    }
    Ok(out)
}

/// `$ref` and `$schema` anywhere: "not compatible with this version of juju".
fn prohibited(value: &Value) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" || key == "$schema" {
                    return Err(format!(
                        "schema key {key:?} not compatible with this version of juju"
                    ));
                }
                prohibited(inner)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(prohibited),
        _ => Ok(()),
    }
}

/// This project's rules on top of Juju's.
fn house_rules(name: &str, spec: &Map<String, Value>) -> Result<(), String> {
    if spec.get("parallel") != Some(&Value::Bool(true)) {
        return Err(format!(
            "action {name}: not `parallel: true` (it would hold the machine's hook lock)"
        ));
    }
    if spec.get("additionalProperties") != Some(&Value::Bool(false)) {
        return Err(format!(
            "action {name}: `additionalProperties: false` not said (Juju 3 defaults it to true)"
        ));
    }
    for (param, schema) in spec
        .get("params")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if YAML11_BOOLEANS.contains(&param.as_str()) {
            return Err(format!(
                "action {name}: a param named {param:?} reads as a boolean in YAML 1.1"
            ));
        }
        if !capi_restore::charm::results::key_part_ok(param) {
            return Err(format!(
                "action {name}: param {param:?} breaks the key rule"
            ));
        }
        if schema.get("type").is_none() || schema.get("description").is_none() {
            return Err(format!(
                "action {name}: param {param:?} needs a type and a description"
            ));
        }
    }
    Ok(())
}

/// Params as Juju hands them to the action: defaults inserted, then validated.
pub fn params(action: &str, given: Value) -> Result<Value, String> {
    params_in(ACTIONS_YAML, action, given)
}

/// [`params`] against another actions.yaml (a packed charm's).
pub fn params_in(actions_yaml: &str, action: &str, given: Value) -> Result<Value, String> {
    let schemas = schemas(actions_yaml)?;
    let schema = schemas.get(action).ok_or(format!("no action {action}"))?;
    let mut params = given;
    if let (Some(target), Some(properties)) =
        (params.as_object_mut(), schema["properties"].as_object())
    {
        for (key, property) in properties {
            if let Some(default) = property.get("default")
                && !target.contains_key(key)
            {
                target.insert(key.clone(), default.clone());
            }
        }
    }
    let validator = jsonschema::draft4::new(schema).map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(&params)
        .map(|e| e.to_string())
        .collect();
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(format!("validation failed: {}", errors.join("; ")))
    }
}

#[test]
fn the_charms_actions_pass_what_juju_checks_at_deploy() {
    let schemas = schemas(ACTIONS_YAML).unwrap();
    let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
    let mut expected = capi_restore::charm::ACTIONS.to_vec();
    expected.sort();
    assert_eq!(names, expected, "actions.yaml names the binary's actions");
}

#[test]
fn bad_actions_yaml_is_refused_as_juju_refuses_it() {
    let good = "  parallel: true\n  additionalProperties: false\n";
    let cases = [
        (
            format!("Restore_Now:\n  description: x\n{good}"),
            "bad action name Restore_Now",
        ),
        (
            format!("juju-run:\n  description: x\n{good}"),
            "juju is a reserved name",
        ),
        (
            format!(
                "restore:\n  params:\n    confirm:\n      type: strnig\n      description: x\n{good}"
            ),
            "invalid params schema for action schema restore",
        ),
        (
            format!("restore:\n  params:\n    confirm:\n      $ref: '#/x'\n{good}"),
            "schema key \"$ref\" not compatible",
        ),
        (
            format!(
                "restore:\n  params:\n    yes:\n      type: boolean\n      description: x\n{good}"
            ),
            "reads as a boolean in YAML 1.1",
        ),
        (
            "restore:\n  additionalProperties: false\n".to_string(),
            "not `parallel: true`",
        ),
        (
            "restore:\n  parallel: true\n".to_string(),
            "`additionalProperties: false` not said",
        ),
        (
            "restore:\n  parallel: \"yes\"\n  additionalProperties: false\n".to_string(),
            "must be a bool",
        ),
    ];
    for (text, said) in cases {
        let err = schemas(&text).unwrap_err();
        assert!(err.contains(said), "{text}\n→ {err}");
    }
}

#[test]
fn params_are_validated_and_defaulted_as_juju_does_before_the_action_runs() {
    assert_eq!(
        params("restore", json!({})).unwrap(),
        json!({"confirm": false, "strict-order": false, "dry-run": false})
    );
    assert!(
        params("restore", json!({"confirm": "yes"})).is_err(),
        "a string is not a boolean"
    );
    assert!(
        params("restore", json!({"until": "vms"})).is_err(),
        "not a layer"
    );
    assert!(
        params("restore", json!({"yes": true})).is_err(),
        "no such param"
    );
    assert!(params("failover", json!({"load-balancers": ["not-a-uuid"]})).is_err());
    assert!(
        params(
            "failover",
            json!({"load-balancers": ["0f968008-2c4b-4d7e-b1a9-6e3f5c8d2a17"]})
        )
        .is_ok()
    );
}
