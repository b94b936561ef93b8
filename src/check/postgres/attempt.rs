//! One attempt at a target, as libpq makes a connection: each host of the list in turn (shuffled
//! with load_balance_hosts=random), each under connect_timeout; TLS as sslmode says, with
//! libpq's retries (allow: plain, then TLS if the server refuses; prefer: TLS, then plain if
//! the handshake fails or the server refuses); a host that is not what target_session_attrs
//! asks for is left for the next. The session's work is `session`'s.

use std::sync::{Arc, atomic::Ordering};

use super::{
    connect::{Failure, Wire},
    describe::host_name,
    ping,
    settings::{Address, Host, SessionAttrs, Settings, SslMode},
    watch::Progress,
};
use crate::{
    check::Check,
    deadline::Deadline,
    login::Mode,
    outcome::{Status, Verdict},
    trace::Trace,
};

pub struct Postgres {
    pub settings: Settings,
    pub mode: Arc<Mode>,
}

/// What one host came to.
pub enum Step {
    /// The target's verdict: libpq stops here too.
    Done(Verdict),
    /// Not this host (down, starting up, or not the session asked for): try the next one.
    Next(Status, String),
}

impl Check for Postgres {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
            Ok(runtime) => runtime,
            Err(err) => return Verdict::unreachable(format!("cannot start the I/O runtime: {err}")),
        };
        runtime.block_on(async {
            tokio::time::timeout(deadline.remaining(), self.hosts(deadline, trace))
                .await
                .unwrap_or_else(|_| deadline.timed_out(trace))
        })
    }
}

/// One host's share of the attempt: connect_timeout bounds its connection (not the query),
/// under -t.
struct HostDeadline {
    deadline: Deadline,
    /// connect_timeout, when it is shorter than the time left.
    capped: Option<std::time::Duration>,
}

impl HostDeadline {
    fn new(settings: &Settings, deadline: Deadline) -> HostDeadline {
        let capped = settings.connect_timeout.filter(|cap| *cap < deadline.remaining());
        HostDeadline { deadline: capped.map_or(deadline, |cap| Deadline::new(cap, None)), capped }
    }

    fn too_slow(&self) -> Step {
        let cap = crate::duration::setting(self.capped.unwrap_or_default());
        Step::Next(Status::Unreachable, format!("timed out after {cap} (connect_timeout)"))
    }
}

impl Postgres {
    async fn hosts(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let s = &self.settings;
        let mut order: Vec<&Host> = s.hosts.iter().collect();
        if s.load_balance {
            shuffle(&mut order);
        }
        let passes: &[SessionAttrs] = match s.target {
            // libpq: a standby if there is one, else any.
            SessionAttrs::PreferStandby => &[SessionAttrs::Standby, SessionAttrs::Any],
            ref target => std::slice::from_ref(target),
        };
        let mut failures = Vec::new();
        for want in passes {
            for host in &order {
                match self.host(host, *want, deadline, trace).await {
                    Step::Done(verdict) => return verdict,
                    Step::Next(status, why) => failures.push((status, host_name(host), why)),
                }
            }
        }
        let status = if failures.iter().any(|(status, ..)| *status == Status::Unhealthy) {
            Status::Unhealthy
        } else {
            Status::Unreachable
        };
        let message = match failures.as_slice() {
            [(_, _, why)] => why.clone(),
            many => many.iter().map(|(_, host, why)| format!("{host}: {why}")).collect::<Vec<_>>().join("; "),
        };
        Verdict { status, message }
    }

    /// One host: connect (with libpq's TLS retries), check the session, then the work.
    async fn host(&self, host: &Host, want: SessionAttrs, deadline: Deadline, trace: &Trace) -> Step {
        let bound = HostDeadline::new(&self.settings, deadline);
        if let Mode::Ping = *self.mode {
            return self.ping(host, &bound, trace);
        }
        let tls_possible = !matches!(host.address, Address::Unix(_) | Address::Abstract(_))
            && self.settings.sslmode != SslMode::Disable;
        let mut wire = match (self.settings.sslmode, tls_possible) {
            (_, false) | (SslMode::Disable | SslMode::Allow, _) => Wire::Plain,
            (SslMode::Prefer, true) => Wire::PreferTls,
            (_, true) => Wire::RequireTls,
        };
        let mut retried = false;
        loop {
            let (socket, peer) = match self.open(host, bound.deadline, trace) {
                Ok(opened) => opened,
                Err(why) => return Step::Next(Status::Unreachable, why),
            };
            let progress = Arc::new(Progress::default());
            let connecting = self.connect(socket, host, wire, &progress, trace);
            let result = match bound.capped {
                Some(_) => match tokio::time::timeout(bound.deadline.remaining(), connecting).await {
                    Ok(result) => result,
                    Err(_) => return bound.too_slow(),
                },
                None => connecting.await,
            };
            let err = match result {
                Ok(session) => return self.session(session, host, want, peer, deadline, trace).await,
                Err(Failure::Local(why)) => return Step::Done(Verdict::unreachable(why)),
                Err(Failure::Pg(err)) => err,
            };
            // libpq: a server starting up or shutting down sends us on to the next host.
            if err.as_db_error().is_some_and(|db| db.code().code() == "57P03") {
                return Step::Next(Status::Unhealthy, self.describe(&err, host, wire, &progress));
            }
            match self.retry(&err, wire, &progress, tls_possible) {
                Some(next) if !retried => (wire, retried) = (next, true),
                _ => return Step::Done(self.describe_verdict(&err, host, wire, &progress)),
            }
        }
    }

    /// libpq's second try on the same host: allow goes to TLS when the server refused a plain
    /// session; prefer goes to plain when the handshake failed or the server refused the TLS
    /// session, both only before authentication succeeded.
    fn retry(&self, err: &tokio_postgres::Error, wire: Wire, progress: &Progress, tls_possible: bool) -> Option<Wire> {
        let refused_by_server = err.as_db_error().is_some();
        let authenticated = progress.auth_ok.load(Ordering::Relaxed);
        match wire {
            Wire::Plain if self.settings.sslmode == SslMode::Allow && tls_possible && refused_by_server && !authenticated => {
                Some(Wire::PreferTls)
            }
            Wire::PreferTls if progress.tls_used.load(Ordering::Relaxed) && !authenticated => Some(Wire::Plain),
            _ => None,
        }
    }

    /// pg_isready's check on one host: a server that cannot take connections now (57P03) sends
    /// us on to the next host, as libpq.
    fn ping(&self, host: &Host, bound: &HostDeadline, trace: &Trace) -> Step {
        let (socket, _) = match self.open(host, bound.deadline, trace) {
            Ok(opened) => opened,
            Err(why) => return Step::Next(Status::Unreachable, why),
        };
        trace.enter("ping");
        let s = &self.settings;
        let packet = ping::startup_packet(&s.user, &s.dbname, &s.application_name);
        socket.set_timeout(bound.deadline.socket_timeout());
        let mut socket = socket;
        let verdict = ping::exchange(&mut socket, &packet);
        if bound.capped.is_some() && bound.deadline.remaining().is_zero() && verdict.status == Status::Unreachable {
            return bound.too_slow();
        }
        match verdict.status {
            Status::Healthy => Step::Done(verdict),
            status => Step::Next(status, verdict.message),
        }
    }
}

/// load_balance_hosts=random: the hosts in a random order (randomness from the hasher's keys).
fn shuffle<T>(items: &mut [T]) {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    for index in (1..items.len()).rev() {
        let pick = (state.hash_one(index) % (index as u64 + 1)) as usize;
        items.swap(index, pick);
    }
}
