//! An external reader under test as a command line (`desfire audit --reader-cmd CMD`): how the
//! audit runs it once per presented card and what it reads from its exit.
//!
//! The interface is the one `desfire reader` has (its `--help`): exit 0 is a GRANT, with the
//! 16-hex-digit credential ID as the first line of standard output; exit 1 is a DENY, with
//! `DENY <IDENTIFIER>` (spec §13) on standard error when the reader tells why. Any other exit is
//! an ERROR, and a command still running after the timeout is killed with its whole process
//! group and observed as TIMEOUT, a failure of its own.
//!
//! The audit's trusted time reaches the command as `{now}` (Unix seconds) in the command line
//! and as `DESFIRE_NOW` in its environment: a reader with its own clock judges the validity
//! cards (T0, T9, T10a) at the audit's time, not its own.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::reader::Observation;

/// The environment variable that holds the PC/SC reader name for the command.
pub const READER_ENV: &str = "DESFIRE_READER";
/// The placeholder in the command line replaced by the shell-quoted reader name.
pub const READER_PLACEHOLDER: &str = "{reader}";
/// The environment variable that holds the audit's trusted time (Unix seconds).
pub const NOW_ENV: &str = "DESFIRE_NOW";
/// The placeholder in the command line replaced by the audit's trusted time (Unix seconds).
pub const NOW_PLACEHOLDER: &str = "{now}";
/// The most of each output stream kept for the report; the rest is read and dropped, so a
/// chatty reader cannot block on a full pipe nor fill the audit's memory.
pub const OUTPUT_KEPT: usize = 4096;

/// A reader command: a shell command line with `{reader}` in it.
#[derive(Debug, Clone)]
pub struct ReaderCommand {
    /// The command line as the user gave it.
    pub template: String,
    /// How long one presentation may take before the command is killed.
    pub timeout: Duration,
    /// The audit's trusted time (Unix seconds), for `{now}` and `DESFIRE_NOW`.
    pub now: Option<u32>,
    running: RunningGroup,
}

/// The process group of the reader command running now, for a signal handler: the command
/// runs in its own group (so that a timeout ends everything it started), so Ctrl-C on the
/// audit does not reach it.
#[derive(Debug, Clone, Default)]
pub struct RunningGroup(Arc<AtomicI32>);

impl RunningGroup {
    /// Kills the running command's process group, if a command runs.
    pub fn kill(&self) {
        let group = self.0.load(Ordering::SeqCst);
        if group > 0 {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}

/// What one run of the command gave.
#[derive(Debug, Clone)]
pub struct CommandRun {
    /// The decision read from the exit.
    pub observation: Observation,
    /// Standard output, at most [`OUTPUT_KEPT`] bytes, lossily decoded.
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
    /// From start to exit (or kill).
    pub elapsed: Duration,
}

impl CommandRun {
    /// The output in one bounded line for a report's detail: `stdout "…" stderr "…"`.
    pub fn output_summary(&self) -> String {
        format!(
            "stdout {:?}, stderr {:?}",
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Why the command could not be started at all.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `sh` could not be spawned.
    #[error("cannot run the reader command: {0}")]
    Spawn(#[from] std::io::Error),
    /// The reader name cannot be quoted for the shell (it holds a NUL byte).
    #[error("the reader name {0:?} cannot be passed to a shell")]
    Quote(String),
}

impl ReaderCommand {
    /// The command line `template`, killed after `timeout`.
    pub fn new(template: impl Into<String>, timeout: Duration) -> Self {
        Self {
            template: template.into(),
            timeout,
            now: None,
            running: RunningGroup::default(),
        }
    }

    /// The same command told the audit's trusted time `now` (Unix seconds).
    #[must_use]
    pub fn with_now(self, now: u32) -> Self {
        Self {
            now: Some(now),
            ..self
        }
    }

    /// The process group of the command while it runs.
    pub fn running(&self) -> RunningGroup {
        self.running.clone()
    }

    /// The command line with `{reader}` replaced by `reader`, quoted for `sh`, and `{now}`
    /// by the trusted time in Unix seconds (digits only: nothing to quote).
    pub fn command_line(&self, reader: &str) -> Result<String, CommandError> {
        let quoted = shlex::try_quote(reader).map_err(|_| CommandError::Quote(reader.into()))?;
        let line = self.template.replace(READER_PLACEHOLDER, &quoted);
        Ok(match self.now {
            Some(now) => line.replace(NOW_PLACEHOLDER, &now.to_string()),
            None => line,
        })
    }

    /// Runs the command once for a card in `reader` and reads its decision.
    pub fn run(&self, reader: &str) -> Result<CommandRun, CommandError> {
        let line = self.command_line(reader)?;
        let started = Instant::now();
        let mut command = Command::new("sh");
        if let Some(now) = self.now {
            command.env(NOW_ENV, now.to_string());
        }
        let mut child = command
            .arg("-c")
            .arg(&line)
            .env(READER_ENV, reader)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout kills what the shell started too.
            .process_group(0)
            .spawn()?;
        let group = i32::try_from(child.id()).ok().map(Pid::from_raw);
        if let Some(g) = group {
            self.running.0.store(g.as_raw(), Ordering::SeqCst);
        }
        let stdout = child.stdout.take().map(keep_bounded);
        let stderr = child.stderr.take().map(keep_bounded);
        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = match rx.recv_timeout(self.timeout) {
            Ok(status) => Some(status?),
            Err(_) => None,
        };
        // On a timeout this ends the reader; after an exit it ends anything the reader left
        // running in the background, which would otherwise hold the pipes open.
        if let Some(g) = group {
            let _ = killpg(g, Signal::SIGKILL);
        }
        self.running.0.store(0, Ordering::SeqCst);
        let _ = waiter.join();
        let elapsed = started.elapsed();
        let stdout = join_output(stdout);
        let stderr = join_output(stderr);
        let observation = match status {
            None => Observation::Timeout,
            Some(s) => observe(s, &stdout, &stderr),
        };
        Ok(CommandRun {
            observation,
            stdout,
            stderr,
            elapsed,
        })
    }
}

fn keep_bounded<R: Read + Send + 'static>(mut stream: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_KEPT.saturating_sub(kept.len());
                    kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                }
            }
        }
        kept
    })
}

fn join_output(h: Option<JoinHandle<Vec<u8>>>) -> String {
    let bytes = h.and_then(|h| h.join().ok()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The decision an exit stands for (see the module documentation).
pub fn observe(status: ExitStatus, stdout: &str, stderr: &str) -> Observation {
    match status.code() {
        Some(0) => parse_grant(stdout),
        Some(1) => Observation::Deny(deny_reason(stderr)),
        Some(code) => Observation::Error(format!("exit status {code}")),
        None => Observation::Error(format!(
            "killed by signal {}",
            status.signal().unwrap_or_default()
        )),
    }
}

/// A GRANT's credential ID: the first line of standard output, exactly 16 hex digits.
pub fn parse_grant(stdout: &str) -> Observation {
    let first = stdout.lines().next().unwrap_or_default().trim();
    let id = (first.len() == 16)
        .then(|| u64::from_str_radix(first, 16).ok())
        .flatten();
    match id {
        Some(id) => Observation::Grant(id),
        None => Observation::Error(format!(
            "unparseable grant: exit 0, but the first line of standard output is {first:?}, \
             not a 16-hex-digit credential ID"
        )),
    }
}

/// The §13 identifier from a `DENY <IDENTIFIER>` line on standard error, if there is one.
pub fn deny_reason(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        let name = line
            .trim()
            .strip_prefix("DENY ")?
            .split_whitespace()
            .next()?;
        let identifier = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        identifier.then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn cmd(template: &str, timeout_ms: u64) -> ReaderCommand {
        ReaderCommand::new(template, Duration::from_millis(timeout_ms))
    }

    #[test]
    fn exits_map_to_observations() {
        assert_eq!(
            observe(exit(0), "1A2B3C4D5E6F7081\n", ""),
            Observation::Grant(0x1A2B_3C4D_5E6F_7081)
        );
        assert_eq!(
            observe(
                exit(1),
                "",
                "warning: TEST keys\nDENY EXPIRED (18): expired\n"
            ),
            Observation::Deny(Some("EXPIRED".into()))
        );
        assert_eq!(observe(exit(1), "", "no\n"), Observation::Deny(None));
        assert_eq!(
            observe(exit(1), "", "DENY whatever\n"),
            Observation::Deny(None)
        );
        assert_eq!(
            observe(exit(2), "", ""),
            Observation::Error("exit status 2".into())
        );
        assert_eq!(
            observe(ExitStatus::from_raw(9), "", ""),
            Observation::Error("killed by signal 9".into())
        );
        for garbage in [
            "GRANT 1A2B3C4D5E6F7081",
            "1A2B3C4D5E6F708",
            "",
            "1A2B3C4D5E6F708G",
        ] {
            assert!(
                matches!(parse_grant(garbage), Observation::Error(e) if e.starts_with("unparseable grant")),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn the_reader_name_is_quoted_and_in_the_environment() {
        let c = cmd(
            "printf '%s\\n' {reader} \"$DESFIRE_READER\" && echo 1A2B3C4D5E6F7081",
            5000,
        );
        assert_eq!(
            c.command_line("Virtual PCD 00 00").unwrap(),
            "printf '%s\\n' 'Virtual PCD 00 00' \"$DESFIRE_READER\" && echo 1A2B3C4D5E6F7081"
        );
        let run = c.run("it's; rm -rf /").unwrap();
        assert_eq!(
            run.stdout,
            "it's; rm -rf /\nit's; rm -rf /\n1A2B3C4D5E6F7081\n"
        );
        // The first line is the reader name, not a credential ID.
        assert!(matches!(run.observation, Observation::Error(_)));
        let run = cmd("echo 1A2B3C4D5E6F7081; echo DENY NO >&2", 5000)
            .run("r")
            .unwrap();
        assert_eq!(run.observation, Observation::Grant(0x1A2B_3C4D_5E6F_7081));
        assert_eq!(run.stderr, "DENY NO\n");
    }

    /// The audit's trusted time reaches the command as `{now}` and `DESFIRE_NOW`; without it
    /// neither is set and `{now}` stays as written.
    #[test]
    fn the_audit_time_is_in_the_command_line_and_the_environment() {
        let c = cmd("echo {now} \"$DESFIRE_NOW\"", 5000).with_now(1_830_297_600);
        assert_eq!(
            c.command_line("r").unwrap(),
            "echo 1830297600 \"$DESFIRE_NOW\""
        );
        let run = c.run("r").unwrap();
        assert_eq!(run.stdout, "1830297600 1830297600\n");
        let run = cmd("echo {now} \"${DESFIRE_NOW-unset}\"", 5000)
            .run("r")
            .unwrap();
        assert_eq!(run.stdout, "{now} unset\n");
    }

    #[test]
    fn a_hanging_reader_is_killed_with_its_children() {
        // The background `sleep` holds stdout open: only killing the group ends the run.
        let run = cmd("sleep 30 & sleep 30", 200).run("r").unwrap();
        assert_eq!(run.observation, Observation::Timeout);
        assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    }

    #[test]
    fn output_is_kept_bounded() {
        let run = cmd("head -c 100000 /dev/zero | tr '\\0' x; exit 1", 5000)
            .run("r")
            .unwrap();
        assert_eq!(run.observation, Observation::Deny(None));
        assert_eq!(run.stdout.len(), OUTPUT_KEPT);
    }
}
