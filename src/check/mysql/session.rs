//! One conversation with a server, over any transport: the login after the greeting (with
//! auth switches and each plugin's extra steps), COM_PING, COM_QUERY with its text result
//! sets, and COM_QUIT. Every read and write is under the attempt's deadline.

use std::{
    io::{Read, Write},
    time::Duration,
};

use super::{
    auth::{self, Plugin},
    packet::{self, AuthReply, Failure, Greeting, Reader, ServerError},
};

/// A byte stream whose blocking calls can be bounded.
pub trait Transport: Read + Write {
    fn set_timeout(&mut self, timeout: Duration);
}

/// A connection: the stream, the packet sequence, and the time left.
pub struct Conn<T> {
    pub stream: T,
    pub seq: u8,
    pub time_left: Box<dyn Fn() -> Duration + Send>,
}

impl<T: Transport> Conn<T> {
    pub fn new(stream: T, time_left: Box<dyn Fn() -> Duration + Send>) -> Self {
        Conn { stream, seq: 0, time_left }
    }

    fn bound(&mut self) {
        let left = (self.time_left)().max(Duration::from_millis(1));
        self.stream.set_timeout(left);
    }

    pub fn read(&mut self) -> Result<Vec<u8>, Failure> {
        self.bound();
        packet::read_packet(&mut self.stream, &mut self.seq)
    }

    pub fn write(&mut self, payload: &[u8]) -> Result<(), Failure> {
        self.bound();
        packet::write_packet(&mut self.stream, &mut self.seq, payload)
    }

    /// A command starts a new sequence ("Command Phase", page_protocol_command_phase.html).
    pub fn command(&mut self, payload: &[u8]) -> Result<(), Failure> {
        self.seq = 0;
        self.write(payload)
    }

    pub fn time_left(&self) -> Duration {
        (self.time_left)()
    }
}

pub const COM_QUIT: u8 = 0x01;
pub const COM_QUERY: u8 = 0x03;
pub const COM_PING: u8 = 0x0e;

/// Who logs in, with what.
pub struct Credentials<'a> {
    pub user: &'a str,
    pub password: &'a [u8],
    pub database: Option<&'a str>,
}

/// At most this many auth exchanges: a server asking for more is looping.
const MAX_AUTH_ROUNDS: usize = 8;

/// Sends the HandshakeResponse41 and follows the server through the login until OK or ERR.
/// `secure` (TLS or a unix socket) allows cleartext answers. When probe cannot answer a
/// question it answers with something the server refuses, so the handshake still completes:
/// a dropped handshake counts towards the server's max_connect_errors and gets the host blocked.
pub fn login<T: Transport>(
    conn: &mut Conn<T>,
    greeting: &Greeting,
    capabilities: u32,
    who: &Credentials<'_>,
    secure: bool,
) -> Result<(), Failure> {
    // A default plugin probe does not know: answer as native and let the server switch.
    let mut plugin =
        Plugin::named(&greeting.plugin).filter(|p| *p != Plugin::Ed25519).unwrap_or(Plugin::Native);
    let mut known = true;
    let mut why_not: Option<String> = None;
    let answer = match auth::first_answer(plugin, who.password, &greeting.nonce, secure) {
        Some(answer) => answer,
        None => {
            why_not = Some(needs_secure(plugin));
            Vec::new()
        }
    };
    let response = packet::handshake_response(capabilities, who.user, &answer, who.database, plugin.name());
    conn.write(&response)?;
    for _ in 0..MAX_AUTH_ROUNDS {
        let payload = conn.read()?;
        match packet::parse_auth_reply(&payload)? {
            AuthReply::Ok => return Ok(()),
            AuthReply::Err(answer) => {
                return Err(match why_not {
                    Some(why) => Failure::Unanswerable { why, answer },
                    None => Failure::Server(answer),
                });
            }
            AuthReply::Switch { plugin: name, data } => match Plugin::named(&name) {
                Some(next) => {
                    plugin = next;
                    known = true;
                    match auth::first_answer(next, who.password, data, secure) {
                        Some(answer) => {
                            why_not = None;
                            conn.write(&answer)?;
                        }
                        None => {
                            why_not = Some(needs_secure(next));
                            conn.write(&[])?;
                        }
                    }
                }
                None => {
                    known = false;
                    why_not = Some(format!(
                        "the server asks for the {} authentication plugin, which probe does not speak",
                        crate::quote::peer(&name)
                    ));
                    conn.write(&[])?;
                }
            },
            AuthReply::More(data) if !known => {
                let _ = data;
                conn.write(&[])?;
            }
            AuthReply::More(data) => match (plugin, data) {
                // caching_sha2_password ("Caching_sha2_password information",
                // page_caching_sha2_authentication_exchanges.html): 0x03, the server's cache
                // knew the password and an OK follows; 0x04, it wants the password itself.
                (Plugin::CachingSha2, [auth::FAST_AUTH_OK]) => {}
                (Plugin::CachingSha2, [auth::FULL_AUTH]) if secure => {
                    conn.write(&auth::cleartext(who.password))?
                }
                (Plugin::CachingSha2, [auth::FULL_AUTH]) => {
                    // The alternative, RSA-encrypting it with the server's public key, is not
                    // implemented: ring has no RSA encryption. An empty password ends the
                    // exchange with an ERR instead of an aborted connection.
                    why_not = Some(
                        "caching_sha2_password wants the password itself (its cache does not hold it yet), \
                         which probe sends only over TLS or a unix socket: use ssl-mode=REQUIRED or the socket"
                            .to_owned(),
                    );
                    conn.write(&[0])?;
                }
                (_, _) => {
                    return Err(Failure::Protocol(format!(
                        "an unexpected step in the {} login",
                        plugin.name()
                    )));
                }
            },
        }
    }
    Err(Failure::Protocol(format!("a login that went on for more than {MAX_AUTH_ROUNDS} exchanges")))
}

fn needs_secure(plugin: Plugin) -> String {
    format!(
        "the server asks for {}, which sends the password in clear: probe does so only over TLS or a unix socket",
        plugin.name()
    )
}

/// COM_PING: the server answers OK.
pub fn ping<T: Transport>(conn: &mut Conn<T>) -> Result<(), Failure> {
    conn.command(&[COM_PING])?;
    let payload = conn.read()?;
    match payload.first() {
        Some(0x00) => Ok(()),
        Some(0xff) => Err(Failure::Server(packet::parse_err(&payload)?)),
        _ => Err(Failure::Protocol("an answer to COM_PING that is not OK".to_owned())),
    }
}

/// COM_QUIT: the server closes the connection without a word, and logs nothing.
pub fn quit<T: Transport>(conn: &mut Conn<T>) {
    let _ = conn.command(&[COM_QUIT]);
}

/// One result of a query: the columns and the first rows (an OK result has neither).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    /// The first `keep` rows, values as text (NULL as None).
    pub rows: Vec<Vec<Option<String>>>,
    /// Every row, kept or not.
    pub count: u64,
}

impl Table {
    /// The value of `column` (by exact name, or the first of `names` present) in row `row`.
    pub fn value(&self, row: usize, names: &[&str]) -> Option<&str> {
        let index = names.iter().find_map(|name| self.columns.iter().position(|c| c == name))?;
        self.rows.get(row)?.get(index)?.as_deref()
    }
}

/// More columns than any table has (MySQL's limit is 4096).
const MAX_COLUMNS: u64 = 4096;

/// COM_QUERY and its text result sets ("Text Resultset", page_protocol_com_query_response_text_resultset.html):
/// a column count, the column definitions and an EOF, then rows until an EOF (or ERR). Probe
/// does not set CLIENT_DEPRECATE_EOF, so the EOFs are there; it sets CLIENT_MULTI_RESULTS, so a
/// stored procedure's several results are read to the last.
pub fn query<T: Transport>(conn: &mut Conn<T>, sql: &str, keep: usize) -> Result<Vec<Table>, Failure> {
    let mut command = Vec::with_capacity(1 + sql.len());
    command.push(COM_QUERY);
    command.extend_from_slice(sql.as_bytes());
    conn.command(&command)?;
    let mut tables = Vec::new();
    loop {
        let payload = conn.read()?;
        let mut table = Table::default();
        let status = match payload.first() {
            Some(0x00) => packet::ok_status(&payload)?,
            Some(0xff) => return Err(Failure::Server(packet::parse_err(&payload)?)),
            Some(0xfb) => {
                return Err(Failure::Protocol("a LOCAL INFILE request probe never asked for".to_owned()));
            }
            _ => {
                let count = Reader::new(&payload).lenenc()?.unwrap_or(0);
                if count == 0 || count > MAX_COLUMNS {
                    return Err(Failure::Protocol(format!("a result of {count} columns")));
                }
                for _ in 0..count {
                    table.columns.push(column_name(&conn.read()?)?);
                }
                let eof = conn.read()?;
                if !packet::is_eof(&eof) {
                    return Err(Failure::Protocol("column definitions without their EOF".to_owned()));
                }
                read_rows(conn, &mut table, keep)?
            }
        };
        tables.push(table);
        if status & packet::SERVER_MORE_RESULTS_EXISTS == 0 {
            return Ok(tables);
        }
    }
}

/// Rows up to the closing EOF, whose status flags are returned.
fn read_rows<T: Transport>(conn: &mut Conn<T>, table: &mut Table, keep: usize) -> Result<u16, Failure> {
    loop {
        let payload = conn.read()?;
        if packet::is_eof(&payload) {
            return Ok(packet::eof_status(&payload));
        }
        if payload.first() == Some(&0xff) {
            return Err(Failure::Server(packet::parse_err(&payload)?));
        }
        table.count += 1;
        if table.rows.len() < keep {
            let mut r = Reader::new(&payload);
            let mut row = Vec::with_capacity(table.columns.len());
            for _ in 0..table.columns.len() {
                row.push(r.lenenc_bytes()?.map(packet::text));
            }
            table.rows.push(row);
        }
    }
}

/// The name in a ColumnDefinition41: catalog, schema, table, org_table, then name.
fn column_name(payload: &[u8]) -> Result<String, Failure> {
    let mut r = Reader::new(payload);
    for _ in 0..4 {
        r.lenenc_bytes()?;
    }
    Ok(r.lenenc_bytes()?.map(packet::text).unwrap_or_default())
}

/// The codes of a server going away: alive no more, even for --ping.
pub fn is_shutdown(err: &ServerError) -> bool {
    // ER_SERVER_SHUTDOWN, ER_NORMAL_SHUTDOWN, ER_GOT_SIGNAL, ER_SHUTDOWN_COMPLETE, and
    // MariaDB's ER_CONNECTION_KILLED.
    matches!(err.code, 1053 | 1077 | 1078 | 1079 | 1927)
}

#[cfg(any(test, fuzzing))]
pub mod mock {
    //! A transport that replays a server's bytes and records the client's.
    use std::io::{self, Cursor, Read, Write};

    use super::*;

    pub struct Mock {
        pub input: Cursor<Vec<u8>>,
        pub output: Vec<u8>,
    }

    impl Read for Mock {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Mock {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Mock {
        fn set_timeout(&mut self, _: Duration) {}
    }

    pub fn conn(server: Vec<u8>) -> Conn<Mock> {
        Conn::new(
            Mock { input: Cursor::new(server), output: Vec::new() },
            Box::new(|| Duration::from_secs(1)),
        )
    }

    /// A server's greeting: `version` decides MariaDB or MySQL, `plugin` the first login.
    pub fn greeting(version: &str, plugin: &str) -> Greeting {
        Greeting {
            version: version.into(),
            connection_id: 1,
            capabilities: u32::MAX,
            nonce: b"01234567890123456789".to_vec(),
            plugin: plugin.into(),
        }
    }

    /// `payloads` framed with sequence ids from `first`.
    pub fn frames(first: u8, payloads: &[&[u8]]) -> Vec<u8> {
        let numbered: Vec<(u8, &[u8])> =
            payloads.iter().enumerate().map(|(i, p)| (first.wrapping_add(i as u8), *p)).collect();
        framed(&numbered)
    }

    /// Payloads framed with the sequence ids given.
    pub fn framed(packets: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (seq, payload) in packets {
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
            out.push(*seq);
            out.extend_from_slice(payload);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{mock::*, *};

    fn greeting(plugin: &str) -> Greeting {
        mock::greeting("8.0.36", plugin)
    }

    const WHO: Credentials<'static> =
        Credentials { user: "app", password: b"secret", database: Some("shop") };
    const OK: &[u8] = &[0, 0, 0, 2, 0, 0, 0];

    /// The exchanges of "caching_sha2_password information" (MySQL's protocol docs).
    #[test]
    fn caching_sha2_fast_and_full_paths() {
        let mut fast = conn(frames(2, &[&[1, 3], OK]));
        fast.seq = 1;
        login(&mut fast, &greeting("caching_sha2_password"), u32::MAX, &WHO, false).unwrap();

        let mut full = conn(framed(&[(2, &[1, 4]), (4, OK)]));
        full.seq = 1;
        login(&mut full, &greeting("caching_sha2_password"), u32::MAX, &WHO, true).unwrap();
        assert!(full.stream.output.ends_with(&[7, 0, 0, 3, b's', b'e', b'c', b'r', b'e', b't', 0]));

        let denied = b"\xff\x15\x04#28000Access denied for user 'app'@'10.0.0.2' (using password: YES)";
        let mut plain = conn(framed(&[(2, &[1, 4]), (4, denied)]));
        plain.seq = 1;
        let err = login(&mut plain, &greeting("caching_sha2_password"), u32::MAX, &WHO, false).unwrap_err();
        assert!(
            matches!(&err, Failure::Unanswerable { why, answer } if why.contains("use ssl-mode=REQUIRED") && answer.code == 1045),
            "{err:?}"
        );
        assert!(plain.stream.output.ends_with(&[1, 0, 0, 3, 0]), "an empty password, not the real one");
    }

    #[test]
    fn auth_switch_to_ed25519_and_to_the_unknown() {
        let mut switch = b"\xfeclient_ed25519\0".to_vec();
        switch.extend_from_slice(&[9; 32]);
        let mut c = conn(framed(&[(2, &switch), (4, OK)]));
        c.seq = 1;
        login(&mut c, &greeting("mysql_native_password"), u32::MAX, &WHO, false).unwrap();
        let signature = &c.stream.output[c.stream.output.len() - 64..];
        assert_eq!(signature, super::super::ed25519::sign(b"secret", &[9; 32]));

        let denied = b"\xff\x15\x04#28000Access denied";
        let mut c = conn(framed(&[(2, b"\xfedialog\0\x04Password: "), (4, denied)]));
        c.seq = 1;
        let err = login(&mut c, &greeting("mysql_native_password"), u32::MAX, &WHO, false).unwrap_err();
        assert!(matches!(&err, Failure::Unanswerable { why, .. } if why.contains("dialog")), "{err:?}");
    }

    #[test]
    fn a_result_set_read_to_its_end() {
        let column = |name: &str| {
            let mut def = Vec::new();
            for part in ["def", "", "", ""] {
                packet::put_lenenc(&mut def, part.len() as u64);
                def.extend_from_slice(part.as_bytes());
            }
            packet::put_lenenc(&mut def, name.len() as u64);
            def.extend_from_slice(name.as_bytes());
            def.extend_from_slice(&[0; 13]);
            def
        };
        let (a, b) = (column("Slave_IO_Running"), column("Last_IO_Error"));
        let eof = [0xfe, 0, 0, 2, 0];
        let server = frames(1, &[&[2], &a, &b, &eof, b"\x03Yes\xfb", b"\x02No\x03err", &eof]);
        let mut c = conn(server);
        let tables = query(&mut c, "SHOW REPLICA STATUS", 10).unwrap();
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].count, 2);
        assert_eq!(tables[0].value(0, &["Replica_IO_Running", "Slave_IO_Running"]), Some("Yes"));
        assert_eq!(tables[0].value(0, &["Last_IO_Error"]), None);
        assert_eq!(tables[0].value(1, &["Last_IO_Error"]), Some("err"));
        assert_eq!(&c.stream.output[4..], b"\x03SHOW REPLICA STATUS");

        let mut c = conn(frames(1, &[b"\xff\x19\x04#42000Unknown database 'x'"]));
        assert!(matches!(query(&mut c, "USE x", 1), Err(Failure::Server(ServerError { code: 1049, .. }))));
        let mut c = conn(frames(1, &[OK]));
        assert_eq!(query(&mut c, "DO 1", 1).unwrap(), vec![Table::default()]);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::{mock::*, *};

    proptest! {
        /// A hostile server's bytes after the greeting end the login and a query with a value
        /// or an error, never a panic; the reads stay under the packet cap.
        #[test]
        fn any_server_bytes_end_in_a_verdict(bytes in proptest::collection::vec(any::<u8>(), 0..400), secure: bool) {
            let greeting = greeting("x", "caching_sha2_password");
            let who = Credentials { user: "u", password: b"p", database: None };
            let mut c = conn(bytes.clone());
            c.seq = 1;
            let _ = login(&mut c, &greeting, u32::MAX, &who, secure);
            let mut c = conn(bytes);
            let _ = query(&mut c, "SELECT 1", 4);
        }

        /// The same, with the bytes framed as packets with the right sequence ids, so the
        /// parsers beyond the framing see them.
        #[test]
        fn any_framed_packets_end_in_a_verdict(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
            let payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
            let mut c = conn(frames(1, &payloads));
            let _ = query(&mut c, "SELECT 1", 4);
            let mut c = conn(frames(2, &payloads));
            c.seq = 1;
            let greeting = greeting("x", "mysql_native_password");
            let who = Credentials { user: "u", password: b"p", database: None };
            let _ = login(&mut c, &greeting, u32::MAX, &who, false);
        }
    }
}
