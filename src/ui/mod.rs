//! What the operator sees: output formats and tables. Logs go to stderr; results to
//! stdout.

pub mod confirm;
pub mod progress;
pub mod table;

use serde::Serialize;

/// `-f table|json|yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A table for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
    /// YAML for people and programs.
    Yaml,
}

/// Renders a value as JSON or YAML.
pub fn structured<T: Serialize>(value: &T, format: Format) -> String {
    match format {
        Format::Yaml => serde_saphyr::to_string(value)
            .unwrap_or_else(|e| format!("# cannot render YAML: {e}\n")),
        _ => {
            let mut s = serde_json::to_string_pretty(value)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            s.push('\n');
            s
        }
    }
}
