//! The phases of one attempt (`resolve`, `connect`, `tls`, …) as they happen. Shared between
//! the attempt and the deadline guard, so a guard that gives up can say which phase hung.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use crate::outcome::Phase;

/// Cheap to clone: clones share the same phases, so a library callback can mark them too.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    steps: Arc<Mutex<Steps>>,
}

#[derive(Debug, Default)]
struct Steps {
    done: Vec<Phase>,
    open: Option<(&'static str, Instant)>,
}

impl Trace {
    /// Ends the phase in progress, if any, and starts `name`.
    pub fn enter(&self, name: &'static str) {
        let now = Instant::now();
        let mut steps = self.lock();
        steps.close(now);
        steps.open = Some((name, now));
    }

    /// Ends the phase in progress, if any.
    pub fn finish(&self) {
        self.lock().close(Instant::now());
    }

    /// The phase in progress, or else the last one to end.
    pub fn latest(&self) -> Option<&'static str> {
        let steps = self.lock();
        steps.open.map(|(name, _)| name).or_else(|| steps.done.last().map(|phase| phase.name))
    }

    /// The phases so far; one still open counts up to now.
    pub fn phases(&self) -> Vec<Phase> {
        let steps = self.lock();
        let open = steps.open.map(|(name, since)| Phase { name, took: since.elapsed() });
        steps.done.iter().cloned().chain(open).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Steps> {
        // A poisoned lock only means an attempt panicked; the timings are still readable.
        self.steps.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Steps {
    fn close(&mut self, now: Instant) {
        if let Some((name, since)) = self.open.take() {
            self.done.push(Phase { name, took: now.saturating_duration_since(since) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_each_other() {
        let trace = Trace::default();
        assert_eq!(trace.latest(), None);
        trace.enter("resolve");
        trace.enter("connect");
        assert_eq!(trace.latest(), Some("connect"));
        trace.finish();
        assert_eq!(trace.latest(), Some("connect"));
        let names: Vec<_> = trace.phases().iter().map(|phase| phase.name).collect();
        assert_eq!(names, ["resolve", "connect"]);
    }
}
