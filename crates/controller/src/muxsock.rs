//! Creating the mux unix socket with its permissions in place before anyone
//! can connect, and removing it at exit.

use crate::error::Error;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::net::UnixListener;

/// The mux socket: its listener, and the inode to remove at exit (only if the
/// path still names our socket).
pub(crate) struct MuxSocket {
    pub(crate) listener: UnixListener,
    path: PathBuf,
    ino: u64,
}

/// Removes a stale socket file at `path`: only a socket nobody listens on.
fn clear_stale(path: &Path) -> Result<(), Error> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Mux {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !md.file_type().is_socket() {
        return Err(Error::MuxPathNotSocket {
            path: path.to_path_buf(),
        });
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(Error::MuxInUse {
            path: path.to_path_buf(),
        });
    }
    tracing::info!(path = %path.display(), "removing stale mux socket (nothing listens on it)");
    std::fs::remove_file(path).map_err(|source| Error::Mux {
        path: path.to_path_buf(),
        source,
    })
}

impl MuxSocket {
    /// Binds the socket at `path` with permission bits `mode`.
    ///
    /// The socket is bound inside a fresh private directory next to `path`,
    /// given its mode there, then renamed into place, so it is never reachable
    /// with looser permissions than asked.
    pub(crate) fn bind(path: &Path, mode: u32) -> Result<Self, Error> {
        let err = |source| Error::Mux {
            path: path.to_path_buf(),
            source,
        };
        clear_stale(path)?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmpdir = parent.join(format!(".vantage-mux-{}-{nonce}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&tmpdir)
            .map_err(err)?;
        let tmp = tmpdir.join("mux");
        let result = (|| {
            let listener = UnixListener::bind(&tmp)?;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
            std::fs::rename(&tmp, path)?;
            let ino = std::fs::symlink_metadata(path)?.ino();
            Ok::<_, io::Error>((listener, ino))
        })();
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_dir(&tmpdir);
        let (listener, ino) = result.map_err(err)?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            ino,
        })
    }
}

impl Drop for MuxSocket {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.ino) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
