//! zoo.cfg text as an operator (or a corrupted file) may write it: parsing returns a config or an error
//! naming the key and line, never panics, and a parsed config keeps its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_core::config::ServerConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match ServerConfig::parse(&text) {
        Ok(c) => {
            assert!(c.min_session_timeout <= c.max_session_timeout);
            assert!(c.tick_time > 0);
            let _ = c.client_tls.protocols();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
