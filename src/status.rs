//! Typed statuses: every word a service reports that the tool branches on (Nova's
//! server status and task state, Octavia's provisioning, operating and amphora
//! status, Magnum's health, CAPI's phases) is parsed once, here, into an enum. A word
//! the tool does not know becomes `Other(word)`: shown as the service said it, never
//! a panic, and never taken for a known state. Nothing else compares status strings.

/// Declares a status enum with its wire words and an `Other(String)` variant, and
/// parses and prints it as the service spells it (serde included).
macro_rules! status {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A word this release does not know, as the service said it.
            Other(String),
        }

        impl $name {
            /// Parses the service's word; an unknown one is kept as `Other`.
            pub fn parse(word: &str) -> $name {
                match word {
                    $($word => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }

            /// The word as the service spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Other(word) => word,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(word: &str) -> $name {
                $name::parse(word)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let word = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Ok($name::parse(&word))
            }
        }
    };
}

status! {
    /// A server's status (Nova's API words).
    ServerStatus {
        /// Running.
        Active = "ACTIVE",
        /// Being built.
        Build = "BUILD",
        /// Stopped (parked).
        Shutoff = "SHUTOFF",
        /// Failed: the fault says why.
        Error = "ERROR",
        /// Deleted (soft).
        Deleted = "DELETED",
        /// Rebooting.
        Reboot = "REBOOT",
        /// Hard rebooting.
        HardReboot = "HARD_REBOOT",
        /// Paused.
        Paused = "PAUSED",
        /// Suspended.
        Suspended = "SUSPENDED",
        /// Shelved.
        Shelved = "SHELVED",
        /// Shelved and offloaded.
        ShelvedOffloaded = "SHELVED_OFFLOADED",
        /// Migrating.
        Migrating = "MIGRATING",
        /// Resizing.
        Resize = "RESIZE",
        /// Nova cannot say.
        Unknown = "UNKNOWN",
    }
}

status! {
    /// What Nova is doing to a server right now (`OS-EXT-STS:task_state`).
    TaskState {
        /// Starting.
        PoweringOn = "powering-on",
        /// Stopping.
        PoweringOff = "powering-off",
        /// Being scheduled.
        Scheduling = "scheduling",
        /// Being spawned.
        Spawning = "spawning",
        /// Being deleted.
        Deleting = "deleting",
        /// Rebooting.
        Rebooting = "rebooting",
    }
}

status! {
    /// Where Octavia is with a load balancer's configuration.
    ProvisioningStatus {
        /// Done, working.
        Active = "ACTIVE",
        /// The last operation failed.
        Error = "ERROR",
        /// Being created.
        PendingCreate = "PENDING_CREATE",
        /// Being changed (a failover, among others).
        PendingUpdate = "PENDING_UPDATE",
        /// Being deleted.
        PendingDelete = "PENDING_DELETE",
        /// Deleted.
        Deleted = "DELETED",
    }
}

status! {
    /// Whether a load balancer carries traffic.
    OperatingStatus {
        /// Serving.
        Online = "ONLINE",
        /// Not serving.
        Offline = "OFFLINE",
        /// Some members down.
        Degraded = "DEGRADED",
        /// Failed.
        Error = "ERROR",
        /// No health monitor.
        NoMonitor = "NO_MONITOR",
        /// Draining.
        Draining = "DRAINING",
    }
}

status! {
    /// An amphora row's status.
    AmphoraStatus {
        /// Serving a load balancer.
        Allocated = "ALLOCATED",
        /// Booting.
        Booting = "BOOTING",
        /// Spare, ready.
        Ready = "READY",
        /// Failed: the health manager cannot repair it.
        Error = "ERROR",
        /// The failover circuit breaker stopped automatic failovers for it.
        FailoverStopped = "FAILOVER_STOPPED",
        /// Being created.
        PendingCreate = "PENDING_CREATE",
        /// Being deleted.
        PendingDelete = "PENDING_DELETE",
        /// Deleted.
        Deleted = "DELETED",
    }
}

impl ProvisioningStatus {
    /// Octavia is working on it (`PENDING_*`): it accepts no other change meanwhile.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            ProvisioningStatus::PendingCreate
                | ProvisioningStatus::PendingUpdate
                | ProvisioningStatus::PendingDelete
        ) || matches!(self, ProvisioningStatus::Other(w) if w.starts_with("PENDING_"))
    }

    /// The end of an operation: ACTIVE or ERROR (where a failover may start).
    pub fn is_settled(&self) -> bool {
        matches!(self, ProvisioningStatus::Active | ProvisioningStatus::Error)
    }
}

status! {
    /// A cluster's health as Magnum's conductor last judged it.
    HealthStatus {
        /// Every component ready.
        Healthy = "HEALTHY",
        /// A component is not ready (or the conductor cannot reach the cluster).
        Unhealthy = "UNHEALTHY",
        /// Not judged.
        Unknown = "UNKNOWN",
    }
}

status! {
    /// A CAPI phase (Clusters and Machines), and a pod's phase.
    Phase {
        /// Waiting to start.
        Pending = "Pending",
        /// Being provisioned.
        Provisioning = "Provisioning",
        /// Provisioned (a Cluster's end state).
        Provisioned = "Provisioned",
        /// Running (a Machine's or a pod's end state).
        Running = "Running",
        /// Being deleted.
        Deleting = "Deleting",
        /// Deleted.
        Deleted = "Deleted",
        /// Failed.
        Failed = "Failed",
        /// Ran to completion (a pod of a finished job).
        Succeeded = "Succeeded",
        /// Not known.
        Unknown = "Unknown",
    }
}

#[cfg(test)]
mod tests {
    status! {
        /// A test status.
        Light { Green = "GREEN", Red = "RED" }
    }

    #[test]
    fn known_words_parse_unknown_ones_are_kept_and_both_print_as_said() {
        assert_eq!(Light::parse("GREEN"), Light::Green);
        assert_eq!(Light::parse("AMBER"), Light::Other("AMBER".into()));
        assert_eq!(Light::parse("AMBER").to_string(), "AMBER");
        let read: Vec<Light> = serde_json::from_str(r#"["RED", "blinking"]"#).unwrap();
        assert_eq!(read, [Light::Red, Light::Other("blinking".into())]);
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"["RED","blinking"]"#
        );
    }
}
