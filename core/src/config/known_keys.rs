//! Key names: the aliases ZooKeeper accepts for one setting, and the ZooKeeper keys rzk accepts but ignores.

/// Settings that ZooKeeper reads as Java system properties. In zoo.cfg ZooKeeper turns an unrecognised key
/// `k` into the property `zookeeper.k`, so operators write either form; both mean the same here.
const SYSTEM_PROPERTY_KEYS: &[&str] = &[
    "4lw.commands.whitelist",
    "snapCount",
    "preAllocSize",
    "globalOutstandingLimit",
    "jute.maxbuffer",
    "admin.enableServer",
    "admin.serverAddress",
    "admin.serverPort",
    "leaderServes",
    "cnxTimeout",
    "extendedTypesEnabled",
    "enforceQuota",
    "readonlymode.enabled",
    "znode.container.checkIntervalMs",
    "nio.sessionlessCnxnTimeout",
];

/// Families of settings ZooKeeper reads as system properties (`zookeeper.ssl.keyStore.location`, ...).
const SYSTEM_PROPERTY_PREFIXES: &[&str] = &[
    "ssl.",
    "authProvider.",
    "client.portUnification",
    "client.certReload",
    "X509AuthenticationProvider.superUser",
    "superUser",
    "sasl.serverconfig",
    "allowSaslFailedClients",
    "letAnySaslUserDoX",
    "sessionRequireClientSASLAuth",
    "enforce.auth.",
    "SASLAuthenticationProvider.superPassword",
];

/// The one name a setting is handled under.
pub fn canonical_key(key: &str) -> &str {
    match key {
        "superDigest"
        | "DigestAuthenticationProvider.superDigest"
        | "zookeeper.DigestAuthenticationProvider.superDigest" => "superDigest",
        _ => match key.strip_prefix("zookeeper.") {
            Some(rest)
                if SYSTEM_PROPERTY_KEYS.contains(&rest)
                    || SYSTEM_PROPERTY_PREFIXES.iter().any(|p| rest.starts_with(p)) =>
            {
                rest
            }
            _ => key,
        },
    }
}

/// If `key` is a ZooKeeper setting that rzk accepts without acting on it, the reason it is ignored. Security
/// keys are never here: `security` gives each a verdict.
pub fn ignored_reason(key: &str) -> Option<&'static str> {
    let key = key.strip_prefix("zookeeper.").unwrap_or(key);
    let exact: Option<&'static str> = match key {
        "localSessionsEnabled" | "localSessionsUpgradingEnabled" => {
            Some("rzk has no local sessions")
        }
        "observerMasterPort" => Some("observers always sync from the leader in rzk"),
        "clientPortListenBacklog" => Some("rzk uses the operating system's default listen backlog"),
        "connectToLearnerMasterLimit" => {
            Some("rzk uses initLimit for learners connecting to the leader")
        }
        "syncEnabled" => Some("observers always log transactions to disk in rzk"),
        "quorum.cnxn.threads.size"
        | "maxCnxns"
        | "commitLogCount"
        | "snapSizeLimitInKb"
        | "txnLogSizeLimitInKb"
        | "fsync.warningthresholdms"
        | "flushDelay"
        | "maxWriteQueuePollTime"
        | "maxBatchSize"
        | "watchManagerName"
        | "digest.enabled"
        | "audit.enable"
        | "serverStats.enabled"
        | "oraclePath"
        | "closeSessionTxn.enabled"
        | "learner.closeSocketAsync"
        | "leader.closeSocketAsync"
        | "learner.asyncSending"
        | "forceSync"
        | "nio.numSelectorThreads"
        | "nio.numWorkerThreads"
        | "nio.directBufferBytes"
        | "nio.shutdownTimeout"
        | "nettyMaxFrameSize"
        | "maxConcurrentSnapSyncs"
        | "maxConcurrentDiffSyncs"
        | "request.throttler.shutdownTimeout"
        | "requestThrottleLimit"
        | "requestThrottleStallTime"
        | "requestThrottleDropStale"
        | "connection_throttle_tokens"
        | "connection_throttle_fill_time"
        | "connection_throttle_fill_count"
        | "jvm.pause.info-threshold.ms"
        | "jvm.pause.warn-threshold.ms"
        | "jvm.pause.sleep.time.ms"
        | "jvm.pause.monitor" => {
            Some("this ZooKeeper tuning or feature switch has no counterpart in rzk")
        }
        _ => None,
    };
    exact.or_else(|| {
        let prefixed = [
            (
                "metricsProvider.",
                "rzk has no pluggable metrics provider; use mntr",
            ),
            ("multiAddress.", "rzk has one address per server"),
        ];
        prefixed
            .iter()
            .find(|(p, _)| key.starts_with(p))
            .map(|(_, r)| *r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zookeeper_prefix_is_an_alias_for_system_property_keys_only() {
        assert_eq!(canonical_key("zookeeper.snapCount"), "snapCount");
        assert_eq!(canonical_key("snapCount"), "snapCount");
        assert_eq!(canonical_key("zookeeper.tickTime"), "zookeeper.tickTime");
        assert_eq!(
            canonical_key("zookeeper.DigestAuthenticationProvider.superDigest"),
            "superDigest"
        );
        assert_eq!(
            canonical_key("DigestAuthenticationProvider.superDigest"),
            "superDigest"
        );
    }

    #[test]
    fn ignored_keys_have_reasons() {
        assert!(ignored_reason("metricsProvider.className").is_some());
        assert!(ignored_reason("observerMasterPort").is_some());
        assert!(ignored_reason("tickTime").is_none());
        assert!(ignored_reason("bogus").is_none());
    }
}
