//! Which filesystem a folder is on, in words, for messages about what that filesystem can't do
//! (file locks on some NFS and Lustre mounts): the mount from `/proc/mounts` when it can be read,
//! else the type number `statfs` gives, with its name when it is a known one.
use std::path::Path;

/// `nfs4 (server:/export mounted on /shared)`, or `filesystem type 0x6969 (nfs)` without
/// `/proc/mounts`, or `an unknown filesystem`.
pub fn describe(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if let Some(mount) = std::fs::read_to_string("/proc/mounts").ok().and_then(|t| mount_of(&t, &dir)) {
        return format!("{} ({} mounted on {})", mount.fstype, mount.source, mount.point);
    }
    match statfs_type(&dir) {
        Some(t) => match type_name(t) {
            Some(name) => format!("filesystem type {t:#x} ({name})"),
            None => format!("filesystem type {t:#x}"),
        },
        None => "an unknown filesystem".into(),
    }
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub point: String,
    pub fstype: String,
}

/// The mount holding `dir` (the longest mount point that is a prefix of it; the last such line
/// when one point is mounted over another).
pub fn mount_of(mounts: &str, dir: &Path) -> Option<Mount> {
    let mut best: Option<Mount> = None;
    for line in mounts.lines() {
        let mut fields = line.split_whitespace();
        let (Some(source), Some(point), Some(fstype)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let point = unescape(point);
        if !dir.starts_with(&point) {
            continue;
        }
        if best.as_ref().is_none_or(|b| point.len() >= b.point.len()) {
            best = Some(Mount { source: unescape(source), point, fstype: fstype.to_string() });
        }
    }
    best
}

/// `/proc/mounts` writes space, tab, newline and backslash as octal escapes (`\040`).
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4).and_then(|d| u8::from_str_radix(d, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn statfs_type(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs fills the zeroed struct it is given; the path is a valid C string.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(path.as_ptr(), &mut buf) };
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    (rc == 0).then_some(buf.f_type as u64)
}

/// Names of the filesystems whose locks are known to be missing or optional, and common others.
fn type_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "nfs",
        0x0bd0_0bd0 => "lustre",
        0xff53_4d42 => "cifs",
        0xfe53_4d42 => "smb2",
        0x4750_4653 => "gpfs",
        0x1983_0326 => "beegfs",
        0x00c3_6400 => "ceph",
        0x6573_5546 => "fuse",
        0x0102_1994 => "tmpfs",
        0xef53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683e => "btrfs",
        0x794c_7630 => "overlayfs",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export /shared nfs4 rw,vers=4.2 0 0
mds@tcp:/lfs /shared/my\\040runs lustre rw,flock 0 0
";

    #[test]
    fn the_longest_mount_point_holding_the_folder_is_named() {
        let m = mount_of(MOUNTS, Path::new("/shared/runs/a")).unwrap();
        assert_eq!(
            (m.fstype.as_str(), m.source.as_str(), m.point.as_str()),
            ("nfs4", "server:/export", "/shared")
        );
        let m = mount_of(MOUNTS, Path::new("/shared/my runs/x")).unwrap();
        assert_eq!((m.fstype.as_str(), m.point.as_str()), ("lustre", "/shared/my runs"));
        assert_eq!(mount_of(MOUNTS, Path::new("/home/me")).unwrap().fstype, "ext4");
        assert_eq!(
            mount_of(MOUNTS, Path::new("/sharedX")).unwrap().fstype,
            "ext4",
            "a prefix of a name is not a parent"
        );
    }

    #[test]
    fn this_machines_temp_folder_is_described() {
        let dir = tempfile::tempdir().unwrap();
        let text = describe(dir.path());
        assert!(text.contains("mounted on") || text.starts_with("filesystem type"), "{text}");
    }
}
