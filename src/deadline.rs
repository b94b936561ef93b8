//! The one place for deadline math: when an attempt must end, how long a blocking call may
//! wait, and the guard that gives the verdict the moment the deadline passes, whatever the check
//! is blocked in (name resolution, a library's retry loop, a server that trickles bytes).

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::{
    duration,
    outcome::{Phase, Status, Verdict},
    trace::Trace,
};

/// The instant one attempt must be over by.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    /// The timeout as the user set it (`-t`), for messages.
    budget: Duration,
    /// The wait this attempt was cut short by, if the wait ends before the timeout would.
    cut_by: Option<Wait>,
}

/// Wait mode's own deadline: when it ends, and how long it was set to (`--wait`).
#[derive(Clone, Copy, Debug)]
pub struct Wait {
    pub until: Instant,
    pub length: Duration,
}

impl Deadline {
    /// A deadline `budget` from now, but never later than the end of `wait`: the wait bounds
    /// the whole run, first attempt included, as a CI step's own timeout would.
    pub fn new(budget: Duration, wait: Option<Wait>) -> Self {
        let now = Instant::now();
        let at = now + budget;
        match wait {
            Some(wait) if wait.until < at => Self { at: wait.until.max(now), budget, cut_by: Some(wait) },
            _ => Self { at, budget, cut_by: None },
        }
    }

    /// Time left; zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Time left, for socket options that refuse a zero timeout.
    pub fn socket_timeout(&self) -> Duration {
        self.remaining().max(Duration::from_millis(1))
    }

    /// Runs `attempt` on its own thread and returns its verdict, or a timeout verdict naming the
    /// phase in progress once the deadline passes. A thread left behind holds only sockets with
    /// this deadline as their timeout, and the process does not wait for it at exit.
    pub fn enforce<F>(self, attempt: F) -> (Verdict, Vec<Phase>)
    where
        F: FnOnce(&Trace) -> Verdict + Send + 'static,
    {
        let trace = Trace::default();
        let (send, receive) = mpsc::sync_channel(1);
        let attempt_trace = trace.clone();
        let spawned = thread::Builder::new().name("attempt".into()).spawn(move || {
            let verdict = attempt(&attempt_trace);
            attempt_trace.finish();
            let _ = send.send(verdict);
        });
        let verdict = match spawned {
            Err(err) => Verdict::unreachable(format!("cannot start the attempt: {err}")),
            Ok(_) => match receive.recv_timeout(self.remaining()) {
                // A failure that comes in as the timeout passes is the timeout's doing (a socket
                // timeout set to the time left), whatever words the library chose. An attempt cut
                // short by the end of a wait keeps the failure it met: that is the news.
                Ok(verdict)
                    if verdict.status == Status::Unreachable
                        && self.remaining().is_zero()
                        && self.cut_by.is_none() =>
                {
                    self.timed_out(&trace)
                }
                Ok(verdict) => verdict,
                Err(_) => self.timed_out(&trace),
            },
        };
        (verdict, trace.phases())
    }

    /// The verdict for an attempt the deadline ended, naming the phase it was in.
    pub fn timed_out(&self, trace: &Trace) -> Verdict {
        let during = trace.latest().map(|phase| format!(" during {phase}")).unwrap_or_default();
        Verdict::unreachable(match self.cut_by {
            Some(wait) => format!("the wait of {} ran out{during}", duration::setting(wait.length)),
            None => format!("timed out after {}{during}", duration::setting(self.budget)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_shortens_the_attempt_but_never_below_zero() {
        let length = Duration::from_secs(1);
        let soon = Wait { until: Instant::now() + Duration::from_millis(100), length };
        assert!(Deadline::new(Duration::from_secs(5), Some(soon)).remaining() <= Duration::from_millis(100));
        let later = Wait { until: Instant::now() + Duration::from_secs(60), length };
        assert!(Deadline::new(Duration::from_secs(5), Some(later)).cut_by.is_none());
        let past = Wait { until: Instant::now() - Duration::from_secs(1), length };
        assert_eq!(Deadline::new(Duration::from_secs(5), Some(past)).remaining(), Duration::ZERO);
        assert_eq!(
            Deadline::new(Duration::from_secs(5), Some(past)).socket_timeout(),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn an_attempt_cut_by_the_wait_keeps_its_own_failure_or_blames_the_wait() {
        let wait = Wait { until: Instant::now() + Duration::from_millis(30), length: Duration::from_secs(2) };
        let (verdict, _) = Deadline::new(Duration::from_secs(5), Some(wait)).enforce(|_| {
            thread::sleep(Duration::from_millis(40));
            Verdict::unreachable("connection refused")
        });
        // The failure lands after the wait's end, but the guard saw the wait end first.
        assert_eq!(verdict, Verdict::unreachable("the wait of 2s ran out"));
        let wait = Wait { until: Instant::now(), length: Duration::from_secs(2) };
        let deadline = Deadline::new(Duration::from_secs(5), Some(wait));
        assert_eq!(deadline.timed_out(&Trace::default()), Verdict::unreachable("the wait of 2s ran out"));
    }

    #[test]
    fn the_guard_names_the_phase_that_hung() {
        let (verdict, phases) = Deadline::new(Duration::from_millis(50), None).enforce(|trace| {
            trace.enter("connect");
            thread::sleep(Duration::from_secs(5));
            Verdict::healthy("too late")
        });
        assert_eq!(verdict, Verdict::unreachable("timed out after 50ms during connect"));
        assert_eq!(phases[0].name, "connect");
    }

    #[test]
    fn a_prompt_attempt_keeps_its_verdict() {
        let (verdict, _) =
            Deadline::new(Duration::from_secs(5), None).enforce(|_| Verdict::unhealthy("said no"));
        assert_eq!(verdict, Verdict::unhealthy("said no"));
    }
}
