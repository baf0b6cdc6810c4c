//! The four-letter words answered on the client port (ruok, stat, srvr, conf, cons, ...), in ZooKeeper's
//! output formats. The node gathers a [`ServerReport`]; this module only formats it.
//!
//! Formats were taken from ZooKeeper 3.8's `server/command/*.java` and checked against a running 3.8.0
//! server; its raw replies are kept in `fixtures/` and the tests compare our output with them line by line.

mod java_fmt;

pub use java_fmt::civil_from_days;
mod render;

use crate::config::{FourLetterWhitelist, ServerConfig};
pub use crate::proto::FourLetterWord;
pub use crate::report::{ConnectionReport, LeaderReport, ServerReport, DEFAULT_TRACE_MASK};

pub use render::render;

/// What a not-yet-serving server (e.g. during leader election) answers to most words.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// The version rzk reports: ZooKeeper's `<version>-<revision>, built on <date>` shape with a 3.8.0 version
/// number first, so tools that parse the leading `x.y.z` see the protocol level rzk speaks.
pub fn rzk_version(built_on: &str) -> String {
    format!(
        "3.8.0-rzk-{}, built on {built_on}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Whether `4lw.commands.whitelist` allows this word. As in ZooKeeper (FourLetterCommands.isEnabled),
/// `srvr` is always allowed (zkServer.sh needs it) and `isro` is allowed whenever read-only mode is
/// enabled (`readonlymode.enabled`) or the server is read-only now.
pub fn is_allowed(word: FourLetterWord, config: &ServerConfig, read_only: bool) -> bool {
    if word == FourLetterWord::Srvr {
        return true;
    }
    if word == FourLetterWord::Isro && (config.read_only_mode_enabled || read_only) {
        return true;
    }
    match &config.four_letter_whitelist {
        FourLetterWhitelist::All => true,
        FourLetterWhitelist::Only(words) => words.contains(&word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bytes_takes_exactly_four_bytes_of_a_known_word() {
        assert_eq!(
            FourLetterWord::from_bytes(b"ruok"),
            Some(FourLetterWord::Ruok)
        );
        assert_eq!(
            FourLetterWord::from_bytes(b"mntr"),
            Some(FourLetterWord::Mntr)
        );
        assert_eq!(FourLetterWord::from_bytes(b"RUOK"), None);
        assert_eq!(FourLetterWord::from_bytes(b"ruo"), None);
        assert_eq!(FourLetterWord::from_bytes(b"ruok\n"), None);
        assert_eq!(FourLetterWord::from_bytes(b"abcd"), None);
        assert_eq!(FourLetterWord::from_bytes(&[0, 0, 0, 44]), None);
        assert_eq!(FourLetterWord::from_bytes(&[0xff, 0xf4, 0xff, 0xfd]), None);
    }

    #[test]
    fn names_round_trip() {
        for w in FourLetterWord::ALL {
            assert_eq!(FourLetterWord::from_bytes(w.name().as_bytes()), Some(w));
        }
    }

    #[test]
    fn only_stmk_takes_an_argument() {
        for w in FourLetterWord::ALL {
            assert_eq!(
                w.argument_len(),
                if w == FourLetterWord::Stmk { 8 } else { 0 }
            );
        }
    }

    fn config_with(whitelist: FourLetterWhitelist, read_only_enabled: bool) -> ServerConfig {
        ServerConfig {
            four_letter_whitelist: whitelist,
            read_only_mode_enabled: read_only_enabled,
            ..ServerConfig::default_standalone()
        }
    }

    #[test]
    fn zookeeper_default_whitelist_allows_only_srvr() {
        let c = config_with(FourLetterWhitelist::Only(vec![FourLetterWord::Srvr]), false);
        for w in FourLetterWord::ALL {
            assert_eq!(
                is_allowed(w, &c, false),
                w == FourLetterWord::Srvr,
                "{}",
                w.name()
            );
        }
    }

    #[test]
    fn star_allows_everything() {
        let c = config_with(FourLetterWhitelist::All, false);
        assert!(FourLetterWord::ALL
            .into_iter()
            .all(|w| is_allowed(w, &c, false)));
    }

    #[test]
    fn srvr_is_allowed_even_with_an_empty_whitelist() {
        let c = config_with(FourLetterWhitelist::Only(vec![]), false);
        assert!(is_allowed(FourLetterWord::Srvr, &c, false));
        assert!(!is_allowed(FourLetterWord::Ruok, &c, false));
    }

    #[test]
    fn listed_words_are_allowed() {
        let c = config_with(
            FourLetterWhitelist::Only(vec![FourLetterWord::Ruok, FourLetterWord::Mntr]),
            false,
        );
        assert!(is_allowed(FourLetterWord::Ruok, &c, false));
        assert!(is_allowed(FourLetterWord::Mntr, &c, false));
        assert!(!is_allowed(FourLetterWord::Stat, &c, false));
    }

    #[test]
    fn isro_is_allowed_when_read_only_mode_is_enabled_or_active() {
        let off = config_with(FourLetterWhitelist::Only(vec![]), false);
        let on = config_with(FourLetterWhitelist::Only(vec![]), true);
        assert!(!is_allowed(FourLetterWord::Isro, &off, false));
        assert!(is_allowed(FourLetterWord::Isro, &off, true));
        assert!(is_allowed(FourLetterWord::Isro, &on, false));
    }

    #[test]
    fn version_keeps_a_3_8_0_prefix() {
        let v = rzk_version("2026-01-01 00:00 UTC");
        assert!(v.starts_with("3.8.0-rzk-"), "{v}");
        assert!(v.ends_with(", built on 2026-01-01 00:00 UTC"), "{v}");
    }
}
