//! An action's results, as `action-set` takes them: dotted keys whose every part
//! matches Juju's key rule (`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`, from its charm
//! package), none of the reserved ones, and string values. Built from typed values;
//! kept well under the argument-length limit (each value capped, the full report in
//! a file whose path is a result).

use std::collections::BTreeMap;

/// Keys Juju keeps for itself (`action-set` refuses them).
pub const RESERVED: [&str; 4] = ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

/// The longest value set; a longer one is cut and says so (the report file has it
/// whole).
pub const MAX_VALUE: usize = 512;

/// Whether one part of a dotted key passes Juju's key rule.
pub fn key_part_ok(part: &str) -> bool {
    let bytes = part.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            edge(first) && edge(last) && bytes.iter().all(|b| edge(b) || *b == b'-')
        }
        _ => false,
    }
}

/// Why a dotted key cannot be set, in Juju's words (None: it can).
pub fn key_refused(key: &str) -> Option<String> {
    for part in key.split('.') {
        if !key_part_ok(part) {
            return Some(format!(
                "key {part:?} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
            ));
        }
        if RESERVED.contains(&part) {
            return Some(format!("cannot set reserved action key \"{part}\""));
        }
    }
    None
}

/// An action's results, by dotted key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Results {
    values: BTreeMap<String, String>,
}

impl Results {
    /// Sets `key` (a bug if it breaks Juju's rule: keys are this crate's literals and
    /// layer names, tested below) to `value`, capped at [`MAX_VALUE`].
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Results {
        debug_assert!(key_refused(key).is_none(), "{key}");
        let mut value: String = value.into();
        if value.len() > MAX_VALUE {
            let mut cut = MAX_VALUE;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            value.truncate(cut);
            value.push_str(" … (cut; the report file has it whole)");
        }
        self.values.insert(key.to_string(), value);
        self
    }

    /// The `key=value` arguments for `action-set`.
    pub fn arguments(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// A value set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Layer;

    #[test]
    fn keys_follow_jujus_rule() {
        for good in ["result", "exit-code", "a", "0", "lowest-red-layer", "x1-y2"] {
            assert!(key_part_ok(good), "{good}");
        }
        for bad in ["", "-a", "a-", "Result", "exit_code", "a.b", "é"] {
            assert!(!key_part_ok(bad), "{bad}");
        }
        assert_eq!(
            key_refused("layers.Vm.state").unwrap(),
            "key \"Vm\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
        );
        assert_eq!(
            key_refused("stdout").unwrap(),
            "cannot set reserved action key \"stdout\""
        );
        // Every layer's name may be a key part.
        for layer in Layer::ALL {
            assert!(key_refused(&format!("layers.{}.state", layer.name())).is_none());
        }
    }

    #[test]
    fn a_long_value_is_cut_and_says_so() {
        let mut r = Results::default();
        r.set("summary", "é".repeat(400));
        let v = r.get("summary").unwrap();
        assert!(v.len() < MAX_VALUE + 60 && v.ends_with("the report file has it whole)"));
    }
}
