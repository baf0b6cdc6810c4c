//! Finding and reading the JAAS file that holds the SASL (DIGEST-MD5) users, where ZooKeeper operators put
//! it. ZooKeeper reads the JVM property `java.security.auth.login.config`, which zkEnv.sh passes from
//! `SERVER_JVMFLAGS` / `JVMFLAGS`, set in the environment or in `java.env` beside zoo.cfg. rzk looks, in
//! this order:
//!
//! 1. `rzk.jaasConfigFile` in zoo.cfg (for units that set no environment);
//! 2. `-Djava.security.auth.login.config=<path>` in `$SERVER_JVMFLAGS`, then in `$JVMFLAGS`;
//! 3. the same flag in `java.env` beside zoo.cfg, then in `$ZOOCFGDIR/java.env` (shell assignments of
//!    `SERVER_JVMFLAGS` or `JVMFLAGS`, as zkEnv.sh sources it).
//!
//! A file that is named but cannot be read or parsed stops startup, as a bad JAAS file stops ZooKeeper.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rzk_core::config::jaas::{self, JaasError};
use rzk_core::config::ServerConfig;
use tracing::{info, warn};

const FLAG: &str = "-Djava.security.auth.login.config=";

/// Fills `config.sasl_users` from the JAAS file, if there is one.
pub fn load(config: &mut ServerConfig, zoo_cfg: Option<&Path>) -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).ok();
    let Some((path, from)) = find(config, zoo_cfg, &env) else {
        if !config.enforce_auth_schemes.is_empty()
            && config.enforce_auth_schemes.iter().any(|s| s == "sasl")
        {
            warn!("SASL is required but no JAAS file names any user: every client will be refused");
        }
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the JAAS file {} (named by {from})",
            path.display()
        )
    })?;
    let parsed =
        jaas::parse(&text).with_context(|| format!("invalid JAAS file {}", path.display()))?;
    let section = config.sasl_server_section.clone();
    let users = match parsed.digest_users(&section) {
        Ok(users) => users,
        Err(JaasError::NoSection(_)) => {
            // ZooKeeper then runs without a SASL server; say so rather than stay silent.
            warn!(jaas = %path.display(), %section, "the JAAS file has no '{section}' section: SASL is off");
            return Ok(());
        }
        Err(e) => bail!("JAAS file {}: {e}", path.display()),
    };
    info!(jaas = %path.display(), %from, %section, users = users.len(), "SASL DIGEST-MD5 users read");
    config.sasl_users = Some(users);
    Ok(())
}

/// The JAAS file's path and what named it.
fn find(
    config: &ServerConfig,
    zoo_cfg: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(PathBuf, String)> {
    if let Some(p) = &config.jaas_config_file {
        return Some((p.clone(), "rzk.jaasConfigFile in zoo.cfg".into()));
    }
    for var in ["SERVER_JVMFLAGS", "JVMFLAGS"] {
        if let Some(p) = env(var).as_deref().and_then(flag_value) {
            return Some((PathBuf::from(p), format!("${var}")));
        }
    }
    let beside = zoo_cfg.and_then(Path::parent).map(|d| d.join("java.env"));
    let in_cfg_dir = env("ZOOCFGDIR").map(|d| PathBuf::from(d).join("java.env"));
    for file in [beside, in_cfg_dir].into_iter().flatten() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Some(p) = java_env_value(&text) {
            return Some((PathBuf::from(p), file.display().to_string()));
        }
    }
    None
}

/// The value of `-Djava.security.auth.login.config=` in a JVM flags string (quotes around it dropped).
fn flag_value(flags: &str) -> Option<String> {
    let start = flags.find(FLAG)? + FLAG.len();
    let rest = &flags[start..];
    let value: String = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].chars().take_while(|&c| c != q).collect(),
        _ => rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect(),
    };
    (!value.is_empty()).then_some(value)
}

/// The flag's value from the `SERVER_JVMFLAGS=` / `JVMFLAGS=` assignments of a java.env (a later
/// assignment wins; zkServer.sh puts JVMFLAGS after SERVER_JVMFLAGS on the java command line, and the last
/// -D of a property wins, so JVMFLAGS wins when both set it).
fn java_env_value(text: &str) -> Option<String> {
    let mut found: BTreeMap<&str, String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        for var in ["SERVER_JVMFLAGS", "JVMFLAGS"] {
            if let Some(value) = line.strip_prefix(var).and_then(|r| r.strip_prefix('=')) {
                if let Some(v) = flag_value(value) {
                    found.insert(var, v);
                }
            }
        }
    }
    found
        .remove("JVMFLAGS")
        .or_else(|| found.remove("SERVER_JVMFLAGS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_read_from_jvm_flags() {
        assert_eq!(
            flag_value("-Xmx1g -Djava.security.auth.login.config=/etc/zk/jaas.conf -Dfoo=1")
                .as_deref(),
            Some("/etc/zk/jaas.conf")
        );
        assert_eq!(
            flag_value("-Djava.security.auth.login.config=\"/a b/jaas.conf\"").as_deref(),
            Some("/a b/jaas.conf")
        );
        assert_eq!(flag_value("-Xmx1g"), None);
    }

    #[test]
    fn java_env_assignments_are_read_as_zkenv_sources_them() {
        let text = "# comment\nexport SERVER_JVMFLAGS=\"-Xmx2g -Djava.security.auth.login.config=/etc/zk/server_jaas.conf\"\n";
        assert_eq!(
            java_env_value(text).as_deref(),
            Some("/etc/zk/server_jaas.conf")
        );
        let both = "SERVER_JVMFLAGS=\"-Djava.security.auth.login.config=/s.conf\"\nJVMFLAGS='-Djava.security.auth.login.config=/j.conf'\n";
        assert_eq!(java_env_value(both).as_deref(), Some("/j.conf"));
        assert_eq!(java_env_value("JAVA_HOME=/usr\n"), None);
    }

    #[test]
    fn zoo_cfg_wins_then_the_environment() {
        let mut c = ServerConfig::default_standalone();
        let env_flags = |name: &str| (name == "JVMFLAGS").then(|| format!("{FLAG}/from/env.conf"));
        assert_eq!(
            find(&c, None, &env_flags).map(|f| f.0),
            Some(PathBuf::from("/from/env.conf"))
        );
        c.jaas_config_file = Some(PathBuf::from("/from/zoo.cfg"));
        assert_eq!(
            find(&c, None, &env_flags).map(|f| f.0),
            Some(PathBuf::from("/from/zoo.cfg"))
        );
        let none = |_: &str| None;
        c.jaas_config_file = None;
        assert_eq!(find(&c, None, &none), None);
    }
}
