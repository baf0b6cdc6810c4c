//! ZooKeeper's digest scheme: the id of "user:password" is "user:" + base64(sha1("user:password")).

use base64::Engine;
use sha1::{Digest, Sha1};

/// The digest id for a "user:password" credential (DigestAuthenticationProvider.generateDigest).
pub fn digest_id(user_password: &str) -> String {
    let user = user_password
        .split_once(':')
        .map_or(user_password, |(u, _)| u);
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_zookeeper_documented_example() {
        // ZooKeeper's admin guide: the superDigest for "super:test".
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }
}
