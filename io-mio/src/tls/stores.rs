//! Key stores and trust stores, read as ZooKeeper 3.8 reads them: PEM files (a private key, possibly
//! encrypted PKCS#8, with its certificate chain, in one file; a trust store is a PEM list of certificates)
//! and PKCS#12 files. The type comes from `ssl.*Store.type`, else from the file name (.pem, .p12, .pfx, as
//! ZooKeeper's `KeyStoreFileType.fromFilename`), else from the contents. Java KeyStore (JKS) and BCFKS files
//! are refused with the command that converts them: no maintained Rust crate reads JKS.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rzk_core::config::tls::{StoreConfig, StoreType};

/// A server's (or a learner's) own identity: its certificate chain and private key.
pub struct KeyMaterial {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// A store that cannot be used, and why (in words an operator can act on).
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {reason}")]
pub struct StoreError {
    pub what: &'static str,
    pub path: String,
    pub reason: String,
}

const JKS_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];

fn store_type(config: &StoreConfig, bytes: &[u8]) -> StoreType {
    if let Some(t) = config.store_type {
        return t;
    }
    let name = config.location.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".pem") || name.ends_with(".crt") || name.ends_with(".key") {
        StoreType::Pem
    } else if name.ends_with(".p12") || name.ends_with(".pfx") {
        StoreType::Pkcs12
    } else if name.ends_with(".jks") || bytes.starts_with(&JKS_MAGIC) {
        StoreType::Jks
    } else if name.ends_with(".bcfks") {
        StoreType::Bcfks
    } else if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        StoreType::Pem
    } else {
        StoreType::Pkcs12
    }
}

fn unreadable_type(t: StoreType, path: &Path) -> Option<String> {
    let p = path.display();
    match t {
        StoreType::Jks => Some(format!(
            "a Java KeyStore (JKS), which rzk does not read; convert it to PKCS#12 with \
             `keytool -importkeystore -srckeystore {p} -destkeystore {p}.p12 -deststoretype PKCS12` \
             and point the key at the .p12 file (or use PEM files)"
        )),
        StoreType::Bcfks => Some(format!(
            "a BouncyCastle FIPS KeyStore (BCFKS), which rzk does not read; convert it to PKCS#12 with \
             `keytool -importkeystore -srckeystore {p} -srcstoretype BCFKS -destkeystore {p}.p12 \
             -deststoretype PKCS12` (with the BouncyCastle provider), or use PEM files"
        )),
        StoreType::Pem | StoreType::Pkcs12 => None,
    }
}

fn read(what: &'static str, config: &StoreConfig) -> Result<(Vec<u8>, StoreType), StoreError> {
    let err = |reason: String| StoreError {
        what,
        path: config.location.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(&config.location).map_err(|e| err(format!("cannot read it: {e}")))?;
    let t = store_type(config, &bytes);
    if let Some(reason) = unreadable_type(t, &config.location) {
        return Err(err(reason));
    }
    Ok((bytes, t))
}

/// The key and certificate chain of a key store.
pub fn load_key_store(config: &StoreConfig) -> Result<KeyMaterial, StoreError> {
    const WHAT: &str = "key store";
    let (bytes, t) = read(WHAT, config)?;
    let err = |reason: String| StoreError {
        what: WHAT,
        path: config.location.display().to_string(),
        reason,
    };
    let password = config.password.as_deref().unwrap_or("");
    match t {
        StoreType::Pem => {
            let chain = pem_certificates(&bytes).map_err(err)?;
            if chain.is_empty() {
                return Err(err("it holds no certificate".into()));
            }
            let key = pem_private_key(&bytes, password).map_err(err)?;
            Ok(KeyMaterial { chain, key })
        }
        _ => {
            let store = p12_keystore::KeyStore::from_pkcs12(
                &bytes,
                password,
                p12_keystore::Pkcs12ImportPolicy::Relaxed,
            )
            .map_err(|e| err(format!("cannot open it as PKCS#12 (wrong password?): {e}")))?;
            let (_, chain) = store
                .private_key_chain()
                .ok_or_else(|| err("it holds no private key with its certificate".into()))?;
            if chain.certs().is_empty() {
                return Err(err("its private key has no certificate".into()));
            }
            Ok(KeyMaterial {
                chain: chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
            })
        }
    }
}

/// The trusted certificates of a trust store.
pub fn load_trust_store(config: &StoreConfig) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    const WHAT: &str = "trust store";
    let (bytes, t) = read(WHAT, config)?;
    let err = |reason: String| StoreError {
        what: WHAT,
        path: config.location.display().to_string(),
        reason,
    };
    let certs = match t {
        StoreType::Pem => pem_certificates(&bytes).map_err(err)?,
        _ => {
            let password = config.password.as_deref().unwrap_or("");
            let store = p12_keystore::KeyStore::from_pkcs12(
                &bytes,
                password,
                p12_keystore::Pkcs12ImportPolicy::Raw,
            )
            .map_err(|e| err(format!("cannot open it as PKCS#12 (wrong password?): {e}")))?;
            store
                .entries()
                .flat_map(|(_, entry)| match entry {
                    p12_keystore::KeyStoreEntry::Certificate(c) => vec![c.as_der().to_vec()],
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                        chain.certs().iter().map(|c| c.as_der().to_vec()).collect()
                    }
                    p12_keystore::KeyStoreEntry::Secret(_) => Vec::new(),
                })
                .map(CertificateDer::from)
                .collect()
        }
    };
    if certs.is_empty() {
        return Err(err("it holds no certificate".into()));
    }
    Ok(certs)
}

fn pem_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM certificate: {e}"))
}

/// The private key of a PEM file: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or an encrypted PKCS#8 key
/// (`ENCRYPTED PRIVATE KEY`, PBES2) opened with the store's password, as ZooKeeper's PemReader does.
fn pem_private_key(bytes: &[u8], password: &str) -> Result<PrivateKeyDer<'static>, String> {
    if let Some(block) = pem_block(bytes, "ENCRYPTED PRIVATE KEY") {
        use pkcs8::der::Decode;
        let (_, doc) = pkcs8::Document::from_pem(block)
            .map_err(|e| format!("bad encrypted private key: {e}"))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(doc.as_bytes())
            .map_err(|e| format!("bad encrypted private key: {e}"))?;
        let plain = info
            .decrypt(password)
            .map_err(|e| format!("cannot decrypt the private key (wrong password?): {e}"))?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => "it holds no private key".to_string(),
        e => format!("bad PEM private key: {e}"),
    })
}

/// The text of the first PEM block labelled `label`, markers included.
fn pem_block<'a>(bytes: &'a [u8], label: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const PASSWORD: &str = "testpass";

    fn store(file: &str, password: Option<&str>) -> StoreConfig {
        StoreConfig {
            location: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("src/tls/testdata")
                .join(file),
            password: password.map(str::to_string),
            password_path: None,
            store_type: None,
        }
    }

    #[test]
    fn key_stores_in_every_form_zookeeper_reads() {
        for (file, password) in [
            ("server.pem", None),
            ("server-encrypted.pem", Some(PASSWORD)),
            ("server-sec1.pem", None),
            ("server.p12", Some(PASSWORD)),
            // Written by Java's keytool.
            ("server-java.p12", Some(PASSWORD)),
        ] {
            let m =
                load_key_store(&store(file, password)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(m.chain.len(), 1, "{file}");
        }
    }

    #[test]
    fn trust_stores_in_every_form_zookeeper_reads() {
        for (file, password) in [
            ("ca.pem", None),
            ("ca.p12", Some(PASSWORD)),
            ("ca-java.p12", Some(PASSWORD)),
        ] {
            let certs =
                load_trust_store(&store(file, password)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(certs.len(), 1, "{file}");
        }
    }

    #[test]
    fn unusable_stores_say_why() {
        let reason =
            |r: Result<KeyMaterial, StoreError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        let jks = reason(load_key_store(&store("ca.jks", Some(PASSWORD))));
        assert!(
            jks.contains("Java KeyStore (JKS)") && jks.contains("keytool -importkeystore"),
            "{jks}"
        );
        let wrong = reason(load_key_store(&store("server.p12", Some("nope"))));
        assert!(wrong.contains("wrong password"), "{wrong}");
        let wrong = reason(load_key_store(&store("server-encrypted.pem", Some("nope"))));
        assert!(wrong.contains("wrong password"), "{wrong}");
        let no_key = reason(load_key_store(&store("ca.pem", None)));
        assert!(no_key.contains("no private key"), "{no_key}");
        let missing = reason(load_key_store(&store("nosuch.pem", None)));
        assert!(missing.contains("cannot read it"), "{missing}");
        // A store type given explicitly wins over the file name.
        let mut typed = store("ca.jks", Some(PASSWORD));
        typed.store_type = Some(StoreType::Pem);
        assert!(load_trust_store(&typed).is_err());
    }
}
