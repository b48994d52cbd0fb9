//! The driver's half of the timer contract, kept in the core so it is tested natively.
//!
//! The core never holds a timer; it only says when it next needs an `Input::Timer`
//! ([`Probe::deadline`](super::Probe::deadline)). A browser timer is one-shot and may fire
//! early (coarsened clocks, `setTimeout` rounding) or late (a busy page). So the driver arms its
//! timer from the core's **current** deadline after every input, and a timer that fired is
//! spent: if the core was not yet due, the same deadline is armed again. Re-entrant inputs
//! (a page callback that calls back into the probe while outputs are being carried out) are
//! safe too: whichever `sync` runs last sees the deadline as it is now.

/// What the driver must do with its one browser timer after an input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arm {
    /// The armed timer is still right.
    Keep,
    /// (Re)arm it for this absolute time (cancelling any armed one).
    Set(f64),
    /// Cancel it: nothing is pending.
    Clear,
}

/// Bookkeeping of one one-shot timer.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct OneShot {
    armed_at: Option<f64>,
}

impl OneShot {
    pub const fn new() -> OneShot {
        OneShot { armed_at: None }
    }

    /// Call after every input (and at creation) with the core's current deadline.
    #[must_use]
    pub fn sync(&mut self, deadline: Option<f64>) -> Arm {
        if deadline == self.armed_at {
            return Arm::Keep;
        }
        self.armed_at = deadline;
        match deadline {
            Some(t) => Arm::Set(t),
            None => Arm::Clear,
        }
    }

    /// The timer fired: it is spent, whatever the core makes of the `Input::Timer` that follows.
    pub fn fired(&mut self) {
        self.armed_at = None;
    }

    /// The time the timer is armed for, if any.
    pub fn armed_at(&self) -> Option<f64> {
        self.armed_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_early_timer_is_armed_again_for_the_same_deadline() {
        let mut t = OneShot::new();
        assert_eq!(t.sync(Some(100.0)), Arm::Set(100.0));
        assert_eq!(t.sync(Some(100.0)), Arm::Keep);
        t.fired(); // at 99.6: the core is not due and its deadline stays 100
        assert_eq!(t.sync(Some(100.0)), Arm::Set(100.0));
        assert_eq!(t.sync(None), Arm::Clear);
        assert_eq!(t.sync(None), Arm::Keep);
        assert_eq!(t.armed_at(), None);
    }
}
