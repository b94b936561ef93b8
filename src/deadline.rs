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
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now, but never later than `cap` (the end of a wait).
    pub fn new(budget: Duration, cap: Option<Instant>) -> Self {
        let now = Instant::now();
        let at = now + budget;
        let at = cap.map_or(at, |cap| at.min(cap.max(now)));
        Self { at, budget: at - now }
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
                // A failure that comes in as the deadline passes is the deadline's doing (a
                // socket timeout set to the time left), whatever words the library chose.
                Ok(verdict) if verdict.status == Status::Unreachable && self.remaining().is_zero() => {
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
        Verdict::unreachable(format!("timed out after {}{during}", duration::setting(self.budget)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_shortens_the_budget_but_never_below_zero() {
        let soon = Instant::now() + Duration::from_millis(100);
        assert!(Deadline::new(Duration::from_secs(5), Some(soon)).budget <= Duration::from_millis(100));
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(Deadline::new(Duration::from_secs(5), Some(past)).remaining(), Duration::ZERO);
        assert_eq!(
            Deadline::new(Duration::from_secs(5), Some(past)).socket_timeout(),
            Duration::from_millis(1)
        );
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
