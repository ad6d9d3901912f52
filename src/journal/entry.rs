//! What a journal line says, as types: one [`Entry`] per line, tagged by its
//! `event`, its `detail` typed per kind. Written from these types and read back into
//! them; lines written before a field existed still read (every field a later
//! release added is optional), so older journals render and still count for the
//! never-retry rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnose::Diagnosis;
use crate::ending::{Ending, StopCause, Stopped};
use crate::layers::{self, Health, Layer};

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Seconds since the run began (real time), to the tenth.
    pub elapsed_s: f64,
    /// The run's id.
    pub run: String,
    /// The layer it is about, if any.
    pub layer: Option<Layer>,
    /// What happened.
    #[serde(flatten)]
    pub entry: Entry,
}

/// What happened, by kind (`event`), with its `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "detail", rename_all = "kebab-case")]
pub enum Entry {
    /// The run began.
    Start(Start),
    /// A layer was observed.
    Probe(Probe),
    /// What was decided for a layer.
    Decision(Decided),
    /// Something was changed (requested, then its result).
    Action(Action),
    /// A wait's attempt, or its end.
    Wait(Wait),
    /// The operator confirmed or declined.
    Confirmation(Confirmation),
    /// The run ended.
    End(End),
}

/// The run's start: the command, and what it ran against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// `restore`, `park`, `sweep`, ...
    pub command: String,
    /// The twin's time scale (null on a real cloud).
    #[serde(default)]
    pub time_scale: Option<f64>,
    /// The clouds.yaml cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    /// The management project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The management VM's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The command's own options (`until`, `yes`, `force`, `load_balancers`, ...).
    #[serde(flatten)]
    pub options: BTreeMap<String, Value>,
}

/// An observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Probe {
    /// A layer's row, as `status` shows it.
    Row {
        /// Its state.
        state: Health,
        /// Its one line.
        summary: String,
        /// Its facts.
        evidence: Vec<String>,
        /// The observation table's findings.
        #[serde(default)]
        diagnosis: Vec<Diagnosis>,
    },
    /// `verify`'s amphora count.
    Amphorae {
        /// Rows.
        amphorae: usize,
        /// Those not ALLOCATED (`id STATUS`).
        not_allocated: Vec<String>,
    },
    /// `park`'s pre-check: CAPI Machines being provisioned or deleted.
    MachinesInFlight {
        /// `name (phase)`.
        machines_in_flight: Vec<String>,
    },
}

impl Probe {
    /// A row, as journaled.
    pub fn row(row: &layers::Row) -> Probe {
        Probe::Row {
            state: row.state,
            summary: row.summary.clone(),
            evidence: row.evidence.clone(),
            diagnosis: row.diagnosis.clone(),
        }
    }
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Decided {
    /// A layer's step, as `plan` says it.
    Step {
        /// The decision's name.
        action: String,
        /// In words.
        what: String,
        /// The decision itself (journals before it was typed lack it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision: Option<layers::Decision>,
    },
    /// A branch stopped.
    Stopped {
        /// Why, and what to do.
        stopped: String,
        /// A fault, or a destructive step not confirmed.
        cause: StopCause,
    },
    /// A delete aborted: the server is no longer provably an orphan.
    AbortedDelete {
        /// The server.
        aborted_delete: String,
        /// Why.
        why: String,
    },
    /// A failover refused: the cloud shows that the last one failed.
    RefusedFailover {
        /// The load balancer.
        refused_failover: String,
        /// Why.
        because: String,
        /// The cloud's evidence.
        evidence: Vec<String>,
    },
    /// The run needed no change.
    NothingChanged {
        /// Always true.
        nothing_changed: bool,
    },
}

/// A change: requested (before it is sent), then its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Action {
    /// About to be sent.
    Requested {
        /// What and on what.
        requested: Request,
    },
    /// Its result.
    Result(ActionResult),
}

/// A change as requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// `os-start`, `server delete`, `loadbalancer failover`, ...
    pub request: String,
    /// The server it acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The load balancer it acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
    /// The rest (name, scope, the state it starts from, ...).
    #[serde(flatten)]
    pub more: BTreeMap<String, Value>,
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The request it answers.
    pub request: String,
    /// `accepted`, the error's first line, or the outcome in words (empty where an
    /// older release recorded none: its "file secrets").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub result: String,
    /// The server it acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The load balancer it acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
    /// A failover's outcome (journals before it was typed lack it: read from
    /// `result`'s words instead, see [`FailoverOutcome::recorded`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<FailoverOutcome>,
    /// The rest (took_s, vip, floating_ips, class, worker_log, path, ...).
    #[serde(flatten)]
    pub more: BTreeMap<String, Value>,
}

/// A wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Wait {
    /// The gate passed.
    Done {
        /// Always true.
        done: bool,
        /// Seconds waited (the cloud's clock).
        waited_s: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// One attempt that did not pass.
    Attempt {
        /// 1, 2, ...
        attempt: u32,
        /// Seconds since the wait began.
        elapsed_s: u64,
        /// What it saw.
        evidence: String,
    },
}

/// A confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    /// What was asked.
    pub question: String,
    /// `yes`, `no`, `yes (--yes)`, or why nobody could answer.
    pub answer: String,
}

/// How the run ended. Every field is optional: each command says what applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct End {
    /// The ending, as a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<Ending>,
    /// The exit code it gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// Where branches stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Vec<Stopped>>,
    /// How many changes it made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<usize>,
    /// Whether it succeeded (`verify`, `park`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// The signal that stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by_signal: Option<i32>,
    /// A pre-check's refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The error that ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The lowest red layer in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowest_red: Option<Layer>,
    /// The rest (why, result, note, waited_s, api_requests, nothing_changed, ...).
    #[serde(flatten)]
    pub more: BTreeMap<String, Value>,
}

/// How a failover ended: what the journal records and the never-retry rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum FailoverOutcome {
    /// Back to ACTIVE after `took_s` seconds.
    Active {
        /// Seconds, by Octavia's clock where it gives one; null when the run that
        /// sent it did not see its end.
        took_s: Option<u64>,
    },
    /// Ended in provisioning ERROR after `took_s` seconds.
    Failed {
        /// Seconds, by Octavia's clock where it gives one; null when the run that
        /// sent it did not see its end.
        took_s: Option<u64>,
        /// Early (NoValidHost) or late.
        class: FailureClass,
    },
    /// The request changed nothing: refused, or unchanged after a failed request.
    NotStarted,
    /// The run ended before it knew (killed, interrupted, a lost answer).
    Unknown,
}

impl FailoverOutcome {
    /// Whether this outcome bars an automatic failover: anything but ACTIVE
    /// (a request that started nothing is not a failover at all).
    pub fn bars_a_retry(&self) -> bool {
        matches!(
            self,
            FailoverOutcome::Failed { .. } | FailoverOutcome::Unknown
        )
    }

    /// The outcome a failover's result records: its typed `outcome`, else (journals
    /// written before it was typed) read from its `result` words. `None`: not an
    /// outcome (the request was only accepted).
    pub fn recorded(result: &ActionResult) -> Option<FailoverOutcome> {
        if let Some(outcome) = &result.outcome {
            return Some(outcome.clone());
        }
        let words = result.result.as_str();
        let took_s = result.more.get("took_s").and_then(Value::as_u64);
        if words == "accepted" {
            None
        } else if words.starts_with("ACTIVE") {
            Some(FailoverOutcome::Active { took_s })
        } else if words.starts_with("ERROR") {
            Some(FailoverOutcome::Failed {
                took_s,
                class: match took_s {
                    Some(s) if s <= 20 => FailureClass::FastFail,
                    Some(_) => FailureClass::Late,
                    None => FailureClass::Unseen,
                },
            })
        } else if words.starts_with(super::NOT_STARTED) {
            Some(FailoverOutcome::NotStarted)
        } else {
            // A request error: whether Octavia started it is not known.
            Some(FailoverOutcome::Unknown)
        }
    }
}

/// Where in Octavia's flow a failover failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// Within the fast-fail figure (20 s): an early-flow failure, usually NoValidHost.
    FastFail,
    /// Later: amphora boot, network plumbing or the amphora agent.
    Late,
    /// Its end was seen afterwards, by another run: when it failed is not known.
    Unseen,
}
