//! How a run ended, as one value ([`Ending`]), and where its branches stopped
//! ([`Stopped`]): its closing line, the end of its
//! journal and its exit status all come from it, so they cannot disagree. A fault
//! outranks "not confirmed"; a red layer resting on a step nobody confirmed is that
//! step's doing.

use crate::exit::ExitStatus;
use crate::layers::Layer;

/// Why a branch stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stopped {
    /// The layer it stopped at.
    pub layer: Layer,
    /// What it was, and what to do.
    pub why: String,
    /// Whether it is a fault or only a destructive step nobody confirmed.
    pub cause: StopCause,
}

/// What kind of stop: what a cron job must tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopCause {
    /// The layer could not be made green.
    Fault,
    /// A destructive step (delete, failover, stop) was not confirmed: no terminal and
    /// no `--yes`, or a no on the terminal.
    NotConfirmed,
}

/// How a run ended: the one value its closing line, the end of its journal and its
/// exit code all come from, so they cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Ending {
    /// Every layer in scope is green (or yellow).
    Green,
    /// A layer could not be made green (the lowest one, where a branch stopped or
    /// what is still red).
    Red {
        /// The layer.
        layer: Layer,
    },
    /// Nothing failed, but a destructive step was not confirmed: run again with
    /// `--yes` (or answer on a terminal).
    NotConfirmed,
    /// The lowest layer that is not green could not be observed: a cloud API failed.
    Unobserved {
        /// The layer.
        layer: Layer,
    },
}

impl Ending {
    /// From where a run's branches stopped and what is still red in scope: a fault
    /// outranks "not confirmed", so a cron job is never told to add `--yes` when
    /// something is broken.
    pub fn of(stops: &[Stopped], still_red: Option<Layer>) -> Ending {
        Ending::observed(stops, still_red.as_slice(), None)
    }

    /// As [`Ending::of`], from every layer still red and the lowest one a failed
    /// call left unobserved. A red layer that rests on a step nobody confirmed is
    /// that step's doing, not a fault; an unobserved layer below every red one means
    /// "could not see", not "red".
    pub fn observed(stops: &[Stopped], red: &[Layer], unobserved: Option<Layer>) -> Ending {
        let unconfirmed: Vec<Layer> = stops
            .iter()
            .filter(|s| s.cause == StopCause::NotConfirmed)
            .map(|s| s.layer)
            .collect();
        let excused = |layer: &Layer| unconfirmed.iter().any(|u| layer.rests_on(*u));
        let fault = stops
            .iter()
            .filter(|s| s.cause == StopCause::Fault)
            .map(|s| s.layer)
            .chain(red.iter().copied().filter(|l| !excused(l)))
            .min();
        match (fault, unobserved) {
            (red, Some(layer)) if red.is_none_or(|r| layer < r) => Ending::Unobserved { layer },
            (Some(layer), _) => Ending::Red { layer },
            (None, _) if stops.iter().any(|s| s.cause == StopCause::NotConfirmed) => {
                Ending::NotConfirmed
            }
            (None, _) => Ending::Green,
        }
    }

    /// The exit status it means.
    pub fn status(&self) -> ExitStatus {
        match self {
            Ending::Green => ExitStatus::Success,
            Ending::Red { layer } => ExitStatus::Red(*layer),
            Ending::NotConfirmed => ExitStatus::Refused,
            Ending::Unobserved { .. } => ExitStatus::Cloud,
        }
    }

    /// The exit code (README's table).
    pub fn code(&self) -> u8 {
        self.status().code()
    }

    /// One line for people: what the end is, and the code.
    pub fn line(&self, stops: &[Stopped]) -> String {
        self.line_for(stops, crate::error::ConfirmBy::Flag)
    }

    /// [`Ending::line`] where confirmations are given `confirm_by` (an action's
    /// `confirm=true`).
    pub fn line_for(&self, stops: &[Stopped], confirm_by: crate::error::ConfirmBy) -> String {
        let code = self.code();
        match self {
            Ending::Green => format!("ended green (exit code {code})"),
            Ending::Red { layer } => match stops
                .iter()
                .find(|s| s.layer == *layer && s.cause == StopCause::Fault)
            {
                Some(s) => format!("stopped at {}: {} (exit code {code})", layer.name(), s.why),
                None => format!("ended with `{}` red (exit code {code})", layer.name()),
            },
            Ending::Unobserved { layer } => format!(
                "`{}` could not be observed: a cloud API failed (exit code {code}); the row above says which and what it answered",
                layer.name()
            ),
            Ending::NotConfirmed => format!(
                "not confirmed: {} (exit code {code}: {})",
                stops
                    .iter()
                    .filter(|s| s.cause == StopCause::NotConfirmed)
                    .map(|s| s.why.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                match confirm_by {
                    crate::error::ConfirmBy::Flag =>
                        "run again with `--yes`, or answer on a terminal",
                    crate::error::ConfirmBy::Param => "run the action again with `confirm=true`",
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(layer: Layer, cause: StopCause) -> Stopped {
        Stopped {
            layer,
            why: "why".into(),
            cause,
        }
    }

    /// (stops, still red, unobserved) → exit code: what a cron job reads.
    #[test]
    fn one_ending_per_run_and_its_code() {
        use Layer::*;
        use StopCause::*;
        type Row<'a> = (&'a [Stopped], &'a [Layer], Option<Layer>, u8);
        let table: &[Row] = &[
            (&[], &[], None, 0),
            (&[], &[Magnum], None, 18),
            // Headroom refused for want of a confirmed delete: what rests on it is
            // excused, so the run says "needs --yes".
            (
                &[stop(Headroom, NotConfirmed)],
                &[Headroom, LoadBalancers, Capo, Magnum],
                None,
                3,
            ),
            // A real fault below it wins: never "add --yes" when something is broken.
            (
                &[stop(Headroom, NotConfirmed), stop(Kubernetes, Fault)],
                &[],
                None,
                12,
            ),
            // Red that does not rest on the unconfirmed step is a fault.
            (
                &[stop(LoadBalancers, NotConfirmed)],
                &[CapiControllers],
                None,
                13,
            ),
            // Could not see the VM, headroom red above it: a cloud API failed.
            (&[], &[Headroom], Some(Vm), 4),
            (&[], &[Vm], Some(Headroom), 10),
        ];
        for (stops, red, unobserved, code) in table {
            let ending = Ending::observed(stops, red, *unobserved);
            assert_eq!(ending.code(), *code, "{ending:?}");
            assert!(ending.line(stops).contains(&format!("exit code {code}")));
        }
    }
}
