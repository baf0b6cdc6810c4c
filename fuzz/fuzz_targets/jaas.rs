//! JAAS files as an operator (or a corrupted file) may write them: parsing gives a configuration or an error
//! with a line number, never a panic; the DIGEST-MD5 users of a parsed file can be asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_core::config::jaas;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = jaas::parse(&text) {
        let _ = config.digest_users(jaas::DEFAULT_SERVER_SECTION);
        for section in &config.sections {
            let _ = config.digest_users(&section.name);
        }
    }
});
