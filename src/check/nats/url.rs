//! NATS URLs as nats.go reads them: `nats://[user:password@|token@]host[:4222]`, `tls://` for
//! TLS, and a comma-separated list of them as one target (a piece without a scheme is
//! `nats://`, as nats.go's `processUrlString` adds it). Each piece is read by `uri`; the label is
//! the whole text with every piece's secrets masked, the lone-word token included. No error
//! message holds any part of the text.

use crate::{
    net::{HostPort, parse_port},
    secret::{self, Secret},
    uri::{self, Span, Uri, Userinfo},
};

pub const DEFAULT_PORT: u16 = 4222;

/// What a server's URL says about logging in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    None,
    /// `user:password@`; the password may come from --password-file.
    User { user: String, password: Option<Secret> },
    /// `token@`.
    Token(Secret),
}

/// One server of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub host: HostPort,
    /// `tls://`: TLS whatever INFO says.
    pub tls: bool,
    pub login: Login,
}

/// A target: the servers, tried in order, and the label.
#[derive(Debug, PartialEq, Eq)]
pub struct NatsUrl {
    pub servers: Vec<Server>,
    pub label: String,
}

const USAGE: &str = "write it as nats://[user:password@|token@]host[:port] or tls://…, several separated by commas";

/// Reads `text`. With `user_only`, a lone word before `@` is a user name (its password comes
/// from --password-file) rather than a token.
pub fn parse(text: &str, user_only: bool) -> Result<NatsUrl, String> {
    let mut servers = Vec::new();
    let mut secrets: Vec<Span> = Vec::new();
    let mut start = 0;
    for piece in text.split(',') {
        let piece_start = start;
        start += piece.len() + 1;
        let trimmed = piece.trim();
        if trimmed.is_empty() {
            return Err(format!("an empty server in the list; {USAGE}"));
        }
        let offset = piece_start + (piece.len() - piece.trim_start().len());
        let (owned, shift) = match uri::scheme_of(trimmed) {
            Some(_) => (trimmed.to_owned(), 0),
            None => (format!("nats://{trimmed}"), "nats://".len()),
        };
        let uri = Uri::parse(&owned, Userinfo::LastAt).ok_or(format!("not a NATS URL; {USAGE}"))?;
        let (server, lone_token) = server(&uri, user_only)?;
        let mut found = uri.secrets();
        if lone_token {
            found.extend(uri.user_span());
        }
        for span in found {
            let (from, to) = (span.start.saturating_sub(shift), span.end.saturating_sub(shift));
            secrets.push(offset + from..offset + to);
        }
        servers.push(server);
    }
    Ok(NatsUrl { servers, label: secret::mask(text, &secrets) })
}

/// One piece of the list; true when its lone word is a token (to be masked).
fn server(uri: &Uri<'_>, user_only: bool) -> Result<(Server, bool), String> {
    let tls = match uri.scheme().to_ascii_lowercase().as_str() {
        "nats" => false,
        "tls" => true,
        "ws" | "wss" => return Err("websocket URLs (ws://, wss://) are not read; use the NATS port with nats://".to_owned()),
        _ => return Err(format!("not a NATS URL: the scheme is neither nats:// nor tls://; {USAGE}")),
    };
    if uri.stray_at() {
        return Err(uri::STRAY_AT.to_owned());
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() || uri.fragment().is_some() {
        return Err(format!("a NATS URL has nothing after the host; {USAGE}"));
    }
    let host = host_port(uri.hosts())?;
    let user = uri::decode_credential(uri.user().unwrap_or_default(), "user name")?;
    let (login, lone_token) = match (user, uri.password()) {
        (user, Some(password)) => {
            let password = uri::decode_credential(password, "password")?;
            match user {
                // `:password@` is how some write a token with the nats CLI's URLs.
                None => (password.map(|token| Login::Token(Secret::new(token))).unwrap_or(Login::None), false),
                Some(user) => (Login::User { user, password: password.map(Secret::new) }, false),
            }
        }
        (Some(user), None) if user_only => (Login::User { user, password: None }, false),
        (Some(token), None) => (Login::Token(Secret::new(token)), true),
        (None, None) => (Login::None, false),
    };
    Ok((Server { host, tls, login }, lone_token))
}

/// The host and port; nothing at all is 127.0.0.1, as nats.go's default.
fn host_port(text: &str) -> Result<HostPort, String> {
    let bracketed = text.starts_with('[');
    let (host, port) = uri::split_host_port(text)?;
    if !bracketed && !host.is_empty() && !uri::is_host_name(host) {
        return Err("the host is not a host name or IP address (is there a ':' or '@' in the password? \
                    write them as %3A and %40)"
            .to_owned());
    }
    let host = if host.is_empty() { "127.0.0.1".to_owned() } else { host.to_owned() };
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(port) => parse_port(port)?,
    };
    Ok(HostPort { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Server {
        let url = parse(text, false).expect(text);
        assert_eq!(url.servers.len(), 1);
        url.servers.into_iter().next().unwrap()
    }

    #[test]
    fn every_form_nats_go_reads() {
        let plain = one("nats://demo.nats.io");
        assert_eq!((plain.host.to_string(), plain.tls, plain.login), ("demo.nats.io:4222".into(), false, Login::None));
        let tls = one("tls://127.0.0.1:4443");
        assert_eq!((tls.host.port, tls.tls), (4443, true));
        match one("nats://app:p%40ss@h:1").login {
            Login::User { user, password } => assert_eq!((user.as_str(), password.unwrap().expose()), ("app", "p@ss")),
            other => panic!("{other:?}"),
        }
        match one("nats://s3cr3t@h").login {
            Login::Token(token) => assert_eq!(token.expose(), "s3cr3t"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("nats://app@h", true).unwrap().servers[0].login, Login::User { password: None, .. }));
        assert_eq!(one("[::1]:4222").host.host, "::1");
        assert_eq!(one("nats://").host.to_string(), "127.0.0.1:4222");
    }

    #[test]
    fn a_list_is_one_target_with_every_secret_masked() {
        let url = parse("nats://a:pw1@h1:4222, tls://tok2@h2,h3:5", false).unwrap();
        assert_eq!(url.servers.len(), 3);
        assert!(url.servers[1].tls && !url.servers[2].tls);
        assert_eq!(url.servers[2].host.port, 5);
        assert_eq!(url.label, "nats://a:***@h1:4222, tls://***@h2,h3:5");
        assert_eq!(parse("u:pw@h", false).unwrap().label, "u:***@h");
    }

    #[test]
    fn what_is_refused_is_not_quoted() {
        for text in ["http://h", "nats://h/x", "nats://h?x=1", "nats://h,,x", "ws://h", "nats://h:pw", "nats://a:b/c@h"] {
            let why = parse(text, false).unwrap_err();
            assert!(!why.contains("pw") && !why.contains('x'.to_string().as_str()) || !why.contains(text), "{why}");
        }
    }
}
