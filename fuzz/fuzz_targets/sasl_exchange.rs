//! What a stranger can send in SASL packets: up to three tokens through the DIGEST-MD5 server, the first
//! possibly a real digest-response to the challenge with bytes of the input spliced in. Nothing may panic
//! or hang; an exchange completes only for the user's right password.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_core::sasl::digest_md5_client::DigestMd5Client;
use rzk_core::sasl::{DigestMd5Server, SaslStep, NONCE_LEN};

fuzz_target!(|data: &[u8]| {
    let users = |u: &str| (u == "bob").then(|| "bobsecret".to_string());
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut server = DigestMd5Server::new([mode; NONCE_LEN]);
    let challenge = match server.step(b"", &users) {
        Ok(SaslStep::Challenge(c)) => c,
        other => panic!("the first step must be a challenge: {other:?}"),
    };
    let mut tokens: Vec<Vec<u8>> = rest.split(|&b| b == 0xff).take(3).map(<[u8]>::to_vec).collect();
    if mode & 1 == 1 {
        // A genuine response, then the fuzzer's bytes appended to it.
        let client = DigestMd5Client { user: "bob", password: "bobsecret", cnonce: "fuzz" };
        if let Some((mut response, _)) = client.respond(&challenge) {
            response.extend_from_slice(tokens.first().map_or(&[][..], |t| &t[..]));
            tokens.insert(0, response);
        }
    }
    for token in tokens {
        if let Ok(SaslStep::Complete { authorization_id, .. }) = server.step(&token, &users) {
            assert_eq!(authorization_id, "bob");
        }
    }
});
