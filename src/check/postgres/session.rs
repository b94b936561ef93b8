//! The work in an open session: is it the one target_session_attrs asks for (libpq's checks,
//! from the startup parameters when the server sent them), then `--expect-role` and `--query`.
//! A query the deadline cuts short is cancelled on the server (a CancelRequest on a new
//! connection to the same server), so a probe that gives up leaves nothing running.

use std::{sync::Arc, time::Duration};

use tokio_postgres::SimpleQueryMessage;

use super::{
    attempt::{Postgres, Step},
    connect::{Parameters, Session},
    describe::describe_query,
    settings::{Host, SessionAttrs},
    watch::Progress,
};
use crate::{
    deadline::Deadline,
    login::{Mode, Role},
    net::{self, Endpoint},
    outcome::{Status, Verdict},
    trace::Trace,
};

/// The time the server may spend on `--query`: the time left, less a tenth of it (at most
/// 100 ms), kept to cancel the query and end the session before the deadline. The same margin
/// as mysql's.
pub fn query_budget(left: Duration) -> Duration {
    left.saturating_sub((left / 10).min(Duration::from_millis(100)))
}

/// Where the session is: for a CancelRequest, which goes over a new connection.
pub struct Peer<'a> {
    pub host: &'a Host,
    pub endpoint: Endpoint,
    pub tls: bool,
}

impl Postgres {
    /// A session is open: is it the one target_session_attrs asks for, then the role and query.
    pub(super) async fn session(
        &self,
        session: Session,
        host: &Host,
        want: SessionAttrs,
        endpoint: Endpoint,
        deadline: Deadline,
        trace: &Trace,
    ) -> Step {
        let Session { client, running, parameters, tls } = session;
        let peer = Peer { host, endpoint, tls };
        let step = async {
            if want != SessionAttrs::Any {
                trace.enter("query");
                if let Some(why) = mismatch(&client, &parameters, want).await {
                    return why;
                }
            }
            Step::Done(self.work(&client, &peer, deadline, trace).await)
        }
        .await;
        // Dropping the client sends Terminate; waiting for the connection lets it reach the server.
        drop(client);
        let _ = running.await;
        step
    }

    async fn work(
        &self,
        client: &tokio_postgres::Client,
        peer: &Peer<'_>,
        deadline: Deadline,
        trace: &Trace,
    ) -> Verdict {
        let Mode::Login { query, expect_role } = &*self.mode else {
            return Verdict::healthy("accepting connections");
        };
        let s = &self.settings;
        let mut seen = format!("logged in as {} to {}", s.user, s.dbname);
        if expect_role.is_some() || query.is_some() {
            trace.enter("query");
        }
        if let Some(expected) = expect_role {
            match role(client, *expected).await {
                Ok(role) => seen.push_str(&format!(", {role}")),
                Err(Ok(why)) => return Verdict::unhealthy(format!("{seen}, but {why}")),
                Err(Err(verdict)) => return verdict,
            }
        }
        if let Some(sql) = query {
            match tokio::time::timeout(query_budget(deadline.remaining()), client.simple_query(sql)).await {
                Ok(Ok(messages)) => {
                    let rows = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).count();
                    seen.push_str(&format!(", query returned {rows} row{}", if rows == 1 { "" } else { "s" }));
                }
                Ok(Err(err)) => return describe_query(&err, "the query"),
                Err(_) => {
                    self.cancel(client, peer, deadline).await;
                    return deadline.timed_out(trace);
                }
            }
        }
        Verdict::healthy(seen)
    }

    /// Sends a CancelRequest for the running query over a new connection to the same server,
    /// in TLS when the session was.
    async fn cancel(&self, client: &tokio_postgres::Client, peer: &Peer<'_>, deadline: Deadline) {
        let token = client.cancel_token();
        let Ok(socket) = net::open(&peer.endpoint, deadline, &Trace::default()) else { return };
        let Ok(socket) = socket.into_async() else { return };
        let _ = match peer.tls {
            true => {
                let tls = self.start_tls(peer.host, &Trace::default(), &Arc::new(Progress::default()));
                token.cancel_query_raw(socket, tls).await
            }
            false => token.cancel_query_raw(socket, tokio_postgres::NoTls).await,
        };
    }
}

/// `--expect-role` from pg_is_in_recovery(): the role seen, or why it is not the one expected
/// (`Ok`), or the verdict of a query that failed (`Err`).
async fn role(client: &tokio_postgres::Client, expected: Role) -> Result<&'static str, Result<String, Verdict>> {
    let sql = "SELECT pg_catalog.pg_is_in_recovery()";
    let in_recovery = match first_value(client.simple_query(sql).await) {
        Ok(value) => value.as_deref() == Some("t"),
        Err(err) => return Err(Err(describe_query(&err, "pg_is_in_recovery()"))),
    };
    let role = if in_recovery { "replica" } else { "primary" };
    match (in_recovery, expected) {
        (true, Role::Replica) | (false, Role::Primary) => Ok(role),
        (_, Role::Replica) => Err(Ok(format!("it is a {role}, not a replica"))),
        (_, Role::Primary) => Err(Ok(format!("it is a {role}, not a primary"))),
    }
}

/// Why this session is not the one target_session_attrs asks for, as libpq words it, or None.
async fn mismatch(client: &tokio_postgres::Client, parameters: &Parameters, want: SessionAttrs) -> Option<Step> {
    let query_flag = |sql: &'static str| async move {
        match first_value(client.simple_query(sql).await) {
            Ok(value) => Ok(matches!(value.as_deref(), Some("on" | "t"))),
            Err(err) => Err(describe_query(&err, sql)),
        }
    };
    let read_only = || async {
        match (parameters.default_transaction_read_only, parameters.in_hot_standby) {
            (Some(read_only), Some(standby)) => Ok(read_only || standby),
            _ => query_flag("SHOW transaction_read_only").await,
        }
    };
    let standby = || async {
        match parameters.in_hot_standby {
            Some(standby) => Ok(standby),
            None => query_flag("SELECT pg_catalog.pg_is_in_recovery()").await,
        }
    };
    let (ok, why) = match want {
        SessionAttrs::Any => return None,
        SessionAttrs::ReadWrite => {
            (read_only().await.map(|ro| !ro), "session is read-only (target_session_attrs=read-write)")
        }
        SessionAttrs::ReadOnly => (read_only().await, "session is not read-only (target_session_attrs=read-only)"),
        SessionAttrs::Primary => {
            (standby().await.map(|s| !s), "server is in hot standby mode (target_session_attrs=primary)")
        }
        SessionAttrs::Standby | SessionAttrs::PreferStandby => {
            (standby().await, "server is not in hot standby mode (target_session_attrs=standby)")
        }
    };
    match ok {
        Ok(true) => None,
        Ok(false) => Some(Step::Next(Status::Unhealthy, why.to_owned())),
        Err(verdict) => Some(Step::Done(verdict)),
    }
}

fn first_value(
    result: Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>,
) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(result?
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
            _ => None,
        })
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenth of the time left, at most 100 ms, as mysql's: a 750 ms query fits in -t 900ms.
    #[test]
    fn the_query_gets_all_but_a_small_margin() {
        assert_eq!(query_budget(Duration::from_millis(900)), Duration::from_millis(810));
        assert_eq!(query_budget(Duration::from_secs(3)), Duration::from_millis(2900));
        assert_eq!(query_budget(Duration::from_millis(5)), Duration::from_micros(4500));
    }
}
