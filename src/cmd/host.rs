//! This machine's hostname: the default `instance` label of Alertmanager
//! alerts, so alerts from two servers running the same apps stay apart.

use std::io;

/// The hostname, or an error saying how to do without it.
pub fn hostname() -> anyhow::Result<String> {
    match system_hostname() {
        Ok(name) if !name.is_empty() => Ok(name),
        Ok(_) => anyhow::bail!("this machine's hostname is empty; name the host with --instance NAME"),
        Err(e) => anyhow::bail!("cannot read this machine's hostname ({e}); name the host with --instance NAME"),
    }
}

#[cfg(unix)]
fn system_hostname() -> io::Result<String> {
    // POSIX allows 255 bytes; Linux 64.
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which lives across the
    // call; gethostname writes at most `buf.len()` bytes into it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // A name that filled the buffer may not be NUL-terminated.
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(not(unix))]
fn system_hostname() -> io::Result<String> {
    std::env::var("COMPUTERNAME").map_err(|_| io::Error::other("COMPUTERNAME is not set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn agrees_with_the_kernel() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("procfs");
        assert_eq!(hostname().expect("hostname"), kernel.trim_end());
    }
}
