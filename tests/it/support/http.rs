//! An HTTP(S) server run by the tests, each connection handled on its own thread by a closure
//! that sees the request and writes whatever bytes the case needs: a proper answer, garbage,
//! nothing at all, or a body that never ends; and a real OpenSSL TLS server (`openssl s_server`).

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::Arc,
    thread,
};

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header lines as received, names as sent, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The server's own address, for answers that name it (absolute redirects).
    pub local: SocketAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub type Handler = dyn Fn(&Request, &mut dyn Write) + Send + Sync;

pub struct Server {
    pub addr: SocketAddr,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }
}

/// Serves plain HTTP on 127.0.0.1 until the test process ends.
pub fn serve(handler: impl Fn(&Request, &mut dyn Write) + Send + Sync + 'static) -> Server {
    start(None, Arc::new(handler))
}

/// Serves HTTPS with `tls` on 127.0.0.1 until the test process ends.
pub fn serve_tls(
    tls: Arc<rustls::ServerConfig>,
    handler: impl Fn(&Request, &mut dyn Write) + Send + Sync + 'static,
) -> Server {
    start(Some(tls), Arc::new(handler))
}

fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (tls, handler) = (tls.clone(), Arc::clone(&handler));
            thread::spawn(move || handle(stream, tls, &*handler));
        }
    });
    Server { addr }
}

fn handle(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, handler: &Handler) {
    let Ok(local) = stream.local_addr() else { return };
    match tls {
        None => exchange(stream, local, handler),
        Some(config) => {
            let Ok(connection) = rustls::ServerConnection::new(config) else { return };
            exchange(rustls::StreamOwned::new(connection, stream), local, handler);
        }
    }
}

fn exchange<S: Read + Write>(stream: S, local: SocketAddr, handler: &Handler) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':') {
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let request = Request { method, path, headers, local };
    let stream = reader.get_mut();
    handler(&request, stream);
    let _ = stream.flush();
}

/// Writes a complete answer with a Content-Length.
pub fn respond(out: &mut dyn Write, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut answer = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        answer.push_str(&format!("{name}: {value}\r\n"));
    }
    answer.push_str("\r\n");
    answer.push_str(body);
    let _ = out.write_all(answer.as_bytes());
}

/// `openssl s_server -www` on a loopback port: a real OpenSSL TLS server answering HTTPS with
/// its status page. Stopped when dropped.
pub struct Openssl {
    pub port: u16,
    child: std::process::Child,
}

impl Drop for Openssl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openssl s_server` with this certificate and key, on a port that was free a moment
/// before (tried again if another process took it meanwhile).
pub fn openssl_server(pair: &super::certs::Pair) -> Openssl {
    use std::process::{Command, Stdio};
    for _ in 0..10 {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut child = Command::new("openssl")
            .args(["s_server", "-www", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(&pair.cert)
            .arg("-key")
            .arg(&pair.key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl (the openssl package)");
        for _ in 0..250 {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Openssl { port, child };
            }
            thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("openssl s_server did not start");
}
