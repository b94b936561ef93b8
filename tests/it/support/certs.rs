//! Certificates made by the tests: a CA, certificates it signs (server and client), and
//! self-signed ones, as PEM files in a temp dir and as rustls server configurations.

use std::{fs, path::PathBuf, sync::Arc};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};

pub struct Pki {
    pub dir: tempfile::TempDir,
    /// The CA certificate, for --cacert.
    pub ca: PathBuf,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, as PEM files.
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::Builder::new().prefix("probe-pki-").tempdir().expect("temp dir");
        let mut params = CertificateParams::new(Vec::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "probe test CA");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let ca = dir.path().join("ca.pem");
        fs::write(&ca, issuer.pem()).expect("write CA");
        Pki { dir, ca, issuer }
    }

    /// A certificate for `names` (host names or IP addresses) signed by the CA.
    pub fn issue(&self, file: &str, names: &[&str]) -> Pair {
        let key = KeyPair::generate().expect("key");
        let params = params_for(names);
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        self.write(file, &cert.pem(), &key.serialize_pem())
    }

    /// A certificate for `names` signed by the CA that expired in 2020.
    pub fn expired(&self, file: &str, names: &[&str]) -> Pair {
        let key = KeyPair::generate().expect("key");
        let mut params = params_for(names);
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        self.write(file, &cert.pem(), &key.serialize_pem())
    }

    /// A certificate for `names` that signs itself: no CA vouches for it.
    pub fn self_signed(&self, file: &str, names: &[&str]) -> Pair {
        let key = KeyPair::generate().expect("key");
        let cert = params_for(names).self_signed(&key).expect("self-sign");
        self.write(file, &cert.pem(), &key.serialize_pem())
    }

    fn write(&self, file: &str, cert: &str, key: &str) -> Pair {
        let pair = Pair {
            cert: self.dir.path().join(format!("{file}.pem")),
            key: self.dir.path().join(format!("{file}.key")),
        };
        fs::write(&pair.cert, cert).expect("write cert");
        fs::write(&pair.key, key).expect("write key");
        pair
    }
}

fn params_for(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, names.first().cloned().unwrap_or_default());
    params
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server configuration presenting `pair`; with `client_ca`, it demands a client
/// certificate signed by that CA (mutual TLS).
pub fn server_config(pair: &Pair, client_ca: Option<&PathBuf>) -> Arc<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&pair.cert).expect("cert file").map(|c| c.expect("cert")).collect();
    let key = PrivateKeyDer::from_pem_file(&pair.key).expect("key file");
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
                roots.add(cert.expect("CA cert")).expect("add CA");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    Arc::new(builder.with_single_cert(chain, key).expect("server config"))
}
