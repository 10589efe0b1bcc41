//! Import progress on a terminal: a bar for reading files, a spinner for the rest.
//! Nothing is drawn when standard error is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws a store's progress reports with indicatif.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar drawn on standard error (hidden when it is not a terminal).
    pub fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        Bar { bar }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl store::Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        if total > 0 {
            self.bar.set_length(total);
            self.bar.set_position(0);
            self.bar.set_style(
                ProgressStyle::with_template("{msg:30} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            self.bar.disable_steady_tick();
        } else {
            self.bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
        self.bar.set_message(name.to_owned());
    }

    fn set(&self, done: u64, _total: u64) {
        self.bar.set_position(done);
    }
}
