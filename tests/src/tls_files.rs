//! A self-signed certificate for `localhost`, as PEM files, for `wss://` tests.

use std::path::{Path, PathBuf};

/// PEM files in a directory the caller owns.
#[derive(Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The certificate's PEM text (it is its own CA).
    pub cert_pem: String,
}

impl TlsFiles {
    /// Generates a fresh certificate for `localhost` into `dir`.
    pub fn localhost(dir: &Path) -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("generate a certificate");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let cert_pem = certified.cert.pem();
        std::fs::write(&cert, &cert_pem).expect("write cert.pem");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key.pem");
        Self { cert, key, cert_pem }
    }

    /// `--tls-cert C --tls-key K` for the server.
    pub fn server_flags(&self) -> [String; 4] {
        ["--tls-cert".to_owned(), self.cert.display().to_string(), "--tls-key".to_owned(), self.key.display().to_string()]
    }
}
