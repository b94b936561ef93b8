//! The text of a target, read as libpq reads it: a `postgres://` URL (`url`, on the shared
//! `uri` reader) or `key=value` words (`conninfo`), into keyword/value pairs, with the label the
//! target is printed under built from that same reading, every secret in it masked. What libpq
//! refuses is refused, with libpq's reason in words that quote no value.

use std::fmt;

use super::{conninfo, url};
use crate::{secret::is_secret_key, uri};

/// Every keyword libpq 18 accepts, with the environment variable libpq reads for it.
pub const KEYWORDS: &[(&str, Option<&str>)] = &[
    ("service", Some("PGSERVICE")),
    ("user", Some("PGUSER")),
    ("password", Some("PGPASSWORD")),
    ("passfile", Some("PGPASSFILE")),
    ("channel_binding", Some("PGCHANNELBINDING")),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    ("dbname", Some("PGDATABASE")),
    ("host", Some("PGHOST")),
    ("hostaddr", Some("PGHOSTADDR")),
    ("port", Some("PGPORT")),
    ("client_encoding", Some("PGCLIENTENCODING")),
    ("options", Some("PGOPTIONS")),
    ("application_name", Some("PGAPPNAME")),
    ("fallback_application_name", None),
    ("keepalives", None),
    ("keepalives_idle", None),
    ("keepalives_interval", None),
    ("keepalives_count", None),
    ("tcp_user_timeout", None),
    ("sslmode", Some("PGSSLMODE")),
    ("sslnegotiation", Some("PGSSLNEGOTIATION")),
    ("sslcompression", Some("PGSSLCOMPRESSION")),
    ("sslcert", Some("PGSSLCERT")),
    ("sslkey", Some("PGSSLKEY")),
    ("sslcertmode", Some("PGSSLCERTMODE")),
    ("sslpassword", None),
    ("sslrootcert", Some("PGSSLROOTCERT")),
    ("sslcrl", Some("PGSSLCRL")),
    ("sslcrldir", Some("PGSSLCRLDIR")),
    ("sslsni", Some("PGSSLSNI")),
    ("sslkeylogfile", None),
    ("requirepeer", Some("PGREQUIREPEER")),
    ("require_auth", Some("PGREQUIREAUTH")),
    ("ssl_min_protocol_version", Some("PGSSLMINPROTOCOLVERSION")),
    ("ssl_max_protocol_version", Some("PGSSLMAXPROTOCOLVERSION")),
    ("min_protocol_version", Some("PGMINPROTOCOLVERSION")),
    ("max_protocol_version", Some("PGMAXPROTOCOLVERSION")),
    ("gssencmode", Some("PGGSSENCMODE")),
    ("krbsrvname", Some("PGKRBSRVNAME")),
    ("gsslib", Some("PGGSSLIB")),
    ("gssdelegation", Some("PGGSSDELEGATION")),
    ("replication", None),
    ("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    ("load_balance_hosts", Some("PGLOADBALANCEHOSTS")),
    ("scram_client_key", None),
    ("scram_server_key", None),
    ("oauth_issuer", None),
    ("oauth_client_id", None),
    ("oauth_client_secret", None),
    ("oauth_scope", None),
];

/// libpq's keywords whose values are secrets besides those `secret::is_secret_key` names
/// (`password`, `sslpassword`, `oauth_client_secret`).
const SECRET_KEYWORDS: &[&str] = &["scram_client_key", "scram_server_key"];

pub fn is_keyword(key: &str) -> bool {
    KEYWORDS.iter().any(|(k, _)| *k == key)
}

/// True when a key's value is a secret: libpq's secret keywords, and any name that looks like
/// one in any case (`PASSWORD`, `pwd`, `token`), which libpq refuses but whose value is still
/// hidden.
pub fn is_secret(key: &str) -> bool {
    SECRET_KEYWORDS.contains(&key) || is_secret_key(key)
}

/// A target read: libpq's pairs, in order (a later one overrides an earlier one), and the text
/// as it may be printed.
#[derive(Debug)]
pub struct Parsed {
    pub pairs: Vec<(String, String)>,
    pub label: String,
}

/// A target refused: how to name it (secrets masked) and why, in words that quote no value.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub name: String,
    pub why: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}': {}", self.name, self.why)
    }
}

/// Reads a URL or a conninfo string. libpq reads a URL by its prefix, case-sensitively; any
/// other URL it would read as a keyword without `=`, which is said as what it is.
pub fn parse(text: &str) -> Result<Parsed, Refused> {
    if text.starts_with("postgresql://") || text.starts_with("postgres://") {
        return url::parse(text).map_err(|why| Refused { name: uri::unparsed(text), why });
    }
    let first_word = text.split(|c| c == '=' || conninfo::is_space(c)).next().unwrap_or_default();
    if first_word.contains("://") {
        let why = "not a postgres:// or postgresql:// URL".to_owned();
        return Err(Refused { name: uri::unparsed(text), why });
    }
    conninfo::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_urls_are_named_by_their_scheme() {
        for (text, name) in [
            ("mysql://u:hunter2@db/x", "mysql://…"),
            ("POSTGRES://u:hunter2@db/x", "POSTGRES://…"),
            ("1x://hunter2 a", "…"),
        ] {
            let refused = parse(text).unwrap_err();
            assert_eq!(refused.to_string(), format!("'{name}': not a postgres:// or postgresql:// URL"));
        }
        // A `://` in a value is a keyword string's, as libpq reads it.
        let parsed = parse("host=db password=Zq7W://k3Xp application_name=a://b").unwrap();
        assert_eq!(parsed.label, "host=db password=*** application_name=a://b");
    }

    #[test]
    fn secret_keys_in_any_case() {
        for key in ["password", "PASSWORD", "Password", "pass", "pwd", "passwd", "token", "secret"] {
            assert!(is_secret(key), "{key}");
        }
        assert!(is_secret("scram_client_key") && is_secret("oauth_client_secret"));
        assert!(!is_secret("sslkey") && !is_secret("host"));
    }
}
