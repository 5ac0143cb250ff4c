//! CPU and memory of the generator and of a local server: `getrusage` for
//! this process, `/proc` for another process or for named threads of this
//! one (the embedded server's runtime); and the time their threads were
//! ready to run but waited for a core (`/proc/.../schedstat`), which tells a
//! process that was idle from one that other load kept off its core.
//!
//! Memory is what the kernel says the process has mapped in: resident set,
//! its anonymous part and the proportional set size. None of it counts the
//! kernel's own memory for the process's sockets (their send and receive
//! buffers), which is the same for every server on the machine.

use std::io;

use serde::{Deserialize, Serialize};

/// One look at a process's memory, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Resident set (`VmRSS`): anonymous, file-backed and shared pages mapped in.
    pub rss: u64,
    /// Its anonymous part (`RssAnon`): heap, stacks, what connections allocate;
    /// not the binary's pages or shared libraries.
    pub anon: u64,
    /// Proportional set size (`Pss` of `smaps_rollup`: shared pages divided
    /// among the processes that map them); 0 when the kernel does not say.
    pub pss: u64,
}

/// A local server to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Another process.
    Pid(u32),
    /// Threads of this process whose name starts with this (the embedded
    /// server's runtime); memory is then the whole process's.
    Threads(String),
}

impl Watch {
    /// How the report names it.
    pub fn describe(&self) -> String {
        match self {
            Watch::Pid(pid) => format!("pid {pid}"),
            Watch::Threads(_) => {
                "embedded (CPU of the server's threads; memory of the whole process, generator included)"
                    .to_owned()
            }
        }
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> io::Result<f64> {
        match self {
            Watch::Pid(pid) => stat_cpu(&format!("/proc/{pid}/stat")),
            Watch::Threads(prefix) => threads_cpu(prefix),
        }
    }

    /// Seconds its threads were ready to run but waited for a core, so far.
    pub fn wait_seconds(&self) -> io::Result<f64> {
        match self {
            Watch::Pid(pid) => threads_wait(&format!("/proc/{pid}/task"), |_| true),
            Watch::Threads(prefix) => {
                threads_wait("/proc/self/task", |name| name.starts_with(prefix.as_str()))
            }
        }
    }

    /// Resident memory now, bytes.
    pub fn rss(&self) -> io::Result<u64> {
        Ok(self.memory()?.rss)
    }

    /// Resident, anonymous and proportional memory now.
    pub fn memory(&self) -> io::Result<Memory> {
        let proc = match self {
            Watch::Pid(pid) => format!("/proc/{pid}"),
            Watch::Threads(_) => "/proc/self".to_owned(),
        };
        let path = format!("{proc}/status");
        let status = std::fs::read_to_string(&path)?;
        let missing =
            |field: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: no {field}"));
        let rss = kib_field(&status, "VmRSS:").ok_or_else(|| missing("VmRSS"))?;
        let anon = kib_field(&status, "RssAnon:").ok_or_else(|| missing("RssAnon"))?;
        // Older kernels (before 4.14) have no rollup: PSS is then unknown, not an error.
        let pss = std::fs::read_to_string(format!("{proc}/smaps_rollup"))
            .ok()
            .and_then(|rollup| kib_field(&rollup, "Pss:"))
            .unwrap_or(0);
        Ok(Memory { rss, anon, pss })
    }
}

/// CPU seconds (user + system) this whole process used so far.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// utime + stime of a `/proc/.../stat` file, seconds.
fn stat_cpu(path: &str) -> io::Result<f64> {
    let text = std::fs::read_to_string(path)?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: no ')'")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15 (1-based), so 11 and 12 here.
    let field = |i: usize| -> io::Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64 / clock_ticks())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{path}: short stat"))
            })
    };
    Ok(field(11)? + field(12)?)
}

/// CPU seconds of the threads of this process named `prefix...`.
fn threads_cpu(prefix: &str) -> io::Result<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc/self/task")? {
        let dir = entry?.path();
        let Ok(name) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if name.trim_end().starts_with(prefix) {
            if let Ok(cpu) = stat_cpu(&dir.join("stat").to_string_lossy()) {
                total += cpu;
            }
        }
    }
    Ok(total)
}

/// Seconds the threads of this process whose name `mine` accepts were ready
/// to run but waited for a core, so far.
pub fn process_wait_seconds(mine: impl Fn(&str) -> bool) -> io::Result<f64> {
    threads_wait("/proc/self/task", mine)
}

/// The run-queue wait of the threads under `tasks` (a `/proc/.../task`
/// folder) whose name `wanted` accepts, seconds: the second field of each
/// thread's `schedstat`, in nanoseconds.
fn threads_wait(tasks: &str, wanted: impl Fn(&str) -> bool) -> io::Result<f64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir(tasks)? {
        let dir = entry?.path();
        // A thread that ended meanwhile is skipped.
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        if !wanted(name.trim_end()) {
            continue;
        }
        let wait = stat
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.parse::<u64>().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: not a schedstat line: {stat:?}", dir.display()),
                )
            })?;
        total += wait;
    }
    Ok(total as f64 / 1e9)
}

/// The `Name:   123 kB` line `name` of a `/proc` file, bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_watched() {
        let me = Watch::Pid(std::process::id());
        assert!(me.rss().unwrap() > 0);
        let memory = me.memory().unwrap();
        assert!(memory.anon > 0 && memory.anon <= memory.rss, "{memory:?}");
        let spin: u64 = (0..5_000_000u64).fold(0, |a, b| a.wrapping_add(b * b));
        assert_ne!(spin, 1);
        assert!(me.cpu_seconds().unwrap() >= 0.0);
        assert!(process_cpu_seconds() > 0.0);
        assert!(Watch::Pid(u32::MAX).rss().is_err());
        assert!(me.wait_seconds().unwrap() >= 0.0);
        assert!(Watch::Pid(u32::MAX).wait_seconds().is_err());
        assert!(process_wait_seconds(|_| true).unwrap() >= 0.0);
    }

    #[test]
    fn proc_fields_are_read_in_bytes() {
        let text = "VmPeak:\t  2000 kB\nVmRSS:\t    1756 kB\nRssAnon:\t 108 kB\n";
        assert_eq!(kib_field(text, "VmRSS:"), Some(1756 * 1024));
        assert_eq!(kib_field(text, "RssAnon:"), Some(108 * 1024));
        assert_eq!(kib_field(text, "Pss:"), None);
        assert_eq!(kib_field("VmRSS: lots kB", "VmRSS:"), None);
    }
}
