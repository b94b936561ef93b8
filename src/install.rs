//! `probe install DIR [--as NAME,…]`: copies the running binary to DIR/probe, for images that
//! lack it (an init container from the probe image fills a shared volume; that image has no shell
//! and no `cp`), and links DIR/NAME to it for each drop-in name (`grpc_health_probe`, …).

use std::{
    fs::{self, File, OpenOptions},
    io,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

/// Writes DIR/probe beside it first and renames it into place, so a reader never sees half a
/// file and a probe running from that path keeps its own (the old file lives on until it
/// exits). Then each of `names` becomes a relative symlink DIR/NAME → probe, made beside and
/// renamed over whatever DIR/NAME was. Returns the paths written, DIR/probe first. DIR must
/// exist: it is never created.
pub fn install(dir: &Path, names: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let failed = |why: String| anyhow::anyhow!("cannot install into {}: {why}", dir.display());
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(failed("not a directory".into())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(failed("no such directory (it is not created)".into()));
        }
        Err(err) => return Err(failed(describe(&err))),
    }
    let mut source = running_binary().map_err(|err| {
        failed(format!("cannot read the running binary (/proc/self/exe): {}", describe(&err)))
    })?;
    let target = dir.join("probe");
    let (temp_path, mut temp) = create_beside(dir).map_err(|err| failed(describe(&err)))?;
    let written = (|| {
        io::copy(&mut source, &mut temp)?;
        // 0755 whatever the umask: fchmod is not masked, the mode given to open(2) is.
        temp.set_permissions(fs::Permissions::from_mode(0o755))?;
        temp.sync_all()?;
        drop(temp);
        fs::rename(&temp_path, &target)?;
        // The rename is durable once the directory is.
        File::open(dir)?.sync_all()
    })();
    if let Err(err) = written {
        let _ = fs::remove_file(&temp_path);
        return Err(failed(describe(&err)));
    }
    let mut paths = vec![target];
    for name in names {
        let link = dir.join(name);
        if paths.contains(&link) {
            continue;
        }
        link_beside(dir, &link).map_err(|err| failed(format!("{}: {}", link.display(), describe(&err))))?;
        paths.push(link);
    }
    Ok(paths)
}

/// Makes `link` a symlink to `probe` (relative, so the directory may be mounted anywhere): made
/// under a name of its own, then renamed into place, so `link` is never missing or half made.
fn link_beside(dir: &Path, link: &Path) -> io::Result<()> {
    let mut tries = 0;
    let temp = loop {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.subsec_nanos());
        let temp = dir.join(format!(".probe.link.{}.{nanos}", std::process::id()));
        match std::os::unix::fs::symlink("probe", &temp) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(err) => return Err(err),
            Ok(()) => break temp,
        }
    };
    fs::rename(&temp, link).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })?;
    File::open(dir)?.sync_all()
}

/// The binary this process runs. /proc/self/exe opens it even when its path has since been
/// replaced; where /proc is not mounted (a bare chroot), the path it was started by will do.
fn running_binary() -> io::Result<File> {
    File::open("/proc/self/exe").or_else(|err| {
        let argv0 = std::env::args_os().next().map(PathBuf::from);
        match argv0.filter(|path| path.is_absolute() || path.components().count() > 1) {
            Some(path) => File::open(path),
            None => Err(err),
        }
    })
}

/// A new file in `dir` under a name nobody else uses (`.probe.install.<pid>.<nanos>`): two
/// installs at once each rename a complete file of their own.
fn create_beside(dir: &Path) -> io::Result<(PathBuf, File)> {
    let mut tries = 0;
    loop {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.subsec_nanos());
        let path = dir.join(format!(".probe.install.{}.{nanos}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).mode(0o700).open(&path) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            other => return other.map(|file| (path, file)),
        }
    }
}

fn describe(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ReadOnlyFilesystem => "read-only file system".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied (not writable)".to_owned(),
        _ => crate::net::describe(err),
    }
}
