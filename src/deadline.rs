//! The one place for deadline math: when an attempt must end, how long a blocking call may
//! wait, and the guard that gives the verdict the moment the deadline passes, whatever the check
//! is blocked in (name resolution, a library's retry loop, a server that trickles bytes).

use std::{
    sync::{Arc, Condvar, Mutex},
    thread,
    time::{Duration, Instant},
};

use crate::{
    duration,
    outcome::{Phase, Verdict},
    trace::Trace,
};

/// The least time an attempt is given (or `-t`, when that is shorter), even when the wait has
/// less left: an attempt that starts with no time can only say the time ran out, without having
/// tried. `--wait 1ms` still makes one real attempt, and a wait's last attempt gets this much.
pub const SHORTEST_ATTEMPT: Duration = Duration::from_millis(100);

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

/// How an attempt ended, as the guard saw it.
#[derive(Debug)]
pub struct Ended {
    pub verdict: Verdict,
    pub phases: Vec<Phase>,
    /// The end of the wait ended the attempt before it had an answer.
    pub wait_ran_out: bool,
}

/// What the guard and the attempt thread share: the attempt's verdict, if it came in time.
enum Answer {
    Pending,
    InTime(Verdict),
    /// The attempt ended once the deadline had passed: the deadline's verdict stands.
    Late,
}

impl Deadline {
    /// A deadline `budget` from now, but never later than the end of `wait`: the wait bounds
    /// the whole run, first attempt included, as a CI step's own timeout would. The one
    /// exception is [`SHORTEST_ATTEMPT`]: an attempt is never given less.
    pub fn new(budget: Duration, wait: Option<Wait>) -> Self {
        let now = Instant::now();
        let full = now + budget;
        let shortest = now + budget.min(SHORTEST_ATTEMPT);
        match wait {
            Some(wait) if wait.until.max(shortest) < full => {
                Self { at: wait.until.max(shortest), budget, cut_by: Some(wait) }
            }
            _ => Self { at: full, budget, cut_by: None },
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
    ///
    /// One clock decides the words: the attempt's verdict stands when the attempt ended before
    /// the deadline, and the deadline's words stand otherwise, whether the guard woke first or
    /// the attempt's own socket timeout (set to the time left) did. A failure that comes in as
    /// the deadline passes is the deadline's doing, whatever words the library chose; which
    /// thread the scheduler runs first changes nothing.
    pub fn enforce<F>(self, attempt: F) -> Ended
    where
        F: FnOnce(&Trace) -> Verdict + Send + 'static,
    {
        let trace = Trace::default();
        let shared = Arc::new((Mutex::new(Answer::Pending), Condvar::new()));
        let (attempt_trace, answer) = (trace.clone(), Arc::clone(&shared));
        let at = self.at;
        let spawned = thread::Builder::new().name("attempt".into()).spawn(move || {
            let verdict = attempt(&attempt_trace);
            attempt_trace.finish();
            let (slot, ready) = &*answer;
            let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Judged under the lock the guard decides under: before the deadline, or not.
            *slot = if Instant::now() < at { Answer::InTime(verdict) } else { Answer::Late };
            ready.notify_one();
        });
        if let Err(err) = spawned {
            let verdict = Verdict::unreachable(format!("cannot start the attempt: {err}"));
            return Ended { verdict, phases: trace.phases(), wait_ran_out: false };
        }
        let (slot, ready) = &*shared;
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            let left = self.remaining();
            if !matches!(*slot, Answer::Pending) || left.is_zero() {
                break;
            }
            slot = ready.wait_timeout(slot, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
        let (verdict, wait_ran_out) = match std::mem::replace(&mut *slot, Answer::Late) {
            Answer::InTime(verdict) => (verdict, false),
            Answer::Pending | Answer::Late => (self.timed_out(&trace), self.cut_by.is_some()),
        };
        drop(slot);
        Ended { verdict, phases: trace.phases(), wait_ran_out }
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

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_wait_shortens_the_attempt_but_never_below_the_shortest_attempt() {
        let length = Duration::from_secs(1);
        let soon = Wait { until: Instant::now() + ms(300), length };
        let cut = Deadline::new(Duration::from_secs(5), Some(soon));
        assert!(cut.remaining() <= ms(300) && cut.cut_by.is_some());
        let later = Wait { until: Instant::now() + Duration::from_secs(60), length };
        assert!(Deadline::new(Duration::from_secs(5), Some(later)).cut_by.is_none());
        // A wait already over (or about to be) still leaves an attempt time to try.
        for until in [Instant::now() - Duration::from_secs(1), Instant::now(), Instant::now() + ms(1)] {
            let last = Deadline::new(Duration::from_secs(5), Some(Wait { until, length }));
            assert!(last.remaining() > SHORTEST_ATTEMPT - ms(20), "{:?}", last.remaining());
            assert!(last.remaining() <= SHORTEST_ATTEMPT && last.cut_by.is_some());
        }
        // -t shorter than that is the whole of every attempt, and never the wait's doing.
        let past = Wait { until: Instant::now() - Duration::from_secs(1), length };
        let short = Deadline::new(ms(40), Some(past));
        assert!(short.remaining() <= ms(40) && short.cut_by.is_none());
    }

    #[test]
    fn an_attempt_cut_by_the_wait_keeps_its_own_failure_or_blames_the_wait() {
        let wait = Wait { until: Instant::now(), length: Duration::from_secs(2) };
        let ended = Deadline::new(Duration::from_secs(5), Some(wait))
            .enforce(|_| Verdict::unreachable("connection refused"));
        assert_eq!(ended.verdict, Verdict::unreachable("connection refused"));
        assert!(!ended.wait_ran_out);
        let wait = Wait { until: Instant::now(), length: Duration::from_secs(2) };
        let ended = Deadline::new(Duration::from_secs(5), Some(wait)).enforce(|_| {
            thread::sleep(SHORTEST_ATTEMPT + ms(50));
            Verdict::unreachable("connection refused")
        });
        assert_eq!(ended.verdict, Verdict::unreachable("the wait of 2s ran out"));
        assert!(ended.wait_ran_out);
    }

    #[test]
    fn an_answer_after_the_deadline_gets_the_deadlines_words_whoever_wakes_first() {
        // The attempt's own timeout fires as the guard's does: the guard's words, every time.
        let deadline = Deadline::new(ms(20), None);
        let ended = deadline.enforce(move |trace| {
            trace.enter("connect");
            thread::sleep(deadline.remaining());
            Verdict::unreachable("timed out")
        });
        assert_eq!(ended.verdict, Verdict::unreachable("timed out after 20ms during connect"));
        assert!(!ended.wait_ran_out);
        // Even when the guard is the one that is late to look (it is not waiting yet).
        let deadline = Deadline::new(ms(1), None);
        let ended = deadline.enforce(|_| {
            thread::sleep(ms(5));
            Verdict::healthy("too late")
        });
        assert_eq!(ended.verdict, Verdict::unreachable("timed out after 1ms"));
    }

    #[test]
    fn the_guard_names_the_phase_that_hung() {
        let ended = Deadline::new(ms(50), None).enforce(|trace| {
            trace.enter("connect");
            thread::sleep(Duration::from_secs(5));
            Verdict::healthy("too late")
        });
        assert_eq!(ended.verdict, Verdict::unreachable("timed out after 50ms during connect"));
        assert_eq!(ended.phases[0].name, "connect");
    }

    #[test]
    fn a_prompt_attempt_keeps_its_verdict() {
        let ended = Deadline::new(Duration::from_secs(5), None).enforce(|_| Verdict::unhealthy("said no"));
        assert_eq!(ended.verdict, Verdict::unhealthy("said no"));
    }
}
