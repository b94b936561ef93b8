//! TLS: the settings (the CA, client certificate and key files read and checked once, before
//! any connection), the one handshake every check runs (sync and tokio), and one description of
//! what TLS found. Certificates are verified by default, against Mozilla's roots compiled into
//! the binary, which work in an image with no /etc/ssl.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, bail};
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject},
};

use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, Protocol, Socket, Stream},
    quote,
};

/// The TLS options of every check that speaks TLS, flattened into its arguments.
#[derive(Debug, clap::Args)]
pub struct TlsArgs {
    /// Trust the certificate authorities in this PEM file instead of the bundled Mozilla roots.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Do not verify the server's certificate (kubelet's HTTPS probes never do).
    #[arg(long)]
    pub insecure: bool,
}

pub struct Tls {
    /// Trust anchors instead of the bundled roots: from --cacert, or from SSL_CERT_FILE.
    roots: Option<RootCertStore>,
    identity: Option<Identity>,
    insecure: bool,
}

/// Certificates as parsed.
struct Certificates {
    der: Vec<CertificateDer<'static>>,
}

/// A client certificate chain and its key (PEM; checked to hold a key, never printed).
struct Identity {
    chain: Certificates,
    key_pem: Vec<u8>,
}

impl Tls {
    /// Reads the files `args` names. SSL_CERT_FILE is honoured as OpenSSL and curl do when no
    /// --cacert is given, but only when a target `speaks_tls`: reading a system bundle costs
    /// milliseconds that a plain-text probe has no use for.
    ///
    /// A TLS option when no target uses TLS is a usage error naming it: it would be ignored,
    /// and whoever wrote it meant TLS.
    pub fn load(args: &TlsArgs, env: &dyn Env, speaks_tls: bool) -> anyhow::Result<Self> {
        if !speaks_tls {
            let given = [
                ("--cacert", args.cacert.is_some()),
                ("--cert", args.cert.is_some()),
                ("--key", args.key.is_some()),
                ("--insecure", args.insecure),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
                bail!("{flag} is a TLS option, and no target here uses TLS");
            }
        }
        let ssl_cert_file = speaks_tls.then(|| env.var("SSL_CERT_FILE")).flatten().map(PathBuf::from);
        let roots = match (&args.cacert, ssl_cert_file) {
            (Some(path), _) => Some(trust_anchors("--cacert", path)?),
            (None, Some(path)) if !args.insecure => Some(trust_anchors("SSL_CERT_FILE", &path)?),
            (None, _) => None,
        };
        let identity = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => Some(identity(cert, key)?),
            (None, None) => None,
            _ => bail!("--cert and --key go together"),
        };
        Ok(Tls { roots, identity, insecure: args.insecure })
    }

    /// True with --insecure: the server's certificate is not verified.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// The same settings as a rustls configuration, for [`handshake`]. --insecure still checks
    /// the handshake's signatures.
    pub fn for_rustls(&self) -> anyhow::Result<ClientConfig> {
        self.for_rustls_verifying(!self.insecure)
    }

    /// As [`Self::for_rustls`], with verification off also when the target's own settings say
    /// so (redis-py's `ssl_cert_reqs=none`).
    pub fn for_rustls_verifying(&self, verify: bool) -> anyhow::Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .context("TLS versions")?;
        let builder = if !verify || self.insecure {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Lenient { webpki: None, provider }))
        } else {
            builder.with_root_certificates(self.roots.clone().unwrap_or_else(bundled_roots))
        };
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some(identity) => {
                let key = PrivateKeyDer::from_pem_slice(&identity.key_pem)
                    .map_err(|_| anyhow::anyhow!("--key: no PEM private key in it"))?;
                builder
                    .with_client_auth_cert(identity.chain.der.clone(), key)
                    .map_err(|_| anyhow::anyhow!("--cert and --key do not make a usable pair"))
            }
        }
    }
}

/// How much of the server's certificate to check: libpq's sslmode levels, which MySQL's
/// ssl-mode levels map onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Chain and host name (verify-full).
    Full,
    /// Chain only (verify-ca; require with a root certificate).
    Chain,
    /// Nothing: encryption without authentication (prefer, require without a root certificate).
    Nothing,
}

/// A rustls configuration from files a check's own settings name (libpq's sslrootcert, sslcert
/// and sslkey; the MySQL URL's ssl-ca, ssl-cert and ssl-key), read now so that an unreadable one
/// is refused before any connection. Without roots, the bundled Mozilla roots, as libpq's
/// `sslrootcert=system`.
pub fn client_config(
    roots: Option<&Path>,
    identity: Option<(&Path, &Path)>,
    verify: Verify,
) -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("TLS versions")?;
    // Verifying nothing needs no roots: building the bundled store costs more than the rest.
    let webpki = match verify {
        Verify::Nothing => None,
        Verify::Full | Verify::Chain => {
            let store = match roots {
                Some(path) => trust_anchors("the CA file", path)?,
                None => bundled_roots(),
            };
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), Arc::clone(&provider))
                    .build()
                    .context("TLS verifier")?;
            Some(verifier)
        }
    };
    let builder = match (verify, webpki) {
        (Verify::Full, Some(webpki)) => builder.with_webpki_verifier(webpki),
        (_, webpki) => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Lenient { webpki, provider }))
        }
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = certificates("sslcert", cert)?.der;
            let key_pem =
                std::fs::read(key).with_context(|| format!("cannot read sslkey {}", key.display()))?;
            let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|_| anyhow::anyhow!("sslkey {}: no PEM private key in it", key.display()))?;
            builder.with_client_auth_cert(chain, key_der).map_err(|err| {
                let why = pair_problem(err);
                anyhow::anyhow!("client certificate {} and key {}: {why}", cert.display(), key.display())
            })
        }
    }
}

/// The verifier for libpq's weaker modes: checks the chain only (`Chain`) or nothing
/// (`Nothing`), but always the handshake signatures, so the session is still encrypted to the
/// holder of the certificate's key.
#[derive(Debug)]
struct Lenient {
    /// The chain verifier, or none to accept any certificate.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        let Some(webpki) = &self.webpki else { return Ok(ServerCertVerified::assertion()) };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, signature, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, signature, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn certificates(what: &str, path: &Path) -> anyhow::Result<Certificates> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    let der: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("{what} {}: not a PEM certificate file", path.display()))?;
    if der.is_empty() {
        bail!("{what} {}: no PEM certificate in it", path.display());
    }
    Ok(Certificates { der })
}

/// The certificates of a CA file as trust anchors, checked now: rustls skips the ones it
/// cannot use, which would turn a bad file into "unknown issuer" at every attempt instead of a
/// clear refusal. A bundle may hold some unusable ones among the rest, as system bundles do.
fn trust_anchors(what: &str, path: &Path) -> anyhow::Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let (usable, _) = store.add_parsable_certificates(certificates(what, path)?.der);
    if usable == 0 {
        bail!(
            "{what} {}: no certificate in it can be trusted (not a valid X.509 certificate)",
            path.display()
        );
    }
    Ok(store)
}

/// Mozilla's roots, compiled in: they work in an image with no /etc/ssl.
fn bundled_roots() -> RootCertStore {
    RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
}

/// Reads --cert and --key and checks, before any I/O, that a TLS client can use them together,
/// so every check refuses an unusable pair the same way (exit 3), whatever library it hands
/// them to. The key's text is never part of an error message, only its path.
fn identity(cert: &Path, key: &Path) -> anyhow::Result<Identity> {
    let chain = certificates("--cert", cert)?;
    let key_pem = std::fs::read(key).with_context(|| format!("cannot read --key {}", key.display()))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|_| anyhow::anyhow!("--key {}: no PEM private key in it", key.display()))?;
    usable_pair(chain.der.clone(), key_der)
        .map_err(|why| anyhow::anyhow!("--cert {} and --key {}: {why}", cert.display(), key.display()))?;
    Ok(Identity { chain, key_pem })
}

/// Whether rustls accepts `chain` and `key` as a client identity, and if not, why, in words.
fn usable_pair(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<(), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(RootCertStore::empty());
    builder.with_client_auth_cert(chain, key).map(drop).map_err(pair_problem)
}

/// Why rustls refused a certificate and key as a client identity, in words, the same for
/// every check whichever way it names the files.
fn pair_problem(err: rustls::Error) -> String {
    use rustls::{CertificateError, Error, InconsistentKeys};
    match err {
        Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
            "the key is not the certificate's (they do not make a pair)".to_owned()
        }
        Error::InvalidCertificate(CertificateError::Other(other))
            if other.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::UnsupportedCertVersion) =>
        {
            "an X.509 v1 certificate; TLS clients need a v3 certificate".to_owned()
        }
        Error::InvalidCertificate(problem) => format!("the certificate is not usable ({problem:?})"),
        Error::General(why) => format!("a key of a kind TLS cannot use ({why})"),
        other => format!("not a usable pair ({other})"),
    }
}

/// A rustls error as a short diagnosis: why the certificate was refused, or what the peer did.
pub fn describe(err: &rustls::Error) -> String {
    use rustls::{CertificateError as Cert, Error};
    match err {
        Error::InvalidCertificate(cert) => match cert {
            Cert::UnknownIssuer => "TLS: certificate not trusted (unknown issuer)".to_owned(),
            Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
                "TLS: certificate is not valid for this host name".to_owned()
            }
            Cert::Expired | Cert::ExpiredContext { .. } => "TLS: certificate has expired".to_owned(),
            Cert::NotValidYet | Cert::NotValidYetContext { .. } => {
                "TLS: certificate is not valid yet".to_owned()
            }
            Cert::Revoked => "TLS: certificate has been revoked".to_owned(),
            Cert::BadSignature => "TLS: certificate has a bad signature".to_owned(),
            other => format!("TLS: invalid certificate ({other:?})"),
        },
        Error::AlertReceived(alert) => format!("TLS: the server refused the handshake ({alert:?})"),
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => "TLS: the answer is not TLS".to_owned(),
        other => format!("TLS: {other}"),
    }
}

/// True when rustls met bytes that are not TLS where a TLS record was due: the peer speaks
/// plain text.
fn is_not_tls(err: &rustls::Error) -> bool {
    use rustls::{Error, InvalidMessage};
    matches!(
        err,
        Error::InvalidMessage(InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion)
    )
}

/// `name` as TLS sends it (SNI) and checks it against the certificate: a DNS name or an IP
/// address.
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.to_owned())
        .map_err(|_| format!("TLS: '{}' is not a name a certificate can hold", quote::escaped(name)))
}

/// The TLS handshake on `socket`, within the deadline, for the server `name`. Fails with one
/// phrase: the socket's error, what TLS found, or, when the answer is plain text, that the port
/// speaks plain text and how to ask it in `protocol`'s words.
pub fn handshake(
    socket: Socket,
    name: &str,
    config: Arc<ClientConfig>,
    deadline: Deadline,
    protocol: &Protocol,
) -> Result<Stream, String> {
    let mut tls = rustls::ClientConnection::new(config, server_name(name)?).map_err(|err| describe(&err))?;
    let mut socket = socket;
    while tls.is_handshaking() {
        socket.set_timeout(deadline.socket_timeout());
        match tls.complete_io(&mut socket) {
            Ok((0, 0)) => return Err("connection closed by peer during the TLS handshake".to_owned()),
            Ok(_) => {}
            Err(err) => return Err(describe_handshake_io(&err, protocol)),
        }
    }
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(tls, socket))))
}

/// A handshake's I/O error in words: a plain-text answer named as such, an end of stream as a
/// close during the handshake.
fn describe_handshake_io(err: &std::io::Error, protocol: &Protocol) -> String {
    let tls_error = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls_error {
        Some(tls_error) if is_not_tls(tls_error) => protocol.speaks_plain(),
        _ if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            "connection closed by peer during the TLS handshake".to_owned()
        }
        _ => net::describe(err),
    }
}

/// [`handshake`] for the checks that run on tokio; the caller bounds it by the deadline.
#[cfg(feature = "async")]
pub async fn handshake_async(
    socket: net::tokio::AsyncSocket,
    name: &str,
    config: Arc<ClientConfig>,
    protocol: &Protocol,
) -> Result<tokio_rustls::client::TlsStream<net::tokio::AsyncSocket>, String> {
    let connector = tokio_rustls::TlsConnector::from(config);
    connector.connect(server_name(name)?, socket).await.map_err(|err| describe_handshake_io(&err, protocol))
}
