//! libpq's TLS files and what it does with them: where it looks (sslrootcert, sslcert, sslkey
//! and their defaults under `~/.postgresql/`), when it reads them (when the server has agreed to
//! TLS: `at_tls_start`), the one check made before connecting (verify-ca and verify-full need the
//! root file), the key's permissions, and sslmode's meaning as a rustls configuration.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use super::settings::{Given, Settings, SslMode};
use crate::tls::{self, Verify};

/// The TLS files libpq would use, as paths, with its defaults under `~/.postgresql/`. Whether
/// they are there, and what is in them, is found when TLS starts (`at_tls_start`), as libpq's
/// initialize_SSL finds it: a server that never starts TLS never has them read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub root: Root,
    /// sslcert, else `~/.postgresql/postgresql.crt`; none with sslcertmode=disable.
    pub cert: Option<PathBuf>,
    /// sslkey, else `~/.postgresql/postgresql.key`.
    pub key: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Root {
    /// No root certificate file: nothing is verified below verify-ca.
    #[default]
    None,
    File(PathBuf),
    /// `sslrootcert=system`: the bundled roots.
    System,
}

/// The files TLS starts with: the root certificate (a file only if it is there), and the
/// client certificate and key when the certificate file is there.
#[derive(Debug, PartialEq, Eq)]
pub struct TlsStart {
    pub root: Root,
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// libpq's initialize_SSL, when the server has agreed to TLS: a root file that is not there
    /// means nothing is verified below verify-ca and is an error from verify-ca up; a
    /// certificate file that is not there means no client certificate, one that cannot be
    /// looked at is an error; a certificate without its key is an error; a key others may read
    /// is refused. The messages are libpq's.
    pub fn at_tls_start(&self, sslmode: SslMode) -> Result<TlsStart, String> {
        let root = match &self.root {
            Root::System => Root::System,
            Root::File(file) if file.exists() => Root::File(file.clone()),
            missing if sslmode >= SslMode::VerifyCa => return Err(missing_root(missing)),
            _ => Root::None,
        };
        let Some(cert) = &self.cert else { return Ok(TlsStart { root, identity: None }) };
        match std::fs::metadata(cert) {
            Ok(_) => {}
            Err(err)
                if matches!(err.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                return Ok(TlsStart { root, identity: None });
            }
            Err(err) => {
                let why = crate::net::describe(&err);
                return Err(format!("could not open certificate file \"{}\": {why}", cert.display()));
            }
        }
        // libpq opens the certificate before it looks for the key (and parses it there, which
        // `tls::client_config` does later, in the words every check uses).
        if let Err(err) = std::fs::File::open(cert) {
            let why = crate::net::describe(&err);
            return Err(format!("could not read certificate file \"{}\": {why}", cert.display()));
        }
        let shown_key = || {
            self.key
                .as_ref()
                .map_or_else(|| "~/.postgresql/postgresql.key".to_owned(), |p| p.display().to_string())
        };
        let Some(key) = &self.key else {
            return Err(format!("certificate present, but not private key file \"{}\"", shown_key()));
        };
        match std::fs::metadata(key) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("certificate present, but not private key file \"{}\"", shown_key()));
            }
            Err(err) => {
                return Err(format!(
                    "could not stat private key file \"{}\": {}",
                    key.display(),
                    crate::net::describe(&err)
                ));
            }
        }
        check_key_mode(key)?;
        Ok(TlsStart { root, identity: Some((cert.clone(), key.clone())) })
    }
}

/// libpq's words for a root certificate file that verify-ca and verify-full need and lack.
fn missing_root(root: &Root) -> String {
    let shown = match root {
        Root::File(path) => path.display().to_string(),
        _ => "~/.postgresql/root.crt".to_owned(),
    };
    format!(
        "root certificate file \"{shown}\" does not exist; provide the file, use sslrootcert=system, or change sslmode to disable server certificate verification"
    )
}

/// libpq's TLS files as paths: sslrootcert (default `~/.postgresql/root.crt`; `system` for the
/// bundled roots), sslcert and sslkey (defaults `~/.postgresql/postgresql.crt` and `.key`).
/// Nothing is read here. One check is made before connecting (a difference the README lists):
/// verify-ca and verify-full need the root file, so its absence is refused at once.
pub fn tls_files(
    given: &Given,
    home: Option<&Path>,
    sslmode: SslMode,
    no_cert: bool,
) -> Result<TlsFiles, String> {
    let path = |key: &str, default: &str| -> Option<PathBuf> {
        match given.nonempty(key) {
            Some(path) => Some(PathBuf::from(path)),
            None => home.map(|home| home.join(".postgresql").join(default)),
        }
    };
    let root = match given.get("sslrootcert") {
        Some("system") => Root::System,
        _ => path("sslrootcert", "root.crt").map_or(Root::None, Root::File),
    };
    let there = matches!(&root, Root::System) || matches!(&root, Root::File(file) if file.exists());
    if sslmode >= SslMode::VerifyCa && !there {
        return Err(missing_root(&root));
    }
    let cert = if no_cert { None } else { path("sslcert", "postgresql.crt") };
    Ok(TlsFiles { root, cert, key: path("sslkey", "postgresql.key") })
}

/// libpq's rule for a private key: 0600 or less, or 0640 or less when root owns it.
pub fn check_key_mode(key: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(metadata) = std::fs::metadata(key) else { return Ok(()) };
    let mode = metadata.mode();
    let allowed = if metadata.uid() == 0 { 0o037 } else { 0o077 };
    if mode & allowed != 0 {
        return Err(format!(
            "private key file \"{}\" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root",
            key.display()
        ));
    }
    Ok(())
}
/// libpq's sslmode as a rustls configuration, built when the server has agreed to TLS, so the
/// files are read then, as libpq reads them: below verify-ca, nothing is verified unless a root
/// certificate file is there (then the chain, as libpq); verify-ca the chain, verify-full chain
/// and name.
pub fn tls_config(settings: &Settings) -> Result<Arc<rustls::ClientConfig>, String> {
    let files = settings.tls.at_tls_start(settings.sslmode)?;
    let (roots, verify) = match (&files.root, settings.sslmode) {
        (Root::System, _) => (None, Verify::Full),
        (Root::File(path), SslMode::VerifyFull) => (Some(path.as_path()), Verify::Full),
        (Root::None, SslMode::VerifyFull) => (None, Verify::Full),
        (Root::File(path), _) => (Some(path.as_path()), Verify::Chain),
        (Root::None, SslMode::VerifyCa) => (None, Verify::Chain),
        (Root::None, _) => (None, Verify::Nothing),
    };
    let identity = files.identity.as_ref().map(|(cert, key)| (cert.as_path(), key.as_path()));
    let mut config = tls::client_config(roots, identity, verify).map_err(|err| format!("{err:#}"))?;
    config.enable_sni = settings.sni;
    if settings.direct_tls {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::postgres::settings::tests::settings_from;


    /// libpq's initialize_SSL: the files are looked at when TLS starts, not when the settings
    /// are read; the messages are libpq's.
    #[test]
    fn tls_files_where_libpq_looks() {
        let dir = tempfile::tempdir().unwrap();
        let pg = dir.path().join(".postgresql");
        std::fs::create_dir(&pg).unwrap();
        let home = [("HOME", dir.path().to_str().unwrap())];
        let at_start = |text: &str| {
            let s = settings_from(text, &home).unwrap();
            s.tls.at_tls_start(s.sslmode)
        };
        let nothing = TlsStart { root: Root::None, identity: None };
        assert_eq!(at_start("host=db").unwrap(), nothing);
        std::fs::write(pg.join("root.crt"), "x").unwrap();
        assert_eq!(at_start("host=db").unwrap().root, Root::File(pg.join("root.crt")));
        std::fs::write(pg.join("postgresql.crt"), "x").unwrap();
        // Reading the settings does not look at the certificate; starting TLS does.
        settings_from("host=db", &home).unwrap();
        let err = at_start("host=db").unwrap_err();
        assert!(err.contains("certificate present, but not private key file"), "{err}");
        std::fs::write(pg.join("postgresql.key"), "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(pg.join("postgresql.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = at_start("host=db").unwrap_err();
        assert!(err.contains("has group or world access"), "{err}");
        std::fs::set_permissions(pg.join("postgresql.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        check_key_mode(&pg.join("postgresql.key")).unwrap();
        let tls = at_start("host=db").unwrap();
        assert_eq!(tls.identity, Some((pg.join("postgresql.crt"), pg.join("postgresql.key"))));
        assert_eq!(at_start("host=db sslcertmode=disable").unwrap().identity, None);
        // A missing root file is refused before connecting only where it is always needed.
        std::fs::remove_file(pg.join("root.crt")).unwrap();
        let err = settings_from("host=db sslmode=verify-ca", &home).unwrap_err();
        assert!(err.contains("root certificate file") && err.contains("does not exist"), "{err}");
        // Neither a socket nor sslmode=disable reads them.
        assert_eq!(settings_from("host=/tmp sslmode=verify-full", &[]).unwrap().tls, TlsFiles::default());
        assert_eq!(
            settings_from("host=db sslmode=disable sslrootcert=/nonexistent", &[]).unwrap().tls,
            TlsFiles::default()
        );
    }}
