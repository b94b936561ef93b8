//! TLS for tokio-postgres on probe's one connection layer: tokio-postgres sends the SSLRequest
//! (or, with sslnegotiation=direct, nothing) and hands the socket to [`StartTls`], which builds
//! the rustls configuration only then (so the TLS files are read when the server has agreed to
//! TLS, as libpq reads them), runs the shared `tls::handshake_async`, and gives back a stream
//! that tells SCRAM its channel binding (tls-server-end-point, RFC 5929: the hash of the
//! server's certificate with its signature's hash, SHA-1 and MD5 taken as SHA-256).

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use ring::digest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

use super::{
    PROTOCOL,
    watch::{Progress, Watched},
};
use crate::{net::tokio::AsyncSocket, tls, trace::Trace};

/// Why TLS could not start or complete, in probe's words (a TLS file, the handshake).
#[derive(Debug)]
pub struct TlsFailed(pub String);

impl std::fmt::Display for TlsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailed {}

/// A socket TLS can start on: the connection's own, or the one a CancelRequest opens.
pub trait Plain {
    /// The socket itself, refused when the server has already sent more than its `S` (bytes
    /// that TLS would not protect).
    fn into_socket(self) -> Result<AsyncSocket, String>;
}

impl Plain for AsyncSocket {
    fn into_socket(self) -> Result<AsyncSocket, String> {
        Ok(self)
    }
}

/// tokio-postgres's TLS hook. `build` makes the rustls configuration when TLS starts.
pub struct StartTls<F> {
    pub build: F,
    pub server_name: String,
    /// sslnegotiation=direct: the ClientHello is the first thing the server reads.
    pub direct: bool,
    pub trace: Trace,
    pub progress: Arc<Progress>,
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// `why` as the error tokio-postgres keeps as its cause (boxed once, so it can be found again).
fn failure(why: String) -> BoxError {
    Box::new(TlsFailed(why))
}

impl<S, F> TlsConnect<S> for StartTls<F>
where
    S: Plain,
    F: FnOnce() -> Result<Arc<rustls::ClientConfig>, String>,
{
    type Stream = Watched<Bound>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Watched<Bound>, BoxError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let failed = |why: String| -> Self::Future { Box::pin(std::future::ready(Err(failure(why)))) };
        let socket = match stream.into_socket() {
            Ok(socket) => socket,
            Err(why) => return failed(why),
        };
        let config = match (self.build)() {
            Ok(config) => config,
            Err(why) => return failed(why),
        };
        let StartTls { server_name, direct, trace, progress, .. } = self;
        Box::pin(async move {
            let tls = tls::handshake_async(socket, &server_name, config, &PROTOCOL).await.map_err(|why| {
                // A server before PostgreSQL 17 reads a ClientHello as a bad startup packet and
                // closes without a word.
                match direct && why.starts_with("connection closed by peer") {
                    true => failure(format!("{why}: the server may not take direct TLS (PostgreSQL 17 and later do; use sslnegotiation=postgres)")),
                    false => failure(why),
                }
            })?;
            trace.enter("auth");
            progress.tls_used.store(true, Ordering::Relaxed);
            Ok(Watched::messages(Bound { tls }, &trace, &progress))
        })
    }
}

/// A TLS session on the socket, as tokio-postgres reads and writes it.
pub struct Bound {
    tls: tokio_rustls::client::TlsStream<AsyncSocket>,
}

impl TlsStream for Bound {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.tls.get_ref();
        let certificate = session.peer_certificates().and_then(|chain| chain.first());
        match certificate.and_then(|der| Some(digest::digest(end_point_hash(der)?, der))) {
            Some(hash) => ChannelBinding::tls_server_end_point(hash.as_ref().to_vec()),
            None => ChannelBinding::none(),
        }
    }
}

/// The hash tls-server-end-point uses for this certificate (DER): its signature algorithm's,
/// with SHA-1 and MD5 taken as SHA-256 (RFC 5929, 4.1); none for a signature without one of
/// its own (Ed25519, RSA-PSS), as the server then offers no channel binding either.
fn end_point_hash(der: &[u8]) -> Option<&'static digest::Algorithm> {
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let oid = signature_algorithm(der)?;
    let (family, last) = oid.split_at(oid.len().checked_sub(1)?);
    match (family, last[0]) {
        // md5, sha1, sha256, then sha384, sha512 WithRSAEncryption (RFC 8017).
        (RSA, 0x04 | 0x05 | 0x0b) => Some(&digest::SHA256),
        (RSA, 0x0c) => Some(&digest::SHA384),
        (RSA, 0x0d) => Some(&digest::SHA512),
        // ecdsa-with-SHA256, -SHA384, -SHA512 (RFC 5758).
        (ECDSA, 0x02) => Some(&digest::SHA256),
        (ECDSA, 0x03) => Some(&digest::SHA384),
        (ECDSA, 0x04) => Some(&digest::SHA512),
        _ => None,
    }
}

/// The OID of a certificate's `signatureAlgorithm`: `Certificate ::= SEQUENCE { tbsCertificate,
/// signatureAlgorithm SEQUENCE { algorithm OID, … }, signature }` (RFC 5280, 4.1).
fn signature_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = element(der, 0x30)?;
    let (_, rest) = any_element(certificate)?;
    let (algorithm, _) = element(rest, 0x30)?;
    element(algorithm, 0x06).map(|(oid, _)| oid)
}

/// The contents of the DER element at the start of `bytes` if its tag is `tag`, and what follows.
fn element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    (bytes.first() == Some(&tag)).then(|| any_element(bytes)).flatten()
}

/// The contents of the DER element at the start of `bytes`, and what follows it.
fn any_element(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = *bytes.get(1)?;
    let (length, start) = match first {
        0..=0x7f => (usize::from(first), 2),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let digits = bytes.get(2..2 + count)?;
            (digits.iter().fold(0usize, |acc, byte| acc << 8 | usize::from(*byte)), 2 + count)
        }
        _ => return None,
    };
    let end = start.checked_add(length)?;
    Some((bytes.get(start..end)?, &bytes[end..]))
}

impl AsyncRead for Bound {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for Bound {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate as rcgen makes them (ECDSA P-256 with SHA-256), and the other signature
    /// algorithms by their OIDs.
    #[test]
    fn the_end_point_hash_follows_the_signature_algorithm() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db".to_owned()]).unwrap().self_signed(&key).unwrap();
        let der = cert.der().to_vec();
        assert_eq!(end_point_hash(&der), Some(&digest::SHA256), "ECDSA with SHA-256");
        let with_oid = |oid: &[u8]| {
            let algorithm = [&[0x06, oid.len() as u8][..], oid].concat();
            let algorithm = [&[0x30, algorithm.len() as u8][..], &algorithm].concat();
            let body = [&[0x30, 0x00][..], &algorithm, &[0x03, 0x01, 0x00]].concat();
            [&[0x30, body.len() as u8][..], &body].concat()
        };
        let rsa = |last: u8| with_oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last]);
        let len = |der: Vec<u8>| end_point_hash(&der).map(digest::Algorithm::output_len);
        assert_eq!((len(rsa(0x05)), len(rsa(0x0b)), len(rsa(0x0c)), len(rsa(0x0d))), (Some(32), Some(32), Some(48), Some(64)));
        assert_eq!(len(rsa(0x0a)), None, "RSA-PSS");
        assert_eq!(len(with_oid(&[0x2b, 0x65, 0x70])), None, "Ed25519");
        assert_eq!(len(vec![0x30, 0x82, 0xff]), None);
    }
}
