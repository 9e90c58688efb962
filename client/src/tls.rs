//! Which servers `wss://` trusts: the Mozilla roots bundled by webpki-roots
//! (so it works the same on every machine, with no system store needed),
//! plus the CA certificates of `--ca-file` for servers with a private or
//! self-signed certificate.
//!
//! The trust is process-wide, like `SSL_CERT_FILE`: set once at start-up
//! from the command line, read by every connection the net task opens.

use crate::error::ClientError;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::{Arc, OnceLock};

static TRUST: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Sets the trust for this process: the bundled roots plus the certificates in `ca_file`.
pub fn trust(ca_file: Option<&Path>) -> Result<(), ClientError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        let bad = |detail: String| ClientError::CaFile { path: path.to_path_buf(), detail };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|err| bad(err.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in the file".to_owned()));
        }
        for cert in certs {
            roots.add(cert).map_err(|err| bad(err.to_string()))?;
        }
    }
    let config = build(roots);
    // A second call (tests) keeps the first trust; the binary calls this once.
    let _ = TRUST.set(config);
    Ok(())
}

/// The TLS configuration for `wss://` connections.
pub(crate) fn client_config() -> Arc<rustls::ClientConfig> {
    Arc::clone(TRUST.get_or_init(|| build(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })))
}

fn build(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // ring supports the default protocol versions; should that ever
        // change, fall back to rustls's defaults rather than fail to start.
        Err(_) => rustls::ClientConfig::builder().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth(),
    };
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        assert!(matches!(trust(Some(&missing)), Err(ClientError::CaFile { .. })));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = trust(Some(&empty)).unwrap_err().to_string();
        assert!(err.contains("no certificate"), "{err}");
    }
}
